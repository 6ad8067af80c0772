"""Form requests shared by every gateway: GET or POST, timeouts, transport errors, decoding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
import logging
import math
import string

import aiohttp
from aiohttp import hdrs
from aiohttp.payload import BytesPayload
from yarl import URL

from .description import HttpMethod
from .errors import (
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
    InvalidRequestError,
    RateLimitedError,
    SmsGatewayError,
)

_LOGGER = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
"""Seconds to open a connection: past it, nothing was sent."""
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
TOO_MANY_REQUESTS_WAIT = 60.0
"""Seconds to wait after HTTP 429 that names no time: the gateways count per minute."""
MAX_RETRY_AFTER = 86400.0
"""The longest wait a `Retry-After` is taken for (a day): a later one is read as this."""
_UNESCAPED = frozenset(string.ascii_letters + string.digits + "_.-~")
"""The characters url-encoding leaves as they are."""
_ESCAPES = {
    byte: "+" if byte == ord(" ") else f"%{byte:02X}"
    for byte in range(256)
    if chr(byte) not in _UNESCAPED
}
"""Each other byte of UTF-8 as `quote_plus` writes it."""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What the gateway answered, decoded to text."""

    status: int
    text: str
    content_type: str

    @property
    def is_server_error(self) -> bool:
        """Whether the status is 5xx."""
        return self.status >= 500


async def request_form(
    session: aiohttp.ClientSession,
    url: str,
    form: Mapping[str, str] | Sequence[tuple[str, str]],
    *,
    method: HttpMethod = HttpMethod.POST,
    timeout: float,  # noqa: ASYNC109 - handed to aiohttp, which enforces it
    may_deliver: bool,
) -> HttpAnswer:
    """Send `form` url-encoded to `url` (the body of a POST, the query of a GET); read the answer.

    The form is a mapping, or pairs where a key repeats (Devino's `DestinationAddresses`).

    Transport failures become `GatewayConnectionError` / `GatewayTimeoutError`, never with
    the URL or the form in their text. aiohttp's own errors can carry the URL (a connect
    timeout names it whole): after a GET, whose query may hold a password or a session id,
    none of them is chained to ours, so no traceback, log or repr can show it. `may_deliver`
    says the request sends a message, so that a failure after the request went out is
    flagged as possibly accepted.
    """
    client_timeout = _client_timeout(timeout, min(CONNECT_TIMEOUT, timeout))
    try:
        if method is HttpMethod.GET:
            exchange = session.get(
                query_url(url, form), timeout=client_timeout, allow_redirects=False
            )
        else:
            exchange = session.post(
                url, data=form_body(form), timeout=client_timeout, allow_redirects=False
            )
        async with exchange as response:
            body = await response.read()
            answer = HttpAnswer(
                status=response.status,
                text=_decode(body, response.charset),
                content_type=response.content_type,
            )
            retry_after = response.headers.get(hdrs.RETRY_AFTER)
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        error, cause = transport_error(err, may_deliver=may_deliver), err
    else:
        _LOGGER.debug(
            "%s %s answered HTTP %s, %d characters",
            method,
            _path(url),
            answer.status,
            len(answer.text),
        )
        if answer.status in (429, 503):
            raise not_served(answer.status, retry_after)
        return answer
    # Raised outside the handler: a GET's error has no cause and no context at all.
    raise error from (cause if method is HttpMethod.POST else None)


@lru_cache(maxsize=8)
def _client_timeout(total: float, connect: float) -> aiohttp.ClientTimeout:
    """A request's timeouts (frozen: made once for every request that has them)."""
    return aiohttp.ClientTimeout(total=total, sock_connect=connect)


def transport_error(err: Exception, *, may_deliver: bool) -> SmsGatewayError:
    """Our error for a request that failed on its way (its text names no URL)."""
    if isinstance(err, aiohttp.ConnectionTimeoutError):
        return GatewayTimeoutError("Timed out connecting to the gateway", unsent=True)
    if isinstance(err, aiohttp.ClientConnectorError):
        # No connection (or no TLS session): not a byte of the request went out.
        return GatewayConnectionError("Cannot connect to the gateway", unsent=True)
    if isinstance(err, TimeoutError):
        return GatewayTimeoutError(
            "The gateway did not answer in time", may_have_been_accepted=may_deliver
        )
    if isinstance(err, ValueError):
        # An address or a form aiohttp cannot put on the wire (nothing was sent).
        return InvalidRequestError(f"The request cannot be made ({type(err).__name__})")
    # Disconnected or broken mid-answer: the request itself may have gone through.
    return GatewayConnectionError(
        f"Connection to the gateway failed ({type(err).__name__})",
        may_have_been_accepted=may_deliver,
    )


