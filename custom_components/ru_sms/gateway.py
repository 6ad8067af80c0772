"""Between Home Assistant and the gateway clients: building a client, sending, errors.

The notify entities, the account's notify service and the actions all send through
`async_send`, so that every path validates, reports and fails the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant, async_get_hass_or_none
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.translation import async_get_cached_translations
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
    CONF_TRANSLITERATE,
    DOMAIN,
)
from .providers import (
    AuthenticationError,
    ErrorKind,
    GatewayUnavailableError,
    RateLimitedError,
    RecipientResult,
    SendOptions,
    SmsGateway,
    SmsGatewayError,
    create_client,
    description_of,
    normalize_phones,
)
from .providers.errors import (
    AlreadySentError,
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
)
from .providers.phone import mask_phone
from .validation import check_text

if TYPE_CHECKING:
    from .coordinator import RuSmsConfigEntry
    from .outbox import SendOutcome

_LOGGER = logging.getLogger(__name__)

PREPARE_IN_LOOP = 100
"""A send to more numbers than this is checked in a worker thread, off the event loop."""

ERROR_KEYS: dict[ErrorKind, str] = {
    ErrorKind.AUTHENTICATION: "authentication_failed",
    ErrorKind.INSUFFICIENT_FUNDS: "gateway_insufficient_funds",
    ErrorKind.INVALID_RECIPIENT: "gateway_invalid_recipient",
    ErrorKind.INVALID_SENDER: "gateway_invalid_sender",
    ErrorKind.MESSAGE_REJECTED: "gateway_message_rejected",
    ErrorKind.INVALID_REQUEST: "gateway_invalid_request",
    ErrorKind.RATE_LIMITED: "rate_limited",
    ErrorKind.UNAVAILABLE: "gateway_unavailable",
    ErrorKind.NOT_SUPPORTED: "not_supported",
}
"""The message (translation key) of each kind of gateway failure."""
MAY_HAVE_BEEN_SENT = "may_have_been_sent"
"""The message of a send whose answer was lost: it may have gone through."""
INVALID_OPTION = "invalid_option"
"""The message of a refusal before any request that names no problem of its own."""
FAILURE_WORDS: tuple[tuple[type[SmsGatewayError], str], ...] = (
    (GatewayTimeoutError, "failure_timeout"),
    (GatewayConnectionError, "failure_connection"),
    (GatewayResponseError, "failure_answer"),
)
"""The words (translation keys) of a failure the gateway said nothing about, by its class;
any other by its kind (`failure_<kind>`)."""


def gateway_base_url(data: Mapping[str, Any]) -> str | None:
    """The base URL an entry's data points at (None: the gateway's own)."""
    if url := data.get(CONF_URL):
        return str(url)
    return description_of(data[CONF_PROVIDER]).base_url(data)


def create_gateway(hass: HomeAssistant, data: Mapping[str, Any]) -> SmsGateway:
    """The client for an entry's data, on Home Assistant's shared session.

    Every caller of the account uses this one client: its request budget is shared.
    """
    client = create_client(
        data[CONF_PROVIDER],
        async_get_clientsession(hass),
        description_of(data[CONF_PROVIDER]).credentials(data),
        base_url=gateway_base_url(data),
    )
    client.use_budget()
    return client


def provider_name(provider: str) -> str:
    """The gateway's name as people know it (its brand: not translated)."""
    return description_of(provider).name


def error_details(err: SmsGatewayError) -> str:
    """The gateway's own code and text, for the parentheses of a translated message.

    Without the gateway's words (a timeout, a cut connection), what went wrong in a few
    translated words (`failure_words`), never a class name; a bare code (an HTTP status such
    as 502) with those words after it.
    """
    if err.text:
        return err.details or err.text
    key = next(
        (key for kind, key in FAILURE_WORDS if isinstance(err, kind)), f"failure_{err.kind.value}"
    )
    return f"{err.code}, {failure_words(key)}" if err.code else failure_words(key)


