"""The outbox of an account.

`Outbox` (outbox.py), one queued alert and its record (alert.py), the file (store.py), the
gateway's evidence on a request in doubt (doubt.py), what follows an accepted send
(after.py) and the fate of alerts that left untracked (log.py).
"""

from __future__ import annotations

from .alert import QueuedAlert
from .log import AlertNote
from .outbox import (
    FAILING_ISSUE_AFTER,
    FAILOVER_AFTER,
    HANDOFFS,
    Outbox,
    SendOutcome,
    async_outbox_cannot_load,
    async_remove_outbox,
)
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
    "async_outbox_cannot_load",
    "async_remove_outbox",
]
