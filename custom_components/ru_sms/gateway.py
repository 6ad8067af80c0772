"""Between Home Assistant and the gateway clients: building a client, sending, errors.

The notify entities, the account's notify service and the actions all send through
`async_send`, so that every path validates, reports and fails the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.const import (
    CONF_API_KEY,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_URL,
    CONF_USERNAME,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util

from .const import (
    ATTR_FLASH,
    ATTR_RECIPIENT_LOCAL_TIME,
    ATTR_SEND_AT,
    ATTR_SENDER,
    ATTR_TRANSLITERATE,
    ATTR_VALIDITY,
    CONF_PROVIDER,
    CONF_SENDER,
    CONF_SSL,
    CONF_TRANSLITERATE,
    DOMAIN,
    PROVIDER_NAMES,
    SMSTELE_DEFAULT_PORT,
    SMSTELE_PATH,
)
from .providers import (
    AuthenticationError,
    Credentials,
    GatewayUnavailableError,
    InvalidRecipientError,
    InvalidSenderError,
    MessageRejectedError,
    NotSupportedError,
    Provider,
    RateLimitedError,
    SendOptions,
    SendResult,
    SmsGateway,
    SmsGatewayError,
    create_client,
)
from .providers.phone import mask_phone

if TYPE_CHECKING:
    from .coordinator import RuSmsConfigEntry

PREPARE_IN_LOOP = 100
"""A send to more numbers than this is checked in a worker thread, off the event loop."""

PROBLEM_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "sender_required": ("gateway",),
    "flash": ("gateway",),
    "recipient_local_time": ("gateway",),
    "local_time_without_send_at": (),
    "validity_too_short": (),
    "validity_too_long": ("gateway", "max_hours"),
}
"""Send checks the client names (`SmsGatewayError.problem`) that have a message of their
own (its translation key), with the placeholders of that message."""


def gateway_base_url(data: Mapping[str, Any]) -> str | None:
    """The base URL an entry's data points at (None: the gateway's own)."""
    if url := data.get(CONF_URL):
        return str(url)
    if data[CONF_PROVIDER] == Provider.SMSTELE:
        scheme = "https" if data.get(CONF_SSL, True) else "http"
        port = data.get(CONF_PORT, SMSTELE_DEFAULT_PORT)
        return f"{scheme}://{data[CONF_HOST]}:{port}{SMSTELE_PATH}"
    return None


def create_gateway(hass: HomeAssistant, data: Mapping[str, Any]) -> SmsGateway:
    """The client for an entry's data, on Home Assistant's shared session."""
    credentials = Credentials(
        login=data.get(CONF_USERNAME) or None,
        password=data.get(CONF_PASSWORD) or None,
        api_key=data.get(CONF_API_KEY) or None,
    )
    return create_client(
        Provider(data[CONF_PROVIDER]),
        async_get_clientsession(hass),
        credentials,
        base_url=gateway_base_url(data),
    )


def provider_name(provider: Provider | str) -> str:
    """The gateway's name as people know it."""
    return PROVIDER_NAMES[Provider(provider)]


def validation_error(err: SmsGatewayError, client: SmsGateway) -> ServiceValidationError:
    """The translated error for input the client refused before any request."""
    gateway = provider_name(client.provider)
    if err.problem in PROBLEM_PLACEHOLDERS:
        max_validity = client.capabilities.max_validity or timedelta(0)
        values = {"gateway": gateway, "max_hours": f"{max_validity.total_seconds() / 3600:g}"}
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=err.problem,
            translation_placeholders={
                name: values[name] for name in PROBLEM_PLACEHOLDERS[err.problem]
            },
        )
    if isinstance(err, InvalidRecipientError):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_phone",
            translation_placeholders={"numbers": ", ".join(err.phones) or "-"},
        )
    if isinstance(err, InvalidSenderError):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_sender",
            translation_placeholders={
                "max_length": str(client.capabilities.max_sender_length),
            },
        )
    if isinstance(err, MessageRejectedError):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="message_too_long",
            translation_placeholders={"limit": str(client.capabilities.max_text_length)},
        )
    if isinstance(err, NotSupportedError):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="option_not_supported",
            translation_placeholders={"gateway": gateway, "reason": str(err)},
        )
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="invalid_option",
        translation_placeholders={"reason": str(err)},
    )


