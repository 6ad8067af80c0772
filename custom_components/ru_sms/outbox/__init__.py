"""The outbox of an account.

`Outbox` (outbox.py), one queued alert and its record (alert.py), the file (store.py), the
gateway's evidence on a request in doubt (doubt.py), what follows an accepted send
(after.py), the events, notes and repair issues it raises (reports.py, log.py), and the
account that cannot load or is removed (lifecycle.py).
"""

from __future__ import annotations

from .alert import QueuedAlert, SendOutcome
from .lifecycle import async_open_outbox, async_outbox_cannot_load, async_remove_outbox
from .log import AlertNote
from .outbox import FAILOVER_AFTER, HANDOFFS, Outbox
from .reports import FAILING_ISSUE_AFTER
from .store import STORAGE_VERSION

__all__ = [
    "FAILING_ISSUE_AFTER",
    "FAILOVER_AFTER",
    "HANDOFFS",
    "STORAGE_VERSION",
    "AlertNote",
    "Outbox",
    "QueuedAlert",
    "SendOutcome",
    "async_open_outbox",
    "async_outbox_cannot_load",
    "async_remove_outbox",
]
