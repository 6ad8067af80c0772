"""The actions: `send_message`, `lookup_number` and `get_status`, aimed at an account."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, entity_registry as er, service
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .account import RuSmsAccount, RuSmsConfigEntry
from .const import (
    ATTR_ALERT_ID,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_DRY_RUN,
    ATTR_ENTITY_ID,
    ATTR_ESCALATE,
    ATTR_FLASH,
    ATTR_MESSAGE,
    ATTR_MESSAGE_IDS,
    ATTR_PHONES,
    ATTR_PRIORITY,
    ATTR_QUEUE,
    ATTR_RECIPIENT_LOCAL_TIME,
    ATTR_REPLACE_TYPOGRAPHY,
    ATTR_SEND_AT,
    ATTR_SENDER,
    ATTR_TITLE,
    ATTR_TRANSLITERATE,
    ATTR_VALIDITY,
    ATTR_WAIT_FOR_DELIVERY,
    CONF_PHONES,
    DOMAIN,
    PRIORITY_CRITICAL,
    PRIORITY_NORMAL,
    SERVICE_ACKNOWLEDGE,
    SERVICE_GET_STATUS,
    SERVICE_LOOKUP_NUMBER,
    SERVICE_SEND_MESSAGE,
)
from .delivery_wait import async_wait_for_delivery, carrier_tracker, checked_wait
from .errors import gateway_name, translated_error
from .escalation import (
    CONF_NOT_ACKNOWLEDGED_WITHIN,
    CONF_NOT_DELIVERED_WITHIN,
    CONF_STEPS,
    checked_plan,
)
from .escalation.plan import CODE_PLACEHOLDER
from .guard import GuardAction, GuardedOutcome
from .options import send_options
from .providers import LookupResult, MessageRef, RecipientResult, SmsGatewayError, StatusMode
from .providers.phone import phone_digits
from .schema import vol
from .signals import signal_recipient_texted
from .status import MessageStatus
from .validation import async_check_phones, moment, time_period

SEND_OPTIONS_FIELDS: dict[vol.Marker, Any] = {
    vol.Optional(ATTR_SENDER): cv.string,
    vol.Optional(ATTR_SEND_AT): moment,
    vol.Optional(ATTR_RECIPIENT_LOCAL_TIME): cv.boolean,
    vol.Optional(ATTR_VALIDITY): time_period,
    vol.Optional(ATTR_FLASH): cv.boolean,
    vol.Optional(ATTR_TRANSLITERATE): cv.boolean,
    vol.Optional(ATTR_REPLACE_TYPOGRAPHY): cv.boolean,
    vol.Optional(ATTR_PRIORITY): vol.In([PRIORITY_NORMAL, PRIORITY_CRITICAL]),
}
SEND_OPTIONS_SCHEMA = vol.Schema(SEND_OPTIONS_FIELDS)
"""The send options, as the account's notify service takes them in `data`."""

ESCALATE_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_NOT_DELIVERED_WITHIN): time_period,
        vol.Optional(CONF_NOT_ACKNOWLEDGED_WITHIN): time_period,
        vol.Optional(CONF_STEPS, default=list): vol.All(cv.ensure_list, [cv.string]),
    }
)
"""An alert's escalation, checked further (translated errors) by `checked_plan`."""
SEND_MESSAGE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_PHONES): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional(ATTR_ENTITY_ID): cv.entity_ids,
        vol.Required(ATTR_MESSAGE): cv.string,
        vol.Optional(ATTR_TITLE): cv.string,
        vol.Optional(ATTR_QUEUE, default=True): cv.boolean,
        vol.Optional(ATTR_DRY_RUN, default=False): cv.boolean,
        vol.Optional(ATTR_WAIT_FOR_DELIVERY): time_period,
        vol.Optional(ATTR_ESCALATE): ESCALATE_SCHEMA,
        **SEND_OPTIONS_FIELDS,
    }
)
ACKNOWLEDGE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_ALERT_ID): cv.string,
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
    }
)
LOOKUP_NUMBER_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_PHONES): vol.All(cv.ensure_list, [cv.string]),
    }
)
GET_STATUS_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_MESSAGE_IDS): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional(ATTR_PHONES): vol.All(cv.ensure_list, [cv.string]),
    }
)

