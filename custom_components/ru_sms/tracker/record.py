"""The delivery record of one message to one number, and its stored form (one JSON row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
import math
from typing import Any

import orjson

from ..providers import DeliveryState, DeliveryStatus, combine_states
from ..status import MessageStatus
from ..storage import read_time

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
in the gateway's zone, is ISO text, or the offset of that zone in seconds when it is the
moment of `updated_at` (as it is when the report that said so was the last).

`segments` is null before any report, else the report of each part, in the order of
`message_ids`: null (not reported), [] or [cost] (a report in the message's own state
and words, most reports' case, so that they are not written twice), or [state, raw code,
raw text, error code, cost]. Version 2 of the store mapped each reported id to the last
form (still read, and written where ids repeat or a report names no id of the message)."""


def message_key(message_id: str, phone: str) -> str:
    """A message's key, unique within an account: its first id and its number."""
    return f"{message_id}:{phone}"


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
        return message_key(self.message_ids[0], self.phone)

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

    @property
    def shown(self) -> tuple[Any, ...]:
        """What an event tells of the message: a change of any of it is worth one."""
        return (self.state, self.raw_code, self.error_code)

    def status(self) -> MessageStatus:
        """Where the message stands, as events, sensors and responses show it."""
        return MessageStatus(
            number=self.phone,
            message_id=self.message_id,
            state=self.state,
            final=self.is_final,
            raw_code=self.raw_code,
            raw_text=self.raw_text,
            error_code=self.error_code,
            cost=self.cost,
            message_ids=tuple(self.message_ids),
            sent_at=self.sent_at,
            delivered_at=self.delivered_at,
        )

    def apply(self, status: DeliveryStatus, now: datetime) -> None:
        """Apply one segment's status (its id is one of the message's)."""
        segment = status.message_id
        if segment not in self.message_ids:
            segment = self.message_ids[0]  # reported by the first id alone
        known = self.segments.get(segment)
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
        self.segments[segment] = SegmentReport(
            status.state, status.raw_code, status.raw_text, status.error_code, cost
        )
        state = self.combined_state()
        self.state = state
        # The gateway's words come from a segment that is in the message's state (the
        # failed part of a failed message), not from whichever part was read last.
        # No part reported in the message's state (the first is final, the others are not
        # asked yet): the words stay those of the state shown.
        deciding = next(
            (
                report
                for m in self.message_ids
                if (report := self.segments.get(m)) is not None and report.state is state
            ),
            None,
        )
        if deciding is not None:
            self.raw_code, self.raw_text, self.error_code = (
                deciding.raw_code,
                deciding.raw_text,
                deciding.error_code,
            )
        costs = [self.segments[m].cost if m in self.segments else None for m in self.message_ids]
        if status.cost is not None and all(c is not None for c in costs):
            # Stream and Devino price each segment: the message costs their sum.
            self.cost = sum(c for c in costs if c is not None)
        self.updated_at = status.updated_at or now
        if state is DeliveryState.DELIVERED and self.delivered_at is None:
            self.delivered_at = status.updated_at or now
        if state.is_final:
            self.finished_at = now
            self.next_poll = None

    def combined_state(self) -> DeliveryState:
        """The message's state from its segments' reports.

        A segment not asked yet is taken to be where the asked one is (they travel
        together), but never final: only a report makes a segment final (and prices it).
        """
        probe = self.segments.get(self.message_ids[0])
        states: list[DeliveryState] = []
        for segment in self.message_ids:
            report = self.segments.get(segment)
            if report is not None:
                states.append(report.state)
            elif probe is None:
                states.append(DeliveryState.QUEUED)
            else:
                states.append(DeliveryState.SENT if probe.state.is_final else probe.state)
        return combine_states(states)

    def to_row(self) -> bytes:
        """The stored form (see `ROW_FIELDS`): JSON as UTF-8 bytes, of their exact size.

        Bytes, not text: a gateway's Cyrillic words would make text two bytes a
        character throughout. Copied from what orjson returns, which keeps a kilobyte of
        buffer.
        """
        return bytes(
            memoryview(
                orjson.dumps(
                    [
                        self.phone,
                        self.message_ids,
                        self.sent_at.timestamp(),
                        self.expires_at.timestamp(),
                        self.recipient_id,
                        self.state.value,
                        self._stored_segments(),
                        self.raw_code,
                        self.raw_text,
                        self.error_code,
                        self.cost,
                        _stamp(self.updated_at),
                        self._stored_delivered_at(),
                        _stamp(self.finished_at),
                        self.polls,
                        _stamp(self.next_poll),
                    ]
                )
            )
        )

    def _stored_segments(self) -> list[list[Any] | None] | dict[str, list[Any]] | None:
        """The segments' reports as stored (see `ROW_FIELDS`)."""
        if not self.segments:
            return None
        ids = self.message_ids
        if len(set(ids)) < len(ids) or not self.segments.keys() <= set(ids):
            return {k: _report(r) for k, r in self.segments.items()}
        own = (self.state, self.raw_code, self.raw_text, self.error_code)
        stored: list[list[Any] | None] = []
        for segment in ids:
            report = self.segments.get(segment)
            if report is None:
                stored.append(None)
            elif (report.state, report.raw_code, report.raw_text, report.error_code) == own:
                stored.append([] if report.cost is None else [report.cost])
            else:
                stored.append(_report(report))
        return stored

    def _stored_delivered_at(self) -> str | int | None:
        """The delivery time as stored: its zone alone when it is `updated_at`'s moment.

        Otherwise as the gateway said it (in its zone: shown to people).
        """
        delivered = self.delivered_at
        if delivered is None:
            return None
        offset = delivered.utcoffset()
        if offset is not None and delivered == self.updated_at and not offset.microseconds:
            return int(offset.total_seconds())
        return delivered.isoformat()

    @classmethod
    def from_row(cls, row: Any) -> TrackedMessage:
        """From a stored row (JSON bytes or text, or decoded); `TypeError`/`ValueError` if bad.

        Reads the rows of version 2 of the store too.
        """
        values = orjson.loads(row) if isinstance(row, (str, bytes)) else row
        if not isinstance(values, list) or len(values) < len(ROW_FIELDS):
            raise TypeError("not a row")
        data = dict(zip(ROW_FIELDS, values, strict=False))
        for name in ("sent_at", "expires_at", "updated_at", "finished_at"):
            data[name] = _from_stamp(data[name])
        delivered = data["delivered_at"]
        if _is_int(delivered):
            if data["updated_at"] is None:
                raise ValueError("no time delivered")
            data["delivered_at"] = data["updated_at"].astimezone(
                timezone(timedelta(seconds=delivered))
            )
        elif delivered is not None:
            data["delivered_at"] = read_time(delivered)
        data["next_poll"] = _from_stamp(data["next_poll"])
        segments = data["segments"]
        aligned = segments if isinstance(segments, list) else None
        if aligned is not None:
            data["segments"] = {}
        elif isinstance(segments, dict) or segments is None:
            data["segments"] = {str(k): _segment(v) for k, v in (segments or {}).items()}
        else:
            raise TypeError("segments")
        message = cls._checked(data)
        if aligned is not None:
            if len(aligned) != len(message.message_ids):
                raise ValueError("segments")
            for segment, stored in zip(message.message_ids, aligned, strict=True):
                if stored is not None:
                    message.segments[segment] = _own_or_segment(message, stored)
        return message

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


def _report(report: SegmentReport) -> list[Any]:
    return [report.state.value, report.raw_code, report.raw_text, report.error_code, report.cost]


def _own_or_segment(message: TrackedMessage, value: Any) -> SegmentReport:
    """A stored report of a part: its own words, or the message's ([] or [cost])."""
    if not isinstance(value, list) or len(value) > 1:
        return _segment(value)
    cost = value[0] if value else None
    if cost is not None and (not isinstance(cost, (int, float)) or isinstance(cost, bool)):
        raise TypeError("cost")
    return SegmentReport(
        message.state,
        message.raw_code,
        message.raw_text,
        message.error_code,
        None if cost is None else float(cost),
    )


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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _stamp(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _from_stamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise TypeError("not a time")
    return datetime.fromtimestamp(value, UTC)
