"""What ru_sms announces: each an event on the bus, and a dispatcher signal for its entities.

Automations hear the events; the account's own entities hear the signals of their account.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import DOMAIN
from .providers import IncomingMessage

EVENT_MESSAGE_STATUS = f"{DOMAIN}_message_status"
"""Fired on every change of a sent message's delivery state."""
EVENT_INCOMING_SMS = f"{DOMAIN}_incoming_sms"
"""Fired for every SMS a subscriber sent to the account."""
EVENT_ALERT_HELD = f"{DOMAIN}_alert_held"
"""Fired when the storm guard merges a repeat or holds an alert (a burst, a spending limit)."""
EVENT_ALERT_RELEASED = f"{DOMAIN}_alert_released"
"""Fired when what the storm guard held goes on (a summary, or an alert after a limit)."""
EVENT_SPENDING_LIMIT = f"{DOMAIN}_spending_limit"
"""Fired once a day at 80 % of a daily spending limit, and once when it is reached."""
EVENT_ESCALATION = f"{DOMAIN}_escalation"
"""Fired when a step of an alert's escalation runs (not delivered, or not acknowledged, in time)."""
EVENT_ACKNOWLEDGED = f"{DOMAIN}_acknowledged"
"""Fired when an alert that asks for it is acknowledged (a reply, or `ru_sms.acknowledge`)."""


def signal_message_status(entry_id: str) -> str:
    """Dispatcher signal of an account's delivery changes (payload: the event data)."""
    return f"{DOMAIN}_message_status_{entry_id}"


def signal_incoming_sms(entry_id: str) -> str:
    """Dispatcher signal of an account's incoming SMS (payload: the event data)."""
    return f"{DOMAIN}_incoming_sms_{entry_id}"


def signal_escalation(entry_id: str) -> str:
    """Dispatcher signal of an account's escalations (payload: the event type and data)."""
    return f"{DOMAIN}_escalation_{entry_id}"


def signal_recipient_texted(entry_id: str, subentry_id: str) -> str:
    """Dispatcher signal: an action texted a recipient (its notify entity records it)."""
    return f"{DOMAIN}_recipient_texted_{entry_id}_{subentry_id}"


@callback
def async_fire_message_status(hass: HomeAssistant, entry_id: str, data: dict[str, Any]) -> None:
    """Fire `ru_sms_message_status` and tell the event entity of the account `entry_id`."""
    hass.bus.async_fire(EVENT_MESSAGE_STATUS, data)
    async_dispatcher_send(hass, signal_message_status(entry_id), data)


@callback
def async_fire_incoming_sms(
    hass: HomeAssistant, entry_id: str, account: str, message: IncomingMessage
) -> None:
    """Fire `ru_sms_incoming_sms` and tell the event entity of the account (`entry_id`)."""
    data: dict[str, Any] = {
        "config_entry_id": entry_id,
        "account": account,
        "message_id": message.message_id,
        "number": message.phone,
        "text": message.text,
        "to": message.to,
        "received_at": message.received_at.isoformat() if message.received_at else None,
    }
    hass.bus.async_fire(EVENT_INCOMING_SMS, data)
    async_dispatcher_send(hass, signal_incoming_sms(entry_id), data)
