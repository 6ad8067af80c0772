"""Async clients for Russian SMS gateways: SMSC.ru, SMStele (REX400), Stream Telecom, Devino.

Plain asyncio + aiohttp, no Home Assistant import. Every gateway's client implements
`SmsGateway`; `build_gateway` builds the one for a `GatewayId` on an injected
`aiohttp.ClientSession`.
"""

from __future__ import annotations

import aiohttp

from .base import SmsGateway
from .description import (
    AccountField,
    CallbackSpec,
    Endpoint,
    FieldType,
    GatewayDescription,
    HttpMethod,
    RateLimit,
    StatusMode,
    StatusPolicy,
)
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
from .evidence import (
    CANNOT_TELL,
    Evidence,
    EvidencePolicy,
    EvidenceReport,
    EvidenceSource,
    LostSend,
)
from .models import (
    Balance,
    Capabilities,
    Credentials,
    DeliveryState,
    DeliveryStatus,
    ErrorKind,
    GatewayId,
    IncomingMessage,
    LookupResult,
    LookupState,
    MessageRef,
    Quote,
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

GATEWAY_TYPES: dict[str, type[SmsGateway]] = {}
"""Every known gateway's client class, by its description's id (in the picker's order)."""


def register[C: type[SmsGateway]](client: C) -> C:
    """Make a gateway known: its client class, found by its description's id."""
    GATEWAY_TYPES[client.description.id] = client
    return client


def unregister(gateway_id: str) -> None:
    """Forget a gateway (tests that register one of their own)."""
    GATEWAY_TYPES.pop(gateway_id, None)


def client_class(gateway_id: str) -> type[SmsGateway]:
    """The client class of a gateway id (KeyError for an unknown one)."""
    return GATEWAY_TYPES[gateway_id]


def description_of(gateway_id: str) -> GatewayDescription:
    """What a gateway declares about itself."""
    return GATEWAY_TYPES[gateway_id].description


for _client in (SmscClient, SmsteleClient, StreamClient, DevinoClient):
    register(_client)


def build_gateway(
    gateway_id: str,
    session: aiohttp.ClientSession,
    credentials: Credentials,
    *,
    base_url: str | None = None,
) -> SmsGateway:
    """The client for `gateway_id`, on the caller's session."""
    return GATEWAY_TYPES[gateway_id](session, credentials, base_url=base_url)


__all__ = [
    "CANNOT_TELL",
    "GATEWAY_TYPES",
    "AccountField",
    "AuthenticationError",
    "Balance",
    "CallbackSpec",
    "Capabilities",
    "Credentials",
    "DeliveryState",
    "DeliveryStatus",
    "DevinoClient",
    "Endpoint",
    "ErrorKind",
    "Evidence",
    "EvidencePolicy",
    "EvidenceReport",
    "EvidenceSource",
    "FieldType",
    "GatewayConnectionError",
    "GatewayDescription",
    "GatewayId",
    "GatewayResponseError",
    "GatewayTimeoutError",
    "GatewayUnavailableError",
    "HttpMethod",
    "IncomingMessage",
    "InsufficientFundsError",
    "InvalidRecipientError",
    "InvalidRequestError",
    "InvalidSenderError",
    "LookupResult",
    "LookupState",
    "LostSend",
    "MessageRef",
    "MessageRejectedError",
    "NotSupportedError",
    "Quote",
    "RateLimit",
    "RateLimitedError",
    "RecipientResult",
    "SendOptions",
    "SendResult",
    "SmsGateway",
    "SmsGatewayError",
    "SmscClient",
    "SmsteleClient",
    "Statistics",
    "StatusMode",
    "StatusPolicy",
    "StreamClient",
    "build_gateway",
    "client_class",
    "combine_states",
    "count_segments",
    "description_of",
    "normalize_phone",
    "normalize_phones",
    "register",
    "unregister",
]
