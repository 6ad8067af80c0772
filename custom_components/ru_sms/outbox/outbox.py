"""The outbox: every alert of an account goes through it, and none is lost to a passing fault.

An alert is handed to Home Assistant's storage as its first request goes out (before
any answer is read), with its numbers, text, options, attempts, next attempt time and
deadline (counted from its send-at time, when it has one). The caller waits for the
first attempt only: accepted, refused for good (raised), or queued; what follows an
acceptance (tracking, events, entity states) runs after the caller has its answer
(`AfterSend`). A queued alert is tried again with exponential backoff (the decisions are
the providers' `delivery_policy` table) until it is accepted or its deadline passes; the
due alerts of a round are tried side by side, as many at once as the account's request
budget allows. A request whose answer was lost is never sent again without asking the
gateway for evidence first (`doubt`); its final outcome fires `ru_sms_message_status`.

The outbox outlives a reload: an unload hands its queue, its file and any request still
under way to the next load of the account (`HANDOFFS`); a removal hands the queue to the
fallback account, or fails each alert, and says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
import logging
from operator import attrgetter
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ..const import (
    CONF_GIVE_UP_AFTER,
    CONF_MAX_COPIES,
    DEFAULT_GIVE_UP_AFTER,
    DEFAULT_MAX_COPIES,
    DOMAIN,
)
from ..errors import error_details
from ..issues import async_show_damage
from ..listeners import ChangeListeners
from ..options import options_to_dict, send_options
from ..providers import (
    DeliveryState,
    Evidence,
    RecipientResult,
    SendOptions,
    SendResult,
    SmsGateway,
    SmsGatewayError,
)
from ..providers.delivery_policy import (
    Decision,
    Verdict,
    backoff,
    decide,
    keeps_our_id,
    new_message_id,
    wait_after,
)
from ..providers.phone import phone_digits
from ..status import STATE_WAITING
from ..tracker import MessageTracker
from ..tracker.steps import batches
from .after import AfterSend
from .alert import Backoffs, Failure, QueuedAlert, SendOutcome
from .doubt import async_evidence, cannot_tell, resolve_doubt
from .reports import FAILING_ISSUE_AFTER, Reports
from .store import OutboxStore

_LOGGER = logging.getLogger(__name__)

FAILOVER_AFTER = timedelta(minutes=2)
"""A gateway failing this long with nothing possibly sent: the fallback account carries it."""
HANDOFFS: HassKey[dict[str, Outbox]] = HassKey(f"{DOMAIN}_outbox_handoffs")
"""The outbox of each account unloaded since, for its next load (or its removal)."""


class Outbox:
    """The alerts of one account that wait for the gateway."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        gateway: SmsGateway,
        tracker: MessageTracker,
        *,
        on_balance: Callable[[Decimal], None] | None,
        fallback: Callable[[], Outbox | None],
    ) -> None:
        """The outbox of `entry`, sending through `gateway`.

        What the gateway takes goes to `tracker`; a balance its answer reports, to
        `on_balance`; what the account cannot carry, to the outbox `fallback` finds.
        """
        self.hass = hass
        self.entry = entry
        self.gateway = gateway
        self.tracker = tracker
        self.on_balance = on_balance
        self.fallback = fallback
        self.alerts: dict[str, QueuedAlert] = {}
        self.store = OutboxStore(hass, entry.entry_id)
        self.reports = Reports(hass, entry, self.store, self._changed)
        self.after = AfterSend(hass, entry.title)
        self._busy: set[str] = set()
        """Alerts a round is working on."""
        self._requests = 0
        """Requests under way (a removal waits for their end)."""
        self._quiet = asyncio.Event()
        self._backoffs = Backoffs()
        self._stopped = False
        self._change_pending = False
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._listeners = ChangeListeners(_LOGGER, entry.title)
        self.now: Callable[[], datetime] = dt_util.utcnow
        """The clock attempts and deadlines are read from (tests move their own)."""

    # -- lifecycle ----------------------------------------------------------------------

    def resume(self, fresh: Outbox) -> None:
        """A reload: go on with the next load's services, which `fresh` was made with."""
        self.gateway = fresh.gateway
        self.tracker = fresh.tracker
        self.on_balance = fresh.on_balance
        self.fallback = fresh.fallback
        self._stopped = False
        self.after.resume()
        self._start()

    async def async_load(self) -> None:
        """Read the alerts kept before a restart, and go on with them."""
        alerts, extra, damage = await self.store.async_load()
        self.reports.log.load(extra.get("log"))
        now = self.now()
        for alert in alerts:
            if alert.in_flight:
                # Home Assistant stopped while a request was under way: it may have gone.
                alert.in_flight = False
                self._lost_answer(alert, alert.attempt_at or now)
                alert.next_attempt = min(self._settled(alert, now), alert.deadline)
            self.alerts[alert.id] = alert
        if damage is not None:
            async_show_damage(self.hass, self.entry.entry_id, self.entry.title, damage)
            # What was read goes back to the file (the file as it was is kept aside).
            self.store.put_all(self.alerts.values())
        self._start()

    def _start(self) -> None:
        self.reports.start()
        self._changed()

    async def async_unload(self) -> None:
        """Stop trying; keep the queue for the next load, write what changed.

        What follows the sends already answered runs first (with this load's tracker);
        a request still under way ends in the next load, in doubt where it may have gone.
        """
        await self.after.async_drain()
        self.after.stopped = True
        self._stopped = True
        self._cancel_timer()
        self.hass.data.setdefault(HANDOFFS, {})[self.entry.entry_id] = self
        await self.store.async_written()
        self.reports.stop()

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` after every change of the queue."""
        return self._listeners.add(listener)

    # -- what the rest of the integration calls ----------------------------------------

    @property
    def queued(self) -> int:
        """Alerts waiting for another attempt."""
        return len(self.alerts)

    @property
    def waiting(self) -> int:
        """Messages (one number of one alert each) waiting in the outbox."""
        return sum(len(alert.phones) for alert in self.alerts.values())

    def latest(self, phones: list[str] | None = None) -> QueuedAlert | None:
        """The newest queued alert (to any of `phones`, when given)."""
        # An alert's numbers are normalised already: one set check, not one per number.
        wanted = None if phones is None else {phone_digits(p) for p in phones}
        alerts: Iterable[QueuedAlert] = self.alerts.values()
        if wanted is not None:
            alerts = [alert for alert in alerts if not wanted.isdisjoint(alert.phones)]
        return max(alerts, key=attrgetter("created_at"), default=None)

    def diagnostics(self) -> dict[str, Any]:
        """Counts of the queue (no numbers, no texts)."""
        return self.reports.diagnostics(self.alerts.values(), after_send=len(self.after))

    def give_up_after(self) -> timedelta:
        """How long an alert without a validity of its own is tried."""
        minutes = self.entry.options.get(CONF_GIVE_UP_AFTER, DEFAULT_GIVE_UP_AFTER)
        return timedelta(minutes=float(minutes))

    @property
    def max_copies(self) -> int:
        """Requests that may have been taken, at most, where the gateway cannot tell."""
        return max(1, int(self.entry.options.get(CONF_MAX_COPIES, DEFAULT_MAX_COPIES)))

    async def async_send(
        self,
        numbers: list[str],
        text: str,
        options: SendOptions,
        *,
        queue: bool = True,
        failover: bool = True,
        carried: QueuedAlert | None = None,
    ) -> SendOutcome:
        """Send an alert: written down first, then its first attempt.

        Raises the gateway's error when it refused the alert for good, or on any failure
        when `queue` is off (the caller handles errors itself); else what was accepted,
        refused and queued. `carried`: the alert of another account this one carries
        (its id, time, deadline and origin stay).
        """
        now = self.now()
        alert_id = carried.id if carried is not None else None
        # Our id lets a later round ask the gateway about a send in doubt; a fail-fast
        # send has no later round, and the caller's repeat must read as the same request
        # (SMSC.ru refuses an identical send within a minute: `AlreadySentError`).
        if queue and keeps_our_id(self.gateway) and options.client_message_id is None:
            options = options.with_client_message_id(alert_id or new_message_id())
        start = max(now, options.send_at) if options.send_at else now
        alert = QueuedAlert(
            id=alert_id or options.client_message_id or new_message_id(),
            phones=list(numbers),
            text=text,
            options=options_to_dict(options),
            deadline=carried.deadline
            if carried is not None
            else start + (options.validity or self.give_up_after()),
            created_at=carried.created_at if carried is not None else now,
            next_attempt=now,
            failover=failover,
            origin=None if carried is None else carried.origin,
        )
        self._start_attempt(alert, now)
        self.alerts[alert.id] = alert
        # To the writer thread at the loop's next turn: by then the request is on its way
        # (on a kept-alive connection its first wait is for the answer) and no answer can
        # have been read. The write runs beside the wait for the answer, not in front of
        # the request.
        self.store.put(alert)
        # No lock: the timer's rounds skip an alert whose request is under way.
        attempt = await self._async_attempt(alert, options, first=True)
        if isinstance(attempt, SendResult):
            return SendOutcome(
                attempt, possible_duplicate=alert.possible_duplicate, alert_id=alert.id
            )
        if (
            attempt.verdict is Verdict.PERMANENT
            and attempt.account_level
            and (taken_over := await self._async_failover(alert)) is not None
        ):
            return taken_over
        if attempt.verdict is Verdict.PERMANENT or not queue:
            self._drop(alert)
            raise attempt.error
        self._keep(alert, attempt, first=True)
        return SendOutcome(
            SendResult(recipients=()),
            queued=tuple(alert.phones),
            alert_id=alert.id,
            error=alert.last_error,
        )

    async def async_take_over(self, alert: QueuedAlert) -> SendOutcome:
        """Send an alert another account could not, with this account's default sender.

        Its id, validity, time, flash and deadline stay; it never fails over again from
        here.
        """
        sent = alert.send_options
        options = replace(
            send_options(self.entry.options, {}),
            validity=sent.validity,
            send_at=sent.send_at,
            flash=sent.flash,
            transliterate=False,
        )
        numbers, text = self.gateway.prepare(alert.phones, alert.text, options)
        return await self.async_send(numbers, text, options, failover=False, carried=alert)

    # -- attempts -----------------------------------------------------------------------

    def _start_attempt(self, alert: QueuedAlert, now: datetime) -> None:
        alert.attempts += 1
        alert.in_flight = True
        alert.attempt_at = now

    async def _async_attempt(
        self, alert: QueuedAlert, options: SendOptions, *, first: bool = False
    ) -> SendResult | Failure:
        """One request for `alert` (its in-flight mark is on its way to the disk)."""
        self._requests += 1
        self._quiet.clear()
        try:
            result = await self.gateway.send_prepared(list(alert.phones), alert.text, options)
        except SmsGatewayError as err:
            alert.in_flight = False
            # SMSC.ru's "already sent" (error 9 after a lost answer) proves nothing by
            # itself (it counts a request it never took as well): like any other doubt,
            # the gateway's evidence is asked before anything is sent again.
            decision = decide(self.gateway.gateway_id, err)
            if decision.verdict is Verdict.AMBIGUOUS:
                self._lost_answer(alert, self.now())
            return Failure(err, decision.verdict, decision.retry_after, decision.account_level)
        except asyncio.CancelledError:
            # An unload (a reload) or a stop cut the request: it may have gone.
            alert.in_flight = False
            self._lost_answer(alert, self.now())
            self.store.put(alert)
            raise
        finally:
            self._requests -= 1
            if not self._requests:
                self._quiet.set()
        self._accepted(alert, result, options, first=first)
        return result

    async def async_requests_ended(self) -> None:
        """Wait until no request of the outbox is under way (each has its timeout)."""
        if self._requests:
            await self._quiet.wait()

    def _lost_answer(self, alert: QueuedAlert, now: datetime) -> None:
        """A request of `alert` may have been taken: in doubt until evidence says."""
        alert.in_doubt = True
        alert.possibly_sent += 1
        alert.doubt_since = alert.doubt_since or alert.attempt_at or now
        alert.answer_lost_at = now
        alert.not_taken_at = None

    def _accepted(
        self, alert: QueuedAlert, result: SendResult, options: SendOptions, *, first: bool
    ) -> None:
        """The gateway answered: written first; what follows runs after the caller's answer."""
        if self.alerts.get(alert.id) is alert:
            del self.alerts[alert.id]
        gone = self.store.drop(alert.id)
        if self._backoffs.taken(alert.id):
            self._gateway_back()
        note = {
            "possible_duplicate": alert.possible_duplicate,
            "queued": not first,
            "alert_id": alert.id,
        }
        self.after.add(partial(self._async_follow, alert, result, options, note, gone, first=first))

    def _gateway_back(self) -> None:
        """The gateway took a send again: the drain is paced by its limits (`Backoffs`)."""
        for waiting in self._backoffs.bring_forward(self.alerts, self.now()):
            self.store.put(waiting)
        self._changed()

    async def _async_follow(
        self,
        alert: QueuedAlert,
        result: SendResult,
        options: SendOptions,
        note: dict[str, Any],
        gone: int,
        *,
        first: bool,
    ) -> None:
        """Follow the accepted numbers, take the balance, report the refused ones.

        The acceptance (the store's change `gone`) is on disk first: a restart never
        sends again what was tracked.
        """
        await self.store.async_written(gone)
        await self.tracker.async_track_send(result, options, note=note)
        if result.balance is not None and self.on_balance is not None:
            self.on_balance(result.balance)
        if not first:
            for rejected in result.rejected:
                self.reports.fire(alert, rejected.phone, DeliveryState.FAILED, rejected.error_text)
        if not first or not result.accepted:
            # A first attempt was never shown as queued: the tracker's change (a message
            # accepted) has told the same listeners already.
            self._changed()

    def _keep(self, alert: QueuedAlert, attempt: Failure, *, first: bool = False) -> None:
        """Keep an alert for another attempt, after the backoff (no wait here)."""
        now = self.now()
        alert.last_error = error_details(attempt.error)
        alert.failing_since = alert.failing_since or now
        decision = Decision(attempt.verdict, attempt.retry_after)
        policy = self.gateway.description.evidence
        wait = timedelta(seconds=wait_after(decision, alert.attempts, keeps_id=policy.can_tell))
        # Past the deadline the alert is given up: at the deadline, not at the next try.
        alert.next_attempt = min(self._settled(alert, now + wait), alert.deadline)
        self.alerts[alert.id] = alert
        self._backoffs.kept(alert, attempt)
        self.store.put(alert)
        if first:
            for phone in alert.phones:
                self.reports.fire(alert, phone, STATE_WAITING, alert.last_error, final=False)
        self._changed()

    def _settled(self, alert: QueuedAlert, when: datetime) -> datetime:
        """`when`, or later for an alert in doubt.

        The gateway is asked only once it could have recorded what it took (its settle
        time after the lost answer).
        """
        policy = self.gateway.description.evidence
        if alert.in_doubt and policy.can_tell and alert.answer_lost_at is not None:
            return max(when, alert.answer_lost_at + timedelta(seconds=policy.settle))
        return when

    def _drop(self, alert: QueuedAlert) -> None:
        if self.alerts.get(alert.id) is alert:
            del self.alerts[alert.id]
        self.store.drop(alert.id)
        self._changed()

    # -- rounds ---------------------------------------------------------------------------

    @callback
    def _on_timer(self, _now: datetime) -> None:
        self._unsub_timer = None
        self.entry.async_create_background_task(
            self.hass,
            self._async_run_due(),
            f"{DOMAIN} outbox of {self.entry.title}",
            eager_start=False,
        )

    async def _async_run_due(self) -> None:
        """Try every alert that is due, side by side within the request budget."""
        now = self.now()
        due = sorted(
            (
                a
                for a in self.alerts.values()
                if a.next_attempt <= now and not a.in_flight and a.id not in self._busy
            ),
            key=lambda a: a.next_attempt,
        )
        self._busy.update(alert.id for alert in due)
        try:
            # A batch at a time (a thousand first steps in one turn would hold the loop),
            # in a group: an unload that cancels the round cancels every alert's.
            async with asyncio.TaskGroup() as group:
                async for batch in batches(due):
                    for alert in batch:
                        group.create_task(self._async_round_of(alert))
        finally:
            self._busy.difference_update(alert.id for alert in due)
            self._changed()

    async def _async_round_of(self, alert: QueuedAlert) -> None:
        """One alert's round, beside the others (one write, the client's budget)."""
        if self._stopped or self.alerts.get(alert.id) is not alert:
            return
        try:
            await self._async_retry(alert)
        except Exception:
            _LOGGER.exception("%s: error sending a queued alert", self.entry.title)
            alert.next_attempt = self.now() + timedelta(seconds=backoff(alert.attempts))
            self.store.put(alert)
        finally:
            self._changed()

    async def _async_retry(self, alert: QueuedAlert) -> None:
        """Another round for a queued alert that is due."""
        now = self.now()
        if now >= alert.deadline:
            await self._async_past_deadline(alert)
            return
        options = alert.send_options
        if alert.in_doubt:
            alert.asks += 1
            report = await async_evidence(self.gateway, alert)
            what = resolve_doubt(
                self.gateway, alert, report, now=self.now(), max_copies=self.max_copies
            )
            if what.taken and self._taken_on_evidence(alert, what.taken, options):
                return
            if what.no_more_copies:
                self._give_up(alert, cannot_tell(alert), maybe_sent=True)
                return
            if what.ask_at is not None:
                if what.first_not_there:
                    alert.not_taken_at = now
                alert.next_attempt = min(what.ask_at, alert.deadline)
                self.store.put(alert)
                return
            if what.proven:
                # None of the requests was taken: the next one is no duplicate.
                alert.possibly_sent = alert.asks = 0
                alert.possible_duplicate = False
                alert.doubt_since = alert.answer_lost_at = alert.not_taken_at = None
            else:
                alert.possible_duplicate = True
            alert.in_doubt = False
        if self._down_too_long(alert) and await self._async_failover(alert) is not None:
            return
        self._start_attempt(alert, self.now())
        # A later request is never out before its mark.
        await self.store.async_written(self.store.put(alert))
        attempt = await self._async_attempt(alert, options)
        if isinstance(attempt, SendResult):
            return
        account_cannot = attempt.verdict is Verdict.PERMANENT and attempt.account_level
        if (account_cannot or self._down_too_long(alert)) and (
            await self._async_failover(alert) is not None
        ):
            return
        if attempt.verdict is Verdict.PERMANENT:
            self._give_up(alert, error_details(attempt.error), code=attempt.error.code)
            return
        self._keep(alert, attempt)

    def _down_too_long(self, alert: QueuedAlert) -> bool:
        """Failing for minutes with nothing possibly taken: another account may carry it."""
        return (
            alert.failing_since is not None
            and self.now() - alert.failing_since >= FAILOVER_AFTER
            and alert.possibly_sent == 0
        )

    async def _async_past_deadline(self, alert: QueuedAlert) -> None:
        """The deadline came: taken after all (asked once more), or given up with why."""
        if alert.possibly_sent:
            # A request may have been taken: the gateway is asked once more, and a "not
            # there" believed only as evidence (else it may have gone out).
            report = await async_evidence(self.gateway, alert)
            taken = () if report is None else report.taken
            if taken and self._taken_on_evidence(alert, taken, alert.send_options):
                return
            proven = report is not None and all(
                report.of(phone) is Evidence.NOT_TAKEN for phone in alert.phones
            )
            if not proven:
                self._give_up(alert, cannot_tell(alert), maybe_sent=True)
                return
        self._give_up(alert, alert.last_error or "-")

    def _taken_on_evidence(
        self, alert: QueuedAlert, taken: tuple[str, ...], options: SendOptions
    ) -> bool:
        """The gateway took `taken`: follow them; whether nothing of the alert is left."""
        our_id = options.client_message_id if keeps_our_id(self.gateway) else None
        result = SendResult(
            recipients=tuple(
                RecipientResult(phone=phone, accepted=True, message_ids=(our_id,) if our_id else ())
                for phone in taken
            ),
            client_message_id=our_id,
        )
        if our_id is None:
            # Nothing to ask its delivery by: said once, and shown.
            for phone in taken:
                self.reports.fire(alert, phone, DeliveryState.SENT, "taken by the gateway")
            self.reports.note(alert, DeliveryState.SENT.value, final=True, phones=taken)
        alert.phones = [phone for phone in alert.phones if phone not in taken]
        if not alert.phones:
            self._accepted(alert, result, options, first=False)
            self._changed()
            return True
        kept = self.store.put(alert)
        note = {"queued": True}
        self.after.add(partial(self._async_follow, alert, result, options, note, kept, first=False))
        return False

    # -- failover -------------------------------------------------------------------------

    async def _async_failover(self, alert: QueuedAlert) -> SendOutcome | None:
        """Send an alert once through the fallback account.

        None when there is no usable fallback (or the alert came from another account:
        no loops) or the fallback refused it too: then the alert stays in this outbox.
        """
        if not alert.failover or (fallback := self.fallback()) is None:
            return None
        # Out of this outbox before it goes into the fallback's: never in both at once.
        self._drop(alert)
        carried = replace(alert, origin=alert.origin or self.entry.entry_id)
        try:
            outcome = await fallback.async_take_over(carried)
        except SmsGatewayError as err:
            self.alerts[alert.id] = alert
            self.store.put(alert)
            _LOGGER.warning(
                "%s: the fallback account %s refused an alert too: %s",
                self.entry.title,
                fallback.entry.title,
                err,
            )
            return None
        _LOGGER.info("%s: an alert went out through %s", self.entry.title, fallback.entry.title)
        state = STATE_WAITING if outcome.queued else DeliveryState.QUEUED.value
        if not outcome.queued and not outcome.result.accepted:
            state = DeliveryState.FAILED.value
        self.reports.note(
            alert,
            state,
            final=state == DeliveryState.FAILED.value,
            account=fallback.entry.title,
            carrier=fallback.entry.entry_id,
        )
        return replace(outcome, account=fallback.entry.title)

    # -- what became of an alert ----------------------------------------------------------

    def _give_up(
        self,
        alert: QueuedAlert,
        reason: str,
        *,
        code: str | None = None,
        maybe_sent: bool = False,
    ) -> None:
        """Give an alert up, with the reason in its events and the log.

        Its deadline passed, the gateway refused it for good, or it went as many times
        as it may while the gateway cannot tell (`maybe_sent`: final, state unknown).
        """
        self._drop(alert)
        state = DeliveryState.UNKNOWN if maybe_sent else DeliveryState.FAILED
        for phone in alert.phones:
            self.reports.fire(
                alert,
                phone,
                state,
                reason,
                code=code,
                duplicate=alert.possible_duplicate or maybe_sent,
            )
        self.reports.note(alert, str(state), final=True, error=reason)
        _LOGGER.warning(
            "%s: an alert to %d numbers was given up%s: %s",
            self.entry.title,
            len(alert.phones),
            " (it may have gone out)" if maybe_sent else "",
            reason,
        )

    # -- timing and change ----------------------------------------------------------------

    def _changed(self) -> None:
        """Something people see changed.

        Once per turn of the loop: schedule, raise or drop the repair issue, and tell
        the listeners.
        """
        if self._change_pending or self._stopped:
            return
        self._change_pending = True
        self.hass.loop.call_soon(self._apply_change)

    @callback
    def _apply_change(self) -> None:
        self._change_pending = False
        if self._stopped:
            return
        self._schedule()
        self.reports.update_issue(self.alerts.values(), self.now())
        self._listeners.tell()

    def _schedule(self) -> None:
        self._cancel_timer()
        now = self.now()
        moments = [
            alert.next_attempt
            for alert in self.alerts.values()
            if not alert.in_flight and alert.id not in self._busy
        ]
        # The repair issue is raised on time, not at the next attempt.
        moments += [
            alert.failing_since + FAILING_ISSUE_AFTER
            for alert in self.alerts.values()
            if alert.failing_since and alert.failing_since + FAILING_ISSUE_AFTER > now
        ]
        if moments:
            self._unsub_timer = async_track_point_in_utc_time(
                self.hass, self._on_timer, min(moments)
            )

    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