LOOKUP_CALLBACK_WAIT = 30.0
"""Seconds to wait for lookup answers posted to the webhook (callbacks on)."""


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SEND_MESSAGE,
        _async_send_message,
        schema=SEND_MESSAGE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
        # The texts tell of `{code}`, the placeholder an alert's message may hold.
        description_placeholders={"code": CODE_PLACEHOLDER},
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_LOOKUP_NUMBER,
        _async_lookup_number,
        schema=LOOKUP_NUMBER_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_STATUS,
        _async_get_status,
        schema=GET_STATUS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_ACKNOWLEDGE, _async_acknowledge, schema=ACKNOWLEDGE_SCHEMA
    )


def _entry(call: ServiceCall) -> RuSmsConfigEntry:
    entry: RuSmsConfigEntry = service.async_get_config_entry(
        call.hass, DOMAIN, call.data[ATTR_CONFIG_ENTRY_ID]
    )
    return entry


def _recipients(
    hass: HomeAssistant, entry: RuSmsConfigEntry, entity_ids: list[str]
) -> dict[str, list[str]]:
    """The recipients of this account whose notify entities are named, with their numbers."""
    registry = er.async_get(hass)
    recipients: dict[str, list[str]] = {}
    for entity_id in entity_ids:
        entity = registry.async_get(entity_id)
        subentry = (
            entry.subentries.get(entity.config_subentry_id)
            if entity is not None
            and entity.config_entry_id == entry.entry_id
            and entity.config_subentry_id
            else None
        )
        if subentry is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_recipient",
                translation_placeholders={"entity_id": entity_id, "account": entry.title},
            )
        recipients.setdefault(subentry.subentry_id, []).extend(subentry.data[CONF_PHONES])
    return recipients


async def _async_send_message(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call)
    recipients = _recipients(call.hass, entry, call.data.get(ATTR_ENTITY_ID, []))
    phones = list(call.data.get(ATTR_PHONES, []))
    phones += [phone for numbers in recipients.values() for phone in numbers]
    if not phones:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_recipients")
    critical = is_critical(call.data)
    wait = checked_wait(call.data, return_response=call.return_response)
    escalate = checked_plan(call.hass, entry, call.data.get(ATTR_ESCALATE), recipients=recipients)
    if call.data[ATTR_DRY_RUN]:
        if not call.return_response:
            # Nothing is sent: without the response, nobody would learn anything.
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="dry_run_without_response"
            )
        return await entry.runtime_data.async_dry_run(
            phones,
            call.data[ATTR_MESSAGE],
            send_options(entry.options, call.data),
            title=call.data.get(ATTR_TITLE),
            critical=critical,
        )
    account = entry.runtime_data  # kept: an unload during a wait takes it off the entry
    outcome = await account.async_send(
        phones,
        call.data[ATTR_MESSAGE],
        send_options(entry.options, call.data),
        title=call.data.get(ATTR_TITLE),
        allow_rejected=call.return_response,
        queue=call.data[ATTR_QUEUE],
        critical=critical,
        escalate=escalate,
        recipients=recipients,
    )
    _tell_texted(call.hass, entry, recipients, outcome)
    if not call.return_response:
        return None
    response = _send_response(entry, account, outcome)
    if escalate is not None and (record := account.escalations.of_alert(outcome.alert_id)):
        response["escalation"] = {"state": str(record.state), "code": record.code}
    if wait is not None:
        tracker = carrier_tracker(call.hass, entry, outcome, account.tracker)
        response["delivery"] = await async_wait_for_delivery(tracker, outcome, wait)
    return response


def is_critical(fields: Any) -> bool:
    """Whether an action's (or a notify service's `data`) alert passes the storm guard."""
    return bool(fields.get(ATTR_PRIORITY) == PRIORITY_CRITICAL)


def _tell_texted(
    hass: HomeAssistant,
    entry: RuSmsConfigEntry,
    recipients: dict[str, list[str]],
    outcome: GuardedOutcome,
) -> None:
    """Each named recipient with a number taken or queued is told (its entity records it).

    As Home Assistant's notify documentation asks of an integration's own send action.
    """
    if not recipients:
        return  # numbers alone: no one to tell
    texted = {phone_digits(r.phone) for r in outcome.result.accepted}
    texted.update(phone_digits(phone) for phone in outcome.queued)
    for subentry_id, numbers in recipients.items():
        if not texted.isdisjoint(phone_digits(phone) for phone in numbers):
            async_dispatcher_send(hass, signal_recipient_texted(entry.entry_id, subentry_id))


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _recipient(r: RecipientResult, *, queued: bool) -> dict[str, Any]:
    """One number of the send response."""
    return {
        "phone": r.phone,
        "accepted": r.accepted,
        "queued": queued,
        "message_ids": list(r.message_ids),
        "segments": r.segments,
        "cost": _money(r.cost),
        "error": r.error_text,
        "error_kind": r.error_kind.value if r.error_kind else None,
        "error_code": r.error_code,
    }


