"""Sensors: the balance, the delivery of the last message, messages in flight, statistics.

- balance (gateways that report one), from the balance coordinator;
- last message, per recipient and per account, and messages in flight, from the message
  tracker (pushed on every change, kept across restarts by the tracker's store);
- messages sent and delivery ratio over the last 24 hours (where the gateway reports them), disabled by
  default, from the statistics coordinator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, cast

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .account import RuSmsConfigEntry
from .const import CONF_PHONES, SUBENTRY_RECIPIENT
from .coordinator import BalanceCoordinator, StatisticsCoordinator
from .entity import AccountEntity, AccountPushEntity, RecipientEntity
from .escalation import Escalation, EscalationState
from .listeners import OncePerTurn
from .outbox import AlertNote, QueuedAlert
from .providers import DeliveryState, Statistics
from .providers.phone import phone_digits
from .status import STATE_WAITING
from .tracker import MessageTracker, TrackedMessage

PARALLEL_UPDATES = 0

BALANCE = SensorEntityDescription(
    key="balance",
    translation_key="balance",
    device_class=SensorDeviceClass.MONETARY,
    suggested_display_precision=2,
)
STATUS_UNKNOWN = "status_unknown"
"""The last-message sensor's state when the gateway does not know the delivery state.

Not `unknown`: that is Home Assistant's own state of a sensor without a value (before the
first message), and history graphs and automations could not tell the two apart.
"""


def last_message_state(state: DeliveryState) -> str:
    """A delivery state as the last-message sensor shows it."""
    return STATUS_UNKNOWN if state is DeliveryState.UNKNOWN else state.value


def note_state(state: str) -> str:
    """The state of an alert the outbox noted, as the last-message sensor shows it."""
    if state == STATE_WAITING:
        return STATE_WAITING
    try:
        return last_message_state(DeliveryState(state))
    except ValueError:
        return STATUS_UNKNOWN


LAST_MESSAGE = SensorEntityDescription(
    key="last_message",
    translation_key="last_message",
    device_class=SensorDeviceClass.ENUM,
    options=[
        STATE_WAITING,
        *(last_message_state(state) for state in DeliveryState),
        *(
            state.value
            for state in (
                EscalationState.AWAITING_ACKNOWLEDGEMENT,
                EscalationState.ACKNOWLEDGED,
                EscalationState.ESCALATED,
                EscalationState.NOT_ACKNOWLEDGED,
            )
        ),
    ],
)
IN_FLIGHT = SensorEntityDescription(
    key="in_flight",
    translation_key="in_flight",
    state_class=SensorStateClass.MEASUREMENT,
    entity_category=EntityCategory.DIAGNOSTIC,
)


@dataclass(frozen=True, kw_only=True)
class StatisticsSensorEntityDescription(SensorEntityDescription):
    """A figure of the gateway's statistics."""

    value_fn: Callable[[Statistics], float | int | None]


