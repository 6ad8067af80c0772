"""Delivery tracking: every accepted message is followed until it reaches a final state.

- `record`: one message to one number, its segments' reports and its stored row;
- `pacing`: when to ask about a message, and about which segments;
- `index`: the records and the indexes that answer every question without a scan;
- `store`: the account's file of records, and how an older one is read;
- `steps`: long work in steps that let the event loop run;
- `tracker`: the `MessageTracker` of an account, which ties them together and polls.
"""

from .record import SegmentReport, TrackedMessage, message_key
from .tracker import MessageTracker

__all__ = ["MessageTracker", "SegmentReport", "TrackedMessage", "message_key"]
