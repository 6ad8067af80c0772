"""The outbox's file: one record per alert, written off the loop, one write for many changes.

A change of one alert makes that alert's record again (`QueuedAlert.as_record`), never
the others', when the next write starts (an alert answered before it needs none).
Writes are gathered: the changes of a few milliseconds (`FIRST_WAIT`), and those made
while a write is under way and in the short gap after it (`WRITE_GAP`), go in the next
single write, whose JSON is made in the writer thread from the records as they are (a
record is replaced, never changed); records as the file holds them already are not
written again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..const import DOMAIN
from ..storage import Damage, StoreKind, async_keep_aside, async_read, store_key
from .alert import QueuedAlert

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
WAKE_AT_ONCE = 25
"""Waiters of a write that go on in one turn of the loop (the rest in the next turns)."""
WRITE_GAP = 0.01
"""Seconds between two writes back to back: changed while a write was under way, the
records wait this long for the burst's next changes before the next write.

Under a burst the writer would start again the moment it ended, a write every few
milliseconds, each holding the interpreter's lock against the loop for its JSON and its
file calls (200 callers at once: a write every 6 ms, and a quarter fewer alerts a
second at every concurrency). A change after a quiet moment is written `FIRST_WAIT` after it."""
FIRST_WAIT = 0.005
"""Seconds a change after a quiet moment waits before it is written (unless a caller waits
for the write: then at once).

A first attempt's record goes in flight beside its request: a gateway that answers within
this time (one on the local network) has taken the alert before its record was written,
and the record's coming and going cancel out: no write at all. Each write's file calls in
the writer thread took the interpreter's lock from the loop while it read the answer
(0.4 ms of a 1.2 ms round trip against an emulator on this machine). A crash in this
time loses nothing that had gone out: the request is in the system's socket buffer."""


