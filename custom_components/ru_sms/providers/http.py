"""Form posting shared by every gateway: timeouts, transport errors, decoding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import logging
from urllib.parse import urlencode

import aiohttp
from aiohttp.payload import BytesPayload

from .errors import (
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
    InvalidRequestError,
    SmsGatewayError,
)

_LOGGER = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
"""Seconds to open a connection: past it, nothing was sent."""
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


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


async def post_form(
    session: aiohttp.ClientSession,
    url: str,
    form: Mapping[str, str] | Sequence[tuple[str, str]],
    *,
    timeout: float,  # noqa: ASYNC109 - handed to aiohttp, which enforces it
    may_deliver: bool,
) -> HttpAnswer:
    """POST `form` url-encoded to `url` and read the answer.

    The form is a mapping, or pairs where a key repeats (Devino's `DestinationAddresses`).

    Transport failures become `GatewayConnectionError` / `GatewayTimeoutError`, never with
    the URL or the form in their text. `may_deliver` says the request sends a message, so
    that a failure after the request went out is flagged as possibly accepted.
    """
    client_timeout = aiohttp.ClientTimeout(
        total=timeout, sock_connect=min(CONNECT_TIMEOUT, timeout)
    )
    try:
        async with session.post(
            url,
            data=form_body(form),
            timeout=client_timeout,
            allow_redirects=False,
        ) as response:
            body = await response.read()
            answer = HttpAnswer(
                status=response.status,
                text=_decode(body, response.charset),
                content_type=response.content_type,
            )
    except aiohttp.ConnectionTimeoutError as err:
        raise GatewayTimeoutError("Timed out connecting to the gateway", unsent=True) from err
    except aiohttp.ClientConnectorError as err:
        # No connection (or no TLS session): not a byte of the request went out.
        raise GatewayConnectionError("Cannot connect to the gateway", unsent=True) from err
    except TimeoutError as err:
        raise GatewayTimeoutError(
            "The gateway did not answer in time", may_have_been_accepted=may_deliver
        ) from err
    except ValueError as err:
        # An address or a form aiohttp cannot put on the wire (nothing was sent).
        raise InvalidRequestError(f"The request cannot be made ({type(err).__name__})") from err
    except aiohttp.ClientError as err:
        # Disconnected or broken mid-answer: the request itself may have gone through.
        raise GatewayConnectionError(
            f"Connection to the gateway failed ({type(err).__name__})",
            may_have_been_accepted=may_deliver,
        ) from err
    _LOGGER.debug("%s answered HTTP %s, %d characters", _path(url), answer.status, len(answer.text))
    return answer


def form_body(form: Mapping[str, str] | Sequence[tuple[str, str]]) -> BytesPayload:
    """The form url-encoded, byte for byte as aiohttp encodes a form, as a ready body.

    Given a mapping or pairs, aiohttp first searches its registry of body types in vain,
    then builds a `FormData` that could also be multipart: ~0.1 ms a request, as much as
    the rest of our way to the wire. A text that cannot be encoded (a lone surrogate)
    raises `UnicodeEncodeError`, a `ValueError`, as it does inside aiohttp.
    """
    return BytesPayload(urlencode(form, doseq=True).encode(), content_type=FORM_CONTENT_TYPE)


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