def failure_words(key: str) -> str:
    """The words of `failure_<...>` in Home Assistant's language (English where missing).

    The language of the server, as entity names and states' attributes have it: the words
    go into placeholders and attributes, which the frontend does not translate.
    """
    hass = async_get_hass_or_none()
    if hass is None:  # outside Home Assistant's loop: no translations at hand
        return key.removeprefix("failure_").replace("_", " ")
    name = f"component.{DOMAIN}.exceptions.{key}.message"
    for language in dict.fromkeys((hass.config.language, "en")):
        if text := async_get_cached_translations(hass, language, "exceptions", DOMAIN).get(name):
            return text
    return key.removeprefix("failure_").replace("_", " ")


async def _async_checked[T](
    hass: HomeAssistant, numbers: int, check: Callable[..., T], *args: Any
) -> T:
    """`check(*args)` on `numbers` numbers; a refusal becomes the translated error.

    A long list goes to a worker thread (libphonenumber takes ~50 µs a number).
    """
    try:
        if numbers > PREPARE_IN_LOOP:
            return await hass.async_add_executor_job(check, *args)
        return check(*args)
    except SmsGatewayError as err:
        raise validation_error(err) from err


async def async_check_phones(hass: HomeAssistant, raw: Sequence[str]) -> list[str]:
    """The numbers normalised (a long list in a worker thread); bad ones a translated error."""
    return await _async_checked(hass, len(raw), normalize_phones, raw)


def rejection_details(result: RecipientResult) -> str:
    """The gateway's own code and text of a refused number (as `error_details`)."""
    words = ": ".join(part for part in (result.error_code, result.error_text) if part)
    if words:
        return words
    return failure_words(f"failure_{result.error_kind.value}") if result.error_kind else "-"


def validation_error(err: SmsGatewayError) -> ServiceValidationError:
    """The translated error for something the client refused before any request."""
    if err.problem is None:
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=INVALID_OPTION,
            translation_placeholders={"reason": error_details(err)},
        )
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.problem.value,
        translation_placeholders=err.params,
    )


def gateway_error(
    hass: HomeAssistant, entry: RuSmsConfigEntry, err: SmsGatewayError
) -> HomeAssistantError:
    """The translated error for a gateway's failure; bad credentials start reauthentication."""
    placeholders = {
        "gateway": provider_name(entry.data[CONF_PROVIDER]),
        "error": error_details(err),
    }
    key = ERROR_KEYS[err.kind]
    if isinstance(err, AuthenticationError):
        entry.async_start_reauth(hass)
    elif isinstance(err, AlreadySentError):
        key = "already_sent"
    elif isinstance(err, RateLimitedError):
        placeholders["retry_after"] = str(round(err.retry_after))
    elif isinstance(err, GatewayUnavailableError) and err.may_have_been_accepted:
        key = MAY_HAVE_BEEN_SENT
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


async def async_send(
    hass: HomeAssistant,
    entry: RuSmsConfigEntry,
    phones: Iterable[str],
    message: str,
    options: SendOptions,
    *,
    title: str | None = None,
    allow_rejected: bool = False,
    queue: bool = True,
) -> SendOutcome:
    """Send through an entry's outbox; every failure becomes a translated error.

    The title, when given, goes on the line before the message. The caller waits for the
    first attempt: a refusal for good raises, a passing fault leaves the alert queued for
    another attempt (unless `queue` is off: then it raises too). Numbers the gateway
    refused raise (naming them, masked), unless the caller takes the per-number answer
    (`allow_rejected`).
    """
    check_text(message, title)
    if title:
        message = f"{title}\n{message}"
    runtime = entry.runtime_data
    client = runtime.client
    phones = list(phones)
    numbers, text = await _async_checked(
        hass, len(phones), client.prepare, phones, message, options
    )
    try:
        outcome = await runtime.outbox.async_send(numbers, text, options, queue=queue)
    except SmsGatewayError as err:
        raise gateway_error(hass, entry, err) from err
    result = outcome.result
    if result.rejected and not allow_rejected:
        first = result.rejected[0]
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="numbers_rejected",
            translation_placeholders={
                "numbers": ", ".join(mask_phone(r.phone) for r in result.rejected),
                "accepted": str(len(result.accepted)),
                "error": rejection_details(first),
            },
        )
    return outcome


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