def gateway_error(
    hass: HomeAssistant, entry: RuSmsConfigEntry, err: SmsGatewayError
) -> HomeAssistantError:
    """The translated error for a gateway's failure; bad credentials start reauthentication."""
    gateway = provider_name(entry.data[CONF_PROVIDER])
    placeholders = {"gateway": gateway, "error": str(err)}
    if isinstance(err, AuthenticationError):
        entry.async_start_reauth(hass)
        key = "authentication_failed"
    elif isinstance(err, RateLimitedError):
        key = "rate_limited"
        placeholders["retry_after"] = str(round(err.retry_after))
    elif isinstance(err, GatewayUnavailableError):
        key = "may_have_been_sent" if err.may_have_been_accepted else "gateway_unavailable"
    elif isinstance(err, NotSupportedError):
        key = "not_supported"
    else:
        key = f"gateway_{err.kind.value}"
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def check_message(message: str) -> None:
    """Refuse an empty text before anything else."""
    if not message or not message.strip():
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="empty_message")


async def async_send(
    hass: HomeAssistant,
    entry: RuSmsConfigEntry,
    phones: Iterable[str],
    message: str,
    options: SendOptions,
    *,
    allow_rejected: bool = False,
) -> SendResult:
    """Send through an entry's gateway; every failure becomes a translated error.

    Numbers the gateway refused raise too (naming them, masked), unless the caller
    takes the per-number answer (`allow_rejected`). A send answer that carries the new
    balance updates the balance sensor without another request.
    """
    check_message(message)
    runtime = entry.runtime_data
    client = runtime.client
    phones = list(phones)
    try:
        if len(phones) > PREPARE_IN_LOOP:
            # Checking a number takes libphonenumber ~50 µs: thousands go to a worker.
            numbers, text = await hass.async_add_executor_job(
                client.prepare, phones, message, options
            )
        else:
            numbers, text = client.prepare(phones, message, options)
    except SmsGatewayError as err:
        raise validation_error(err, client) from err
    try:
        result = await client.send_prepared(numbers, text, options)
    except SmsGatewayError as err:
        raise gateway_error(hass, entry, err) from err
    await runtime.tracker.async_track_send(result, options)
    if result.balance is not None and runtime.balance is not None:
        runtime.balance.async_set_balance(result.balance)
    if result.rejected and not allow_rejected:
        first = result.rejected[0]
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="numbers_rejected",
            translation_placeholders={
                "numbers": ", ".join(mask_phone(r.phone) for r in result.rejected),
                "accepted": str(len(result.accepted)),
                "error": first.error_text or first.error_code or "-",
            },
        )
    return result


def send_options(defaults: Mapping[str, Any], fields: Mapping[str, Any]) -> SendOptions:
    """Send options from an action's fields over the account's defaults (its options).

    A send-at time without a zone is taken in Home Assistant's time zone.
    """
    send_at: datetime | None = fields.get(ATTR_SEND_AT)
    if send_at is not None and send_at.tzinfo is None:
        send_at = send_at.replace(tzinfo=dt_util.get_default_time_zone())
    return SendOptions(
        sender=fields.get(ATTR_SENDER) or defaults.get(CONF_SENDER) or None,
        send_at=send_at,
        recipient_local_time=bool(fields.get(ATTR_RECIPIENT_LOCAL_TIME, False)),
        validity=fields.get(ATTR_VALIDITY),
        flash=bool(fields.get(ATTR_FLASH, False)),
        transliterate=bool(fields.get(ATTR_TRANSLITERATE, defaults.get(CONF_TRANSLITERATE, False))),
    )
