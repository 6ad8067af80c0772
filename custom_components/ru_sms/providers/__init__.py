"""Async clients for Russian SMS gateways: SMSC.ru, SMStele (REX400), Stream Telecom, Devino.

Plain asyncio + aiohttp, no Home Assistant import. Every client implements `SmsGateway`;
`create_client` builds the one for a provider on an injected `aiohttp.ClientSession`.
"""

from __future__ import annotations

import aiohttp

from .base import SmsGateway
from .devino import DevinoClient
from .errors import (
    AuthenticationError,
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
    GatewayUnavailableError,
    InsufficientFundsError,
    InvalidRecipientError,
    InvalidRequestError,
    InvalidSenderError,
    MessageRejectedError,
    NotSupportedError,
    RateLimitedError,
    SmsGatewayError,
)
from .models import (
    Balance,
    Capabilities,
    Credentials,
    DeliveryState,
    DeliveryStatus,
    ErrorKind,
    IncomingMessage,
    LookupResult,
    LookupState,
    MessageRef,
    Provider,
    RecipientResult,
    SendOptions,
    SendResult,
    Statistics,
    combine_states,
)
from .phone import normalize_phone, normalize_phones
from .segments import count_segments
from .smsc import SmscClient
from .smstele import SmsteleClient
from .stream import StreamClient

CLIENTS: dict[Provider, type[SmsGateway]] = {
    Provider.SMSC: SmscClient,
    Provider.SMSTELE: SmsteleClient,
    Provider.STREAM: StreamClient,
    Provider.DEVINO: DevinoClient,
}


def create_client(
    provider: Provider,
    session: aiohttp.ClientSession,
    credentials: Credentials,
    *,
    base_url: str | None = None,
) -> SmsGateway:
    """The client for `provider`, on the caller's session."""
    return CLIENTS[provider](session, credentials, base_url=base_url)


__all__ = [
    "CLIENTS",
    "AuthenticationError",
    "Balance",
    "Capabilities",
    "Credentials",
    "DeliveryState",
    "DeliveryStatus",
    "DevinoClient",
    "ErrorKind",
    "GatewayConnectionError",
    "GatewayResponseError",
    "GatewayTimeoutError",
    "GatewayUnavailableError",
    "IncomingMessage",
    "InsufficientFundsError",
    "InvalidRecipientError",
    "InvalidRequestError",
    "InvalidSenderError",
    "LookupResult",
    "LookupState",
    "MessageRef",
    "MessageRejectedError",
    "NotSupportedError",
    "Provider",
    "RateLimitedError",
    "RecipientResult",
    "SendOptions",
    "SendResult",
    "SmsGateway",
    "SmsGatewayError",
    "SmscClient",
    "SmsteleClient",
    "Statistics",
    "StreamClient",
    "combine_states",
    "count_segments",
    "create_client",
    "normalize_phone",
    "normalize_phones",
]
