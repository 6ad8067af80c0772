"""What the storm guard knows: its settings, each number's counts, the alerts it holds.

Plain records with their stored forms; `guard.py` decides and sends with them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
import hashlib
from typing import Any

from ..const import (
    CONF_BURST_LIMIT,
    CONF_BURST_WINDOW,
    CONF_REPEAT_WINDOW,
    CONF_STORM_GUARD,
    DEFAULT_BURST_LIMIT,
    DEFAULT_BURST_WINDOW,
    DEFAULT_REPEAT_WINDOW,
    DEFAULT_STORM_GUARD,
)
from ..providers import SendOptions
from ..providers.base import segments_of
from ..providers.delivery_policy import new_message_id
from ..providers.translit import transliterate
from ..spending import LimitKind
from ..storage import read_time

REPEAT = "repeat"
BURST = "burst"
"""Why a number's alert was merged or held (besides the spending limits' `LimitKind`)."""


def more_note(count: int) -> str:
    """The note that tells a person how many alerts an SMS stands for besides itself.

    Plain ASCII: it never turns a GSM-7 text into UCS-2 (which would halve a part).
    """
    return f"(+{count} more)"


def parts_of(text: str, options: SendOptions) -> int:
    """Parts a prepared text goes in (where the gateway transliterates, as it will send it)."""
    return segments_of(transliterate(text) if options.transliterate else text)


def digest_of(text: str) -> str:
    """What tells two alerts' texts apart (the texts themselves are not kept for it)."""
    return hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest()[:20]


class GuardAction(StrEnum):
    """What the guard did with one number of an alert, besides sending it as it was."""

    MERGED = "merged"
    """A repeat: counted, not sent."""
    HELD = "held"
    """Kept for later (a burst, a spending limit)."""
    SUMMARISED = "summarised"
    """Sent, ending with "(+N more)"."""


@dataclass(frozen=True, slots=True)
class Guarded:
    """The guard's word about one number of an alert."""

    phone: str
    action: GuardAction
    reason: str
    """`repeat`, `burst`, `daily_parts` or `daily_cost`."""
    count: int = 0
    """Merged: repeats counted for the number so far; held: alerts it holds for the
    number; summarised: the N of "(+N more)"."""
    release_at: datetime | None = None
    """When what is held goes on, where that is known."""

    def as_dict(self) -> dict[str, Any]:
        """For the action's response and the dry run."""
        return {
            "phone": self.phone,
            "action": self.action.value,
            "reason": self.reason,
            "count": self.count,
            "release_at": None if self.release_at is None else self.release_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class GuardSettings:
    """The storm guard's options."""

    enabled: bool
    repeat_window: timedelta
    burst_limit: int
    burst_window: timedelta

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> GuardSettings:
        """The settings an account's options give (the defaults where unset)."""
        return cls(
            enabled=bool(options.get(CONF_STORM_GUARD, DEFAULT_STORM_GUARD)),
            repeat_window=timedelta(
                minutes=float(options.get(CONF_REPEAT_WINDOW, DEFAULT_REPEAT_WINDOW))
            ),
            burst_limit=max(1, int(options.get(CONF_BURST_LIMIT, DEFAULT_BURST_LIMIT))),
            burst_window=timedelta(
                minutes=float(options.get(CONF_BURST_WINDOW, DEFAULT_BURST_WINDOW))
            ),
        )


@dataclass(slots=True)
class NumberState:
    """What the guard remembers of one number."""

    sent: tuple[datetime, ...] = ()
    """When alerts went to it (handed to the outbox), within the burst window.

    A tuple, not a list: the garbage collector stops following a tuple of times (a bulk
    send leaves one state per number in memory for the windows' length)."""
    texts: tuple[tuple[str, datetime], ...] = ()
    """Texts (their digests) that went to it within the repeat window, with when (a few:
    tuples, as `sent`)."""
    merged: int = 0
    """Repeats counted since the last SMS it got."""

    def prune(self, now: datetime, settings: GuardSettings) -> None:
        """Forget what left the windows (nothing is copied while nothing left them)."""
        cutoff = now - settings.burst_window
        if any(t <= cutoff for t in self.sent):
            self.sent = tuple(t for t in self.sent if t > cutoff)
        cutoff = now - settings.repeat_window
        if any(t <= cutoff for _, t in self.texts):
            self.texts = tuple((k, t) for k, t in self.texts if t > cutoff)

    def went(self, digest: str) -> bool:
        """Whether the text went to the number within the repeat window (pruned)."""
        return any(k == digest for k, _ in self.texts)

    def add(self, digest: str, now: datetime, burst_limit: int) -> None:
        """An alert goes to the number now.

        Only the last `burst_limit` times tell when the window has room (`room_at`): a
        storm of critical alerts keeps no more.
        """
        keep = self.sent[len(self.sent) - burst_limit + 1 :] if burst_limit > 1 else ()
        self.sent = (*keep, now) if len(self.sent) >= burst_limit else (*self.sent, now)
        self.texts = (*((k, t) for k, t in self.texts if k != digest), (digest, now))

    def remove(self, digest: str, now: datetime) -> None:
        """The alert counted at `now` did not go after all."""
        if now in self.sent:
            at = self.sent.index(now)
            self.sent = self.sent[:at] + self.sent[at + 1 :]
        self.texts = tuple((k, t) for k, t in self.texts if (k, t) != (digest, now))

    def room_at(self, settings: GuardSettings) -> datetime | None:
        """When the burst window has room for one more alert (None: it has now)."""
        if not settings.enabled or len(self.sent) < settings.burst_limit:
            return None
        return sorted(self.sent)[len(self.sent) - settings.burst_limit] + settings.burst_window

    @property
    def forgotten(self) -> bool:
        """Nothing left to remember."""
        return not (self.sent or self.texts or self.merged)


@dataclass(slots=True)
class HeldAlert:
    """An alert the guard holds (to one number for a burst, to all of its numbers for a limit)."""

    id: str
    phones: list[str]
    text: str
    """As it goes out (prepared)."""
    key: str
    """The digest of its text (what a repeat is told by)."""
    options: dict[str, Any]
    reason: str
    held_at: datetime
    merged: int = 0
    """Repeats of it that came while it was held."""
    _stored: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)
    """Its stored form, made once: every write of a storm writes every held alert."""

    def as_dict(self) -> dict[str, Any]:
        """As stored."""
        if self._stored is None or self._stored["merged"] != self.merged:
            data = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
            data["held_at"] = self.held_at.isoformat()
            self._stored = data
        return self._stored

    @classmethod
    def from_dict(cls, data: Any) -> HeldAlert:
        """From the store; `TypeError`/`ValueError` for a record that cannot be sent."""
        if not isinstance(data, dict):
            raise TypeError("not a record")
        phones = data.get("phones")
        if (
            not isinstance(phones, list)
            or not phones
            or not all(isinstance(p, str) for p in phones)
        ):
            raise ValueError("no numbers")
        text, options = data.get("text"), data.get("options")
        if not isinstance(text, str) or not isinstance(options, dict):
            raise ValueError("no text")
        merged = data.get("merged")
        return cls(
            id=str(data.get("id") or new_message_id()),
            phones=list(phones),
            text=text,
            key=str(data.get("key") or digest_of(text)),
            options=options,
            reason=str(data.get("reason") or BURST),
            held_at=read_time(data.get("held_at")),
            merged=merged if isinstance(merged, int) and merged >= 0 else 0,
        )