class OutboxStore:
    """The stored records of one account's outbox (shared by its successive loads)."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """The file of the account `entry_id`."""
        self.hass = hass
        self._store: Store[dict[str, Any]] = Store(
            hass,
            STORAGE_VERSION,
            store_key(StoreKind.OUTBOX, entry_id),
            serialize_in_event_loop=False,
        )
        self.records: dict[str, dict[str, Any]] = {}
        """Each alert's record, by its id (as made for the last write)."""
        self._due: dict[str, QueuedAlert] = {}
        """Alerts changed since their record was made: made again for the next write."""
        self.extra: dict[str, Any] = {}
        """What else the outbox keeps beside the alerts (each value replaced, never changed)."""
        self._changes = 0
        self._written = 0
        self._writer: asyncio.Task[None] | None = None
        self._start: asyncio.TimerHandle | None = None
        self._known = False
        """Whether the file is known to hold what the last write gave it."""
        self._saving = False
        self._saved_ids: set[str] = set()
        """The alerts the file holds (when `_known`)."""
        self._dirty: set[str] = set()
        """The alerts whose record differs from the file's."""
        self._extra_dirty = False
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    async def async_load(self) -> tuple[list[QueuedAlert], dict[str, Any], Damage | None]:
        """The alerts kept, what else was kept, and what could not be read of the file."""
        data, damage = await async_read(self.hass, self._store, StoreKind.OUTBOX)
        if data is None:
            # No file (or one kept aside): as good as an empty one.
            self._known = not self.records and not self.extra
            return [], {}, damage
        items = data.get("alerts") if isinstance(data, dict) else None
        if not isinstance(items, list):
            kept = await async_keep_aside(self.hass, self._store)
            return [], {}, Damage(StoreKind.OUTBOX, None, kept, "no list of alerts")
        alerts: list[QueuedAlert] = []
        lost = 0
        for item in items:
            try:
                alerts.append(QueuedAlert.from_record(item))
            except TypeError, ValueError:
                lost += 1
        extra = {k: v for k, v in data.items() if k != "alerts"}
        if not lost:
            return alerts, extra, None
        kept = await async_keep_aside(self.hass, self._store)
        return alerts, extra, Damage(StoreKind.OUTBOX, lost, kept, "unreadable alerts")

    async def async_count(self) -> int:
        """How many records the file holds (read as it is: nothing moved, nothing checked)."""
        data = await self._store.async_load()
        items = data.get("alerts") if isinstance(data, dict) else None
        return len(items) if isinstance(items, list) else 0

    def put(self, alert: QueuedAlert) -> int:
        """`alert` changed: its record is made again, and written, with the next write.

        Returns the change's number (for `async_written`); so do the other changes.
        """
        self._due[alert.id] = alert
        self._dirty.add(alert.id)
        return self._changed()

    def put_all(self, alerts: Iterable[QueuedAlert]) -> int:
        """Several alerts changed: one write for all of them."""
        for alert in alerts:
            self._due[alert.id] = alert
            self._dirty.add(alert.id)
        return self._changed()

    def drop(self, alert_id: str) -> int:
        """The alert left the outbox."""
        due = self._due.pop(alert_id, None)
        if self.records.pop(alert_id, None) is not None or due is not None:
            if alert_id in self._saved_ids:
                self._dirty.add(alert_id)
            else:
                self._dirty.discard(alert_id)  # came and went before any write
            return self._changed()
        return self._changes

    def set_extra(self, key: str, value: Any) -> int:
        """Keep `value` (not changed afterwards) beside the alerts."""
        self.extra[key] = value
        self._extra_dirty = True
        return self._changed()

    async def async_written(self, change: int | None = None) -> None:
        """Wait until `change` (default: every change made so far) is written.

        A change's own number, not the changes made since: under a stream of sends
        each waiter of "everything so far" waited for one more write (the jobs after
        accepted sends, one after the other, went on at one a write: 40 a second).
        """
        target = self._changes if change is None else min(change, self._changes)
        if self._written >= target:
            return
        future: asyncio.Future[None] = self.hass.loop.create_future()
        self._waiters.append((target, future))
        self._start_writer()
        await future

    def _changed(self) -> int:
        self._changes += 1
        if self._clean() and not self._saving:
            # As the file holds it already (an alert answered before its record was
            # written): nothing to write, nothing to wait for.
            self._written = self._changes
            self._cancel_start()
            self._wake()
        elif self._writer is None and self._start is None:
            self._start = self.hass.loop.call_later(FIRST_WAIT, self._start_writer)
        return self._changes

    def _cancel_start(self) -> None:
        if self._start is not None:
            self._start.cancel()
            self._start = None

    def _start_writer(self) -> None:
        # Not started eagerly: the other changes of this turn of the loop (and a first
        # request on its way) come first, and go in the same write.
        self._cancel_start()
        if self._writer is None:
            self._writer = self.hass.async_create_task(
                self._async_write(), f"{DOMAIN} outbox write", eager_start=False
            )

    def _clean(self) -> bool:
        """Whether the file holds the records and the rest as they are."""
        return self._known and not self._dirty and not self._extra_dirty

    async def _async_write(self) -> None:
        try:
            while self._written < self._changes:
                target = self._changes
                if self._clean():
                    self._written = target
                    self._wake()
                    continue
                for alert_id, alert in self._due.items():
                    self.records[alert_id] = alert.as_record()
                self._due.clear()
                # The records as they are now (references to them, not copies): the
                # writer thread turns them into JSON.
                data = self.extra | {"alerts": list(self.records.values())}
                self._saved_ids = set(self.records)
                self._dirty.clear()
                self._extra_dirty = False
                self._saving = True
                try:
                    await self._store.async_save(data)
                    self._known = True
                except Exception:
                    self._known = False
                    _LOGGER.exception("Cannot write %s", self._store.key)
                finally:
                    self._saving = False
                self._written = max(self._written, target)
                self._wake()
                if self._written < self._changes:
                    # Changed while the write was under way: a burst. Its next changes
                    # gather for a moment (the waiters of this write went on already).
                    await asyncio.sleep(WRITE_GAP)
        finally:
            self._writer = None
            self._wake(everyone=True)

    def _wake(self, *, everyone: bool = False) -> None:
        ready: list[asyncio.Future[None]] = []
        waiting = []
        for target, future in self._waiters:
            if everyone or target <= self._written:
                ready.append(future)
            else:
                waiting.append((target, future))
        self._waiters = waiting
        self._release(ready)

    def _release(self, futures: list[asyncio.Future[None]]) -> None:
        """Let the waiters of a write go on, `WAKE_AT_ONCE` a turn of the loop, in order.

        A round of a thousand alerts waits for one write: woken all at once, their
        requests would all start in one turn of the loop.
        """
        for future in futures[:WAKE_AT_ONCE]:
            if not future.done():
                future.set_result(None)
        if len(futures) > WAKE_AT_ONCE:
            self.hass.loop.call_soon(self._release, futures[WAKE_AT_ONCE:])
