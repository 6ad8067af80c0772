"""SMSC.ru: `send.php`, `status.php` and `balance.php`, form POSTs answered in JSON.

Every request carries `fmt=3` (JSON) and `charset=utf-8` (the gateway's default is
windows-1251 both ways). The default host has a documented backup, `www2.smsc.ru`, which
the one retry of a request that certainly did not go through goes to. The answers are read
in `smsc_answers`, the callbacks SMSC.ru posts in `smsc_callbacks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from functools import partial
import hashlib
import logging
import math
import re
import time
from typing import Any, ClassVar

from .base import SmsGateway, segments_of
from .budget import Scope
from .description import (
    API_KEY,
    LOGIN,
    PASSWORD,
    AccountField,
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
    GatewayUnavailableError,
    RateLimitedError,
    SmsGatewayError,
)
from .evidence import Evidence, EvidencePolicy, EvidenceSource
from .http import unreadable
from .models import (
    Balance,
    Capabilities,
    DeliveryStatus,
    GatewayId,
    LookupResult,
    MessageRef,
    Quote,
    SendOptions,
    SendResult,
)
from .parsing import MOSCOW, format_local, to_int
from .phone import normalize_phones, phone_digits
from .smsc_answers import (
    NOT_FOUND,
    Ref,
    delivery_status_of,
    error_from,
    evidence_of,
    lookup_result_of,
    match_statuses,
    parse_balance,
    parse_lookup,
    parse_quote,
    parse_send,
    read_json,
)
from .smsc_callbacks import (
    CALLBACK_SIGNATURES,
    callback_fields_ok,
    callback_kind,
    callback_signature_ok,
    callback_signed_text,
    parse_callback,
    parse_callback_incoming,
    parse_callback_lookup,
    parse_callback_status,
)
from .translit import transliterate

_LOGGER = logging.getLogger(__name__)

BACKUP_BASE_URL = "https://www2.smsc.ru/sys/"
"""The documented backup host, tried when the default host cannot be reached."""

REPEAT_WINDOW = 120.0
"""Seconds after a send whose answer was lost during which error 9 on the same message
means the first one went out (SMSC.ru refuses an identical send within a minute)."""

MAX_REFS_PER_STATUS_REQUEST = 1000
"""Messages asked about in one `status.php` list request."""

_CLIENT_MESSAGE_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")

LIST_SCOPE = "status list request"
PER_MESSAGE_SCOPE = "status requests per message"
BALANCE_SCOPE = "balance requests"

DESCRIPTION = GatewayDescription(
    id=GatewayId.SMSC,
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
    # By our id. SMSC.ru shows a message in status.php as soon as it answers its id; the
    # settle time covers a request still queued in front of it when our answer was lost,
    # and one more look after half a minute stays within five per message a minute. [guess]
    evidence=EvidencePolicy((EvidenceSource.OUR_ID,), settle=15.0, confirm_after=30.0),
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
        return await self._request("balance.php", {"cur": "1"}, parse_balance)

    async def delivery_status(self, messages: Sequence[MessageRef]) -> list[DeliveryStatus]:
        """The delivery state of each message, in one `status.php` request (a list of many).

        SMSC.ru allows one list request a minute and five requests per message a
        minute: poll all pending messages together, at most once a minute.
        """
        refs = [(m.message_id, phone_digits(m.phone)) for m in messages]
        items = await self._statuses(refs, extra={})
        return [
            delivery_status_of(message, items.get(ref))
            for message, ref in zip(messages, refs, strict=True)
        ]

    async def evidence_by_our_id(
        self, message_id: str, phones: Sequence[str]
    ) -> dict[str, Evidence]:
        """What `status.php` says of our id, per number (`evidence_of`), in one request."""
        refs = [(message_id, phone_digits(phone)) for phone in phones]
        items = await self._statuses(refs, extra={})
        return {phone: evidence_of(items.get(ref)) for phone, ref in zip(phones, refs, strict=True)}

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
                    partial(parse_lookup, phones=chunk),
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
            lookup_result_of(result, items.get(refs[index])) if index in refs else result
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
            return parse_send(data, phones, _parts(text, options), options)

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
            partial(parse_quote, phones=numbers, parts=_parts(text, options)),
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
        self, refs: list[Ref], extra: Mapping[str, str]
    ) -> dict[Ref, Mapping[str, Any]]:
        """`status.php` answers per message, in list requests of up to 1000 messages.

        A lone message is asked in the single form (`id=5&phone=79...`, answered with one
        object): SMSC.ru counts any `id` written as a list, even of one (`id=5,`), against
        its one list request a minute.
        """
        unique = list(dict.fromkeys(refs))
        found: dict[Ref, Mapping[str, Any]] = {}
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
                    partial(match_statuses, refs=chunk),
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
            data = read_json(answer, may_deliver=may_deliver)
            if (
                isinstance(data, dict)  # parsed JSON (see `smsc_answers`)
                and ("error" in data or "error_code" in data)
                and not (not_found_ok and to_int(data.get("error_code")) == NOT_FOUND)
            ):
                raise error_from(data, phones=_phones_of(form))
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


__all__ = [
    "BACKUP_BASE_URL",
    "BALANCE_SCOPE",
    "CALLBACK_SIGNATURES",
    "DESCRIPTION",
    "LIST_SCOPE",
    "MAX_REFS_PER_STATUS_REQUEST",
    "PER_MESSAGE_SCOPE",
    "REPEAT_WINDOW",
    "SmscClient",
    "callback_fields_ok",
    "callback_kind",
    "callback_signature_ok",
    "callback_signed_text",
    "parse_callback",
    "parse_callback_incoming",
    "parse_callback_lookup",
    "parse_callback_status",
]
"""The client and its description; the callbacks' readers (`smsc_callbacks`) stay
importable from here, where the webhook's tests find them."""
