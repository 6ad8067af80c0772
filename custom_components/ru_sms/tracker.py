"""Delivery tracking: every accepted message is followed until it reaches a final state.

One `MessageTracker` per account. It records each accepted number of a send (with all
its segment ids), keeps the records in Home Assistant's storage so that tracking survives
a restart, asks the gateway for the state on the cheapest schedule its limits allow, and
fires `ru_sms_message_status` on every change. Status callbacks (SMSC's webhook) feed the
same records through `async_apply`. Nothing is asked while nothing is pending.

Cost does not grow with the history kept (a week of finished messages): every record is
held as its stored form (one compact JSON row, no per-record dict of repeated keys), and
indexes kept up to date on every change answer what each alert and each report needs
(the latest message per recipient, the pending set, the next due time, the prune order).
A save hands the rows as they are to a writer thread; loading decodes them off the loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import heapq
import itertools
import logging
import math
import sys
from typing import TYPE_CHECKING, Any
import weakref

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
import orjson

from .const import CONF_PHONES
from .events import async_fire_message_status
from .listeners import ChangeListeners
from .poller import GatewayPoller
from .providers import (
    AuthenticationError,
    DeliveryState,
    DeliveryStatus,
    MessageRef,
    RateLimitedError,
    RecipientResult,
    SendOptions,
    SendResult,
    SmsGateway,
    SmsGatewayError,
    StatusMode,
    combine_states,
)
from .providers.phone import phone_digits
from .status import MessageStatus
from .storage import StoreKind, parse_time, read_time, store_key

if TYPE_CHECKING:
    from .coordinator import RuSmsConfigEntry

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 2
"""1: a list of records as dicts; 2: compact rows (`ROW_FIELDS`), each as JSON text."""
SAVE_DELAY = 5.0
"""Seconds to gather changes before writing them (the store writes at shutdown too)."""

DEFAULT_VALIDITY = timedelta(hours=24)
"""How long a gateway keeps trying when the send named no validity (their default)."""
VALIDITY_MARGIN = timedelta(hours=1)
"""Reports can come a while after the validity ran out."""
PRUNE_AFTER = timedelta(days=7)
"""How long a finished message stays on record (the last-message sensors show it)."""

BACKOFF: tuple[float, ...] = (10, 50, 120, 300, 600)
"""Seconds before each status request of one message; then every `BACKOFF_TAIL`.

Most messages are final within a minute or two: after that the pace drops quickly."""
BACKOFF_TAIL = 900.0
SAFETY_NET_INTERVAL = 900.0
"""With status callbacks on, polling only catches what a lost callback missed."""
ERROR_RETRY = 300.0
"""Seconds before asking again after the gateway refused our credentials."""

RECENT_VIEWS = 64
"""Messages kept decoded after use (the latest ones, which the sensors show)."""
LIST_POLL_MAX = 1000
"""The most messages one status list request names (the largest list a gateway takes)."""
STEP = 100
"""The most records a bulk send or poll handles (and announces) between two turns of
the loop: each costs some 0.1 ms, most of it the event and the event entity's state."""
SLICE = 0.005
"""Seconds of work after which a bulk send or poll lets the loop run, however few records
that was (a slow machine, a busy moment)."""
BATCH = 10
"""Records handled between two looks at the time."""

ROW_FIELDS = (
    "phone",
    "message_ids",
    "sent_at",
    "expires_at",
    "recipient_id",
    "state",
    "segments",
    "raw_code",
    "raw_text",
    "error_code",
    "cost",
    "updated_at",
    "delivered_at",
    "finished_at",
    "polls",
    "next_poll",
)
"""A stored row, in order. Times are POSIX seconds, but `delivered_at`, which people see
in the gateway's zone, is ISO text; `segments` maps each reported segment id to
[state, raw code, raw text, error code, cost]."""


# -- pacing: when to ask, and about which segments ------------------------------------------


