"""Spending limits: the parts and the money an account spends a day.

Counted as alerts are handed to the outbox: the parts the gateway took, and the parts
that wait in the outbox for another attempt (counted when queued: the safe side of a
limit). The money is what the gateway said a send cost; where it says nothing at once,
the parts at the price per part it told last (a send's answer, a delivery report, a price
asked), corrected when a delivery report prices the message. The day is Home
Assistant's local day: the counts start again at midnight, and survive a restart.

At 80 % of a limit a repair issue says so; an alert that would go past a limit is held
(by the storm guard, `guard.py`) until midnight or until the limit is raised, and
`ru_sms_spending_limit` is fired. Critical alerts pass, and are counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from enum import StrEnum
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import CONF_DAILY_COST, CONF_DAILY_PARTS, DEFAULT_DAILY_COST, DEFAULT_DAILY_PARTS
from .issues import AccountIssue
from .listeners import ChangeListeners
from .providers import SendResult
from .signals import EVENT_SPENDING_LIMIT, signal_message_status
from .storage import StoreKind, ThrottledSave, account_store

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
WARN_AT = Decimal("0.8")
"""The share of a limit at which the repair issue warns."""
MAX_PRICED_LATER = 500
"""Messages of the day whose price a delivery report may still tell (the oldest go)."""
SAVE_DELAY = 1.0
"""Seconds a change of the counts waits to be written with the next ones."""


class LimitKind(StrEnum):
    """What a limit counts (and the reason an alert is held for it)."""

    PARTS = "daily_parts"
    COST = "daily_cost"


@dataclass(frozen=True, slots=True)
class Limits:
    """An account's daily limits (0: none)."""

    parts: int
    cost: Decimal

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> Limits:
        """The limits an account's options set."""
        return cls(
            parts=int(options.get(CONF_DAILY_PARTS, DEFAULT_DAILY_PARTS) or 0),
            cost=_decimal(options.get(CONF_DAILY_COST, DEFAULT_DAILY_COST)) or Decimal(0),
        )


