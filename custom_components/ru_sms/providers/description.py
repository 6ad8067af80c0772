"""What a gateway declares about itself, so that callers never ask which gateway it is.

Each client class carries one `GatewayDescription`: its name, the fields an account is
made of, how the base URL is formed from them, how delivery status is asked, how long a
deferred lookup may take, whether it pushes callbacks and how they are verified, its
documented rate limits, the HTTP method of each request it makes, and the evidence it
has of a send whose answer was lost. `register` makes a client known by its
description's id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .evidence import CANNOT_TELL, EvidencePolicy
from .models import Credentials, DeliveryStatus, IncomingMessage, LookupResult

LOGIN = "username"
PASSWORD = "password"  # noqa: S105 - a field name, not a secret
API_KEY = "api_key"
"""The field keys a `Credentials` is read from (Home Assistant's own names)."""


class FieldType(StrEnum):
    """How an account field is entered."""

    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"


@dataclass(frozen=True, slots=True)
class AccountField:
    """One field an account is made of (a credential or part of the address)."""

    key: str
    secret: bool = False
    """Masked when entered; never shown, logged or put in a URL."""
    required: bool = True
    default: str | int | bool | None = None
    type: FieldType = FieldType.TEXT
    minimum: int | None = None
    maximum: int | None = None


class StatusMode(StrEnum):
    """How the gateway is asked about delivery."""

    LIST = "list"
    """One request answers for many messages (at most once per `min_interval`)."""
    MESSAGE = "message"
    """One request per message id, answering for every number it was sent to."""
    SEGMENT = "segment"
    """One request per segment id; an id names one number's segment."""


@dataclass(frozen=True, slots=True)
class StatusPolicy:
    """How delivery status is asked, and how often the gateway allows it."""

    mode: StatusMode
    min_interval: float = 0.0
    """Seconds the gateway documents between two status requests (0: no rule)."""
    first_after: float | None = None
    """Seconds after a send before the first look, when the gateway sets the pace."""
    needs_phone: bool = False
    """A message is found by its id and number together (the id alone is not enough)."""


type Callback = DeliveryStatus | IncomingMessage | LookupResult | None
"""What a verified callback reports (None: something ru_sms does not follow)."""


@dataclass(frozen=True, slots=True)
class CallbackSpec:
    """How a gateway pushes delivery statuses, incoming SMS and lookup answers to a URL."""

    query: str
    """Appended to the webhook URL; `{secret}` stands for the account's signing secret."""
    verification: str
    """How a callback proves it came from the gateway (for people reading the code)."""
    verify: Callable[[Mapping[str, Any], str], bool]
    """Whether the posted fields carry a valid signature made with the secret."""
    parse: Callable[[Mapping[str, Any]], Callback]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A limit the gateway documents: `requests` per `seconds`, for `scope`."""

    requests: int
    seconds: float
    scope: str


class HttpMethod(StrEnum):
    """How a request travels."""

    GET = "GET"
    """The fields in the URL's query: only where the document gives nothing else."""
    POST = "POST"
    """The fields url-encoded in the body (credentials stay out of every URL)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One request a client makes, as its gateway's document gives it."""

    path: str
    """Under the base URL, as the client writes it."""
    method: HttpMethod = HttpMethod.POST
    source: str = ""
    """Where it is documented (document and section), for people reading the code."""


def _own_address(_data: Mapping[str, Any]) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class GatewayDescription:
    """Everything the integration needs to know about a gateway, declared by its client."""

    id: str
    """Stored in every account of the gateway: never changes."""
    name: str
    """The gateway's brand name, as people know it."""
    fields: tuple[AccountField, ...]
    status: StatusPolicy
    base_url: Callable[[Mapping[str, Any]], str | None] = _own_address
    """The base URL an account's fields point at (None: the gateway's own address)."""
    per_host: bool = False
    """Accounts are told apart by host too (one login may exist on several hosts)."""
    lookup_wait: tuple[float, ...] = ()
    """Seconds between asks for the answers of deferred lookups (a bounded wait)."""
    callbacks: CallbackSpec | None = None
    rate_limits: tuple[RateLimit, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    """Every request the client makes; one not listed goes as a POST."""
    evidence: EvidencePolicy = CANNOT_TELL
    """What the gateway can tell of a send whose answer was lost (`find_evidence`)."""
    _methods: dict[str, HttpMethod] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the endpoints' methods by path (asked on every request)."""
        methods = {endpoint.path.lower(): endpoint.method for endpoint in self.endpoints}
        object.__setattr__(self, "_methods", methods)

    def method_of(self, path: str) -> HttpMethod:
        """The method the gateway takes `path` by (POST where none is declared)."""
        return self._methods.get(path.lower(), HttpMethod.POST)

    def credentials(self, data: Mapping[str, Any]) -> Credentials:
        """The credentials in an account's fields (empty ones left out)."""
        return Credentials(
            login=data.get(LOGIN) or None,
            password=data.get(PASSWORD) or None,
            api_key=data.get(API_KEY) or None,
        )


LOGIN_AND_PASSWORD = (AccountField(LOGIN), AccountField(PASSWORD, secret=True))
"""The fields of a gateway that signs in with a login and a password."""