@dataclass(frozen=True, slots=True)
class Pacing:
    """The status request schedule of one account, from what its gateway allows.

    The facts it takes (list polling, callbacks) describe the gateway and the account;
    everything about timing lives here.
    """

    list_polling: bool
    """One request answers about every pending message (`min_interval` apart at least)."""
    callbacks: bool
    """The gateway reports states itself; polls are only a safety net."""
    min_interval: float = 0.0
    """Seconds the gateway documents between two status requests."""
    first_after: float | None = None
    """Seconds after a send before the first look, when the gateway sets the pace."""

    @classmethod
    def of(cls, client: SmsGateway, *, callbacks: bool) -> Pacing:
        """The pacing of an account, from its gateway's declared status policy."""
        status = client.description.status
        return cls(
            list_polling=status.mode is StatusMode.LIST,
            callbacks=callbacks,
            min_interval=status.min_interval,
            first_after=status.first_after,
        )

    def first(self, start: datetime) -> datetime:
        """The first look at a message that goes out at `start`."""
        if self.callbacks:
            return start + timedelta(seconds=SAFETY_NET_INTERVAL)
        return start + timedelta(seconds=self.first_after or BACKOFF[0])

    def following(self, polls: int, now: datetime) -> datetime:
        """The look after the `polls`-th one, made `now`."""
        if self.callbacks:
            return now + timedelta(seconds=SAFETY_NET_INTERVAL)
        step = BACKOFF[polls] if polls < len(BACKOFF) else BACKOFF_TAIL
        if self.list_polling:
            # One request answers for every pending message: each still backs off, but
            # none is asked sooner than the gateway allows.
            step = max(step, self.min_interval)
        return now + timedelta(seconds=step)

    def earliest(self, due: float, last_list_poll: datetime | None) -> float:
        """When a request about something due at `due` may go out."""
        if self.list_polling and last_list_poll is not None:
            # Never two list requests closer than the gateway allows, whatever became due.
            return max(due, last_list_poll.timestamp() + self.min_interval)
        return due

    @staticmethod
    def segments_to_ask(message: TrackedMessage) -> list[str]:
        """The segment ids worth a request now.

        The parts of a split message travel together: one of them is asked until it is
        final, then the others are settled (one request each where ids are asked one
        by one) in the same poll.
        """
        open_ids = [m for m in message.message_ids if not message.segment_final(m)]
        probe = message.message_ids[0]
        if probe in open_ids:
            return [probe]
        return open_ids

    @staticmethod
    def settle_now(message: TrackedMessage) -> bool:
        """Whether the rest of a split message is asked at once (its first part is final)."""
        probe = message.segments.get(message.message_ids[0])
        return (
            len(message.message_ids) > 1
            and probe is not None
            and probe.state.is_final
            and not message.is_final
        )


# -- records --------------------------------------------------------------------------


@dataclass(slots=True)
class SegmentReport:
    """The gateway's last word on one segment."""

    state: DeliveryState
    raw_code: str | None = None
    raw_text: str | None = None
    error_code: str | None = None
    cost: float | None = None
    """What the segment cost, where the gateway prices segments one by one."""