class HeldAlerts:
    """The alerts the guard holds, in the order held, indexed as the guard asks of them.

    Each alert of a storm asks "is this text held for this number already?" and "how many
    are held for it?": dictionaries answer, so a thousand alerts held at once cost a
    thousand lookups, not half a million comparisons.
    """

    __slots__ = ("_bursts", "_items", "_limits", "_repeats")

    def __init__(self) -> None:
        """Nothing held."""
        self._items: dict[str, HeldAlert] = {}
        self._bursts: dict[str, dict[str, HeldAlert]] = {}
        """Per number, what a burst holds for it (by id, in the order held)."""
        self._repeats: dict[tuple[str, str], HeldAlert] = {}
        """Per (text digest, number), the alert held with that text."""
        self._limits: dict[str, HeldAlert] = {}
        """What a spending limit holds (by id, in the order held)."""

    def __iter__(self) -> Iterator[HeldAlert]:
        """Every held alert, in the order held (a copy: the loop may release meanwhile)."""
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        """How many are held."""
        return len(self._items)

    def add(self, held: HeldAlert) -> None:
        """Hold one more."""
        self._items[held.id] = held
        for phone in held.phones:
            self._repeats.setdefault((held.key, phone), held)
            if held.reason == BURST:
                self._bursts.setdefault(phone, {})[held.id] = held
        if held.reason != BURST:
            self._limits[held.id] = held

    def remove(self, held: HeldAlert) -> None:
        """Hold it no more."""
        if self._items.pop(held.id, None) is None:
            return
        self._limits.pop(held.id, None)
        for phone in held.phones:
            if self._repeats.get((held.key, phone)) is held:
                # A text held for a number is not held twice (its repeats are merged).
                del self._repeats[(held.key, phone)]
            if (bursts := self._bursts.get(phone)) is not None:
                bursts.pop(held.id, None)
                if not bursts:
                    del self._bursts[phone]

    def repeat_of(self, key: str, phone: str) -> HeldAlert | None:
        """An alert of the text `key` to `phone` held already (for any reason)."""
        return self._repeats.get((key, phone))

    def bursts_for(self, phone: str) -> list[HeldAlert]:
        """What a burst holds for `phone`, in the order held."""
        found = self._bursts.get(phone)
        return list(found.values()) if found else []

    def last_burst(self, phone: str) -> HeldAlert | None:
        """The alert a burst held last for `phone`."""
        found = self._bursts.get(phone)
        return next(reversed(found.values())) if found else None

    def burst_count(self, phone: str) -> int:
        """How many a burst holds for `phone`."""
        found = self._bursts.get(phone)
        return len(found) if found else 0

    @property
    def burst_phones(self) -> list[str]:
        """The numbers a burst holds alerts for."""
        return list(self._bursts)

    @property
    def by_limit(self) -> list[HeldAlert]:
        """What a spending limit holds, in the order held."""
        return list(self._limits.values())


@dataclass(frozen=True, slots=True)
class Plan:
    """What the guard would do with an alert now (nothing done yet)."""

    send: dict[str, list[str]]
    """The texts that would go (a note added or not), each with its numbers."""
    guarded: list[Guarded]
    limit: LimitKind | None = None
    """The spending limit that holds the numbers that would go, if any."""
    parts: int = 0
    """Parts the numbers that would go take, together."""
