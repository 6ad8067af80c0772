"""The storm guard, in front of an account's outbox: repeats merged, bursts held.

Alerts past a spending limit are held here too.

- `records`: its settings, each number's counts, the alerts it holds, and their stored forms;
- `guard`: the `StormGuard` of an account, which decides, holds, releases and sends.
"""

from .guard import GuardedOutcome, StormGuard
from .records import GuardAction, Guarded, Plan, more_note, parts_of

__all__ = [
    "GuardAction",
    "Guarded",
    "GuardedOutcome",
    "Plan",
    "StormGuard",
    "more_note",
    "parts_of",
]