@dataclass(slots=True, weakref_slot=True)
class TrackedMessage:
    """One number of one send, followed until its delivery is final.

    The tracker keeps the row (`to_row`); a message decoded from it stays the one the
    tracker changes (and hands out) while anyone holds it.
    """

    phone: str
    message_ids: list[str]
    sent_at: datetime
    expires_at: datetime
    recipient_id: str | None = None
    state: DeliveryState = DeliveryState.QUEUED
    segments: dict[str, SegmentReport] = field(default_factory=dict)
    raw_code: str | None = None
    raw_text: str | None = None
    error_code: str | None = None
    cost: float | None = None
    updated_at: datetime | None = None
    delivered_at: datetime | None = None
    finished_at: datetime | None = None
    polls: int = 0
    next_poll: datetime | None = None

    @property
    def key(self) -> str:
        """Unique within an account: the first id and the number."""
        return f"{self.message_ids[0]}:{self.phone}"

    @property
    def message_id(self) -> str:
        """The id people quote (the first segment's)."""
        return self.message_ids[0]

    @property
    def is_final(self) -> bool:
        """Whether the message will not change any more."""
        return self.finished_at is not None

    @property
    def segment_states(self) -> dict[str, DeliveryState]:
        """The reported state of each segment."""
        return {k: v.state for k, v in self.segments.items()}

    def segment_final(self, segment: str) -> bool:
        """Whether a segment's reported state is final."""
        report = self.segments.get(segment)
        return report is not None and report.state.is_final

    def to_row(self) -> str:
        """The stored form (see `ROW_FIELDS`), as JSON text.

        Text, not the bytes orjson returns: those keep a kilobyte of buffer each.
        """
        return orjson.dumps(
            [
                self.phone,
                self.message_ids,
                self.sent_at.timestamp(),
                self.expires_at.timestamp(),
                self.recipient_id,
                self.state.value,
                {
                    k: [r.state.value, r.raw_code, r.raw_text, r.error_code, r.cost]
                    for k, r in self.segments.items()
                }
                or None,
                self.raw_code,
                self.raw_text,
                self.error_code,
                self.cost,
                _stamp(self.updated_at),
                # As the gateway said it (in its zone): shown to people.
                self.delivered_at.isoformat() if self.delivered_at else None,
                _stamp(self.finished_at),
                self.polls,
                _stamp(self.next_poll),
            ]
        ).decode()

    @classmethod
    def from_row(cls, row: Any) -> TrackedMessage:
        """From a stored row (JSON text or decoded); `TypeError`/`ValueError` if bad."""
        values = orjson.loads(row) if isinstance(row, str) else row
        if not isinstance(values, list) or len(values) < len(ROW_FIELDS):
            raise TypeError("not a row")
        data = dict(zip(ROW_FIELDS, values, strict=False))
        for name in ("sent_at", "expires_at", "updated_at", "finished_at"):
            data[name] = _from_stamp(data[name])
        if data["delivered_at"] is not None:
            data["delivered_at"] = read_time(data["delivered_at"])
        data["next_poll"] = _from_stamp(data["next_poll"])
        segments = data["segments"] or {}
        if not isinstance(segments, dict):
            raise TypeError("segments")
        data["segments"] = {str(k): _segment(v) for k, v in segments.items()}
        return cls._checked(data)

    @classmethod
    def from_dict(cls, data: Any) -> TrackedMessage:
        """From a record as version 1 of the store kept it (a dict, ISO times).

        Raises `TypeError` or `ValueError` for a record that cannot be followed: a bad
        record must fail here, not later in a poll.
        """
        if not isinstance(data, dict):
            raise TypeError("not a record")
        values: dict[str, Any] = {k: data.get(k) for k in ROW_FIELDS if k != "segments"}
        for name in ("sent_at", "expires_at"):
            values[name] = read_time(values.get(name))
        for name in ("updated_at", "delivered_at", "finished_at", "next_poll"):
            values[name] = read_time(values[name]) if values.get(name) else None
        states = dict(data.get("segment_states") or {})
        costs = dict(data.get("segment_costs") or {})
        reports = {
            str(k): v
            for k, v in dict(data.get("segment_reports") or {}).items()
            if isinstance(v, list) and len(v) == 3
        }
        values["segments"] = {
            str(k): _segment([v, *reports.get(str(k), [None] * 3), costs.get(k)])
            for k, v in states.items()
        }
        values["polls"] = data.get("polls", 0)
        values["state"] = data.get("state", DeliveryState.UNKNOWN)
        return cls._checked(values)

    @classmethod
    def _checked(cls, values: dict[str, Any]) -> TrackedMessage:
        ids = values.get("message_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise ValueError("no message ids")
        if not isinstance(values.get("phone"), str) or not values["phone"]:
            raise ValueError("no number")
        if not isinstance(values.get("polls") or 0, int):
            raise TypeError("polls")
        if values["sent_at"] is None or values["expires_at"] is None:
            raise ValueError("no times")
        values["polls"] = values.get("polls") or 0
        values["state"] = DeliveryState(values["state"])
        if values.get("cost") is not None:
            values["cost"] = float(values["cost"])
        rid = values.get("recipient_id")
        values["recipient_id"] = None if rid is None else str(rid)
        for name in ("raw_code", "raw_text", "error_code"):
            if values.get(name) is not None:
                values[name] = str(values[name])
        return cls(**values)


def _segment(value: Any) -> SegmentReport:
    if not isinstance(value, list) or len(value) != 5:
        raise TypeError("segment")
    state, code, text, error, cost = value
    return SegmentReport(
        DeliveryState(state),
        None if code is None else str(code),
        None if text is None else str(text),
        None if error is None else str(error),
        None if cost is None else float(cost),
    )


def _stamp(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _from_stamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise TypeError("not a time")
    return datetime.fromtimestamp(value, UTC)


def _shown(message: TrackedMessage) -> tuple[Any, ...]:
    """What an event tells of a message: a change of any of it is worth one."""
    return (message.state, message.raw_code, message.error_code)


class _TrackerStore(Store[dict[str, Any]]):
    """The account's records; written from a worker thread (the rows never change)."""

    def __init__(self, hass: HomeAssistant, key: str) -> None:
        super().__init__(hass, STORAGE_VERSION, key, serialize_in_event_loop=False)

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: Any
    ) -> Any:
        """Version 1 kept dicts: turned into rows off the loop (there may be many)."""
        if old_major_version == 1:
            return await self.hass.async_add_executor_job(_migrate_v1, old_data)
        return old_data


def _migrate_v1(old: Any) -> dict[str, Any]:
    """Version 1 data as version 2; an unreadable record stays for the loader to drop."""
    if not isinstance(old, dict):
        return {}
    items = old.get("messages")
    rows: list[Any] = []
    for item in items if isinstance(items, list) else []:
        try:
            rows.append(TrackedMessage.from_dict(item).to_row())
        except TypeError, ValueError:
            rows.append(None)
    return {"rows": rows, "last_list_poll": old.get("last_list_poll")}


# -- the index --------------------------------------------------------------------------


def _file(by_id: dict[str, str | list[str]], first: str, key: str) -> None:
    """Add `key` under its first id (SMSC.ru gives one id to every number of a send)."""
    found = by_id.get(first)
    if found is None:
        by_id[first] = key
    elif isinstance(found, str):
        by_id[first] = [found, key]
    else:
        found.append(key)


class _Buckets:
    """Keys by time, earliest first: a heap of times and the keys due at each."""

    __slots__ = ("_heap", "_keys")

    def __init__(self) -> None:
        self._heap: list[float] = []
        self._keys: dict[float, tuple[float, list[str]]] = {}
        """Each time: the float filed (shared by its keys), and the keys."""

    def add(self, when: float, key: str) -> float:
        """File `key` at `when`; returns the time as filed (one float object a time)."""
        found = self._keys.get(when)
        if found is None:
            self._keys[when] = (when, [key])
            heapq.heappush(self._heap, when)
            return when
        found[1].append(key)
        return found[0]

    def earliest(self) -> float | None:
        return self._heap[0] if self._heap else None

    def take(
        self, until: float, valid: Callable[[float, str], bool], limit: int | None = None
    ) -> list[str]:
        """Up to `limit` valid keys filed at or before `until`, earliest first, each once.

        A time's keys beyond the limit stay filed: taking a few of a big send's thousand
        keys costs the few, not the thousands.
        """
        if limit is None:
            limit = sys.maxsize
        found: dict[str, None] = {}
        while self._heap and self._heap[0] <= until and len(found) < limit:
            when = self._heap[0]
            keys = self._keys[when][1]
            while keys and len(found) < limit:
                taken = keys[: limit - len(found)]
                del keys[: len(taken)]
                found.update((key, None) for key in taken if valid(when, key))
            if not keys:
                heapq.heappop(self._heap)
                del self._keys[when]
        return list(found)

    def clear(self) -> None:
        self._heap.clear()
        self._keys.clear()


class _Index:
    """The records and what answers each question about them without a scan.

    Built off the loop at startup (it touches nothing shared), then only on the loop.
    """

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        """Every record by key, in the order they were sent (the last is the latest)."""
        self.segments: dict[str, str] = {}
        """`id:number` of a later segment of a split message: the record's key."""
        self.by_id: dict[str, str | list[str]] | None = None
        """A first id: the key of its record, or of each where several numbers share
        it. Built at the first report without a number (most gateways never send one)."""
        self.recipients: dict[str, dict[str, None]] = {}
        """A recipient's records, in the order they were sent."""
        self.pending: dict[str, float] = {}
        """Records not final yet: when each is due (POSIX seconds)."""
        self.due = _Buckets()
        self.expiry = _Buckets()
        self.finished: deque[tuple[float, str]] = deque()
        """Final records in the order they finished (the prune order)."""

    def add(self, message: TrackedMessage, row: str | None = None) -> str:
        """Index a new record (`row`: its stored form, when at hand)."""
        key = message.key
        self.rows[key] = row or message.to_row()
        first = message.message_ids[0]
        for later in message.message_ids[1:]:
            self.segments[f"{later}:{message.phone}"] = key
        if self.by_id is not None:
            _file(self.by_id, first, key)
        if message.recipient_id is not None:
            self.recipients.setdefault(message.recipient_id, {})[key] = None
        self._place(key, message)
        return key

    def put(self, key: str, message: TrackedMessage, *, was_final: bool) -> None:
        """Store a changed record (its ids, number and recipient unchanged)."""
        self.rows[key] = message.to_row()
        if not was_final:
            self._place(key, message)

    def _place(self, key: str, message: TrackedMessage) -> None:
        if message.finished_at is not None:
            self.pending.pop(key, None)
            self.finished.append((message.finished_at.timestamp(), key))
            return
        due = message.next_poll.timestamp() if message.next_poll else 0.0
        if self.pending.get(key) != due:
            fresh = key not in self.pending
            self.pending[key] = self.due.add(due, key)
            if fresh:
                self.expiry.add(message.expires_at.timestamp(), key)

    def remove(self, key: str) -> None:
        row = self.rows.pop(key, None)
        if row is None:
            return
        message = TrackedMessage.from_row(row)
        for later in message.message_ids[1:]:
            self.segments.pop(f"{later}:{message.phone}", None)
        if self.by_id is not None:
            first = message.message_ids[0]
            found = self.by_id.get(first)
            if found == key:
                del self.by_id[first]
            elif isinstance(found, list) and key in found:
                found.remove(key)
                if len(found) == 1:
                    self.by_id[first] = found[0]
        if message.recipient_id is not None:
            mine = self.recipients.get(message.recipient_id, {})
            mine.pop(key, None)
            if not mine:
                self.recipients.pop(message.recipient_id, None)
        self.pending.pop(key, None)

    def prune(self, limit: float) -> int:
        """Drop the records that finished before `limit`; how many went."""
        gone = 0
        while self.finished and self.finished[0][0] < limit:
            _, key = self.finished.popleft()
            self.remove(key)
            gone += 1
        return gone

    def next_due(self) -> float | None:
        """The earliest time anything is due (possibly of a record that moved since)."""
        if not self.pending:
            self.due.clear()
            self.expiry.clear()
            return None
        return self.due.earliest()

    def take_due(self, now: float, limit: int | None = None) -> list[str]:
        """The pending keys due at `now` (the `limit` earliest), each once.

        The others stay due (a list gateway takes so many at a time).
        """
        pending = self.pending
        return self.due.take(now, lambda when, key: pending.get(key) == when, limit)

    def take_expired(self, now: float) -> list[str]:
        """The pending keys whose time is up at `now`, each once."""
        pending = self.pending
        return self.expiry.take(now, lambda _when, key: key in pending)

    def find_by_id(self, message_id: str) -> str | None:
        """The key of the one record whose first id is `message_id`."""
        if self.by_id is None:
            self.by_id = {}
            for key in self.rows:
                _file(self.by_id, key.rpartition(":")[0], key)
        found = self.by_id.get(message_id)
        return found if isinstance(found, str) else None

    def find(self, message_id: str, phone: str) -> str | None:
        key = f"{message_id}:{phone}"
        if key in self.rows:
            return key
        return self.segments.get(key)


def _build_index(data: Any, prune_before: float, now: datetime) -> tuple[_Index, int]:
    """The index of stored data (in a worker thread); how many records were unreadable.

    Rows are stored as JSON text, in the order sent: loading them makes no container per
    record (nothing long-lived for the garbage collector to walk), each is decoded once,
    and a readable row is kept as it is.
    """
    rows = data.get("rows") if isinstance(data, dict) else None
    index = _Index()
    last = (-math.inf, "")
    dropped = 0
    for row in rows if isinstance(rows, list) else []:
        try:
            message = TrackedMessage.from_row(row)
        except TypeError, ValueError, orjson.JSONDecodeError:
            dropped += 1
            continue
        if message.finished_at is not None and message.finished_at.timestamp() < prune_before:
            continue
        text = row if isinstance(row, str) else None
        if message.finished_at is None and message.next_poll is None:
            message.next_poll = now
            text = None
        last = max(last, order := (message.sent_at.timestamp(), message.key))
        index.add(message, text)
        if order < last:
            last = (math.inf, "")  # out of order: sorted below
    if last[0] == math.inf:
        # Only a store of version 1 is out of order: indexed again, sorted.
        entries = sorted(
            (TrackedMessage.from_row(text).sent_at.timestamp(), key, text)
            for key, text in index.rows.items()
        )
        index = _Index()
        for _, _, text in entries:
            index.add(TrackedMessage.from_row(text), text)
    if any(a[0] > b[0] for a, b in itertools.pairwise(index.finished)):
        index.finished = deque(sorted(index.finished))
    return index, dropped


class MessageTracker(GatewayPoller):
    """Follows the delivery of an account's messages."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: RuSmsConfigEntry,
        client: SmsGateway,
        *,
        callbacks: bool = False,
    ) -> None:
        """Track for `entry`; with `callbacks`, the gateway reports states itself."""
        super().__init__(
            hass,
            entry,
            _LOGGER,
            what="delivery poll",
            failing="cannot get delivery reports",
            back="delivery reports are back",
        )
        self.client = client
        self.callbacks = callbacks
        self.pacing = Pacing.of(client, callbacks=callbacks)
        self._index = _Index()
        self._views: weakref.WeakValueDictionary[str, TrackedMessage] = (
            weakref.WeakValueDictionary()
        )
        self._recent: deque[TrackedMessage] = deque(maxlen=RECENT_VIEWS)
        self._store = _TrackerStore(hass, store_key(StoreKind.TRACKER, entry.entry_id))
        self._listeners = ChangeListeners(_LOGGER, entry.title)
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._timer_at: float | None = None
        self._last_list_poll: datetime | None = None
        self._stopped = False

    # -- lifecycle ----------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read what was in flight before a restart and go on following it.

        Decoding and indexing run in a worker thread: tens of thousands of records
        must not hold the event loop.
        """
        stored = await self._store.async_load()
        data: dict[str, Any] = stored if isinstance(stored, dict) else {}
        now = dt_util.utcnow()
        self._index, dropped = await self.hass.async_add_executor_job(
            _build_index, data, (now - PRUNE_AFTER).timestamp(), now
        )
        for _ in range(dropped):
            _LOGGER.warning("%s: dropping an unreadable delivery record", self.entry.title)
        # A restart must not break a list gateway's pace.
        self._last_list_poll = parse_time(data.get("last_list_poll"))
        self._schedule()

    async def async_unload(self) -> None:
        """Stop polling and write the records now.

        A poll under way is an entry task, cancelled by the unload: nothing it does
        afterwards schedules, saves or tells anyone.
        """
        self._stopped = True
        self._cancel_timer()
        await self._store.async_save(self._data_to_save())

    # -- what the rest of the integration calls ----------------------------------------

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` after every change; returns the function that stops it."""
        return self._listeners.add(listener)

    @callback
    def async_track(
        self, result: SendResult, options: SendOptions, *, note: dict[str, Any] | None = None
    ) -> list[TrackedMessage]:
        """Record the accepted numbers of a send and start following them.

        `note` is added to the first event of each number (how the outbox sent it).
        """
        tracked = self._track(result.accepted, self._plan(options), note)
        if tracked:
            self._changed()
        return tracked

    async def async_track_send(
        self, result: SendResult, options: SendOptions, *, note: dict[str, Any] | None = None
    ) -> None:
        """`async_track` for a send of any size: a bulk one in steps that let the loop run."""
        accepted = result.accepted
        plan = self._plan(options)
        tracked = False
        async for batch in _batches(accepted):
            tracked |= bool(self._track(batch, plan, note))
        if tracked:
            self._changed()

    def _plan(self, options: SendOptions) -> tuple[datetime, datetime, datetime]:
        """When a send's messages were sent, expire and are first asked about."""
        now = dt_util.utcnow()
        try:
            start = max(now, options.send_at) if options.send_at else now
            expires_at = start + (options.validity or DEFAULT_VALIDITY) + VALIDITY_MARGIN
        except TypeError, ValueError, OverflowError:
            # The send went out: follow it for the default time rather than fail.
            start, expires_at = now, now + DEFAULT_VALIDITY + VALIDITY_MARGIN
        return now, expires_at, self.pacing.first(start)

    def _track(
        self,
        accepted: Iterable[RecipientResult],
        plan: tuple[datetime, datetime, datetime],
        note: dict[str, Any] | None = None,
    ) -> list[TrackedMessage]:
        now, expires_at, first_poll = plan
        recipients = self._recipients_by_phone()
        tracked: list[TrackedMessage] = []
        skipped = 0
        for recipient in accepted:
            if not recipient.message_ids:
                continue  # nothing to ask about (should not happen)
            try:
                message = TrackedMessage(
                    phone=recipient.phone,
                    message_ids=list(recipient.message_ids),
                    sent_at=now,
                    expires_at=expires_at,
                    recipient_id=recipients.get(recipient.phone),
                    cost=None if recipient.cost is None else float(recipient.cost),
                    updated_at=now,
                    next_poll=first_poll,
                )
                row = message.to_row()
            except TypeError, ValueError, OverflowError:
                skipped += 1
                continue
            self._index.remove(message.key)  # an id reused: the new send wins
            self._keep(self._index.add(message, row), message)
            tracked.append(message)
            self._fire(message, note)
        if skipped:
            _LOGGER.warning(
                "%s: %d accepted numbers cannot be followed and are not tracked",
                self.entry.title,
                skipped,
            )
        return tracked

    @callback
    def async_apply(self, statuses: Iterable[DeliveryStatus]) -> None:
        """Take reported states (from a poll or a callback) and fire what changed."""
        self._applied(self._apply(statuses))

    def _applied(self, changed: bool | None) -> None:
        """After `_apply`: save and tell when something changed, else plan the next poll."""
        if changed:
            self._changed()
        elif changed is not None:
            self._schedule()

    def _apply(self, statuses: Iterable[DeliveryStatus]) -> bool | None:
        """Apply reported states and fire an event for each message that changed.

        Whether any message changed; None when the reports named no message in flight.
        """
        index = self._index
        # A batch of segment reports is one change of each message.
        working: dict[str, tuple[TrackedMessage, tuple[Any, ...]]] = {}
        for status in statuses:
            key = index.find(status.message_id, phone_digits(status.phone))
            if key is None and not status.phone:
                # A report without its number names the message by id alone: only
                # when that id is one number's (on SMSC.ru one id covers a whole send).
                key = index.find_by_id(status.message_id)
            if key is None:
                continue
            if key not in working:
                found = self._get(key)
                if found is None or found.is_final:
                    continue
                working[key] = (found, _shown(found))
            message = working[key][0]
            if not message.is_final:
                _update(message, status)
        changed = False
        for key, (message, shown) in working.items():
            index.put(key, message, was_final=False)
            if _shown(message) != shown:
                self._fire(message)
                changed = True
        return changed if working else None

    @property
    def in_flight(self) -> int:
        """Messages not yet in a final state."""
        return len(self._index.pending)

    @property
    def messages(self) -> dict[str, TrackedMessage]:
        """Every record on file, decoded (for diagnostics: costs a pass over them)."""
        return {k: m for k in list(self._index.rows) if (m := self._get(k)) is not None}

    def last_message(self, recipient_id: str | None = None) -> TrackedMessage | None:
        """The latest message of the account, or of one recipient."""
        if recipient_id is None:
            keys: dict[str, Any] = self._index.rows
        else:
            keys = self._index.recipients.get(recipient_id, {})
        if not keys:
            return None
        return self._get(next(reversed(keys)))

    def _get(self, key: str) -> TrackedMessage | None:
        """The record of `key`: the message already in use, or decoded from its row."""
        row = self._index.rows.get(key)
        if row is None:
            return None  # pruned (whoever still holds the message keeps it)
        if (view := self._views.get(key)) is not None:
            return view
        view = TrackedMessage.from_row(row)
        self._keep(key, view)
        return view

    def _peek(self, key: str) -> TrackedMessage | None:
        """The record of `key` for a moment: decoded without being kept for later."""
        if (view := self._views.get(key)) is not None:
            return view
        row = self._index.rows.get(key)
        return None if row is None else TrackedMessage.from_row(row)

    def _keep(self, key: str, message: TrackedMessage) -> None:
        """`message` is the one of `key` now; the latest few stay decoded."""
        self._views[key] = message
        self._recent.append(message)

    # -- state changes -------------------------------------------------------------------

    def _give_up(self, key: str, now: datetime) -> None:
        """The validity (and its margin) ran out without a final report."""
        message = self._get(key)
        if message is None or message.is_final:
            return
        message.state = (
            DeliveryState.EXPIRED if message.state is DeliveryState.SENT else DeliveryState.UNKNOWN
        )
        message.finished_at = now
        message.next_poll = None
        message.updated_at = now
        self._index.put(key, message, was_final=False)
        self._fire(message)

    def _fire(self, message: TrackedMessage, note: dict[str, Any] | None = None) -> None:
        recipient = self.entry.subentries.get(message.recipient_id or "")
        data = MessageStatus.of_message(message).as_event(
            self.entry.entry_id, self.entry.title, recipient.title if recipient else None
        )
        async_fire_message_status(self.hass, self.entry, data | (note or {}))

    def _changed(self) -> None:
        """Something people see changed: prune, save, schedule and tell the listeners."""
        if self._stopped:
            return
        self._index.prune((dt_util.utcnow() - PRUNE_AFTER).timestamp())
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        self._schedule()
        self._listeners.tell()

    def _data_to_save(self) -> dict[str, Any]:
        """The rows as they are, called in the writer thread.

        Rows are never changed, only replaced, and copying the dict's values is one
        step under the GIL.
        """
        rows = list(self._index.rows.values())
        return {
            "rows": rows,
            "last_list_poll": self._last_list_poll.isoformat() if self._last_list_poll else None,
        }

    def _recipients_by_phone(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for subentry_id, subentry in self.entry.subentries.items():
            for phone in subentry.data.get(CONF_PHONES, []):
                found.setdefault(phone, subentry_id)
        return found

    # -- polling ----------------------------------------------------------------------

    def _wake_at(self) -> float | None:
        """When the next poll or expiry wants the tracker awake."""
        due = self._index.next_due()
        if due is None:
            return None
        times = [self.pacing.earliest(due, self._last_list_poll)]
        if (expiry := self._index.expiry.earliest()) is not None:
            times.append(expiry)
        return min(times)

    def _schedule(self) -> None:
        """One timer, at the earliest poll or expiry; none while nothing is pending."""
        if self.polling or self._stopped:
            self._cancel_timer()
            return  # the running poll schedules when it is done
        when = self._wake_at()
        if when is not None and when == self._timer_at and self._unsub_timer is not None:
            return  # already set for then
        self._cancel_timer()
        if when is None:
            return
        self._timer_at = when
        self._unsub_timer = async_track_point_in_utc_time(
            self.hass, self._on_timer, datetime.fromtimestamp(when, UTC)
        )

    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
        self._timer_at = None

    @callback
    def _on_timer(self, _now: datetime) -> None:
        self._unsub_timer = None
        self._timer_at = None
        self._async_start_poll()

    @callback
    def _async_asked(self) -> None:
        self._schedule()

    async def _async_ask(self) -> None:
        now = dt_util.utcnow()
        stamp = now.timestamp()
        index = self._index
        if expired := index.take_expired(stamp):
            async for key in _steps(expired):
                self._give_up(key, now)
            self._changed()
        due_at = index.next_due()
        if due_at is None or self.pacing.earliest(due_at, self._last_list_poll) > stamp:
            return  # woken for an expiry only
        # A list gateway: one request about every pending message (the due ones decided
        # the time, and go first); a message not due yet (sent later, or at a later time)
        # keeps its pace. A list names so many: the rest stay due for the next turn.
        due_keys = index.take_due(stamp, LIST_POLL_MAX if self.pacing.list_polling else None)
        if not due_keys:
            return  # what was due has moved since
        asked = due_keys
        if self.pacing.list_polling and len(due_keys) < LIST_POLL_MAX:
            chosen = set(due_keys)
            others = (k for k in index.pending if k not in chosen)
            asked = due_keys + list(itertools.islice(others, LIST_POLL_MAX - len(due_keys)))
        refs, probed = await self._async_prepare_poll(asked, len(due_keys), now)
        if self.pacing.list_polling:
            self._last_list_poll = now
        try:
            statuses = await self.client.delivery_status(refs)
        except SmsGatewayError as err:
            self._failed(err)
            # The whole account waits, not only the messages asked about.
            if isinstance(err, RateLimitedError):
                await self._async_postpone(now + timedelta(seconds=max(err.retry_after, 1.0)))
            elif isinstance(err, AuthenticationError):
                await self._async_postpone(now + timedelta(seconds=ERROR_RETRY))
            return
        self._succeeded()
        await self._async_apply_in_steps(statuses)
        if probed:
            await self._async_settle(probed)
        _LOGGER.debug(
            "%s: asked about %d message(s), %d still in flight",
            self.entry.title,
            len(asked),
            self.in_flight,
        )

    async def _async_prepare_poll(
        self, asked: list[str], due: int, now: datetime
    ) -> tuple[list[MessageRef], list[str]]:
        """What to ask about `asked` (the first `due` of them due now) and when next.

        The next poll is set before asking: whatever goes wrong after, no loop. Nothing
        decoded is held across the request (thousands of records alive that long would
        be moved to the oldest generation of the garbage collector, whose full passes
        walk all of Home Assistant): the answers decode them again.

        Returns the segments to ask about, and the split messages whose first part
        alone is asked (settled in the same poll if it turns final).
        """
        index = self._index
        refs: list[MessageRef] = []
        probed: list[str] = []
        count = 0
        async for key in _steps(asked):
            count += 1
            message = self._peek(key)
            if message is None or message.is_final:
                continue
            if self.pacing.list_polling:
                ids = [i for i in message.message_ids if not message.segment_final(i)]
            else:
                ids = Pacing.segments_to_ask(message)
                if len(ids) < len(message.message_ids) and ids[0] == message.message_ids[0]:
                    probed.append(key)
            refs.extend(MessageRef(message_id=i, phone=message.phone) for i in ids)
            if count <= due:
                message.polls += 1
                message.next_poll = self.pacing.following(message.polls, now)
                index.put(key, message, was_final=False)
        return refs, probed

    async def _async_apply_in_steps(self, statuses: list[DeliveryStatus]) -> None:
        """`async_apply` a long answer in steps (the parts of a message kept together).

        Every changed message fires its event in its step; the save, the schedule and
        the listeners follow once, after the last step.
        """
        changed: bool | None = None  # as `_apply`'s answer, over all the steps
        async for batch in _batches(statuses, lambda a, b: a.phone == b.phone):
            if (step := self._apply(batch)) is not None:
                changed = bool(changed) or step
        self._applied(changed)

    async def _async_settle(self, keys: list[str]) -> None:
        """Ask at once about the other parts of split messages whose first part is final."""
        refs: list[MessageRef] = []
        for key in keys:
            message = self._get(key)
            if message is not None and Pacing.settle_now(message):
                refs.extend(
                    MessageRef(message_id=i, phone=message.phone)
                    for i in Pacing.segments_to_ask(message)
                )
        if not refs:
            return
        try:
            statuses = await self.client.delivery_status(refs)
        except SmsGatewayError as err:
            self._failed(err)  # the next poll settles them
            return
        self.async_apply(statuses)

    async def _async_postpone(self, when: datetime) -> None:
        """No request about any pending message before `when`."""
        stamp = when.timestamp()
        async for key, due in _steps(list(self._index.pending.items())):
            if due < stamp and (message := self._get(key)) is not None and not message.is_final:
                message.next_poll = when
                self._index.put(key, message, was_final=False)


async def _batches[T](
    items: Sequence[T], together: Callable[[T, T], bool] | None = None
) -> AsyncIterator[Sequence[T]]:
    """`items` in batches of `BATCH`, letting the event loop run between some of them.

    A turn of the loop every `STEP` items or `SLICE` seconds, whichever comes first.
    Neighbours for which `together` holds stay in one batch (the parts of a message).
    """
    loop = asyncio.get_running_loop()
    size = max(1, min(BATCH, STEP))
    start = done = 0
    until = loop.time() + SLICE
    while start < len(items):
        end = min(start + size, len(items))
        while together and end < len(items) and together(items[end - 1], items[end]):
            end += 1
        if start and (done >= STEP or loop.time() >= until):
            await asyncio.sleep(0)
            done = 0
            until = loop.time() + SLICE
        yield items[start:end]
        done += end - start
        start = end


async def _steps[T](items: Sequence[T]) -> AsyncIterator[T]:
    """`items` one by one, in the batches of `_batches`."""
    async for batch in _batches(items):
        for item in batch:
            yield item


def _update(message: TrackedMessage, status: DeliveryStatus) -> None:
    """Apply one segment's status (its id is one of the message's)."""
    segment = status.message_id
    if segment not in message.message_ids:
        segment = message.message_ids[0]  # reported by the first id alone
    known = message.segments.get(segment)
    if (
        status.state is DeliveryState.UNKNOWN
        and known is not None
        and known.state is not DeliveryState.UNKNOWN
    ):
        # A lost or empty answer (or an archived state) says nothing about a segment
        # whose state is known: keep it rather than step back.
        return
    cost = None if status.cost is None else float(status.cost)
    if cost is None and known is not None:
        cost = known.cost
    message.segments[segment] = SegmentReport(
        status.state, status.raw_code, status.raw_text, status.error_code, cost
    )
    state = _combined(message)
    message.state = state
    # The gateway's words come from a segment that is in the message's state (the
    # failed part of a failed message), not from whichever part was read last.
    # No part reported in the message's state (the first is final, the others are not
    # asked yet): the words stay those of the state shown.
    deciding = next(
        (
            report
            for m in message.message_ids
            if (report := message.segments.get(m)) is not None and report.state is state
        ),
        None,
    )
    if deciding is not None:
        message.raw_code, message.raw_text, message.error_code = (
            deciding.raw_code,
            deciding.raw_text,
            deciding.error_code,
        )
    costs = [
        message.segments[m].cost if m in message.segments else None for m in message.message_ids
    ]
    if status.cost is not None and all(c is not None for c in costs):
        # Stream and Devino price each segment: the message costs their sum.
        message.cost = sum(c for c in costs if c is not None)
    now = dt_util.utcnow()
    message.updated_at = status.updated_at or now
    if state is DeliveryState.DELIVERED and message.delivered_at is None:
        message.delivered_at = status.updated_at or now
    if state.is_final:
        message.finished_at = now
        message.next_poll = None


def _combined(message: TrackedMessage) -> DeliveryState:
    """The message's state from its segments' reports.

    A segment not asked yet is taken to be where the asked one is (they travel
    together), but never final: only a report makes a segment final (and prices it).
    """
    probe = message.segments.get(message.message_ids[0])
    states: list[DeliveryState] = []
    for segment in message.message_ids:
        report = message.segments.get(segment)
        if report is not None:
            states.append(report.state)
        elif probe is None:
            states.append(DeliveryState.QUEUED)
        else:
            states.append(DeliveryState.SENT if probe.state.is_final else probe.state)
    return combine_states(states)
