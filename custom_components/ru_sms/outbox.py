"""The outbox: every alert of an account goes through it, and none is lost to a passing fault.

An alert is handed to Home Assistant's storage as its first request goes out (before
any answer is read), with its numbers, text, options, attempts, next attempt time and
deadline. The caller waits for the first attempt only: accepted, refused for good
(raised), or queued. A queued alert is tried again with exponential backoff (the
decisions are the providers' `delivery_policy` table) until it is accepted or its
deadline passes; its final outcome fires `ru_sms_message_status`. A request whose answer
was lost is never sent again blindly where the gateway keeps an id of ours: the gateway is
asked for that id first. Acceptance is written before anything else happens, so that a
restart never sends an alert twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import CONF_GIVE_UP_AFTER, DEFAULT_GIVE_UP_AFTER, DOMAIN
from .errors import error_details
from .issues import AccountIssue
from .listeners import ChangeListeners
from .options import options_from_dict, options_to_dict, send_options
from .providers import (
    DeliveryState,
    RecipientResult,
    SendOptions,
    SendResult,
    SmsGateway,
    SmsGatewayError,
)
from .providers.delivery_policy import (
    MAX_POSSIBLY_SENT,
    Decision,
    Verdict,
    backoff,
    decide,
    keeps_our_id,
    new_message_id,
    sent_phones,
    wait_after,
)
from .providers.phone import phone_digits
from .signals import async_fire_message_status
from .status import MessageStatus
from .storage import StoreKind, account_store, read_time
from .tracker import MessageTracker

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
FAILOVER_AFTER = timedelta(minutes=2)
"""A gateway failing this long with nothing possibly sent: the fallback account carries it."""
FAILING_ISSUE_AFTER = timedelta(minutes=10)
"""An alert failing for this long raises a repair issue (with the reason)."""


@dataclass(slots=True)
class QueuedAlert:
    """One alert not yet taken by the gateway."""

    id: str
    phones: list[str]
    """The numbers still to send to (normalised)."""
    text: str
    """As it goes out (transliterated where asked)."""
    options: dict[str, Any]
    deadline: datetime
    created_at: datetime
    next_attempt: datetime
    attempts: int = 0
    in_flight: bool = False
    """A request was under way when this was written (after a restart: in doubt)."""
    in_doubt: bool = False
    """The last request may have been taken: find out (or send again, marked) first."""
    possibly_sent: int = 0
    """Requests that may have been taken (where the gateway keeps no id of ours)."""
    possible_duplicate: bool = False
    last_error: str | None = None
    failing_since: datetime | None = None
    failover: bool = True
    """May go out through the fallback account (not when it came from another account)."""

    def as_dict(self) -> dict[str, Any]:
        """For the store: dates as ISO text (a shallow copy: written before every request)."""
        data: dict[str, Any] = {}
        for name in _ALERT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, (list, dict)):
                value = value.copy()
            data[name] = value
        return data

    @classmethod
    def from_dict(cls, data: Any) -> QueuedAlert:
        """From the store; raises `TypeError`/`ValueError` for a record that cannot be sent."""
        if not isinstance(data, dict):
            raise TypeError("not a record")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("deadline", "created_at", "next_attempt"):
            values[name] = read_time(values.get(name))
        if values.get("failing_since"):
            values["failing_since"] = read_time(values["failing_since"])
        phones = values.get("phones")
        if not isinstance(phones, list) or not all(isinstance(p, str) for p in phones):
            raise ValueError("no numbers")
        if not isinstance(values.get("text"), str) or not isinstance(values.get("options"), dict):
            raise ValueError("no text")
        return cls(**values)

    @property
    def send_options(self) -> SendOptions:
        """The options the alert is sent with."""
        return options_from_dict(self.options)


_ALERT_FIELDS = tuple(f.name for f in fields(QueuedAlert))


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What became of an alert's first attempt (or of a failover)."""

    result: SendResult
    """The numbers the gateway accepted or refused."""
    queued: tuple[str, ...] = ()
    """The numbers kept for another attempt."""
    possible_duplicate: bool = False
    account: str | None = None
    """The account that carried it (the title), when it was not the one asked."""
    alert_id: str | None = None
    error: str | None = None
    """Why the numbers are queued: the failed attempt's error (the gateway's words or ours)."""


