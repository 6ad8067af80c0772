"""The records of an account and the indexes that answer each question about them without a scan.

Every record is held as its stored form (one compact JSON row as UTF-8 bytes, no object
or per-record dict of repeated keys); the indexes, kept up to date on every change, give
the latest message per recipient, the pending set, the next due time, the expiry and the
prune order. A finished record costs its key, its row and one reference in the prune
order (the row itself: a final record's row never changes).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
import heapq
import math
import sys
from typing import Any

import orjson

from .record import TrackedMessage, message_key


def _file(by_id: dict[str, str | list[str]], first: str, key: str) -> None:
    """Add `key` under its first id (SMSC.ru gives one id to every number of a send)."""
    found = by_id.get(first)
    if found is None:
        by_id[first] = key
    elif isinstance(found, str):
        by_id[first] = [found, key]
    else:
        found.append(key)


class Buckets:
    """Keys by time, earliest first: a heap of times and the keys due at each."""

    __slots__ = ("_heap", "_keys")

    def __init__(self) -> None:
        """Nothing filed yet."""
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
        """The earliest time filed (a key of it may have moved since)."""
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
        """Forget every key."""
        self._heap.clear()
        self._keys.clear()


class Index:
    """The records and what answers each question about them without a scan.

    Built off the loop at startup (it touches nothing shared), then only on the loop.
    """

    def __init__(self) -> None:
        """No record yet."""
        self.rows: dict[str, bytes] = {}
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
        self.due = Buckets()
        self.expiry = Buckets()
        self.finished: deque[bytes] = deque()
        """The rows of final records in the order they finished (the prune order)."""
        self._prune_head: tuple[bytes, float, str] | None = None
        """The first of `finished` decoded: its row, when it finished, its key."""

    def add(self, message: TrackedMessage, row: bytes | None = None) -> str:
        """Index a new record (`row`: its stored form, when at hand)."""
        key = message.key
        row = self.rows[key] = row or message.to_row()
        first = message.message_ids[0]
        for later in message.message_ids[1:]:
            self.segments[message_key(later, message.phone)] = key
        if self.by_id is not None:
            _file(self.by_id, first, key)
        if message.recipient_id is not None:
            self.recipients.setdefault(message.recipient_id, {})[key] = None
        self._place(key, message, row)
        return key

    def put(self, key: str, message: TrackedMessage, *, was_final: bool) -> None:
        """Store a changed record (its ids, number and recipient unchanged)."""
        row = self.rows[key] = message.to_row()
        if not was_final:
            self._place(key, message, row)

    def _place(self, key: str, message: TrackedMessage, row: bytes) -> None:
        if message.finished_at is not None:
            self.pending.pop(key, None)
            self.finished.append(row)
            return
        due = message.next_poll.timestamp() if message.next_poll else 0.0
        if self.pending.get(key) != due:
            fresh = key not in self.pending
            self.pending[key] = self.due.add(due, key)
            if fresh:
                self.expiry.add(message.expires_at.timestamp(), key)

    def remove(self, key: str) -> None:
        """Forget the record of `key` and every index entry of it."""
        row = self.rows.pop(key, None)
        if row is None:
            return
        message = TrackedMessage.from_row(row)
        for later in message.message_ids[1:]:
            self.segments.pop(message_key(later, message.phone), None)
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
        while self.finished:
            row = self.finished[0]
            head = self._prune_head
            if head is None or head[0] is not row:
                message = TrackedMessage.from_row(row)
                head = self._prune_head = (row, _finished_at(message), message.key)
            if head[1] >= limit:
                break
            self.finished.popleft()
            self._prune_head = None
            if self.rows.get(head[2]) is row:  # not replaced by a new send with its id
                self.remove(head[2])
                gone += 1
        return gone

    def next_due(self) -> float | None:
        """The earliest time anything is due (possibly of a record that moved since)."""
        if not self.pending:
            self.pending.clear()  # a dict keeps its size once emptied: given back here
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
        """The key of the record of `phone` that has the segment `message_id`."""
        key = message_key(message_id, phone)
        if key in self.rows:
            return key
        return self.segments.get(key)


class Loader:
    """Builds the index of stored rows one row at a time (the tracker feeds it in steps).

    Rows are stored as JSON text, in the order sent: loading them makes no container per
    record (nothing long-lived for the garbage collector to walk), each is decoded once,
    and a readable row is kept as it is (as its UTF-8 bytes).
    """

    def __init__(self, prune_before: float, now: datetime) -> None:
        """Drop what finished before `prune_before`; plan what has no next poll for `now`."""
        self.index = Index()
        self.dropped = 0
        """Rows that could not be read."""
        self._prune_before = prune_before
        self._now = now
        self._last = (-math.inf, "")
        self._last_finished = -math.inf
        self._unordered = False
        self._finished: list[tuple[float, bytes]] = []
        """When each final row finished, while loading (to sort them without decoding)."""

    def add(self, row: Any) -> None:
        """Index one stored row (or count it unreadable)."""
        try:
            message = TrackedMessage.from_row(row)
        except TypeError, ValueError, orjson.JSONDecodeError:
            self.dropped += 1
            return
        finished = message.finished_at.timestamp() if message.finished_at else None
        if finished is not None and finished < self._prune_before:
            return
        kept = row.encode() if isinstance(row, str) else None
        if finished is None and message.next_poll is None:
            message.next_poll = self._now
            kept = None
        self._last = max(self._last, order := (message.sent_at.timestamp(), message.key))
        key = self.index.add(message, kept)
        if finished is not None:
            self._unordered |= finished < self._last_finished
            self._last_finished = max(self._last_finished, finished)
            self._finished.append((finished, self.index.rows[key]))
        if order < self._last:
            self._last = (math.inf, "")  # out of order: sorted by `finish`

    @property
    def in_order(self) -> bool:
        """Whether the rows came in the order sent (else `finish` sorts them)."""
        return self._last[0] != math.inf

    def finish_in_order(self) -> Index:
        """The index of rows that came in the order sent.

        The prune order is the order they finished, which is not the order sent: sorted
        from the times noted while loading (nearly in order: quick), no row decoded again.
        """
        if self._unordered:
            self._finished.sort(key=lambda item: item[0])
            self.index.finished = deque(row for _, row in self._finished)
        self._finished = []
        return self.index

    def finish(self) -> Index:
        """The index, sorted where the rows were not in the order sent (a worker thread's job).

        Only a store of version 1 is out of order: indexed again, sorted, and its prune
        order sorted by decoding the final rows again.
        """
        if self.in_order:
            return self.finish_in_order()
        self._finished = []
        entries = sorted(
            (TrackedMessage.from_row(text).sent_at.timestamp(), key, text)
            for key, text in self.index.rows.items()
        )
        index = Index()
        for _, _, text in entries:
            index.add(TrackedMessage.from_row(text), text)
        index.finished = deque(
            sorted(index.finished, key=lambda row: _finished_at(TrackedMessage.from_row(row)))
        )
        self.index = index
        return index


def stored_rows(data: Any) -> list[Any]:
    """The rows of stored data (none when it holds no list of them)."""
    rows = data.get("rows") if isinstance(data, dict) else None
    return rows if isinstance(rows, list) else []


def load_index(data: Any, prune_before: float, now: datetime) -> tuple[Index, int]:
    """The index of stored data at once; how many records were unreadable."""
    loader = Loader(prune_before, now)
    for row in stored_rows(data):
        loader.add(row)
    return loader.finish(), loader.dropped


def _finished_at(message: TrackedMessage) -> float:
    """When a final record finished (POSIX seconds)."""
    return message.finished_at.timestamp() if message.finished_at else -math.inf
