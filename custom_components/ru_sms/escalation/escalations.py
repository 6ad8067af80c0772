"""The escalations of an account: an alert not delivered (or not acknowledged) in time goes further.

An alert that asks for it (`escalate` on `ru_sms.send_message`, or a recipient's
options) gets a record here when it is sent. The record learns the alert's messages from
the account's send and from the tracker's events (`ru_sms_message_status` carries the
alert's id on each number's first event), and hears:
- a delivery of any of them (the alert's, or a step's SMS): the escalation ends, where
  it waits for delivery;
- an SMS from a number it texted (`ru_sms_incoming_sms`, by polls or callbacks), with the
  alert's code where it carried one, or `ru_sms.acknowledge`: the alert is acknowledged
  (`ru_sms_acknowledged`), where it asks for acknowledgement;
- its window running out: the next step runs, once (`ru_sms_escalation`), and the next
  window starts. A step sends the alert again through the fallback account, texts
  another recipient of this integration, or calls any notify entity.

Records are on disk: a restart or a reload resumes each at its step. A step is counted
(and written) before it runs, so that no crash or restart runs it twice. Listening costs
nothing while no escalation is active (the bus listeners are only there while one is).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
import logging
from typing import Any, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from ..const import CONF_PHONES, DOMAIN
from ..guard import GuardedOutcome
from ..issues import async_show_damage
from ..listeners import ChangeListeners
from ..options import send_options
from ..providers import DeliveryState, SendOptions
from ..providers.phone import phone_digits
from ..signals import (
    EVENT_ACKNOWLEDGED,
    EVENT_ESCALATION,
    EVENT_INCOMING_SMS,
    EVENT_MESSAGE_STATUS,
    signal_escalation,
)
from ..storage import Damage, StoreKind, ThrottledSave, account_store, async_keep_aside, async_read
from ..tracker import message_key
from .plan import (
    CODE_PLACEHOLDER,
    TARGET_FALLBACK,
    Escalation,
    EscalationPlan,
    EscalationState,
    Until,
    new_code,
)

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
SAVE_DELAY = 1.0
"""Seconds before a change that runs no step is written (a step is written at once)."""
KEEP_ENDED = timedelta(days=1)
"""An ended escalation is kept this long (its state shows on the recipient's sensor)."""
MAX_ENDED = 200
"""Ended escalations kept at most."""
NOTIFY = "notify"
CLOCK_SKEW = timedelta(minutes=1)
"""A reply stamped this much before its alert was sent still counts: the gateway's clock
is not ours, and it stamps in whole milliseconds or seconds."""


class Sender(Protocol):
    """An account that sends (`RuSmsAccount`): what a step needs of it."""

    entry: ConfigEntry

    async def async_send(
        self,
        phones: Iterable[str],
        message: str,
        options: SendOptions,
        *,
        title: str | None = None,
        allow_rejected: bool = False,
        queue: bool = True,
        critical: bool = False,
    ) -> GuardedOutcome:
        """Send through the account's storm guard and outbox."""


def with_code(plan: EscalationPlan | None, message: str) -> tuple[str, str | None]:
    """The text to send, with its code in place of `{code}`, and the code (None: none).

    `{code}` in an alert that asks for no acknowledgement is refused (translated): it would
    go out as it is, and no reply could use it.
    """
    if CODE_PLACEHOLDER not in message:
        return message, None
    if plan is None or plan.until is not Until.ACKNOWLEDGED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="code_without_acknowledgement",
            translation_placeholders={"code": CODE_PLACEHOLDER},
        )
    code = new_code()
    return message.replace(CODE_PLACEHOLDER, code), code


