"""Gateway failures as Home Assistant errors: translated, with the gateway's own words.

Every path that meets a gateway's error (a send, a lookup, a status request, a poll, the
setup) says it the same way: a message of ours per kind of failure, and in parentheses
the gateway's own code and text.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, async_get_hass_or_none
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers.translation import async_get_cached_translations

from .const import CONF_PROVIDER, DOMAIN
from .providers import (
    AuthenticationError,
    ErrorKind,
    GatewayUnavailableError,
    RateLimitedError,
    RecipientResult,
    SmsGatewayError,
    description_of,
)
from .providers.errors import (
    AlreadySentError,
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
)

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


def gateway_name(gateway_id: str) -> str:
    """The gateway's name as people know it (its brand: not translated)."""
    return description_of(gateway_id).name


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


def rejection_details(result: RecipientResult) -> str:
    """The gateway's own code and text of a refused number (as `error_details`)."""
    words = ": ".join(part for part in (result.error_code, result.error_text) if part)
    if words:
        return words
    return failure_words(f"failure_{result.error_kind.value}") if result.error_kind else "-"


def _placeholders(gateway_id: str, err: SmsGatewayError) -> dict[str, str]:
    return {"gateway": gateway_name(gateway_id), "error": error_details(err)}


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


def credentials_refused(gateway_id: str, err: AuthenticationError) -> ConfigEntryAuthFailed:
    """The gateway refused the account's credentials (reauthentication starts)."""
    return ConfigEntryAuthFailed(
        translation_domain=DOMAIN,
        translation_key="authentication_failed",
        translation_placeholders=_placeholders(gateway_id, err),
    )


def translated_error(
    hass: HomeAssistant, entry: ConfigEntry, err: SmsGatewayError
) -> HomeAssistantError:
    """The translated error for a gateway's failure; bad credentials start reauthentication."""
    placeholders = _placeholders(entry.data[CONF_PROVIDER], err)
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