class DailySpending:
    """The day's parts and money of one account, against its limits."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, *, currency: Callable[[], str]
    ) -> None:
        """Count for `entry`; `currency` names the money (the balance's, RUB until it says)."""
        self.hass = hass
        self.entry = entry
        self.currency = currency
        self.limits = Limits.of(entry.options)
        self.day: date | None = None
        self._parts = 0
        self._cost = Decimal(0)
        self._uncounted: list[tuple[SendResult, int, int]] = []
        """Sends told by `add` and not counted yet (`_count`)."""
        self.price: Decimal | None = None
        """The price of one part, as the gateway told it last (None: never)."""
        self._priced_later: dict[str, tuple[int, str]] = {}
        """Messages of the day a delivery report may price: their parts and the money counted."""
        self._fired: set[str] = set()
        """The day's events fired already (`warning`, `reached`): each once a day."""
        self._store = account_store(hass, StoreKind.SPENDING, entry.entry_id, STORAGE_VERSION)
        self._saves = ThrottledSave(self._store, self._data, SAVE_DELAY)
        self._level: str | None = "-"
        """The issue shown (`near`, `reached`, None), "-" before the first look."""
        self._listeners = ChangeListeners(_LOGGER, entry.title)
        self._unsubs: list[CALLBACK_TYPE] = []
        self._unsub_midnight: CALLBACK_TYPE | None = None
        self._near = AccountIssue(
            hass,
            entry.entry_id,
            translation_key="spending_near_limit",
            severity=ir.IssueSeverity.WARNING,
        )
        self._reached = AccountIssue(
            hass,
            entry.entry_id,
            translation_key="spending_limit_reached",
            severity=ir.IssueSeverity.ERROR,
        )
        self.held = 0
        """Alerts the storm guard holds for a limit (told by the guard, for the issue)."""
        self.now: Callable[[], datetime] = dt_util.utcnow
        self._today: tuple[datetime, datetime, tzinfo] | None = None
        """The day counted: its start and end (UTC), and the time zone they were found in."""

    # -- lifecycle ----------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read the day's counts, and start again at every midnight."""
        stored = await self._store.async_load()
        if isinstance(stored, dict):
            self._read(stored)
        self._new_day_if_due()
        self._unsubs.append(
            async_dispatcher_connect(
                self.hass, signal_message_status(self.entry.entry_id), self._on_status
            )
        )
        self.update_issues()

    async def async_unload(self) -> None:
        """Write the counts now; the issues go with the account (shown again at its start)."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self._cancel_midnight()
        await self._saves.async_now()
        self._saves.stopped = True
        self._near.clear()
        self._reached.clear()

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` when a new day starts (held alerts may go)."""
        return self._listeners.add(listener)

    # -- what the guard asks ------------------------------------------------------------

    def expected_cost(self, parts: int) -> Decimal | None:
        """What `parts` parts cost at the price told last (None: no price known)."""
        self._count()  # the sends not counted yet may tell a price
        return None if self.price is None else self.price * parts

    def exceeded(self, parts: int) -> LimitKind | None:
        """The limit that sending `parts` more parts today would go past, if any."""
        self._count()
        self._new_day_if_due()
        if self.limits.parts and self.parts + parts > self.limits.parts:
            return LimitKind.PARTS
        if self.limits.cost:
            cost = self.expected_cost(parts) or Decimal(0)
            # Without a price the money of the next send is unknown: held once it is spent.
            if self.cost + cost > self.limits.cost or self.cost >= self.limits.cost:
                return LimitKind.COST
        return None

    @property
    def resets_at(self) -> datetime:
        """The next local midnight (UTC)."""
        return dt_util.as_utc(dt_util.start_of_local_day(dt_util.as_local(self.now())) + _DAY)

    # -- counting -----------------------------------------------------------------------

    @property
    def parts(self) -> int:
        """The parts counted today."""
        self._count()
        return self._parts

    @property
    def cost(self) -> Decimal:
        """The money counted today."""
        self._count()
        return self._cost

    @callback
    def add(self, result: SendResult, queued: int, parts: int) -> None:
        """Count a send: what the gateway took, and `queued` numbers of `parts` parts.

        Counted at the loop's next turn, after the caller has its answer, or before
        that by whatever reads the counts first (the next alert's `exceeded`): every
        reader sees it.
        """
        self._uncounted.append((result, queued, parts))
        if len(self._uncounted) == 1:
            self.hass.loop.call_soon(self._count)

    def _count(self) -> None:
        """Count the sends `add` was told of."""
        if not self._uncounted:
            return
        sends, self._uncounted = self._uncounted, []
        self._new_day_if_due()
        for result, queued, parts in sends:
            for recipient in result.accepted:
                segments = recipient.segments or parts
                self._parts += segments
                if recipient.cost is not None:
                    self._cost += recipient.cost
                    self._learn(recipient.cost, segments)
                    continue
                counted = self.expected_cost(segments) or Decimal(0)
                self._cost += counted
                for message_id in recipient.message_ids[:1]:
                    self._priced_later[f"{message_id}:{recipient.phone}"] = (
                        segments,
                        str(counted),
                    )
            self._parts += queued * parts
            self._cost += self.expected_cost(queued * parts) or Decimal(0)
        while len(self._priced_later) > MAX_PRICED_LATER:
            del self._priced_later[next(iter(self._priced_later))]
        self._changed()

    @callback
    def learn_quote(self, cost: Decimal, parts: int) -> None:
        """A price the gateway told without sending."""
        self._learn(cost, parts)
        self._saves.schedule()

    def _learn(self, cost: Decimal, parts: int) -> None:
        if parts > 0 and cost > 0:
            self.price = cost / parts

    @callback
    def _on_status(self, data: dict[str, Any]) -> None:
        """A delivery report: where it prices a message counted without one, count it."""
        self._count()
        cost = _decimal(data.get("cost"))
        key = f"{data.get('message_id')}:{data.get('number')}"
        if cost is None or (found := self._priced_later.pop(key, None)) is None:
            return
        parts, counted = found
        self._learn(cost, parts)
        self._cost += cost - Decimal(counted)
        self._changed()

    # -- the day ------------------------------------------------------------------------

    def _new_day_if_due(self) -> bool:
        """Start the counts again when the local day changed; whether it did.

        Asked twice an alert (its plan, its count): the moment is compared with the day's
        bounds, found once a day, not turned into the local time each time.
        """
        now = self.now()
        known = self._today
        zone = dt_util.get_default_time_zone()
        if known is not None and known[0] <= now < known[1] and known[2] is zone:
            return False
        today = dt_util.as_local(now).date()
        self._today = (_utc_start_of(today), _utc_start_of(today + _DAY), zone)
        if self.day == today:
            return False
        if self.day is not None:
            _LOGGER.debug("%s: a new day, the spending counts start again", self.entry.title)
        self.day, self._parts, self._cost = today, 0, Decimal(0)
        self._priced_later.clear()
        self._fired.clear()
        return True

    def _schedule_midnight(self) -> None:
        """Wake at midnight, while a limit is near or reached (the counts start again)."""
        if self._unsub_midnight is None:
            self._unsub_midnight = async_track_point_in_utc_time(
                self.hass, self._on_midnight, self.resets_at
            )

    def _cancel_midnight(self) -> None:
        if self._unsub_midnight is not None:
            self._unsub_midnight()
            self._unsub_midnight = None

    @callback
    def _on_midnight(self, _now: datetime) -> None:
        self._unsub_midnight = None
        self._count()  # the day's last sends are the day's
        if self._new_day_if_due():
            self._saves.schedule()
        self.update_issues()
        self._listeners.tell()

    # -- what people see ----------------------------------------------------------------

    def shares(self) -> dict[LimitKind, Decimal]:
        """The share of each limit set that the day has spent."""
        shares: dict[LimitKind, Decimal] = {}
        if self.limits.parts:
            shares[LimitKind.PARTS] = Decimal(self.parts) / self.limits.parts
        if self.limits.cost:
            shares[LimitKind.COST] = self.cost / self.limits.cost
        return shares

    @callback
    def update_issues(self) -> None:
        """The repair issue of the day's spending, and the events (each once a day)."""
        if self._level is None and not self.held and not (self.limits.parts or self.limits.cost):
            return  # no limit, nothing shown: what every alert of most accounts asks
        top = max(self.shares().values(), default=Decimal(0))
        if top >= 1 or self.held > 0:
            self._level = "reached"
            self._near.clear()
            self._reached.show(**self._placeholders(), held=str(self.held))
            self._fire("reached")
        elif top >= WARN_AT:
            self._level = "near"
            self._reached.clear()
            self._near.show(**self._placeholders(), percent=str(int(top * 100)))
            self._fire("warning")
        else:
            if self._level is not None:  # nothing shown to clear: every alert comes here
                self._level = None
                self._near.clear()
                self._reached.clear()
                self._cancel_midnight()
            return
        self._schedule_midnight()

    def _placeholders(self) -> dict[str, str]:
        return {
            "account": self.entry.title,
            "parts": str(self.parts),
            "parts_limit": str(self.limits.parts) if self.limits.parts else "-",
            "cost": f"{self.cost:.2f}",
            "cost_limit": f"{self.limits.cost:.2f}" if self.limits.cost else "-",
            "currency": self.currency(),
            "resets_at": dt_util.as_local(self.resets_at).strftime("%Y-%m-%d %H:%M"),
        }

    def _fire(self, level: str) -> None:
        # Once a day for each limit: a limit raised and reached again is told again.
        mark = f"{level}:{self.limits.parts}:{self.limits.cost}"
        if mark in self._fired:
            return
        self._fired.add(mark)
        self._saves.schedule()
        self.hass.bus.async_fire(
            EVENT_SPENDING_LIMIT,
            {
                "config_entry_id": self.entry.entry_id,
                "account": self.entry.title,
                "level": level,
                **self.as_dict(),
            },
        )

    def as_dict(self) -> dict[str, Any]:
        """The day's counts and limits (for events, the dry run and diagnostics)."""
        return {
            "parts": self.parts,
            "parts_limit": self.limits.parts,
            "cost": float(self.cost),
            "cost_limit": float(self.limits.cost),
            "currency": self.currency(),
            "price_per_part": None if self.price is None else float(self.price),
            "resets_at": self.resets_at.isoformat(),
        }

    def diagnostics(self) -> dict[str, Any]:
        """The day's counts and limits (no times: they tell nothing support needs)."""
        data = self.as_dict()
        del data["resets_at"]
        return data | {"held": self.held}

    # -- storage ------------------------------------------------------------------------

    def _changed(self) -> None:
        self._saves.schedule()
        self.update_issues()

    def _data(self) -> dict[str, Any]:
        self._count()
        return {
            "day": None if self.day is None else self.day.isoformat(),
            "parts": self.parts,
            "cost": str(self.cost),
            "price": None if self.price is None else str(self.price),
            "priced_later": {k: list(v) for k, v in self._priced_later.items()},
            "fired": sorted(self._fired),
        }

    def _read(self, data: dict[str, Any]) -> None:
        """The stored counts; what cannot be read starts from nothing."""
        try:
            self.day = date.fromisoformat(str(data.get("day")))
        except ValueError:
            return
        parts = data.get("parts")
        self._parts = parts if isinstance(parts, int) and parts >= 0 else 0
        self._cost = _decimal(data.get("cost")) or Decimal(0)
        self.price = _decimal(data.get("price"))
        later = data.get("priced_later")
        for key, value in (later if isinstance(later, dict) else {}).items():
            if (
                isinstance(value, list)
                and len(value) == 2
                and isinstance(value[0], int)
                and _decimal(value[1]) is not None
            ):
                self._priced_later[str(key)] = (value[0], str(value[1]))
        fired = data.get("fired")
        self._fired = {str(f) for f in fired} if isinstance(fired, list) else set()


_DAY = timedelta(days=1)


def _utc_start_of(day: date) -> datetime:
    """The moment (UTC) the local `day` starts."""
    return dt_util.as_utc(dt_util.start_of_local_day(day))


def _decimal(value: Any) -> Decimal | None:
    """An amount as stored or reported; None when it is missing or not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation, ValueError:
        return None
    return amount if amount.is_finite() and amount >= 0 else None