def not_served(status: int, retry_after: str | None) -> SmsGatewayError:
    """The error for HTTP 429 or 503: the request was not taken; come back after `Retry-After`.

    The header gives seconds or a date. Neither answer takes a message (429: too many
    requests; 503: the service cannot serve one now), so a send refused so is never
    "possibly sent": it is tried again after the wait, without doubt.
    """
    wait = read_retry_after(retry_after)
    if status == 429:
        return RateLimitedError(
            "The gateway asks to slow down (HTTP 429)",
            retry_after=TOO_MANY_REQUESTS_WAIT if wait is None else wait,
            code=status,
        )
    return GatewayResponseError(
        f"The gateway cannot serve the request now (HTTP {status})",
        code=status,
        unsent=True,
        retry_after=wait or 0.0,
    )


def read_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks to wait (None: none, or one that cannot be read).

    The header is a number of seconds or an HTTP date; a date in the past means now.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except TypeError, ValueError, IndexError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def query_url(url: str, form: Mapping[str, str] | Sequence[tuple[str, str]]) -> URL:
    """`url` with the form as its query, encoded byte for byte as a body would be."""
    base = str(URL(url))
    joiner = "&" if "?" in base else "?"
    # Already encoded: yarl must not encode it again (`%2B` would become `%252B`).
    return URL(f"{base}{joiner}{url_encoded(form)}", encoded=True)


def form_body(form: Mapping[str, str] | Sequence[tuple[str, str]]) -> BytesPayload:
    """The form url-encoded, byte for byte as aiohttp encodes a form, as a ready body.

    Given a mapping or pairs, aiohttp first searches its registry of body types in vain,
    then builds a `FormData` that could also be multipart, which costs as much as the rest
    of our way to the wire. A text that cannot be encoded (a lone surrogate)
    raises `UnicodeEncodeError`, a `ValueError`, as it does inside aiohttp.
    """
    return BytesPayload(url_encoded(form).encode(), content_type=FORM_CONTENT_TYPE)


def url_encoded(form: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """`urlencode(form, doseq=True)` (as aiohttp encodes a form) for a form of strings.

    A value with nothing to encode is taken as it is, and the others' UTF-8 bytes are
    escaped by one table: the standard library's way costs three calls and a join of a
    call per byte for each name and value (an SMSC.ru send's form: 13 µs, 5 µs so, on
    this machine in a loop; more on an alert's way, with colder caches). A lone
    surrogate raises `UnicodeEncodeError`, as there.
    """
    pairs = form.items() if isinstance(form, Mapping) else form
    # Most names and values have nothing to escape: looked at here, not in a call each.
    return "&".join(
        f"{name if name.isascii() and name.isalnum() else _escaped(name)}="
        f"{value if value.isascii() and value.isalnum() else _escaped(value)}"
        for name, value in pairs
    )


def _escaped(value: str) -> str:
    # Each byte as the character of the same number, then its escape from the table.
    return value.encode().decode("latin-1").translate(_ESCAPES)


def _path(url: str) -> str:
    """The path of a URL, for logs: no host credentials, no query."""
    return url.split("?", 1)[0].split("/", 3)[-1]


def _decode(body: bytes, charset: str | None) -> str:
    for encoding in (charset or "utf-8", "utf-8", "cp1251"):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError, LookupError:
            continue
    return body.decode("utf-8", errors="replace")  # pragma: no cover - cp1251 decodes all but 0x98


def unreadable(answer: HttpAnswer, *, may_deliver: bool) -> SmsGatewayError:
    """The error for an answer that cannot be understood."""
    if answer.is_server_error:
        return GatewayResponseError(
            f"The gateway answered with a server error (HTTP {answer.status})",
            code=answer.status,
            # The request reached the gateway (or a proxy in front of it): what became of
            # a send is unknown, and it is never sent again blindly.
            may_have_been_accepted=may_deliver,
        )
    what = "an empty answer" if not answer.text.strip() else "an answer that cannot be read"
    return GatewayResponseError(
        f"The gateway sent {what} (HTTP {answer.status})",
        code=answer.status,
        may_have_been_accepted=may_deliver,
    )
