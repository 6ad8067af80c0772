"""An escalation asked for, checked before anything is sent: every bad combination a translated error."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er

from ..const import (
    CONF_CALLBACKS,
    CONF_FALLBACK,
    CONF_INCOMING_INTERVAL,
    CONF_PROVIDER,
    DEFAULT_INCOMING_INTERVAL,
    DOMAIN,
)
from ..errors import gateway_name
from ..providers import client_class, description_of
from .plan import (
    CONF_NOT_ACKNOWLEDGED_WITHIN,
    CONF_NOT_DELIVERED_WITHIN,
    CONF_STEPS,
    MAX_STEPS,
    MAX_WINDOW,
    MIN_WINDOW,
    TARGET_FALLBACK,
    EscalationPlan,
    Until,
)

NOTIFY = "notify"


def receives_sms(entry: ConfigEntry) -> bool:
    """Whether the account hears replies: incoming polls on, or the gateway's callbacks on."""
    description = description_of(entry.data[CONF_PROVIDER])
    if client_class(entry.data[CONF_PROVIDER]).capabilities.incoming and entry.options.get(
        CONF_INCOMING_INTERVAL, DEFAULT_INCOMING_INTERVAL
    ):
        return True
    return description.callbacks is not None and bool(entry.options.get(CONF_CALLBACKS))


def can_hear_replies(entry: ConfigEntry) -> bool:
    """Whether the account's gateway can report incoming SMS at all (by polls or callbacks)."""
    gateway_id = entry.data[CONF_PROVIDER]
    return (
        client_class(gateway_id).capabilities.incoming
        or description_of(gateway_id).callbacks is not None
    )


def _refuse(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def checked_plan(
    hass: HomeAssistant,
    entry: ConfigEntry,
    data: Mapping[str, Any] | None,
    *,
    recipients: Collection[str] = (),
) -> EscalationPlan | None:
    """The escalation `data` asks for (None: none), refused where it cannot be.

    `recipients`: the subentry ids of the account's recipients the alert names (a step
    may not text one of them again).
    """
    if not data:
        return None
    windows = [data.get(CONF_NOT_DELIVERED_WITHIN), data.get(CONF_NOT_ACKNOWLEDGED_WITHIN)]
    if sum(window is not None for window in windows) != 1:
        raise _refuse("escalate_window_required")
    plan = EscalationPlan.of(data)
    if not MIN_WINDOW <= plan.window <= MAX_WINDOW:
        raise _refuse(
            "escalate_window_out_of_range",
            min=str(int(MIN_WINDOW.total_seconds() // 60)),
            max=str(int(MAX_WINDOW.total_seconds() // 3600)),
        )
    if len(plan.steps) > MAX_STEPS:
        raise _refuse("escalate_too_many_steps", max=str(MAX_STEPS))
    if not plan.steps and plan.until is Until.DELIVERED:
        raise _refuse("escalate_no_steps", field=CONF_STEPS)
    if plan.until is Until.ACKNOWLEDGED and not receives_sms(entry):
        gateway = gateway_name(entry.data[CONF_PROVIDER])
        if not can_hear_replies(entry):
            raise _refuse("acknowledgement_not_supported", gateway=gateway)
        raise _refuse("acknowledgement_needs_incoming", account=entry.title, gateway=gateway)
    seen: set[str] = set()
    for target in plan.steps:
        if target in seen:
            raise _refuse("escalate_step_repeated", target=target)
        seen.add(target)
        _check_target(hass, entry, target, recipients)
    return plan


def _check_target(
    hass: HomeAssistant, entry: ConfigEntry, target: str, recipients: Collection[str]
) -> None:
    if target == TARGET_FALLBACK:
        if not entry.options.get(CONF_FALLBACK):
            raise _refuse("escalate_no_fallback", account=entry.title)
        return
    registered = er.async_get(hass).async_get(target)
    if target.partition(".")[0] != NOTIFY or (
        registered is None and hass.states.get(target) is None
    ):
        raise _refuse("escalate_unknown_target", target=target)
    if (
        registered is not None
        and registered.platform == DOMAIN
        and registered.config_entry_id == entry.entry_id
        and registered.config_subentry_id in recipients
    ):
        raise _refuse("escalate_to_same_recipient", target=target)
