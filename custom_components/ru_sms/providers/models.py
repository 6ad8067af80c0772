"""Typed models shared by every gateway client."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum


class GatewayId(StrEnum):
    """The gateways ru_sms speaks to."""

    SMSC = "smsc"
    SMSTELE = "smstele"
    STREAM = "stream"
    DEVINO = "devino"


class DeliveryState(StrEnum):
    """A message's delivery state, normalised across gateways."""

    QUEUED = "queued"
    """Accepted by the gateway, not yet handed to the operator."""
    SENT = "sent"
    """Handed to the mobile operator, no final report yet."""
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """Whether the state will not change any more."""
        return self in _FINAL_STATES


_FINAL_STATES = frozenset({DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.EXPIRED})


class ErrorKind(StrEnum):
    """Why a gateway refused something, in words the integration can act on."""

    AUTHENTICATION = "authentication"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INVALID_RECIPIENT = "invalid_recipient"
    INVALID_SENDER = "invalid_sender"
    MESSAGE_REJECTED = "message_rejected"
    INVALID_REQUEST = "invalid_request"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    NOT_SUPPORTED = "not_supported"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a gateway account signs in with; the secrets stay out of the repr."""

    login: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a gateway client can do, so that the integration offers only what works."""

    balance: bool = False
    lookup: bool = False
    """HLR lookup of numbers."""
    lookup_is_deferred: bool = False
    """The lookup answers later: call `lookup_result` until the results are final."""
    incoming: bool = False
    statistics: bool = False
    flash: bool = False
    client_message_id: bool = False
    """The gateway keeps an id of ours with the message."""
    recipient_local_time: bool = False
    """A send-at time can be given in each recipient's own time zone."""
    server_transliteration: bool = False
    """The gateway transliterates itself (else ru_sms does it before sending)."""
    send_returns_cost: bool = False
    quote: bool = False
    """The gateway tells what a send would cost without sending it (`SmsGateway.quote`)."""
    send_returns_balance: bool = False
    sender_required: bool = False
    """Every send must name a sender registered with the gateway (no default)."""
    max_text_length: int = 1000
    max_sender_length: int = 11
    max_validity: timedelta | None = None


@dataclass(frozen=True, slots=True)
class SendOptions:
    """Optional settings of one send.

    `send_at` must be timezone-aware. With `recipient_local_time`, only its wall-clock
    date and time are used, as the time in each recipient's own zone.
    """

    sender: str | None = None
    client_message_id: str | None = None
    send_at: datetime | None = None
    recipient_local_time: bool = False
    validity: timedelta | None = None
    flash: bool = False
    transliterate: bool = False
    replace_typography: bool = False
    """Typographic characters become plain ones where that makes the text GSM-7."""

    def with_client_message_id(self, client_message_id: str) -> SendOptions:
        """These options with our id for the message.

        `dataclasses.replace` spelled out: it is on every alert's way to the wire, where
        the generic one costs three times as much.
        """
        return SendOptions(
            sender=self.sender,
            client_message_id=client_message_id,
            send_at=self.send_at,
            recipient_local_time=self.recipient_local_time,
            validity=self.validity,
            flash=self.flash,
            transliterate=self.transliterate,
            replace_typography=self.replace_typography,
        )


@dataclass(frozen=True, slots=True)
class RecipientResult:
    """What became of one number in a send."""

    phone: str
    accepted: bool
    message_ids: tuple[str, ...] = ()
    """The gateway's ids: one per segment on Devino and Stream, else one."""
    segments: int = 0
    cost: Decimal | None = None
    error_kind: ErrorKind | None = None
    error_code: str | None = None
    error_text: str | None = None
    """The gateway's own text about the refusal, when it gave one (never ours)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    """The answer to a send, per number, with totals."""

    recipients: tuple[RecipientResult, ...]
    client_message_id: str | None = None
    balance: Decimal | None = None
    """The balance after the send, when the gateway tells it."""

    @property
    def accepted(self) -> tuple[RecipientResult, ...]:
        """The numbers the gateway accepted."""
        return tuple(r for r in self.recipients if r.accepted)

    @property
    def rejected(self) -> tuple[RecipientResult, ...]:
        """The numbers the gateway refused."""
        return tuple(r for r in self.recipients if not r.accepted)

    @property
    def segments(self) -> int:
        """Segments sent, over all accepted numbers."""
        return sum(r.segments for r in self.recipients if r.accepted)

    @property
    def cost(self) -> Decimal | None:
        """Total cost, when the gateway gave a cost for every accepted number."""
        costs = [r.cost for r in self.recipients if r.accepted]
        if not costs or any(c is None for c in costs):
            return None
        return sum((c for c in costs if c is not None), Decimal(0))


@dataclass(frozen=True, slots=True)
class Quote:
    """What a send would cost, as the gateway tells it without sending anything."""

    cost: Decimal
    """For every number it would take."""
    segments: int | None = None
    """Parts over every number, when the gateway says."""
    recipients: tuple[RecipientResult, ...] = ()
    """Per number, where the gateway details them: its cost, or why it would refuse it."""


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Identifies one sent message (or one segment) for a status request."""

    message_id: str
    phone: str


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """The delivery state of one message (or segment) as the gateway reports it."""

    message_id: str
    phone: str
    state: DeliveryState
    raw_code: str | None = None
    raw_text: str | None = None
    error_code: str | None = None
    updated_at: datetime | None = None
    cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    """An account balance."""

    amount: Decimal
    currency: str | None = None
    """ISO code as the gateway gives it; None when the gateway does not say."""
    credit: Decimal | None = None


class LookupState(StrEnum):
    """Where an HLR lookup stands."""

    PENDING = "pending"
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class LookupResult:
    """An HLR lookup answer for one number."""

    phone: str
    state: LookupState
    request_id: str | None = None
    """The gateway's id of a deferred lookup, for `lookup_result`."""
    operator: str | None = None
    country: str | None = None
    region: str | None = None
    mcc: str | None = None
    mnc: str | None = None
    imsi: str | None = None
    msc: str | None = None
    roaming_country: str | None = None
    roaming_operator: str | None = None
    ported: bool | None = None
    raw_code: str | None = None
    error_code: str | None = None

    @property
    def is_final(self) -> bool:
        """Whether the lookup has its answer."""
        return self.state is not LookupState.PENDING


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """An SMS a subscriber sent to the account."""

    message_id: str
    phone: str
    text: str
    to: str | None = None
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Statistics:
    """Delivery statistics over a period."""

    sent: int
    delivered: int
    failed: int = 0
    in_progress: int = 0
    expired: int = 0
    delivery_ratio: float | None = None
    """Percent delivered, as the gateway gives it or computed from the counts."""
    raw: dict[str, object] = field(default_factory=dict, compare=False)


def combine_states(states: list[DeliveryState]) -> DeliveryState:
    """State of a message split in segments: delivered only when every segment is."""
    if not states:
        return DeliveryState.UNKNOWN
    unique = set(states)
    if len(unique) == 1:
        return states[0]
    for worst in (DeliveryState.FAILED, DeliveryState.EXPIRED):
        if worst in unique and all(s.is_final for s in states):
            return worst
    # Some segments are still on their way: the message is as far as its slowest part.
    for slowest in (
        DeliveryState.QUEUED,
        DeliveryState.UNKNOWN,
        DeliveryState.SENT,
    ):
        if slowest in unique:
            return slowest
    return DeliveryState.UNKNOWN  # pragma: no cover - every state is handled above
