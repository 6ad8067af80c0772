"""SMSC.ru: `send.php`, `status.php` and `balance.php`, form POSTs answered in JSON.

Every request carries `fmt=3` (JSON) and `charset=utf-8` (the gateway's default is
windows-1251 both ways). The default host has a documented backup, `www2.smsc.ru`, which
the one retry of a request that certainly did not go through goes to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
import hashlib
import hmac
import logging
import math
import re
import time
from typing import Any, ClassVar
import zlib

from .base import SmsGateway, segments_of
from .budget import Scope
from .description import (
    API_KEY,
    LOGIN,
    PASSWORD,
    AccountField,
    Callback,
    CallbackSpec,
    Endpoint,
    GatewayDescription,
    HttpMethod,
    RateLimit,
    StatusMode,
    StatusPolicy,
)
from .errors import (
    AlreadySentError,
    AuthenticationError,
    ErrorCode,
    ErrorTable,
    GatewayResponseError,
    GatewayUnavailableError,
    InsufficientFundsError,
    InvalidRecipientError,
    InvalidRequestError,
    MessageRejectedError,
    RateLimitedError,
    SmsGatewayError,
    error_for,
)
from .http import HttpAnswer, unreadable
from .models import (
    Balance,
    Capabilities,
    DeliveryState,
    DeliveryStatus,
    IncomingMessage,
    LookupResult,
    LookupState,
    MessageRef,
    Provider,
    Quote,
    RecipientResult,
    SendOptions,
    SendResult,
)
from .parsing import (
    MOSCOW,
    format_local,
    loads_lenient,
    parse_timestamp,
    to_decimal,
    to_int,
    to_str,
)
from .phone import normalize_phones, phone_digits
from .translit import transliterate

_LOGGER = logging.getLogger(__name__)

BACKUP_BASE_URL = "https://www2.smsc.ru/sys/"
"""The documented backup host, tried when the default host cannot be reached."""

IP_BLOCKED_RETRY_AFTER = 600.0
"""Seconds to back off after error 4 (IP blocked): retrying early prolongs the block."""
TOO_MANY_REQUESTS_RETRY_AFTER = 60.0
"""Seconds to wait after error 9 (too many requests): the limits count per minute."""
REPEAT_WINDOW = 120.0
"""Seconds after a send whose answer was lost during which error 9 on the same message
means the first one went out (SMSC.ru refuses an identical send within a minute)."""

MAX_REFS_PER_STATUS_REQUEST = 1000
"""Messages asked about in one `status.php` list request."""

_CLIENT_MESSAGE_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")
_NOT_FOUND = 3
"""`status.php` error code: no such message (not "no money" as on `send.php`)."""

_DELIVERY_STATES: dict[int, DeliveryState] = {
    -3: DeliveryState.UNKNOWN,
    -2: DeliveryState.FAILED,
    -1: DeliveryState.QUEUED,
    0: DeliveryState.SENT,
    1: DeliveryState.DELIVERED,
    2: DeliveryState.DELIVERED,
    3: DeliveryState.EXPIRED,
    4: DeliveryState.DELIVERED,
    20: DeliveryState.FAILED,
    22: DeliveryState.FAILED,
    23: DeliveryState.FAILED,
    24: DeliveryState.FAILED,
    25: DeliveryState.FAILED,
}
_STATUS_TEXTS: dict[int, str] = {
    -3: "Message not found",
    -2: "Stopped",
    -1: "Waiting to be sent",
    0: "Handed to the operator",
    1: "Delivered",
    2: "Read",
    3: "Expired",
    4: "Link clicked",
    20: "Undeliverable",
    22: "Bad number",
    23: "Forbidden",
    24: "Not enough money",
    25: "Unreachable number",
}
_LOOKUP_STATES: dict[int, LookupState] = {
    -1: LookupState.PENDING,
    0: LookupState.PENDING,
    1: LookupState.REACHABLE,
    20: LookupState.UNREACHABLE,
    22: LookupState.UNREACHABLE,
    25: LookupState.UNREACHABLE,
}

_ERRORS: ErrorTable = {
    1: ErrorCode(InvalidRequestError, "SMSC.ru refused the parameters"),
    2: ErrorCode(
        AuthenticationError, "SMSC.ru refused the login, password or API key (or this IP address)"
    ),
    3: ErrorCode(InsufficientFundsError, "Not enough money on the SMSC.ru account"),
    4: ErrorCode(
        RateLimitedError,
        "SMSC.ru blocked this IP address for a while after too many errors",
        retry_after=IP_BLOCKED_RETRY_AFTER,
    ),
    5: ErrorCode(InvalidRequestError, "SMSC.ru refused the send-at time"),
    6: ErrorCode(MessageRejectedError, "SMSC.ru refused the message (its text or sender name)"),
    7: ErrorCode(InvalidRecipientError, "SMSC.ru refused the phone number format"),
    8: ErrorCode(InvalidRecipientError, "SMSC.ru cannot deliver to this number"),
    9: ErrorCode(
        RateLimitedError, "Too many requests to SMSC.ru", retry_after=TOO_MANY_REQUESTS_RETRY_AFTER
    ),
}
"""The error codes of `send.php`, `status.php` and `balance.php` (`error_code`)."""
_UNKNOWN_ERROR = ErrorCode(GatewayResponseError, "SMSC.ru answered with an unknown error")

type _Ref = tuple[str, str]
"""A message as `status.php` knows it: (message id, phone digits)."""


# -- callbacks --------------------------------------------------------------------------

CALLBACK_SIGNATURES = ("md5", "sha1", "crc32")
"""The URL parameters that make SMSC.ru sign its callbacks (their value: the secret)."""
_HLR_TYPE = 4
_TYPE_BITS = 0xF
"""Bits 0-3 of `flag`: the message type (4: HLR); the other bits say other things."""
_LATEST_STAMP = 253402300800
"""Year 10000: later stamps cannot be dates."""


def callback_kind(data: Mapping[str, Any]) -> str:
    """What a callback reports: `incoming` (SMS), `call`, `lookup` (HLR) or `status`."""
    if "mes" in data:
        return "incoming"
    if "waitcall" in data:
        return "call"
    kind = to_int(data.get("type"))
    flag = to_int(data.get("flag"))
    if kind == _HLR_TYPE or (flag is not None and flag & _TYPE_BITS == _HLR_TYPE) or "imsi" in data:
        return "lookup"
    return "status"


def callback_signed_text(data: Mapping[str, Any], secret: str) -> str:
    """The text SMSC.ru hashes to sign a callback (per the callback documentation)."""
    parts: tuple[Any, ...]
    match callback_kind(data):
        case "incoming":
            parts = (data.get("phone"), data.get("mes"), data.get("to"))
        case "call":
            parts = (data.get("phone"), data.get("ts"))
        case _:
            parts = (data.get("id"), data.get("phone"), data.get("status"))
    return ":".join([*("" if p is None else str(p) for p in parts), secret])


def callback_signature_ok(data: Mapping[str, Any], secret: str, algorithm: str = "md5") -> bool:
    """Whether a callback carries a valid signature by `algorithm`, made with `secret`.

    Only the algorithm named in the URL given to SMSC.ru counts: a crc32 next to it (or
    instead of it) would let anyone who saw one callback forge others. The signed fields
    must also have the shapes of the callback's kind (`callback_fields_ok`): the same
    signed text read as another kind (a status as an incoming SMS) is refused.
    """
    if algorithm not in CALLBACK_SIGNATURES or not callback_fields_ok(data):
        return False
    given = data.get(algorithm)
    if given is None:
        return False
    try:
        text = callback_signed_text(data, secret).encode()
    except UnicodeEncodeError:
        return False  # a lone surrogate: SMSC.ru never signs such a text
    # Bytes: compare_digest refuses text that is not ASCII (anyone can post that).
    signature = str(given).strip().lower().encode("utf-8", "replace")
    if algorithm == "crc32":
        # PHP's crc32() is a decimal number (negative on 32-bit builds); hex is hash().
        value = zlib.crc32(text)
        signed = value - (1 << 32) if value >= 1 << 31 else value
        expected = {str(value), str(signed), f"{value:x}", f"{value:08x}"}
    else:
        expected = {hashlib.new(algorithm, text).hexdigest()}
    return any(hmac.compare_digest(signature, e.encode()) for e in expected)


_CALLBACK_PHONE = re.compile(r"\+?\d{5,15}")
_CALLBACK_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")
_CALLBACK_CODE = re.compile(r"-?\d{1,3}")
_CALLBACK_STAMP = re.compile(r"\d{1,12}")


def callback_fields_ok(data: Mapping[str, Any]) -> bool:
    """Whether the signed fields of a callback have the shapes of its kind.

    SMSC.ru signs `id:phone:status`, `phone:mes:to` or `phone:ts`, joined by `:`. Read as
    another kind, one signature would fit other fields (a status's id, number and code as
    an SMS from the id's "number" with the number as its text); the shapes tell them
    apart: numbers are digits, ids and codes hold no `:`, and an SMS is sent to a number.
    """

    def fits(name: str, pattern: re.Pattern[str]) -> bool:
        value = data.get(name)
        return (
            value is not None
            and not isinstance(value, bool | dict | list)
            and pattern.fullmatch(str(value).strip()) is not None
        )

    if not fits("phone", _CALLBACK_PHONE):
        return False
    match callback_kind(data):
        case "incoming":
            return isinstance(data.get("mes"), str) and fits("to", _CALLBACK_PHONE)
        case "call":
            return fits("ts", _CALLBACK_STAMP)
        case _:
            return fits("id", _CALLBACK_ID) and fits("status", _CALLBACK_CODE)


def parse_callback_status(data: Mapping[str, Any]) -> DeliveryStatus:
    """A delivery status callback, as `delivery_status` would have answered it."""
    ref = MessageRef(message_id=to_str(data.get("id")) or "", phone=_callback_phone(data))
    # `ts` is the moment of the change; `time` is in the account's own time zone (not
    # necessarily Moscow's), so it is not read.
    item = {k: v for k, v in data.items() if k not in ("last_timestamp", "last_date")}
    item["last_timestamp"] = _callback_moment(data.get("ts"))
    return _delivery_status(ref, item)


def parse_callback_lookup(data: Mapping[str, Any]) -> LookupResult:
    """An HLR callback, as `lookup_result` would have answered it."""
    pending = LookupResult(
        phone=_callback_phone(data),
        state=LookupState.PENDING,
        request_id=to_str(data.get("id")) or "",
    )
    return _lookup_result(pending, data)


def parse_callback_incoming(data: Mapping[str, Any]) -> IncomingMessage:
    """An incoming SMS callback."""
    text = data.get("mes")
    stamp = _callback_moment(data.get("time")) or _callback_moment(data.get("sent"))
    return IncomingMessage(
        message_id=to_str(data.get("id")) or "",
        phone=_callback_phone(data),
        text="" if text is None else str(text),
        to=to_str(data.get("to")),
        received_at=datetime.fromtimestamp(stamp, UTC) if stamp else None,
    )


def _callback_phone(data: Mapping[str, Any]) -> str:
    return phone_digits(to_str(data.get("phone")) or "")


def _callback_moment(value: Any) -> int | None:
    """A unix time in seconds, or None when it is missing or not a plausible moment."""
    seconds = to_int(value)
    if seconds is None or not 0 < seconds < _LATEST_STAMP:
        return None
    return seconds


def parse_callback(data: Mapping[str, Any]) -> Callback:
    """What a verified callback reports: a status, an incoming SMS or a lookup answer."""
    match callback_kind(data):
        case "incoming":
            return parse_callback_incoming(data)
        case "lookup":
            return parse_callback_lookup(data)
        case "status":
            return parse_callback_status(data)
    return None  # a call to the account's number: not followed


LIST_SCOPE = "status list request"
PER_MESSAGE_SCOPE = "status requests per message"
BALANCE_SCOPE = "balance requests"

DESCRIPTION = GatewayDescription(
    id=Provider.SMSC,
    name="SMSC.ru",
    # A login and password, or an API key alone.
    fields=(
        AccountField(LOGIN, required=False),
        AccountField(PASSWORD, secret=True, required=False),
        AccountField(API_KEY, secret=True, required=False),
    ),
    # One list request a minute about every pending message (five per message a minute).
    status=StatusPolicy(StatusMode.LIST, min_interval=60.0, first_after=15.0, needs_phone=True),
    # A lookup answers in seconds, but the next list request may only go a minute later.
    lookup_wait=(5.0, 61.0),
    callbacks=CallbackSpec(
        query="fmt=3&charset=utf-8&md5={secret}",
        verification="md5 of `id:phone:status:<secret>` or `phone:mes:to:<secret>`",
        verify=callback_signature_ok,
        parse=parse_callback,
    ),
    rate_limits=(
        RateLimit(1, 60.0, LIST_SCOPE),
        RateLimit(5, 60.0, PER_MESSAGE_SCOPE),
        RateLimit(1, 60.0, "identical send"),
        RateLimit(10, 60.0, BALANCE_SCOPE),
    ),
    # Every request is taken by GET or POST: POST, the credentials in the body.
    endpoints=(
        Endpoint("send.php", HttpMethod.POST, "smsc.ru/api/http: sending, HLR (provider notes)"),
        Endpoint("status.php", HttpMethod.POST, "smsc.ru/api/http: status (provider notes)"),
        Endpoint("balance.php", HttpMethod.POST, "smsc.ru/api/http: balance (provider notes)"),
    ),
)


class SmscClient(SmsGateway):
    """An SMSC.ru account, signed in with login and password or with an API key."""

    description = DESCRIPTION
    capabilities = Capabilities(
        balance=True,
        lookup=True,
        lookup_is_deferred=True,
        flash=True,
        client_message_id=True,
        server_transliteration=True,
        send_returns_cost=True,
        send_returns_balance=True,
        quote=True,
        recipient_local_time=False,
        incoming=False,
        statistics=False,
        max_text_length=1000,
        max_validity=timedelta(hours=24),
    )
    default_base_url: ClassVar[str] = "https://smsc.ru/sys/"
    backup_base_urls: ClassVar[tuple[str, ...]] = (BACKUP_BASE_URL,)
    send_at_years: ClassVar[tuple[int, int] | None] = (2000, 2099)
    """`time` carries a two-digit year (DDMMYYhhmm): only 2000-2099 can be said."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the client (see `SmsGateway`)."""
        super().__init__(*args, **kwargs)
        self._unanswered: dict[str, float] = {}
        """Digests of sends whose answer was lost, with when (monotonic seconds)."""
        self._quotes: dict[str, tuple[float, Quote]] = {}
        """Prices told lately, by the digest of their request, with when (monotonic seconds)."""

    # -- what the integration calls ---------------------------------------------------

    async def check_credentials(self) -> None:
        """Read the balance: the cheapest request that checks the credentials."""
        await self.balance()

    async def balance(self) -> Balance:
        """The account balance, its currency and credit limit."""
        return await self._request("balance.php", {"cur": "1"}, _parse_balance)

    async def delivery_status(self, messages: Sequence[MessageRef]) -> list[DeliveryStatus]:
        """The delivery state of each message, in one `status.php` request (a list of many).

        SMSC.ru allows one list request a minute and five requests per message a
        minute: poll all pending messages together, at most once a minute.
        """
        refs = [(m.message_id, phone_digits(m.phone)) for m in messages]
        items = await self._statuses(refs, extra={})
        return [
            _delivery_status(message, items.get(ref))
            for message, ref in zip(messages, refs, strict=True)
        ]

    async def lookup(self, phones: Iterable[str]) -> list[LookupResult]:
        """Start HLR lookups (`send.php` with `hlr=1`); results come from `lookup_result`."""
        numbers = normalize_phones(phones)
        results: list[LookupResult] = []
        size = self.max_recipients_per_request
        for start in range(0, len(numbers), size):
            chunk = numbers[start : start + size]
            form = {"phones": ",".join(chunk), "hlr": "1", "op": "1"}
            results.extend(
                await self._request(
                    "send.php",
                    form,
                    partial(_parse_lookup, phones=chunk),
                    may_deliver=True,  # an HLR query is paid for: never repeat it blindly
                )
            )
        return results

    async def lookup_result(self, pending: Sequence[LookupResult]) -> list[LookupResult]:
        """Fetch the answers of pending lookups in one `status.php` request (a list of many)."""
        refs = {
            index: (result.request_id, phone_digits(result.phone))
            for index, result in enumerate(pending)
            if not result.is_final and result.request_id
        }
        if not refs:
            return list(pending)
        items = await self._statuses(list(refs.values()), extra={"all": "1"})
        return [
            _lookup_result(result, items.get(refs[index])) if index in refs else result
            for index, result in enumerate(pending)
        ]

    # -- sending ----------------------------------------------------------------------

    def _check_options(self, options: SendOptions) -> None:
        super()._check_options(options)
        self._check_message_id(options.client_message_id, _CLIENT_MESSAGE_ID)

    async def _send_chunk(self, phones: list[str], text: str, options: SendOptions) -> SendResult:
        # cost=3: the answer tells the cost and the new balance; op=1: per-number details.
        form = _send_form(
            phones, text, options, cost="3", op="1", message_id=options.client_message_id
        )
        _LOGGER.debug("SMSC.ru: sending to %d numbers", len(phones))

        def parse(data: Any) -> SendResult:
            # The gateway transliterates itself; count parts as the text it will send
            # (once the answer is in: nothing but the request goes before the wire).
            return _parse_send(data, phones, _parts(text, options), options)

        try:
            return await self._request("send.php", form, parse, may_deliver=True)
        except GatewayUnavailableError as err:
            if err.may_have_been_accepted:
                self._remember_unanswered(_send_digest(form))
            raise
        except RateLimitedError as err:
            if err.code == "9" and self._unanswered.pop(_send_digest(form), None) is not None:
                # The same message was sent moments ago and its answer lost: SMSC.ru
                # refuses the repeat, so the first one went out.
                raise AlreadySentError(
                    "SMSC.ru refused the message as a repeat of the one just sent: that one "
                    "went out",
                    code=err.code,
                    may_have_been_accepted=True,
                ) from err
            raise

    async def quote(self, numbers: list[str], text: str, options: SendOptions) -> Quote:
        """`send.php` with `cost=1`: the price, per number too (`op=1`); nothing is sent.

        SMSC.ru refuses a second identical send request within a minute (error 9), a
        price request perhaps among them [guess]: the same question within
        `REPEAT_WINDOW` gets the answer it got, without a request.
        """
        form = _send_form(numbers, text, options, cost="1", op="1")
        digest = hashlib.sha256(repr(sorted(form.items())).encode("utf-8", "surrogatepass"))
        key = digest.hexdigest()
        now = time.monotonic()
        self._quotes = {k: v for k, v in self._quotes.items() if now - v[0] < REPEAT_WINDOW}
        if (known := self._quotes.get(key)) is not None:
            return known[1]
        quote = await self._request(
            "send.php",
            form,
            partial(_parse_quote, phones=numbers, parts=_parts(text, options)),
            # Nothing is sent, but a lost answer is not asked again at once (error 9).
            may_deliver=True,
        )
        self._quotes[key] = (now, quote)
        return quote

    def _remember_unanswered(self, digest: str) -> None:
        now = time.monotonic()
        self._unanswered = {d: at for d, at in self._unanswered.items() if now - at < REPEAT_WINDOW}
        self._unanswered[digest] = now

    # -- plumbing ---------------------------------------------------------------------

    async def _statuses(
        self, refs: list[_Ref], extra: Mapping[str, str]
    ) -> dict[_Ref, Mapping[str, Any]]:
        """`status.php` answers per message, in list requests of up to 1000 messages.

        A lone message is asked in the single form (`id=5&phone=79...`, answered with one
        object): SMSC.ru counts any `id` written as a list, even of one (`id=5,`), against
        its one list request a minute.
        """
        unique = list(dict.fromkeys(refs))
        found: dict[_Ref, Mapping[str, Any]] = {}
        for start in range(0, len(unique), MAX_REFS_PER_STATUS_REQUEST):
            chunk = unique[start : start + MAX_REFS_PER_STATUS_REQUEST]
            form = {
                **extra,
                "id": ",".join(ref[0] for ref in chunk),
                "phone": ",".join(ref[1] for ref in chunk),
            }
            found.update(
                await self._request(
                    "status.php",
                    form,
                    partial(_match_statuses, refs=chunk),
                    # A list request counts against the one-a-minute limit even when its
                    # answer is lost: never repeat it at once (error 9 would follow).
                    may_deliver=len(chunk) > 1,
                    not_found_ok=True,
                )
            )
        return found

    async def _request[T](
        self,
        path: str,
        params: Mapping[str, str],
        parse: Callable[[Any], T],
        *,
        may_deliver: bool = False,
        not_found_ok: bool = False,
    ) -> T:
        """POST `params` with the credentials to `path`; raise the gateway's error."""
        form = {**self._auth(), **params, "fmt": "3", "charset": "utf-8"}

        async def attempt(base: str) -> T:
            answer = await self._submit(path, form, may_deliver=may_deliver, base_url=base)
            data = _read(answer, may_deliver=may_deliver)
            if (
                isinstance(data, Mapping)
                and ("error" in data or "error_code" in data)
                and not (not_found_ok and to_int(data.get("error_code")) == _NOT_FOUND)
            ):
                raise _error_from(data, phones=_phones_of(form))
            try:
                return parse(data)
            except SmsGatewayError:
                raise
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                # A shape the gateway never documented: as good as unreadable.
                raise unreadable(answer, may_deliver=may_deliver) from err

        return await self._call(attempt, may_deliver=may_deliver)

    def _auth(self) -> dict[str, str]:
        credentials = self._credentials
        if credentials.login and credentials.password:
            return {"login": credentials.login, "psw": credentials.password}
        if credentials.api_key:
            return {"apikey": credentials.api_key}
        raise AuthenticationError("SMSC.ru needs a login and password, or an API key")

    def _budget_scopes(
        self, path: str, form: Mapping[str, str] | Sequence[tuple[str, str]]
    ) -> list[Scope]:
        """Status requests as SMSC.ru counts them; balance requests too.

        A status request counts once for each message id it names (a bulk send's numbers
        share one id, and SMSC.ru limits requests per message, not per number), and as a
        list request when its `id` is written as a list, even of one (`id=5,`).
        """
        if path.endswith("balance.php"):
            return [(BALANCE_SCOPE, "")]
        if not path.endswith("status.php"):
            return []
        ids = dict(form).get("id", "")
        scopes: list[Scope] = [(PER_MESSAGE_SCOPE, i) for i in dict.fromkeys(_split(ids))]
        if "," in ids:
            scopes.append((LIST_SCOPE, ""))
        return scopes


def _send_form(
    phones: list[str],
    text: str,
    options: SendOptions,
    *,
    message_id: str | None = None,
    **asks: str,
) -> dict[str, str]:
    """The fields of a `send.php` request: what is sent, to whom and how; `asks` and our `id`."""
    form = {"phones": ",".join(phones), "mes": text, **asks}
    if options.sender:
        form["sender"] = options.sender
    if message_id is not None:
        form["id"] = message_id
    if options.transliterate:
        form["translit"] = "1"
    if options.flash:
        form["flash"] = "1"
    if options.validity is not None:
        form["valid"] = _validity(options.validity)
    if options.send_at is not None:
        form["time"] = format_local(options.send_at, MOSCOW, "%d%m%y%H%M")
    return form


def _parts(text: str, options: SendOptions) -> int:
    """Parts of `text` as SMSC.ru sends it (it transliterates itself, where asked)."""
    return segments_of(transliterate(text) if options.transliterate else text)


def _split(raw: str) -> list[str]:
    return [part for part in raw.split(",") if part]


# -- answers ---------------------------------------------------------------------------


def _read(answer: HttpAnswer, *, may_deliver: bool) -> Any:
    """The JSON of an answer; an error page or garbage raises `GatewayResponseError`."""
    try:
        data = loads_lenient(answer.text)
    except ValueError as err:
        raise unreadable(answer, may_deliver=may_deliver) from err
    if answer.is_server_error and not (isinstance(data, Mapping) and "error" in data):
        raise unreadable(answer, may_deliver=may_deliver)
    return data


def _error_from(data: Mapping[str, Any], *, phones: tuple[str, ...] = ()) -> SmsGatewayError:
    """The error for an `{"error": text, "error_code": N}` answer."""
    entry = _ERRORS.get(to_int(data.get("error_code")) or 0, _UNKNOWN_ERROR)
    code = to_str(data.get("error_code"))
    return error_for(entry, code=code, text=to_str(data.get("error")), phones=phones)


def _parse_send(data: Any, phones: list[str], parts: int, options: SendOptions) -> SendResult:
    """Read a `send.php` answer with `cost=3` and `op=1`."""
    if not isinstance(data, Mapping):
        raise GatewayResponseError(
            "SMSC.ru answered a send with something else than an object",
            may_have_been_accepted=True,
        )
    message_id = to_str(data.get("id"))
    if message_id is None:
        raise GatewayResponseError(
            "SMSC.ru answered a send without a message id", may_have_been_accepted=True
        )
    details = _per_phone(data.get("phones"))
    errors = {phone: _phone_error(phone, item) for phone, item in details.items()}
    accepted = [phone for phone in phones if errors.get(phone) is None]
    segments = _segments_each(to_int(data.get("cnt")), len(accepted), parts)
    total_cost = to_decimal(data.get("cost"))
    recipients: list[RecipientResult] = []
    for phone in phones:
        error = errors.get(phone)
        if error is not None:
            recipients.append(_refused(phone, error))
            continue
        cost: Decimal | None
        if phone in details:
            cost = to_decimal(details[phone].get("cost"))
        else:
            # Without per-number details a lone number's cost is the total.
            cost = total_cost if len(accepted) == 1 else None
        recipients.append(
            RecipientResult(
                phone=phone,
                accepted=True,
                message_ids=(message_id,),
                segments=segments,
                cost=cost,
            )
        )
    return SendResult(
        recipients=tuple(recipients),
        client_message_id=options.client_message_id,
        balance=to_decimal(data.get("balance")),
    )


def _parse_quote(data: Any, phones: list[str], parts: int) -> Quote:
    """Read a `send.php` answer with `cost=1` and `op=1` (`{"cost", "cnt", "phones"}`)."""
    if not isinstance(data, Mapping) or (cost := to_decimal(data.get("cost"))) is None:
        raise ValueError("no cost in the answer")
    details = _per_phone(data.get("phones"))
    errors = {phone: _phone_error(phone, item) for phone, item in details.items()}
    taken = [phone for phone in phones if phone in details and errors[phone] is None]
    segments = _segments_each(to_int(data.get("cnt")), len(taken), parts)
    recipients = tuple(
        _refused(phone, error)
        if (error := errors[phone]) is not None
        else RecipientResult(
            phone=phone,
            accepted=True,
            segments=segments,
            cost=to_decimal(details[phone].get("cost")),
        )
        for phone in phones
        if phone in details
    )
    return Quote(cost=cost, segments=to_int(data.get("cnt")), recipients=recipients)


def _refused(phone: str, error: SmsGatewayError) -> RecipientResult:
    """A number the gateway refused, with its reason."""
    return RecipientResult(
        phone=phone,
        accepted=False,
        error_kind=error.kind,
        error_code=error.code,
        error_text=error.text,
    )


def _per_phone(raw: Any) -> dict[str, Mapping[str, Any]]:
    """The `op=1` details by phone digits (empty when the answer has none)."""
    if not isinstance(raw, list):
        return {}
    details: dict[str, Mapping[str, Any]] = {}
    for item in raw:
        if isinstance(item, Mapping) and (phone := phone_digits(to_str(item.get("phone")) or "")):
            details[phone] = item
    return details


def _phone_error(phone: str, item: Mapping[str, Any]) -> SmsGatewayError | None:
    """Why one number of a send was refused, or None when it was taken."""
    raw = item.get("error_code", item.get("error"))
    if raw in (None, "", 0, "0"):
        return None
    code = to_int(raw)
    if code is None:
        return _error_from({"error": raw}, phones=(phone,))
    return _error_from({"error_code": code}, phones=(phone,))


def _segments_each(total: int | None, accepted: int, parts: int) -> int:
    """Parts per number: from the gateway's total when it divides evenly, else counted."""
    if total and accepted and total % accepted == 0:
        return total // accepted
    return parts


def _parse_balance(data: Any) -> Balance:
    """Read a `balance.php` answer (`{"balance": "1.00", "credit": ..., "currency": ...}`)."""
    if isinstance(data, Mapping):
        amount = to_decimal(data.get("balance"))
        currency = to_str(data.get("currency"))
        credit = to_decimal(data.get("credit"))
    else:
        amount, currency, credit = to_decimal(data), None, None
    if amount is None:
        raise ValueError("no balance in the answer")
    return Balance(amount=amount, currency=currency, credit=credit)


def _parse_lookup(data: Any, phones: list[str]) -> list[LookupResult]:
    """Read a `send.php?hlr=1` answer: one id for the request, per-number refusals."""
    if not isinstance(data, Mapping) or (request_id := to_str(data.get("id"))) is None:
        raise GatewayResponseError(
            "SMSC.ru answered a lookup without a request id", may_have_been_accepted=True
        )
    details = _per_phone(data.get("phones"))
    results: list[LookupResult] = []
    for phone in phones:
        error = _phone_error(phone, details[phone]) if phone in details else None
        if error is not None:
            results.append(
                LookupResult(
                    phone=phone,
                    state=LookupState.FAILED,
                    request_id=request_id,
                    error_code=error.code,
                )
            )
        else:
            results.append(
                LookupResult(phone=phone, state=LookupState.PENDING, request_id=request_id)
            )
    return results


def _match_statuses(data: Any, refs: list[_Ref]) -> dict[_Ref, Mapping[str, Any]]:
    """Pair the items of a `status.php` answer with the messages asked about."""
    if isinstance(data, Mapping):
        if to_int(data.get("error_code")) == _NOT_FOUND:
            return dict.fromkeys(refs, data)  # none of them is known
        data = [data]
    if not isinstance(data, list):
        raise ValueError("a status answer is a list of objects")
    items = [item for item in data if isinstance(item, Mapping)]
    matched: dict[_Ref, Mapping[str, Any]] = {}
    for position, item in enumerate(items):
        message_id = to_str(item.get("id"))
        phone = phone_digits(to_str(item.get("phone")) or "")
        if message_id is not None and phone:
            matched[(message_id, phone)] = item
        elif len(items) == len(refs):
            # Items without id and phone come in the order asked.
            matched[refs[position]] = item
    return matched


def _delivery_status(message: MessageRef, item: Mapping[str, Any] | None) -> DeliveryStatus:
    if item is None or "error" in item or "error_code" in item:
        text = to_str(item.get("error")) if item is not None else None
        return DeliveryStatus(
            message_id=message.message_id,
            phone=message.phone,
            state=DeliveryState.UNKNOWN,
            raw_text=text or "Message not found",
            error_code=to_str(item.get("error_code")) if item is not None else None,
        )
    code = to_int(item.get("status"))
    return DeliveryStatus(
        message_id=message.message_id,
        phone=message.phone,
        state=_DELIVERY_STATES.get(code, DeliveryState.UNKNOWN)
        if code is not None
        else DeliveryState.UNKNOWN,
        raw_code=to_str(item.get("status")),
        raw_text=to_str(item.get("status_name"))
        or (_STATUS_TEXTS.get(code) if code is not None else None),
        error_code=_reason(item.get("err")),
        updated_at=_updated_at(item),
        cost=to_decimal(item.get("cost")),
    )


def _lookup_result(pending: LookupResult, item: Mapping[str, Any] | None) -> LookupResult:
    if item is None or "error" in item or "error_code" in item:
        return LookupResult(
            phone=pending.phone,
            state=LookupState.FAILED,
            request_id=pending.request_id,
            error_code=to_str(item.get("error_code")) if item is not None else None,
        )
    code = to_int(item.get("status"))
    state = _LOOKUP_STATES.get(code, LookupState.FAILED) if code is not None else None
    return LookupResult(
        phone=pending.phone,
        state=state or LookupState.PENDING,
        request_id=pending.request_id,
        operator=to_str(item.get("net")),
        country=to_str(item.get("cn")),
        mcc=to_str(item.get("mcc")),
        mnc=to_str(item.get("mnc")),
        imsi=to_str(item.get("imsi")),
        msc=to_str(item.get("msc")),
        roaming_country=to_str(item.get("rcn")),
        roaming_operator=to_str(item.get("rnet")),
        raw_code=to_str(item.get("status")),
        error_code=_reason(item.get("err")),
    )


def _reason(value: Any) -> str | None:
    """The `err` field as an error code; 0 means no error."""
    text = to_str(value)
    return None if text in (None, "0") else text


def _updated_at(item: Mapping[str, Any]) -> datetime | None:
    """When the state last changed: the timestamp, else the date (Moscow time)."""
    if (moment := parse_timestamp(item.get("last_timestamp"))) is not None:
        return moment
    text = to_str(item.get("last_date"))
    if text is None:
        return None
    for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%y %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=MOSCOW).astimezone(UTC)
        except ValueError:
            continue
    return None


def _validity(validity: timedelta) -> str:
    """A message lifetime as `hh:mm`, rounded up to whole minutes."""
    minutes = math.ceil(validity.total_seconds() / 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _send_digest(form: Mapping[str, str]) -> str:
    """What makes two sends the same message for SMSC.ru (numbers, text, sender)."""
    what = "\0".join(form.get(key, "") for key in ("phones", "mes", "sender"))
    return hashlib.sha256(what.encode("utf-8", "surrogatepass")).hexdigest()


def _phones_of(form: Mapping[str, str]) -> tuple[str, ...]:
    """The numbers a request was about, to name them in an error."""
    raw = form.get("phones") or ""
    return tuple(phone for phone in raw.split(",") if phone)
