"""The messages event entity of an account: final delivery reports, incoming SMS, escalations."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .account import RuSmsConfigEntry
from .entity import AccountPushEntity
from .providers import DeliveryState
from .signals import signal_escalation, signal_incoming_sms, signal_message_status

PARALLEL_UPDATES = 0

EVENT_INCOMING = "incoming"
FINAL_STATES: tuple[str, ...] = (
    DeliveryState.DELIVERED.value,
    DeliveryState.FAILED.value,
    DeliveryState.EXPIRED.value,
)
"""The delivery states that fire an event of their own name (a message's last word)."""

STATUS_ATTRIBUTES = (
    "number",
    "message_id",
    "recipient",
    "raw_code",
    "raw_text",
    "error_code",
    "cost",
)
INCOMING_ATTRIBUTES = ("number", "text", "to", "message_id", "received_at")
EVENT_ESCALATED = "escalated"
EVENT_ACKNOWLEDGED = "acknowledged"
ESCALATION_ATTRIBUTES = {
    EVENT_ESCALATED: ("alert_id", "step", "target", "reason", "error"),
    EVENT_ACKNOWLEDGED: ("alert_id", "number", "text", "by"),
}

MESSAGES = EventEntityDescription(
    key="messages",
    translation_key="messages",
    event_types=[*FINAL_STATES, EVENT_INCOMING, EVENT_ESCALATED, EVENT_ACKNOWLEDGED],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RuSmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One event entity per account."""
    async_add_entities([MessagesEventEntity(entry, MESSAGES)])


class MessagesEventEntity(AccountPushEntity, EventEntity):
    """Fires `delivered`, `failed` or `expired` once per message, and `incoming` per SMS."""

    async def async_added_to_hass(self) -> None:
        """Listen to the account's delivery changes and incoming messages."""
        await super().async_added_to_hass()
        entry_id = self.entry.entry_id
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_message_status(entry_id), self._async_message_status
            )
        )
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_incoming_sms(entry_id), self._async_incoming)
        )
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_escalation(entry_id), self._async_escalation)
        )

    @callback
    def _async_message_status(self, data: dict[str, Any]) -> None:
        """A delivery state changed: only the final ones are events."""
        if not data["final"] or data["state"] not in FINAL_STATES:
            return
        self._trigger_event(data["state"], {name: data[name] for name in STATUS_ATTRIBUTES})
        self.async_write_ha_state()

    @callback
    def _async_incoming(self, data: dict[str, Any]) -> None:
        """A subscriber sent the account an SMS."""
        self._trigger_event(EVENT_INCOMING, {name: data[name] for name in INCOMING_ATTRIBUTES})
        self.async_write_ha_state()

    @callback
    def _async_escalation(self, kind: str, data: dict[str, Any]) -> None:
        """An alert escalated a step, or was acknowledged."""
        self._trigger_event(kind, {name: data[name] for name in ESCALATION_ATTRIBUTES[kind]})
        self.async_write_ha_state()