def _send_response(
    entry: RuSmsConfigEntry, account: RuSmsAccount, outcome: GuardedOutcome
) -> dict[str, Any]:
    """Per number: accepted, refused (with the reason) or queued for another attempt.

    And what the storm guard did: `guard` lists the numbers merged as repeats, held, or
    sent with "(+N more)". With `wait_for_delivery`, `delivery` is added after the wait:
    each number's final state (`async_wait_for_delivery`).
    """
    balance = account.balance
    result = outcome.result
    recipients: list[Any] = [_recipient(r, queued=False) for r in result.recipients]
    recipients += [
        _recipient(
            RecipientResult(phone=phone, accepted=False, error_text=outcome.error), queued=True
        )
        for phone in outcome.queued
    ]
    return {
        # One identity from the call to the final state: on every event of the alert.
        "alert_id": outcome.alert_id,
        "recipients": recipients,
        "accepted": len(result.accepted),
        "rejected": len(result.rejected),
        "queued": len(outcome.queued),
        "possible_duplicate": outcome.possible_duplicate,
        "account": outcome.account or entry.title,
        "segments": result.segments,
        "cost": _money(result.cost),
        "balance": _money(result.balance),
        "currency": balance.currency if balance is not None else None,
        "merged": len(outcome.numbers(GuardAction.MERGED)),
        "held": len(outcome.numbers(GuardAction.HELD)),
        "guard": [item.as_dict() for item in outcome.guarded],
    }


async def _async_acknowledge(call: ServiceCall) -> None:
    """Acknowledge an alert from Home Assistant (a dashboard button, a notification action)."""
    alert_id: str = call.data[ATTR_ALERT_ID]
    entries: list[RuSmsConfigEntry] = (
        [_entry(call)]
        if ATTR_CONFIG_ENTRY_ID in call.data
        else call.hass.config_entries.async_loaded_entries(DOMAIN)
    )
    for entry in entries:
        if entry.runtime_data.escalations.async_acknowledge(alert_id, number=None, text=None):
            return
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_awaiting_acknowledgement",
        translation_placeholders={"alert_id": alert_id},
    )


async def _async_lookup_number(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call)
    account = entry.runtime_data
    gateway = account.gateway
    if not gateway.capabilities.lookup:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="lookup_not_supported",
            translation_placeholders={"gateway": gateway_name(gateway.gateway_id)},
        )
    phones = await async_check_phones(call.hass, call.data[ATTR_PHONES])
    try:
        results = await gateway.lookup(phones)
        if account.tracker.callbacks:
            # The answers come to the webhook: wait for them, then ask for the rest.
            results = await account.lookups.async_wait(results, LOOKUP_CALLBACK_WAIT)
        for delay in gateway.description.lookup_wait:
            if all(r.is_final for r in results):
                break
            await asyncio.sleep(delay)
            results = await gateway.lookup_result(results)
    except SmsGatewayError as err:
        raise translated_error(call.hass, entry, err) from err
    return {"results": [_lookup_response(r) for r in results]}


def _lookup_response(result: LookupResult) -> dict[str, Any]:
    return {
        "phone": result.phone,
        "state": result.state.value,
        "reachable": result.state.value == "reachable" if result.is_final else None,
        "operator": result.operator,
        "country": result.country,
        "region": result.region,
        "mcc": result.mcc,
        "mnc": result.mnc,
        "imsi": result.imsi,
        "roaming": (
            bool(result.roaming_country or result.roaming_operator) if result.is_final else None
        ),
        "roaming_country": result.roaming_country,
        "roaming_operator": result.roaming_operator,
        "ported": result.ported,
        "error_code": result.error_code,
    }


async def _async_get_status(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call)
    gateway = entry.runtime_data.gateway
    ids: list[str] = call.data[ATTR_MESSAGE_IDS]
    raw_phones: list[str] = call.data.get(ATTR_PHONES, [])
    phones = [""]
    if raw_phones:
        numbers = await async_check_phones(call.hass, raw_phones)
        # Where an id names one number's segment, numbers would only repeat each request.
        if gateway.description.status.mode is not StatusMode.SEGMENT:
            phones = numbers
    elif gateway.description.status.needs_phone:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="phone_required")
    refs = [MessageRef(message_id=i, phone=p) for i in ids for p in phones]
    try:
        statuses = await gateway.delivery_status(refs)
    except SmsGatewayError as err:
        raise translated_error(call.hass, entry, err) from err
    return {"statuses": [MessageStatus.of_answer(s).as_response() for s in statuses]}