@dataclass(frozen=True, slots=True)
class _Failure:
    """A failed attempt, and the table's decision on it."""

    error: SmsGatewayError
    verdict: Verdict
    retry_after: float = 0.0
    account_level: bool = False


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
        self._on_balance = on_balance
        self._fallback = fallback
        self.alerts: dict[str, QueuedAlert] = {}
        self._store = account_store(hass, StoreKind.OUTBOX, entry.entry_id, STORAGE_VERSION)
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._lock = asyncio.Lock()
        self._stopped = False
        self._listeners = ChangeListeners(_LOGGER, entry.title)
        self._writes: set[asyncio.Task[None]] = set()
        self._issue = AccountIssue(
            hass, entry.entry_id, translation_key="outbox_failing", severity=ir.IssueSeverity.ERROR
        )
        self.now: Callable[[], datetime] = dt_util.utcnow
        """The clock attempts and deadlines are read from (tests move their own)."""

    # -- lifecycle ----------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read the alerts left queued before a restart, and go on with them."""
        stored = await self._store.async_load()
        items = stored.get("alerts") if isinstance(stored, dict) else None
        for item in items if isinstance(items, list) else []:
            try:
                alert = QueuedAlert.from_dict(item)
            except TypeError, ValueError:
                _LOGGER.warning("%s: dropping an unreadable queued alert", self.entry.title)
                continue
            if alert.in_flight:
                # Home Assistant stopped while a request was under way: it may have gone.
                alert.in_flight = False
                alert.in_doubt = True
                alert.possibly_sent += 1
            self.alerts[alert.id] = alert
        self._schedule()

    async def async_unload(self) -> None:
        """Stop trying; the queued alerts stay stored for the next start."""
        if self._writes:
            await asyncio.gather(*self._writes)
        await self._async_save()
        self._stopped = True
        self._cancel_timer()
        self._issue.clear()

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` after every change of the queue."""
        return self._listeners.add(listener)

    # -- what the rest of the integration calls ----------------------------------------

    @property
    def queued(self) -> int:
        """Alerts waiting for another attempt."""
        return len(self.alerts)

    def latest(self, phones: list[str] | None = None) -> QueuedAlert | None:
        """The newest queued alert (to any of `phones`, when given)."""
        # An alert's numbers are normalised already: one set check, not one per number.
        wanted = None if phones is None else {phone_digits(p) for p in phones}
        candidates = [
            alert
            for alert in self.alerts.values()
            if wanted is None or not wanted.isdisjoint(alert.phones)
        ]
        return max(candidates, key=lambda a: a.created_at, default=None)

    def diagnostics(self) -> dict[str, Any]:
        """Counts of the queue (no numbers, no texts)."""
        alerts = list(self.alerts.values())
        return {
            "queued": len(alerts),
            "in_doubt": sum(1 for a in alerts if a.in_doubt),
            "possible_duplicate": sum(1 for a in alerts if a.possible_duplicate),
            "attempts": sum(a.attempts for a in alerts),
            "failing_since": min(
                (a.failing_since.isoformat() for a in alerts if a.failing_since), default=None
            ),
        }

    def give_up_after(self) -> timedelta:
        """How long an alert without a validity of its own is tried."""
        minutes = self.entry.options.get(CONF_GIVE_UP_AFTER, DEFAULT_GIVE_UP_AFTER)
        return timedelta(minutes=float(minutes))

    async def async_send(
        self,
        numbers: list[str],
        text: str,
        options: SendOptions,
        *,
        queue: bool = True,
        failover: bool = True,
    ) -> SendOutcome:
        """Send an alert: written down first, then its first attempt.

        Raises the gateway's error when it refused the alert for good, or on any failure
        when `queue` is off (the caller handles errors itself); else what was accepted,
        refused and queued.
        """
        now = self.now()
        # Our id lets a later round ask the gateway about a send in doubt; a fail-fast
        # send has no later round, and the caller's repeat must read as the same request
        # (SMSC.ru refuses an identical send within a minute: `AlreadySentError`).
        if queue and keeps_our_id(self.gateway) and options.client_message_id is None:
            options = replace(options, client_message_id=new_message_id())
        alert = QueuedAlert(
            id=options.client_message_id or new_message_id(),
            phones=list(numbers),
            text=text,
            options=options_to_dict(options),
            deadline=now + (options.validity or self.give_up_after()),
            created_at=now,
            next_attempt=now,
            in_flight=True,
            failover=failover,
        )
        self.alerts[alert.id] = alert
        # To the writer thread at the loop's next turn: by then the request is on its way
        # (on a kept-alive connection its first wait is for the answer) and no answer can
        # have been read. The write runs beside the wait for the answer, not in front of
        # the request.
        self.hass.loop.call_soon(self._write_now)
        # No lock: the timer's rounds skip an alert whose request is under way.
        attempt = await self._async_attempt(alert, options, queued=False)
        if isinstance(attempt, SendResult):
            return SendOutcome(
                attempt, possible_duplicate=alert.possible_duplicate, alert_id=alert.id
            )
        if (
            attempt.verdict is Verdict.PERMANENT
            and attempt.account_level
            and (carried := await self._async_failover(alert)) is not None
        ):
            return carried
        if attempt.verdict is Verdict.PERMANENT or not queue:
            await self._async_drop(alert)
            raise attempt.error
        await self._async_keep(alert, attempt)
        return SendOutcome(
            SendResult(recipients=()),
            queued=tuple(alert.phones),
            alert_id=alert.id,
            error=alert.last_error,
        )

    # -- attempts -----------------------------------------------------------------------

    async def _async_attempt(
        self,
        alert: QueuedAlert,
        options: SendOptions,
        *,
        queued: bool = True,
    ) -> SendResult | _Failure:
        """One request for `alert` (the in-flight mark is stored already)."""
        alert.attempts += 1
        try:
            result = await self.gateway.send_prepared(list(alert.phones), alert.text, options)
        except SmsGatewayError as err:
            alert.in_flight = False
            # SMSC.ru's "already sent" (error 9 after a lost answer) proves nothing by
            # itself (it counts a request it never took as well): like any other doubt,
            # the next round asks the gateway by our id before sending again.
            decision = decide(self.gateway.provider, err)
            if decision.verdict is Verdict.AMBIGUOUS:
                alert.in_doubt = True
                alert.possibly_sent += 1
            return _Failure(err, decision.verdict, decision.retry_after, decision.account_level)
        await self._async_accepted(alert, result, options, queued=queued)
        return result

    async def _async_accepted(
        self, alert: QueuedAlert, result: SendResult, options: SendOptions, *, queued: bool = True
    ) -> None:
        """The gateway answered: write that first, then follow the accepted numbers."""
        self.alerts.pop(alert.id, None)
        self._write_now()
        note = {"possible_duplicate": alert.possible_duplicate, "queued": queued}
        try:
            await self.tracker.async_track_send(result, options, note=note)
        except Exception:
            # The gateway took the message: the caller must hear so, whatever the tracker did.
            _LOGGER.exception("%s: a sent message cannot be followed", self.entry.title)
        if result.balance is not None and self._on_balance is not None:
            self._on_balance(result.balance)
        if queued:
            for rejected in result.rejected:
                self._fire_failed(alert, rejected.phone, rejected.error_text, rejected.error_code)
        if queued or not result.accepted:
            # A first attempt was never shown as queued: the tracker's change (a message
            # accepted) has told the same listeners already.
            self._notify()

    async def _async_keep(self, alert: QueuedAlert, attempt: _Failure) -> None:
        """Keep an alert for another attempt, after the backoff."""
        now = self.now()
        alert.last_error = error_details(attempt.error)
        alert.failing_since = alert.failing_since or now
        decision = Decision(attempt.verdict, attempt.retry_after)
        wait = timedelta(
            seconds=wait_after(decision, alert.attempts, keeps_id=keeps_our_id(self.gateway))
        )
        # Past the deadline the alert is given up: at the deadline, not at the next try.
        alert.next_attempt = min(now + wait, alert.deadline)
        self.alerts[alert.id] = alert
        await self._async_save()
        self._schedule()
        self._notify()

    async def _async_drop(self, alert: QueuedAlert) -> None:
        self.alerts.pop(alert.id, None)
        await self._async_save()
        self._notify()

    async def _async_retry(self, alert: QueuedAlert) -> None:
        """Another round for a queued alert that is due."""
        now = self.now()
        if now >= alert.deadline:
            await self._async_fail(alert, alert.last_error or "-")
            return
        options = alert.send_options
        if alert.in_doubt and keeps_our_id(self.gateway) and options.client_message_id:
            try:
                found = await sent_phones(self.gateway, options.client_message_id, alert.phones)
            except SmsGatewayError as err:
                # Cannot tell now: send nothing, ask again later.
                await self._async_keep(alert, _Failure(err, Verdict.AMBIGUOUS))
                return
            # Still in doubt: a request the gateway holds may be taken late; every later
            # round asks again before it sends.
            if found:
                result = SendResult(
                    recipients=tuple(
                        RecipientResult(
                            phone=phone, accepted=True, message_ids=(options.client_message_id,)
                        )
                        for phone in alert.phones
                        if phone in found
                    ),
                    client_message_id=options.client_message_id,
                )
                alert.phones = [p for p in alert.phones if p not in found]
                if not alert.phones:
                    await self._async_accepted(alert, result, options)
                    return
                await self._async_accepted_part(alert, result, options)
            elif (
                # An answered failure (a 5xx page) is ambiguous too; the gateway has no
                # message with our id after minutes of failing: carry it over.
                alert.failing_since is not None
                and self.now() - alert.failing_since >= FAILOVER_AFTER
                and await self._async_failover(alert) is not None
            ):
                return
        elif alert.in_doubt:
            if alert.possibly_sent >= MAX_POSSIBLY_SENT:
                # Sent perhaps twice already: a third copy helps no one.
                await self._async_fail(alert, alert.last_error or "-", maybe_sent=True)
                return
            alert.possible_duplicate = True
            alert.in_doubt = False
        alert.in_flight = True
        await self._async_save()
        attempt = await self._async_attempt(alert, options)
        if isinstance(attempt, SendResult):
            return
        down_too_long = (
            alert.failing_since is not None
            and self.now() - alert.failing_since >= FAILOVER_AFTER
            and alert.possibly_sent == 0
        )
        account_cannot = attempt.verdict is Verdict.PERMANENT and attempt.account_level
        if (account_cannot or down_too_long) and await self._async_failover(alert) is not None:
            return
        if attempt.verdict is Verdict.PERMANENT:
            await self._async_fail(alert, error_details(attempt.error), code=attempt.error.code)
            return
        await self._async_keep(alert, attempt)

    async def _async_failover(self, alert: QueuedAlert) -> SendOutcome | None:
        """Send an alert once through the fallback account.

        None when there is no usable fallback (or the alert came from another account:
        no loops) or the fallback refused it too: then the alert stays in this outbox.
        """
        if not alert.failover or (fallback := self._fallback()) is None:
            return None
        # Out of this outbox before it goes into the fallback's: never in both at once.
        await self._async_drop(alert)
        try:
            outcome = await fallback.async_take_over(alert.phones, alert.text, alert.send_options)
        except SmsGatewayError as err:
            self.alerts[alert.id] = alert
            _LOGGER.warning(
                "%s: the fallback account %s refused an alert too: %s",
                self.entry.title,
                fallback.entry.title,
                err,
            )
            return None
        _LOGGER.info("%s: an alert went out through %s", self.entry.title, fallback.entry.title)
        return replace(outcome, account=fallback.entry.title)

    async def async_take_over(self, phones: list[str], text: str, sent: SendOptions) -> SendOutcome:
        """Send an alert another account could not, with this account's default sender.

        Its validity, time and flash stay; it never fails over again from here.
        """
        options = replace(
            send_options(self.entry.options, {}),
            validity=sent.validity,
            send_at=sent.send_at,
            flash=sent.flash,
            transliterate=False,
        )
        numbers, text = self.gateway.prepare(phones, text, options)
        return await self.async_send(numbers, text, options, failover=False)

    async def _async_accepted_part(
        self, alert: QueuedAlert, result: SendResult, options: SendOptions
    ) -> None:
        """Some numbers of an alert in doubt were found sent: follow them, keep the rest."""
        await self._async_save()
        self.tracker.async_track(result, options, note={"queued": True})

    async def _async_fail(
        self,
        alert: QueuedAlert,
        reason: str,
        *,
        code: str | None = None,
        maybe_sent: bool = False,
    ) -> None:
        """Give an alert up: its deadline passed or the gateway refused it for good."""
        await self._async_drop(alert)
        for phone in alert.phones:
            self._fire_failed(alert, phone, reason, code, maybe_sent=maybe_sent)
        _LOGGER.warning(
            "%s: an alert to %d numbers was given up: %s",
            self.entry.title,
            len(alert.phones),
            reason,
        )

    def _fire_failed(
        self,
        alert: QueuedAlert,
        phone: str,
        reason: str | None,
        code: str | None,
        *,
        maybe_sent: bool = False,
    ) -> None:
        status = MessageStatus(
            number=phone,
            message_id=alert.id,
            state=DeliveryState.UNKNOWN if maybe_sent else DeliveryState.FAILED,
            final=True,
            raw_text=reason,
            error_code=code,
        )
        data = status.as_event(self.entry.entry_id, self.entry.title, None)
        data |= {
            "queued": True,
            "possible_duplicate": alert.possible_duplicate or maybe_sent,
            "error": reason,
        }
        async_fire_message_status(self.hass, self.entry.entry_id, data)

    # -- timing -------------------------------------------------------------------------

    def _schedule(self) -> None:
        self._cancel_timer()
        if self._stopped or not self.alerts:
            return
        now = self.now()
        moments = [alert.next_attempt for alert in self.alerts.values()]
        # The repair issue is raised on time, not at the next attempt.
        moments += [
            alert.failing_since + FAILING_ISSUE_AFTER
            for alert in self.alerts.values()
            if alert.failing_since and alert.failing_since + FAILING_ISSUE_AFTER > now
        ]
        when = min(moments)
        self._unsub_timer = async_track_point_in_utc_time(self.hass, self._on_timer, when)

    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    @callback
    def _on_timer(self, _now: datetime) -> None:
        self._unsub_timer = None
        self.entry.async_create_background_task(
            self.hass, self._async_run_due(), f"{DOMAIN} outbox of {self.entry.title}"
        )

    async def _async_run_due(self) -> None:
        """Try every alert that is due, one after the other."""
        async with self._lock:
            now = self.now()
            for alert in sorted(self.alerts.values(), key=lambda a: a.next_attempt):
                if self._stopped:
                    return
                if alert.next_attempt > now or alert.in_flight or alert.id not in self.alerts:
                    continue
                try:
                    await self._async_retry(alert)
                except Exception:
                    _LOGGER.exception("%s: error sending a queued alert", self.entry.title)
                    alert.next_attempt = self.now() + timedelta(seconds=backoff(alert.attempts))
        if not self._stopped:
            self._update_issue()
            self._schedule()

    # -- repairs ------------------------------------------------------------------------

    def _update_issue(self) -> None:
        """A repair issue while an alert has been failing for longer than `FAILING_ISSUE_AFTER`."""
        now = self.now()
        failing = [
            a
            for a in self.alerts.values()
            if a.failing_since is not None and now - a.failing_since >= FAILING_ISSUE_AFTER
        ]
        if not failing:
            self._issue.clear()
            return
        oldest = min(failing, key=lambda a: a.failing_since or now)
        self._issue.show(
            account=self.entry.title,
            queued=str(len(self.alerts)),
            minutes=str(int((now - (oldest.failing_since or now)).total_seconds() // 60)),
            error=oldest.last_error or "-",
        )

    # -- storage ------------------------------------------------------------------------

    async def _async_save(self) -> None:
        if self._stopped:
            return
        await self._store.async_save(self._data())

    def _write_now(self) -> None:
        """Start writing the queue, before anything else happens; the caller goes on.

        The write is handed to the writer thread at once (the task starts eagerly), so
        an alert is on its way to the disk as its first request goes out (`async_send`
        calls this at the loop's next turn) and an acceptance before the tracker, the
        events or the caller hear of it. Nothing waits for the thread: waiting would
        protect nothing more (a crash before the write is done loses the same alert
        either way) and would put a disk write in front of every alert. Every later step
        of a failing alert waits for its own write; unload waits for all of them.
        """
        if self._stopped:
            return
        task = self.hass.async_create_task(
            self._store.async_save(self._data()),
            f"{DOMAIN} outbox write of {self.entry.title}",
            eager_start=True,
        )
        if not task.done():
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    def _data(self) -> dict[str, Any]:
        """The queue as stored."""
        return {"alerts": [a.as_dict() for a in self.alerts.values()]}

    def _notify(self) -> None:
        self._update_issue()
        self._listeners.tell()
