"""The events ru_sms fires, and the signals its event entities listen to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import DOMAIN
from .providers import IncomingMessage

if TYPE_CHECKING:
    from .coordinator import RuSmsConfigEntry

EVENT_MESSAGE_STATUS = f"{DOMAIN}_message_status"
"""Fired on every change of a sent message's delivery state."""
EVENT_INCOMING_SMS = f"{DOMAIN}_incoming_sms"
"""Fired for every SMS a subscriber sent to the account."""


def signal_message_status(entry_id: str) -> str:
    """Dispatcher signal of an account's delivery changes (payload: the event data)."""
    return f"{DOMAIN}_message_status_{entry_id}"


def signal_incoming_sms(entry_id: str) -> str:
    """Dispatcher signal of an account's incoming SMS (payload: the event data)."""
    return f"{DOMAIN}_incoming_sms_{entry_id}"


@callback
def async_fire_message_status(
    hass: HomeAssistant, entry: RuSmsConfigEntry, data: dict[str, Any]
) -> None:
    """Fire `ru_sms_message_status` and tell the account's event entity."""
    hass.bus.async_fire(EVENT_MESSAGE_STATUS, data)
    async_dispatcher_send(hass, signal_message_status(entry.entry_id), data)


@callback
def async_fire_incoming_sms(
    hass: HomeAssistant, entry: RuSmsConfigEntry, message: IncomingMessage
) -> None:
    """Fire `ru_sms_incoming_sms` and tell the account's event entity."""
    data: dict[str, Any] = {
        "config_entry_id": entry.entry_id,
        "account": entry.title,
        "message_id": message.message_id,
        "number": message.phone,
        "text": message.text,
        "to": message.to,
        "received_at": message.received_at.isoformat() if message.received_at else None,
    }
    hass.bus.async_fire(EVENT_INCOMING_SMS, data)
    async_dispatcher_send(hass, signal_incoming_sms(entry.entry_id), data)