class Escalations:
    """The escalations of one account's alerts."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        *,
        delivered: Callable[[str], bool],
        fallback: Callable[[], Sender | None],
        accounts: Callable[[str], Sender | None],
    ) -> None:
        """The escalations of `entry`'s alerts.

        `delivered` tells whether the tracker has a message delivered (by its key);
        `fallback` finds the fallback account while it is loaded, `accounts` any loaded
        account by its entry id (a step to a recipient of another account).
        """
        self.hass = hass
        self.entry = entry
        self._delivered = delivered
        self._fallback = fallback
        self._accounts = accounts
        self.records: dict[str, Escalation] = {}
        self._by_key: dict[str, str] = {}
        self._by_alert: dict[str, str] = {}
        self._by_phone: dict[str, set[str]] = {}
        """Active escalations that take a reply, by the numbers they texted."""
        self._store = account_store(hass, StoreKind.ESCALATIONS, entry.entry_id, STORAGE_VERSION)
        self._save = ThrottledSave(self._store, self._data, SAVE_DELAY)
        self._listeners = ChangeListeners(_LOGGER, entry.title)
        self._unsub_bus: list[CALLBACK_TYPE] = []
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._running: set[str] = set()
        self._started = False
        self._stopped = False
        self._dirty = False
        """Changed since loaded: the unload writes it."""
        self.now: Callable[[], datetime] = dt_util.utcnow

    # -- lifecycle ----------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read the escalations kept; the active ones resume once Home Assistant runs."""
        stored, damage = await async_read(self.hass, self._store, StoreKind.ESCALATIONS)
        items = stored.get("escalations") if isinstance(stored, dict) else None
        lost: int | None = 0 if stored is None or isinstance(items, list) else None
        for item in items if isinstance(items, list) else []:
            try:
                record = Escalation.from_dict(item)
            except TypeError, ValueError, KeyError:
                lost = (lost or 0) + 1
                continue
            self._add(record)
        if lost != 0 and damage is None:
            kept = await async_keep_aside(self.hass, self._store)
            damage = Damage(StoreKind.ESCALATIONS, lost, kept, "unreadable escalations")
        if damage is not None:
            async_show_damage(self.hass, self.entry.entry_id, self.entry.title, damage)
            await self._save.async_now()
        for record in self.active():
            # Delivered while Home Assistant was down (and the tracker heard it since).
            if record.until is Until.DELIVERED and any(map(self._delivered, record.keys)):
                self._end(record, EscalationState.DELIVERED)
        self._listen()
        self.entry.async_on_unload(async_at_started(self.hass, self._async_started))

    async def _async_started(self, _hass: HomeAssistant) -> None:
        """Home Assistant runs (the notify entities a step calls are there): steps may run."""
        if self._stopped:
            return
        self._started = True
        self._schedule()

    async def async_unload(self) -> None:
        """Stop listening and timing; what changed is written (the steps resume next load)."""
        self._stopped = True
        self._unlisten()
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
        if self._dirty:
            await self._save.async_now()
        self._save.stopped = True

    # -- what the account tells -------------------------------------------------------

    @callback
    def async_start(
        self,
        plan: EscalationPlan,
        outcome: GuardedOutcome,
        *,
        phones: Iterable[str],
        text: str,
        code: str | None,
        critical: bool,
        recipients: Iterable[str] = (),
    ) -> Escalation:
        """An alert asking for `plan` was sent (accepted, queued or held): follow it."""
        now = self.now()
        digits = [phone_digits(phone) for phone in phones]
        record = Escalation(
            id=outcome.alert_id or f"escalation-{now.timestamp()}",
            text=text,
            phones=digits,
            until=plan.until,
            window=plan.window,
            steps=list(plan.steps),
            started_at=now,
            critical=critical,
            recipients=list(recipients),
            code=code,
            watched=set(digits),
            alert_ids={outcome.alert_id} if outcome.alert_id else set(),
        )
        record.state = record.waiting_state()
        self._take(record, outcome)
        self._add(record)
        self._listen()
        self._changed()
        self._schedule()
        return record

    def _take(self, record: Escalation, outcome: GuardedOutcome) -> None:
        """The messages a send of `record` (its alert's, or a step's) had accepted."""
        for recipient in outcome.result.accepted:
            if recipient.message_ids:
                key = message_key(recipient.message_ids[0], recipient.phone)
                record.keys.add(key)
                self._by_key[key] = record.id
        if outcome.alert_id:
            record.alert_ids.add(outcome.alert_id)
            self._by_alert[outcome.alert_id] = record.id

    @callback
    def async_acknowledge(self, alert_id: str, *, number: str | None, text: str | None) -> bool:
        """Acknowledge the active escalation of `alert_id` (from Home Assistant: no number).

        From Home Assistant, any escalation under way can be stopped so (someone saw to the
        alarm); a reply only acknowledges an alert that asks for it.
        """
        record = self._record_of_alert(alert_id)
        if record is None or not record.active:
            return False
        if number is not None and record.until is not Until.ACKNOWLEDGED:
            return False
        self._acknowledged(record, number, text, by="action" if number is None else "reply")
        return True

    def _record_of_alert(self, alert_id: str) -> Escalation | None:
        escalation_id = self._by_alert.get(alert_id, alert_id)
        return self.records.get(escalation_id)

    def of_alert(self, alert_id: str | None) -> Escalation | None:
        """The escalation of an alert (by its id), if it has one."""
        return None if alert_id is None else self._record_of_alert(alert_id)

    def of_message(self, key: str) -> Escalation | None:
        """The escalation a tracked message (by its key) belongs to, if any."""
        escalation_id = self._by_key.get(key)
        return None if escalation_id is None else self.records.get(escalation_id)

    def active(self) -> list[Escalation]:
        """The escalations not ended yet."""
        return [record for record in self.records.values() if record.active]

    def diagnostics(self) -> dict[str, Any]:
        """How many escalations, in which state and at which step (no numbers, no texts)."""
        records = list(self.records.values())
        return {
            "active": sum(record.active for record in records),
            "states": dict(Counter(str(record.state) for record in records)),
            "steps_run": sum(record.next_step for record in records),
            "listening": bool(self._unsub_bus),
            "next_due": min((r.due().isoformat() for r in records if r.active), default=None),
        }

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` after every change (the last-message sensors)."""
        return self._listeners.add(listener)

    # -- indexes ------------------------------------------------------------------------

    def _add(self, record: Escalation) -> None:
        self.records[record.id] = record
        for key in record.keys:
            self._by_key[key] = record.id
        for alert_id in record.alert_ids:
            self._by_alert[alert_id] = record.id
        self._watch(record, record.watched)

    def _watch(self, record: Escalation, numbers: Iterable[str]) -> None:
        """Replies from `numbers` (digits) may acknowledge `record`, while it takes one."""
        record.watched.update(numbers)
        if record.active and record.until is Until.ACKNOWLEDGED:
            for digits in record.watched:
                self._by_phone.setdefault(digits, set()).add(record.id)

    def _forget(self, record: Escalation) -> None:
        del self.records[record.id]
        for key in record.keys:
            if self._by_key.get(key) == record.id:
                del self._by_key[key]
        for alert_id in record.alert_ids:
            if self._by_alert.get(alert_id) == record.id:
                del self._by_alert[alert_id]
        self._unwatch(record)

    def _unwatch(self, record: Escalation) -> None:
        for digits in record.watched:
            if (ids := self._by_phone.get(digits)) is not None:
                ids.discard(record.id)
                if not ids:
                    del self._by_phone[digits]

    def _prune(self, now: datetime) -> None:
        ended = [r for r in self.records.values() if r.ended_at is not None]
        ended.sort(key=lambda r: r.ended_at or now)
        for index, record in enumerate(ended):
            if len(ended) - index > MAX_ENDED or (record.ended_at or now) < now - KEEP_ENDED:
                self._forget(record)

    # -- the bus ------------------------------------------------------------------------

    def _listen(self) -> None:
        if self._unsub_bus or self._stopped or not any(r.active for r in self.records.values()):
            return
        self._unsub_bus = [
            self.hass.bus.async_listen(EVENT_MESSAGE_STATUS, self._on_status),
            self.hass.bus.async_listen(EVENT_INCOMING_SMS, self._on_incoming),
        ]

    def _unlisten(self) -> None:
        for unsub in self._unsub_bus:
            unsub()
        self._unsub_bus = []

    @callback
    def _on_status(self, event: Event[dict[str, Any]]) -> None:
        """A message changed: one of ours learns its key; a delivery may end it."""
        data = event.data
        ids = data.get("message_ids") or [data.get("message_id")]
        if not ids or ids[0] is None or not data.get("number"):
            return
        key = message_key(ids[0], data["number"])
        record_id = self._by_key.get(key)
        if record_id is None and (alert_id := data.get("alert_id")) is not None:
            record_id = self._by_alert.get(alert_id)
            if record_id is not None:
                self.records[record_id].keys.add(key)
                self._by_key[key] = record_id
                self._save.schedule()
        record = self.records.get(record_id or "")
        if (
            record is None
            or not record.active
            or record.until is not Until.DELIVERED
            or data.get("state") != DeliveryState.DELIVERED.value
        ):
            return
        self._end(record, EscalationState.DELIVERED)

    @callback
    def _on_incoming(self, event: Event[dict[str, Any]]) -> None:
        """An SMS came in: from a number an escalation texted, it may acknowledge it."""
        number = event.data.get("number")
        ids = self._by_phone.get(phone_digits(number)) if isinstance(number, str) else None
        if not ids:
            return
        text = str(event.data.get("text") or "")
        received = dt_util.parse_datetime(event.data.get("received_at") or "") or self.now()
        for record_id in sorted(ids, key=lambda i: self.records[i].started_at, reverse=True):
            record = self.records[record_id]
            if received < record.started_at - CLOCK_SKEW or (
                record.code and record.code not in text
            ):
                continue  # before the alert (a late poll of an older reply), or without its code
            self._acknowledged(record, str(number), text, by="reply")
            return

    # -- ends and steps -------------------------------------------------------------------

    def _acknowledged(
        self, record: Escalation, number: str | None, text: str | None, *, by: str
    ) -> None:
        record.acknowledged_by = number
        self._end(record, EscalationState.ACKNOWLEDGED)
        self._fire(
            EVENT_ACKNOWLEDGED,
            "acknowledged",
            {"alert_id": record.id, "number": number, "text": text, "by": by},
        )

    def _end(self, record: Escalation, state: EscalationState) -> None:
        now = self.now()
        record.state = state
        record.ended_at = now
        self._unwatch(record)
        self._prune(now)
        if not any(r.active for r in self.records.values()):
            self._unlisten()
        self._changed()
        self._schedule()

    def _changed(self) -> None:
        self._dirty = True
        self._save.schedule()
        self._listeners.tell()

    def _fire(self, event_type: str, kind: str, data: dict[str, Any]) -> None:
        data = {"config_entry_id": self.entry.entry_id, "account": self.entry.title, **data}
        self.hass.bus.async_fire(event_type, data)
        async_dispatcher_send(self.hass, signal_escalation(self.entry.entry_id), kind, data)

    def _schedule(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
        if not self._started or self._stopped:
            return
        due = [r.due() for r in self.records.values() if r.active and r.id not in self._running]
        if due:
            self._unsub_timer = async_track_point_in_utc_time(self.hass, self._on_timer, min(due))

    @callback
    def _on_timer(self, _now: datetime) -> None:
        self._unsub_timer = None
        now = self.now()
        for record in self.active():
            if record.id in self._running or record.due() > now:
                continue
            if record.next_step >= len(record.steps):
                # Past the last step's window: nothing more to do.
                self._end(
                    record, record.waiting_state() if record.next_step else _unanswered(record)
                )
                continue
            self._running.add(record.id)
            self.entry.async_create_background_task(
                self.hass, self._async_step(record, now), f"{DOMAIN} escalation {record.id}"
            )
        self._schedule()

    async def _async_step(self, record: Escalation, now: datetime) -> None:
        """Run `record`'s next step: counted and written first, so that it never runs twice."""
        index = record.next_step
        target = record.steps[index]
        record.next_step += 1
        record.last_step_at = now
        record.state = EscalationState.ESCALATED
        record.escalated_to.append(target)
        self._changed()
        error: str | None = None
        try:
            await self._save.async_now()
            await self._async_run(record, target)
        except HomeAssistantError as err:
            # The message in English (the log's and the event's), as Home Assistant says it.
            await async_get_translations(self.hass, "en", "exceptions", [DOMAIN])
            error = str(err) or type(err).__name__
            _LOGGER.warning(
                "%s: escalation step %d of alert %s (%s) failed: %s",
                self.entry.title,
                index + 1,
                record.id,
                target,
                error,
            )
        finally:
            self._running.discard(record.id)
        self._fire(
            EVENT_ESCALATION,
            "escalated",
            {
                "alert_id": record.id,
                "step": index + 1,
                "target": target,
                "reason": "not_acknowledged"
                if record.until is Until.ACKNOWLEDGED
                else "not_delivered",
                "error": error,
            },
        )
        self._changed()
        self._schedule()

    async def _async_run(self, record: Escalation, target: str) -> None:
        """Send the alert to `target` (raises what stops the step)."""
        if target == TARGET_FALLBACK:
            sender = self._fallback()
            if sender is None:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="escalation_fallback_unavailable",
                    translation_placeholders={"account": self.entry.title},
                )
            await self._async_send(record, sender, record.phones)
            return
        registered = er.async_get(self.hass).async_get(target)
        if registered is not None and registered.platform == DOMAIN:
            sender, phones = self._recipient(registered, target)
            await self._async_send(record, sender, phones)
            return
        await self.hass.services.async_call(
            NOTIFY,
            "send_message",
            {"entity_id": target, "message": record.text},
            blocking=True,
        )

    def _recipient(self, registered: er.RegistryEntry, target: str) -> tuple[Sender, list[str]]:
        """The account and the numbers of a recipient's notify entity."""
        sender = self._accounts(registered.config_entry_id or "")
        subentry = (
            sender.entry.subentries.get(registered.config_subentry_id or "")
            if sender is not None
            else None
        )
        if sender is None or subentry is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="escalation_target_unavailable",
                translation_placeholders={"target": target},
            )
        return sender, list(subentry.data[CONF_PHONES])

    async def _async_send(self, record: Escalation, sender: Sender, phones: list[str]) -> None:
        outcome = await sender.async_send(
            phones,
            record.text,
            send_options(sender.entry.options, {}),
            allow_rejected=True,
            critical=record.critical,
        )
        self._take(record, outcome)
        self._watch(record, [phone_digits(phone) for phone in phones])

    def _data(self) -> dict[str, Any]:
        return {"escalations": [record.as_dict() for record in self.records.values()]}


def _unanswered(record: Escalation) -> EscalationState:
    """How an escalation that ran no step ends when its window runs out."""
    if record.until is Until.ACKNOWLEDGED:
        return EscalationState.NOT_ACKNOWLEDGED
    return EscalationState.AWAITING_DELIVERY
