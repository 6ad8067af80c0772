"""The storm guard: repeats merged, bursts held, and alerts held past a spending limit.

Every alert passes here on its way from `RuSmsAccount.async_send` to the outbox. Per number:

- The same text within `repeat_window` minutes of the time it went is not sent again: it
  is counted, and the next SMS the number gets (a different alert, the first repeat after
  the window, a summary) ends with "(+N more)".
- At most `burst_limit` alerts within `burst_window` minutes: the rest are held, and go as
  one summary (the latest of them, ending with "(+N more)") once the window has room.
- An alert that would go past a daily spending limit (`spending.py`) is held until midnight
  or until the limit is raised; then it goes on through the guard like a new one.

A critical alert passes all of it, and is counted. What is merged or held is in the
action's response, fired as `ru_sms_alert_held` and shown on the recipient's sensor; what
is held is written to storage before the caller hears of it, and survives a restart; what
goes on fires `ru_sms_alert_released`. The guard holds; the outbox retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..errors import error_details
from ..listeners import ChangeListeners
from ..options import options_from_dict, options_to_dict
from ..outbox import Outbox, SendOutcome
from ..providers import SendOptions, SendResult, SmsGatewayError
from ..providers.delivery_policy import new_message_id
from ..signals import EVENT_ALERT_HELD, EVENT_ALERT_RELEASED
from ..spending import DailySpending
from ..storage import StoreKind, ThrottledSave, account_store, parse_time
from .records import (
    BURST,
    REPEAT,
    GuardAction,
    Guarded,
    GuardSettings,
    HeldAlert,
    HeldAlerts,
    NumberState,
    Plan,
    digest_of,
    more_note,
    parts_of,
)

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
SAVE_DELAY = 1.0
"""Seconds a change of the counts waits to be written with the next ones (held alerts
are written at once)."""


@dataclass(frozen=True, slots=True)
class GuardedOutcome(SendOutcome):
    """What became of an alert: what the outbox did with it, and what the guard did."""

    guarded: tuple[Guarded, ...] = ()

    @classmethod
    def of(cls, outcome: SendOutcome, guarded: Iterable[Guarded]) -> GuardedOutcome:
        """What the outbox did with an alert, and what the guard did.

        Every field spelled out: it is on every alert's way back to its caller.
        """
        return cls(
            result=outcome.result,
            queued=outcome.queued,
            possible_duplicate=outcome.possible_duplicate,
            account=outcome.account,
            alert_id=outcome.alert_id,
            error=outcome.error,
            guarded=tuple(guarded),
        )

    def numbers(self, action: GuardAction) -> list[str]:
        """The numbers the guard did `action` with."""
        return [g.phone for g in self.guarded if g.action is action]


class StormGuard:
    """The storm guard and the spending limits of one account, in front of its outbox."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        outbox: Outbox,
        spending: DailySpending,
        *,
        max_text_length: int,
    ) -> None:
        """Guard what `entry` sends through `outbox`, counting it in `spending`."""
        self.hass = hass
        self.entry = entry
        self.outbox = outbox
        self.spending = spending
        self.settings = GuardSettings.of(entry.options)
        self._max_length = max_text_length
        self.numbers: dict[str, NumberState] = {}
        self.held = HeldAlerts()
        self._store = account_store(hass, StoreKind.GUARD, entry.entry_id, STORAGE_VERSION)
        self._saves = ThrottledSave(self._store, self._data, SAVE_DELAY)
        self._listeners = ChangeListeners(_LOGGER, entry.title)
        self._lock = asyncio.Lock()
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._unsub_spending: CALLBACK_TYPE | None = None
        self._stopped = False
        self.now: Callable[[], datetime] = dt_util.utcnow
        """The clock the windows are read from (tests move their own)."""

    # -- lifecycle ----------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read what the guard counted and held before a restart, and go on with it."""
        stored = await self._store.async_load()
        if isinstance(stored, dict):
            self._read(stored)
        self._unsub_spending = self.spending.async_add_listener(self._schedule)
        self._tell_spending()
        self._schedule()

    async def async_unload(self) -> None:
        """Stop; what is held stays stored for the next start."""
        await self._saves.async_now()
        self._stopped = self._saves.stopped = True
        self._cancel_timer()
        if self._unsub_spending is not None:
            self._unsub_spending()

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` after every change of what is merged or held."""
        return self._listeners.add(listener)

    # -- the send path ------------------------------------------------------------------

    def plan(self, numbers: list[str], text: str, options: SendOptions, *, critical: bool) -> Plan:
        """What the guard would do with an alert now, number by number; nothing changes."""
        return self._plan(numbers, text, options, digest_of(text), critical=critical)

    def _plan(
        self,
        numbers: list[str],
        text: str,
        options: SendOptions,
        digest: str,
        *,
        critical: bool,
        now: datetime | None = None,
    ) -> Plan:
        now = now or self.now()
        send: dict[str, list[str]] = {}
        guarded: list[Guarded] = []
        for phone in numbers:
            state = self.numbers.get(phone)
            if state is None:  # a number the guard knows nothing of (a bulk send's): it goes
                send.setdefault(text, []).append(phone)
                continue
            state.prune(now, self.settings)
            if self.settings.enabled and not critical:
                if state.went(digest) or self._held_repeat(phone, digest) is not None:
                    guarded.append(Guarded(phone, GuardAction.MERGED, REPEAT, state.merged + 1))
                    continue
                if (room := state.room_at(self.settings)) is not None:
                    held = self.held.burst_count(phone) + 1
                    guarded.append(Guarded(phone, GuardAction.HELD, BURST, held, room))
                    continue
            sent = self._with_note(text, state.merged)
            if sent != text:
                guarded.append(Guarded(phone, GuardAction.SUMMARISED, REPEAT, state.merged))
            send.setdefault(sent, []).append(phone)
        parts = 0
        for sent_text, to in send.items():
            parts += parts_of(sent_text, options) * len(to)
        limit = None if critical or not send else self.spending.exceeded(parts)
        if limit is not None:
            at = self.spending.resets_at
            going = [p for phones in send.values() for p in phones]
            guarded = [g for g in guarded if g.action is not GuardAction.SUMMARISED]
            guarded += [Guarded(p, GuardAction.HELD, limit.value, 1, at) for p in going]
        return Plan(send=send, guarded=guarded, limit=limit, parts=parts)

    async def async_send(
        self,
        numbers: list[str],
        text: str,
        options: SendOptions,
        *,
        critical: bool = False,
        queue: bool = True,
        digest: str | None = None,
    ) -> GuardedOutcome:
        """Send an alert through the guard: merged, held, or on to the outbox.

        A repeat is the same text as it goes out (prepared; `digest`: what a held alert
        kept of it). Raises what the outbox raises (nothing the guard merged or held is
        lost by it).
        """
        if digest is None:
            digest = digest_of(text)
        now = self.now()
        plan = self._plan(numbers, text, options, digest, critical=critical, now=now)
        if plan.guarded:  # merged, held or summarised (a limit holds them all)
            await self._async_guard(plan, text, digest, options, now)
        if plan.limit is None and plan.send:
            outcome = await self._async_deliver(plan.send, digest, options, queue=queue, now=now)
            return GuardedOutcome.of(outcome, plan.guarded)
        if plan.guarded:
            self._changed()
        return GuardedOutcome(SendResult(recipients=()), guarded=tuple(plan.guarded))

    async def _async_guard(
        self, plan: Plan, text: str, digest: str, options: SendOptions, now: datetime
    ) -> None:
        """Count what is merged, keep what is held (written before the caller hears), tell it."""
        for item in plan.guarded:
            if item.action is GuardAction.MERGED:
                self._merge(item.phone, digest)
            elif item.reason == BURST:
                self._hold(
                    [item.phone], text, digest=digest, options=options, reason=BURST, now=now
                )
        if plan.limit is not None:
            going = [p for phones in plan.send.values() for p in phones]
            self._hold(
                going, text, digest=digest, options=options, reason=plan.limit.value, now=now
            )
            self._tell_spending()
        if any(g.action is GuardAction.HELD for g in plan.guarded):
            await self._async_save_now()
        self._fire_guarded(plan.guarded, text)

    async def _async_deliver(
        self,
        groups: dict[str, list[str]],
        digest: str,
        options: SendOptions,
        *,
        queue: bool,
        now: datetime,
    ) -> SendOutcome:
        """Hand texts to the outbox, counted first (a failure is not counted)."""
        # Counted before the first request, so that an alert coming meanwhile sees it.
        undo = {p: self._count_sent(p, digest, now) for phones in groups.values() for p in phones}
        # The sensors show the repeats counted: only a note that told them changes them (the
        # tracker tells them of the message itself).
        told = any(undo.values())
        outcomes: list[SendOutcome] = []
        try:
            for text, phones in groups.items():
                outcome = await self.outbox.async_send(phones, text, options, queue=queue)
                outcomes.append(outcome)
                for rejected in outcome.result.rejected:
                    # Refused: it got nothing, and its repeats are still untold.
                    merged = undo.get(rejected.phone, 0)
                    self._uncount(rejected.phone, digest, now, undo_merged=merged)
                for phone in phones:
                    undo.pop(phone, None)
                if outcome.account is None:  # not carried by the fallback account
                    self.spending.add(outcome.result, len(outcome.queued), parts_of(text, options))
        except SmsGatewayError:
            for phone, merged in undo.items():
                self._uncount(phone, digest, now, undo_merged=merged)
            raise
        finally:
            self._changed(shown=told)
        return _combined(outcomes)

    # -- bookkeeping --------------------------------------------------------------------

    def _state(self, phone: str) -> NumberState:
        state = self.numbers.setdefault(phone, NumberState())
        state.prune(self.now(), self.settings)
        return state

    def _held_repeat(self, phone: str, digest: str) -> HeldAlert | None:
        """An alert of the same text to the number that is held already (for any reason)."""
        return self.held.repeat_of(digest, phone)

    def _merge(self, phone: str, digest: str) -> None:
        if (held := self._held_repeat(phone, digest)) is not None:
            held.merged += 1
        self._state(phone).merged += 1

    def _hold(
        self,
        phones: list[str],
        text: str,
        *,
        digest: str,
        options: SendOptions,
        reason: str,
        now: datetime,
    ) -> None:
        self.held.add(
            HeldAlert(
                id=new_message_id(),
                phones=list(phones),
                text=text,
                key=digest,
                options=options_to_dict(options),
                reason=reason,
                held_at=now,
            )
        )

    def _count_sent(self, phone: str, digest: str, now: datetime) -> int:
        """Count an alert to `phone` as sent; the repeats it told of (for an undo).

        Right after `_plan` (which pruned the number's windows): a bulk send's thousands
        of numbers are counted without reading the clock again.
        """
        state = self.numbers.get(phone)
        if state is None:
            if not self.settings.enabled:
                return 0  # off, the guard counts nothing (a note it owes still goes)
            state = self.numbers[phone] = NumberState()
        if self.settings.enabled:
            state.add(digest, now, self.settings.burst_limit)
        merged, state.merged = state.merged, 0
        return merged

    def _uncount(self, phone: str, digest: str, now: datetime, *, undo_merged: int) -> None:
        """The alert did not go to `phone` after all: it was not sent, its repeats stay told."""
        state = self._state(phone)
        state.remove(digest, now)
        state.merged += undo_merged

    def _with_note(self, text: str, merged: int) -> str:
        """`text` ending with "(+N more)" where N > 0 and it fits (else the note waits)."""
        if merged <= 0:
            return text
        noted = f"{text.rstrip()} {more_note(merged)}"
        return noted if len(noted) <= self._max_length else text

    # -- releasing what is held ---------------------------------------------------------

    def _schedule(self) -> None:
        """Wake when a burst's window has room, or at once for what a limit let go."""
        self._cancel_timer()
        if self._stopped or not self.held:
            return
        now = self.now()
        moments = [
            self._state(phone).room_at(self.settings) or now for phone in self.held.burst_phones
        ]
        if self.held.by_limit and self._limit_let_go():
            moments.append(now)
        if moments:
            self._unsub_timer = async_track_point_in_utc_time(
                self.hass, self._on_timer, max(min(moments), now)
            )

    def _limit_let_go(self) -> bool:
        """Whether the spending limits would let the first alert they hold go now.

        Asked as a new alert would be (a "(+N more)" note may make it a part longer): one
        that would be held again is not released, so a release never turns into a loop.
        """
        first = self.held.by_limit[0]
        options = options_from_dict(first.options)
        return self._plan(first.phones, first.text, options, "", critical=False).limit is None

    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    @callback
    def _on_timer(self, _now: datetime) -> None:
        self._unsub_timer = None
        self.entry.async_create_background_task(
            self.hass, self._async_release_due(), f"{DOMAIN} storm guard of {self.entry.title}"
        )

    async def _async_release_due(self) -> None:
        """Send the summaries whose windows have room, and what the limits let go."""
        async with self._lock:
            for phone in self.held.burst_phones:
                if self._stopped:
                    return
                if self._state(phone).room_at(self.settings) is None:
                    await self._async_release_burst(phone)
            for held in self.held.by_limit:
                if self._stopped or not self._limit_let_go():
                    break
                await self._async_release_held(held)
        if not self._stopped:
            self._schedule()

    async def _async_release_burst(self, phone: str) -> None:
        """One summary of what a burst held for `phone`: the latest, "(+N more)"."""
        alerts = self.held.bursts_for(phone)
        latest = max(alerts, key=lambda h: h.held_at)
        for alert in alerts:
            self.held.remove(alert)
        # The others are told by the note (their repeats are counted there already).
        self._state(phone).merged += len(alerts) - 1
        await self._async_save_now()
        count = len(alerts) + sum(h.merged for h in alerts)
        await self._async_send_released([phone], latest, BURST, count)

    async def _async_release_held(self, held: HeldAlert) -> None:
        """An alert a limit held goes on through the guard, as if it came now."""
        self.held.remove(held)
        await self._async_save_now()
        self._tell_spending()
        await self._async_send_released(held.phones, held, held.reason, 1 + held.merged)

    async def _async_send_released(
        self, phones: list[str], held: HeldAlert, reason: str, count: int
    ) -> None:
        """Send what was held; a refusal is told (event and log), never lost quietly."""
        error: str | None = None
        options = _still_valid(options_from_dict(held.options), self.now())
        try:
            await self.async_send(phones, held.text, options, digest=held.key)
        except SmsGatewayError as err:
            error = error_details(err)
            _LOGGER.warning(
                "%s: an alert the storm guard held was refused: %s", self.entry.title, error
            )
        self.hass.bus.async_fire(
            EVENT_ALERT_RELEASED,
            {
                "config_entry_id": self.entry.entry_id,
                "account": self.entry.title,
                "numbers": phones,
                "reason": reason,
                "alerts": count,
                "message": held.text,
                "error": error,
            },
        )

    # -- what people see ----------------------------------------------------------------

    def attributes(self, phones: Iterable[str] | None = None) -> dict[str, Any]:
        """What the guard holds and merged for `phones` (all numbers: None), for a sensor.

        Read after every change of a storm: from the held alerts' indexes, per number,
        never alert by alert.
        """
        wanted = None if phones is None else set(phones)
        if wanted is None:
            burst_phones = self.held.burst_phones
            limited = self.held.by_limit
            states: Iterable[NumberState] = self.numbers.values()
        else:
            burst_phones = [p for p in wanted if self.held.burst_count(p)]
            limited = [h for h in self.held.by_limit if not wanted.isdisjoint(h.phones)]
            # A recipient's few numbers are looked up; the account's sensor sums them all.
            states = [s for p in wanted if (s := self.numbers.get(p)) is not None]
        merged = sum(state.merged for state in states)
        count = sum(self.held.burst_count(p) for p in burst_phones) + len(limited)
        if not count and not merged:
            return {}
        latest = [h for p in burst_phones if (h := self.held.last_burst(p)) is not None]
        latest += limited[-1:]
        release = [self._state(p).room_at(self.settings) or self.now() for p in burst_phones]
        if limited:
            release.append(self.spending.resets_at)
        last = max(latest, key=lambda h: h.held_at, default=None)
        return {
            "held": count,
            "held_reason": None if last is None else last.reason,
            "release_at": min(release).isoformat() if release else None,
            "merged": merged,
        }

    def diagnostics(self) -> dict[str, Any]:
        """Counts only (no numbers, no texts)."""
        reasons: dict[str, int] = {}
        for held in self.held:
            reasons[held.reason] = reasons.get(held.reason, 0) + 1
        return {
            "enabled": self.settings.enabled,
            "numbers": len(self.numbers),
            "merged": sum(s.merged for s in self.numbers.values()),
            "held": reasons,
        }

    def _fire_guarded(self, guarded: list[Guarded], text: str) -> None:
        """`ru_sms_alert_held`, once per action and reason of an alert."""
        groups: dict[tuple[GuardAction, str], list[Guarded]] = {}
        for item in guarded:
            if item.action is not GuardAction.SUMMARISED:
                groups.setdefault((item.action, item.reason), []).append(item)
        for (action, reason), items in groups.items():
            release = [i.release_at for i in items if i.release_at is not None]
            self.hass.bus.async_fire(
                EVENT_ALERT_HELD,
                {
                    "config_entry_id": self.entry.entry_id,
                    "account": self.entry.title,
                    "numbers": [i.phone for i in items],
                    "action": action.value,
                    "reason": reason,
                    "message": text,
                    "count": max(i.count for i in items),
                    "release_at": min(release).isoformat() if release else None,
                },
            )

    def _tell_spending(self) -> None:
        self.spending.held = sum(1 for h in self.held if h.reason != BURST)
        self.spending.update_issues()

    def _changed(self, *, shown: bool = True) -> None:
        """Write, plan the next release, and tell the sensors where what they show changed."""
        self._saves.schedule()
        self._schedule()
        if shown:
            self._listeners.tell()

    # -- storage ------------------------------------------------------------------------

    async def _async_save_now(self) -> None:
        await self._saves.async_now()

    def _data(self) -> dict[str, Any]:
        now = self.now()
        numbers: dict[str, Any] = {}
        iso: dict[datetime, str] = {}
        """A bulk send's numbers share their times: each written once."""

        def text(moment: datetime) -> str:
            if (found := iso.get(moment)) is None:
                found = iso[moment] = moment.isoformat()
            return found

        for phone, state in list(self.numbers.items()):
            state.prune(now, self.settings)
            if state.forgotten:
                del self.numbers[phone]
                continue
            numbers[phone] = {
                "sent": [text(t) for t in state.sent],
                "texts": {k: text(t) for k, t in state.texts},
                "merged": state.merged,
            }
        return {"numbers": numbers, "held": [h.as_dict() for h in self.held]}

    def _read(self, data: dict[str, Any]) -> None:
        """What was stored; what cannot be read is dropped (a held alert, with a warning)."""
        numbers = data.get("numbers")
        for phone, raw in (numbers if isinstance(numbers, dict) else {}).items():
            if not isinstance(raw, dict):
                continue
            sent, texts, merged = raw.get("sent"), raw.get("texts"), raw.get("merged")
            sent = sent if isinstance(sent, list) else []
            texts = texts if isinstance(texts, dict) else {}
            self.numbers[str(phone)] = NumberState(
                sent=tuple(t for t in map(parse_time, sent) if t is not None),
                texts=tuple(
                    (str(k), t) for k, v in texts.items() if (t := parse_time(v)) is not None
                ),
                merged=merged if isinstance(merged, int) and merged > 0 else 0,
            )
        held = data.get("held")
        for item in held if isinstance(held, list) else []:
            try:
                self.held.add(HeldAlert.from_dict(item))
            except TypeError, ValueError:
                _LOGGER.warning("%s: dropping an unreadable held alert", self.entry.title)


def _still_valid(options: SendOptions, now: datetime) -> SendOptions:
    """A send-at time that passed while the alert was held is now."""
    if options.send_at is not None and options.send_at <= now:
        return replace(options, send_at=None, recipient_local_time=False)
    return options


def _combined(outcomes: list[SendOutcome]) -> SendOutcome:
    """The outcomes of the texts an alert went as (one, unless notes differed), as one."""
    if len(outcomes) == 1:
        return outcomes[0]
    balances = [o.result.balance for o in outcomes if o.result.balance is not None]
    first = outcomes[0] if outcomes else SendOutcome(SendResult(recipients=()))
    return replace(
        first,
        result=SendResult(
            recipients=tuple(r for o in outcomes for r in o.result.recipients),
            client_message_id=first.result.client_message_id,
            balance=min(balances, default=None) if balances else None,
        ),
        queued=tuple(p for o in outcomes for p in o.queued),
        possible_duplicate=any(o.possible_duplicate for o in outcomes),
        error=next((o.error for o in outcomes if o.error), None),
    )
