"""Checks of what people type: addresses in the config flow, texts and periods in actions.

Each check names what is wrong (a translation key), so that no input a user can type ends
in a traceback or the vague "Unexpected error".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
import yarl

from .const import DOMAIN
from .errors import validation_error
from .providers import SmsGatewayError, normalize_phones
from .schema import vol

PREPARE_IN_LOOP = 100
"""A send to more numbers than this is checked in a worker thread, off the event loop."""


def has_unpaired_surrogate(text: str) -> bool:
    """Whether `text` holds a lone UTF-16 surrogate (it cannot be encoded to send)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _unprintable(text: str) -> bool:
    return has_unpaired_surrogate(text) or any(ch.isspace() or ord(ch) < 32 for ch in text)


def url_problem(url: str) -> str | None:
    """What is wrong with a base URL (a config-flow error key), or None when it is usable.

    Credentials, a query or a fragment would be stored as typed and sent with (or logged
    as part of) every request, so they are refused, each with its own message.
    """
    if _unprintable(url):
        return "url_invalid"
    try:
        parts = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError:
        return "url_invalid"
    if parts.scheme.lower() not in ("http", "https"):
        return "url_scheme"
    if "@" in parts.netloc:
        return "url_credentials"
    if parts.query or "?" in url:
        return "url_query"
    if parts.fragment or "#" in url:
        return "url_fragment"
    if not hostname:
        return "url_no_host"
    if port == 0:
        return "url_invalid"
    try:
        # What aiohttp will make of it (IDNA hosts, brackets, ports).
        parsed = yarl.URL(url)
        host = parsed.raw_host
    except ValueError, TypeError:  # UnicodeError (IDNA) is a ValueError
        return "url_invalid"
    if not host:
        return "url_no_host"
    if not _hostname_ok(host):
        return "url_invalid"
    return "url_unusable" if _unusable_address(host) else None


_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)", re.IGNORECASE)


def _hostname_ok(host: str) -> bool:
    """Whether a host (IDNA-encoded, as aiohttp sends it) is an IP address or a DNS name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return True
    name = host.removesuffix(".")
    return len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))


def _unusable_address(host: str) -> bool:
    """Whether `host` is an IP address no gateway can have.

    Unspecified (0.0.0.0, ::), link-local (169.254.0.0/16 with the clouds' metadata service,
    fe80::/10), multicast, broadcast and reserved addresses are nobody's to answer an HTTP
    request: a check would try them and fail in a way of their own. This machine's own
    (loopback) stays usable: a proxy, a tunnel or a test server may listen there.
    """
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: whatever it resolves to is the user's to know
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:  # within ::/8, which IPv6 counts as reserved
        return False
    return (
        address.is_unspecified
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
    )


def host_problem(host: str) -> str | None:
    """What is wrong with a host name (a config-flow error key), or None."""
    if not host:
        return "host_required"
    if "@" in host:
        return "host_credentials"
    if _unprintable(host) or any(ch in host for ch in "/?#\\"):
        return "host_invalid"
    if (problem := url_problem(f"https://{host}:1/")) == "url_unusable":
        return "host_unusable"
    return None if problem is None else "host_invalid"


def unprintable_fields(fields: Mapping[str, Any]) -> list[str]:
    """The text fields that hold a lone surrogate (no gateway can take them)."""
    return [
        key
        for key, value in fields.items()
        if isinstance(value, str) and has_unpaired_surrogate(value)
    ]


def check_text(message: str, title: str | None = None) -> None:
    """Refuse a message or title that cannot be encoded (a lone surrogate)."""
    for key, text in (("invalid_text", message), ("invalid_title", title)):
        if text and has_unpaired_surrogate(text):
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key=key)


def time_period(value: Any) -> timedelta:
    """`cv.positive_time_period`, with periods too long for a date refused, not crashed on."""
    try:
        period: timedelta = cv.positive_time_period(value)
    except (OverflowError, ValueError, TypeError, ArithmeticError) as err:
        if isinstance(err, vol.Invalid):
            raise
        raise vol.Invalid("The period is out of range") from err
    return period


def moment(value: Any) -> datetime:
    """`cv.datetime`, with texts it cannot take refused first.

    Home Assistant's date parser (ciso8601) crashes the whole process on a text with a
    lone surrogate, which anyone calling an action can type.
    """
    if isinstance(value, str) and has_unpaired_surrogate(value):
        raise vol.Invalid("The date holds characters that cannot be read")
    try:
        parsed: datetime = cv.datetime(value)
    except (OverflowError, ValueError, TypeError) as err:
        if isinstance(err, vol.Invalid):
            raise
        raise vol.Invalid("The date is out of range") from err
    return parsed


async def async_checked[T](
    hass: HomeAssistant, numbers: int, check: Callable[..., T], *args: Any
) -> T:
    """`check(*args)` on `numbers` numbers; a refusal becomes the translated error.

    A long list goes to a worker thread: libphonenumber would hold the loop.
    """
    try:
        if numbers > PREPARE_IN_LOOP:
            return await hass.async_add_executor_job(check, *args)
        return check(*args)
    except SmsGatewayError as err:
        raise validation_error(err) from err


async def async_check_phones(hass: HomeAssistant, raw: Sequence[str]) -> list[str]:
    """The numbers normalised (a long list in a worker thread); bad ones a translated error."""
    return await async_checked(hass, len(raw), normalize_phones, raw)