STATISTICS: tuple[StatisticsSensorEntityDescription, ...] = (
    StatisticsSensorEntityDescription(
        key="sent_24h",
        translation_key="sent_24h",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda statistics: statistics.sent,
    ),
    StatisticsSensorEntityDescription(
        key="delivery_ratio_24h",
        translation_key="delivery_ratio_24h",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda statistics: statistics.delivery_ratio,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RuSmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's sensors, then each recipient's last-message sensor."""
    data = entry.runtime_data
    entities: list[SensorEntity] = [
        AccountLastMessageSensor(entry, LAST_MESSAGE),
        InFlightSensor(entry, IN_FLIGHT),
    ]
    if data.balance is not None:
        entities.append(BalanceSensor(data.balance, BALANCE))
    if data.statistics is not None:
        entities.extend(StatisticsSensor(data.statistics, item) for item in STATISTICS)
    async_add_entities(entities)
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_RECIPIENT:
            continue  # pragma: no cover - recipients are the only subentries
        async_add_entities(
            [RecipientLastMessageSensor(entry, subentry, LAST_MESSAGE)],
            config_subentry_id=subentry_id,
        )


class BalanceSensor(AccountEntity[BalanceCoordinator], SensorEntity):
    """The money left on the account, in the gateway's currency."""

    @property
    def native_value(self) -> Decimal:
        """The balance."""
        return self.coordinator.data.amount

    @property
    def native_unit_of_measurement(self) -> str:
        """The gateway's currency (RUB when it does not say)."""
        return self.coordinator.currency

    @property
    def extra_state_attributes(self) -> dict[str, float]:
        """The credit the gateway grants, when it tells it."""
        credit = self.coordinator.data.credit
        return {} if credit is None else {"credit": float(credit)}


class TrackerSensor(SensorEntity):
    """A sensor written again after the changes of the account's message tracker.

    The first change of a turn of the loop is written at once, the turn's others once, at
    the next turn: a stream of sends changes the tracker and the outbox several times an
    alert, and every such sensor was written at each (five state writes an alert, a third
    of its cost).
    """

    entry: RuSmsConfigEntry
    _writes: OncePerTurn
    _made: dict[str, Any] | None = None
    """What a state being written has read already (its parts each ask)."""

    @property
    def tracker(self) -> MessageTracker:
        """The account's message tracker."""
        return self.entry.runtime_data.tracker

    async def async_added_to_hass(self) -> None:
        """Follow the tracker and the outbox."""
        await super().async_added_to_hass()
        runtime = self.entry.runtime_data
        self._writes = OncePerTurn(self.hass, self._async_write)
        for source in (self.tracker, runtime.outbox, runtime.guard, runtime.escalations):
            self.async_on_remove(source.async_add_listener(self._async_changed))
        self.async_on_remove(self._writes.cancel)

    @callback
    def _async_changed(self) -> None:
        """Write the state now, or at the next turn when it was written in this one."""
        self._writes()

    @callback
    def _async_write(self) -> None:
        """Write the state; what its parts read is read once for it (`_once`)."""
        self._made = {}
        try:
            self.async_write_ha_state()
        finally:
            self._made = None

    def _once[T](self, key: str, read: Callable[[], T]) -> T:
        """`read()`, once for the state being written (the outbox's queue is walked)."""
        if self._made is None:
            return read()
        if key not in self._made:
            self._made[key] = read()
        return cast("T", self._made[key])

    def _phones(self, recipient_id: str | None) -> list[str] | None:
        """A recipient's numbers (None: the account's, every number)."""
        if recipient_id is not None and (subentry := self.entry.subentries.get(recipient_id)):
            return list(subentry.data.get(CONF_PHONES, []))
        return None

    def _latest(self, recipient_id: str | None) -> QueuedAlert | AlertNote | TrackedMessage | None:
        """The latest alert, wherever it is.

        Waiting in the outbox, noted by it (carried by the fallback account, given up),
        or followed by the tracker: whichever came last.
        """
        phones = self._phones(recipient_id)
        outbox = self.entry.runtime_data.outbox
        candidates: list[tuple[datetime, bool, QueuedAlert | AlertNote | TrackedMessage]] = []
        # On a tie, the tracker's record: it was sent since it was queued.
        if (message := self.tracker.last_message(recipient_id)) is not None:
            candidates.append((message.sent_at, True, message))
        if (alert := outbox.latest(phones)) is not None:
            candidates.append((alert.created_at, False, alert))
        if (note := outbox.reports.log.latest(phones)) is not None:
            candidates.append((note.created_at, False, note))
        if not candidates:
            return None
        return max(candidates, key=lambda c: (c[0], c[1]))[2]


class LastMessageSensor(TrackerSensor):
    """The delivery state of the latest message (unknown before the first one)."""

    recipient_id: str | None = None
    """Whose latest message: a recipient's (its subentry id), or the account's (None)."""

    def _latest_message(self) -> QueuedAlert | AlertNote | TrackedMessage | None:
        return self._once("latest", partial(self._latest, self.recipient_id))

    @property
    def native_value(self) -> str | None:
        """The message's delivery state (`waiting` while it waits in the outbox).

        Where its alert escalates: awaiting acknowledgement, acknowledged, escalated or
        not acknowledged, before its delivery state.
        """
        latest = self._latest_message()
        escalation = self._escalation(latest)
        if escalation is not None and (shown := escalation.shown_state()) is not None:
            return shown
        match latest:
            case QueuedAlert():
                return STATE_WAITING
            case AlertNote() as note:
                return note_state(note.state)
            case TrackedMessage() as message:
                return last_message_state(message.state)
        return None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Number, id, times, error and cost of the message; its alert id; what the guard holds."""
        guarded = self.entry.runtime_data.guard.attributes(self._phones(self.recipient_id))
        escalation = self._escalation(self._latest_message())
        escalated = escalation.attributes() if escalation is not None else {}
        return self._message_attributes() | guarded | escalated

    def _escalation(
        self, latest: QueuedAlert | AlertNote | TrackedMessage | None
    ) -> Escalation | None:
        """The escalation of the latest message's alert, if it has one.

        Only the alert's own: a recipient texted by a step of another's escalation shows
        the delivery of that text.
        """
        escalations = self.entry.runtime_data.escalations
        match latest:
            case QueuedAlert() | AlertNote() as alert:
                found = escalations.of_alert(alert.id)
                return found if found is not None and found.id == alert.id else None
            case TrackedMessage() as message:
                found = escalations.of_message(message.key)
                own = found is not None and phone_digits(message.phone) in found.phones
                return found if own else None
        return None

    def _message_attributes(self) -> dict[str, Any]:
        match self._latest_message():
            case QueuedAlert() as alert:
                return {
                    "number": alert.phones[0] if alert.phones else None,
                    "message_id": alert.id,
                    "alert_id": alert.id,
                    "waiting": True,
                    "next_attempt": alert.next_attempt.isoformat(),
                    "error": alert.last_error,
                    "possible_duplicate": alert.possible_duplicate,
                }
            case AlertNote() as note:
                return {
                    "number": note.number or (note.phones[0] if note.phones else None),
                    "message_id": note.message_id or note.id,
                    "alert_id": note.id,
                    "account": note.account,
                    "error": note.error,
                    "possible_duplicate": note.possible_duplicate,
                }
            case TrackedMessage() as message:
                return message.status().as_attributes()
        return {}


class RecipientLastMessageSensor(RecipientEntity, LastMessageSensor):
    """The delivery of the latest message to a recipient (any of its numbers)."""

    def __init__(
        self,
        entry: RuSmsConfigEntry,
        subentry: ConfigSubentry,
        description: SensorEntityDescription,
    ) -> None:
        """On the recipient's device, following its messages."""
        super().__init__(entry, subentry, description)
        self.recipient_id = subentry.subentry_id


class AccountLastMessageSensor(AccountPushEntity, LastMessageSensor):
    """The delivery of the latest message the account sent (to anyone)."""


class InFlightSensor(AccountPushEntity, TrackerSensor):
    """How many messages wait for a final delivery report."""

    @property
    def waiting(self) -> int:
        """Messages waiting in the outbox."""
        return self._once("waiting", lambda: self.entry.runtime_data.outbox.waiting)

    @property
    def native_value(self) -> int:
        """Messages not yet delivered, failed or expired: waiting in the outbox too."""
        return self.tracker.in_flight + self.waiting

    @property
    def extra_state_attributes(self) -> dict[str, int]:
        """Messages waiting in the outbox, and the alerts they belong to."""
        return {"waiting": self.waiting, "queued": self.entry.runtime_data.outbox.queued}


class StatisticsSensor(AccountEntity[StatisticsCoordinator], SensorEntity):
    """A figure of the gateway's statistics of the last 24 hours."""

    entity_description: StatisticsSensorEntityDescription

    @property
    def native_value(self) -> float | int | None:
        """The figure (unknown until the first answer)."""
        # The coordinator is started by its entities: no data until its first answer.
        statistics = cast("Statistics | None", self.coordinator.data)
        return None if statistics is None else self.entity_description.value_fn(statistics)
