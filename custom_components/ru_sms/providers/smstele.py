"""SMStele (REX400) client: the `sendsms` and `status` HTTP API.

Every request is a POST form to `<base>/sendsms` or `<base>/status` with `login`, `psw`
and `charset=utf-8` in the body (the gateway reads windows-1251 otherwise). There are no
sessions and no balance request. Numbers in the answers are JSON strings; the documented
answers carry a trailing empty `{}` item and lack their last closing bracket, so the
parser closes what was left open.

Guesses where the document is silent are marked [guess].
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
import logging
import re
from typing import Any

from .base import SmsGateway, segments_of
from .description import (
    LOGIN_AND_PASSWORD,
    AccountField,
    Endpoint,
    FieldType,
    GatewayDescription,
    HttpMethod,
    StatusMode,
    StatusPolicy,
)
from .errors import (
    AuthenticationError,
    ErrorCode,
    ErrorTable,
    GatewayResponseError,
    GatewayUnavailableError,
    InsufficientFundsError,
    InvalidRecipientError,
    InvalidRequestError,
    InvalidSenderError,
    MessageRejectedError,
    NotSupportedError,
    SmsGatewayError,
    error_for,
)
from .evidence import Evidence, EvidencePolicy, EvidenceSource
from .http import HttpAnswer, unreadable
from .ids import new_message_id
from .models import (
    Capabilities,
    DeliveryState,
    DeliveryStatus,
    GatewayId,
    LookupResult,
    LookupState,
    MessageRef,
    RecipientResult,
    SendOptions,
    SendResult,
)
from .parsing import (
    MOSCOW,
    format_local,
    in_turns,
    loads_lenient_in_turns,
    parse_iso,
    to_int,
    to_str,
)
from .phone import normalize_phones, phone_digits

_LOGGER = logging.getLogger(__name__)

DEFAULT_HOST = "rexsmsc.rex400.ru"
DEFAULT_PORT = 8882
PATH = "/cgibin/"
DEFAULT_BASE_URL = f"https://{DEFAULT_HOST}:{DEFAULT_PORT}{PATH}"
"""HTTPS on the gateway's own port; customers may be given other hosts, ports and paths."""
HOST = "host"
PORT = "port"
SSL = "ssl"
"""The address fields of an account: its contract names the host and the port."""

CHECK_MESSAGE_ID = "ru_sms-check"
"""A message id we never send: asking for its status only proves the credentials."""

MAX_CLIENT_ID_LENGTH = 40
"""Our limit on a user's message id [guess: the document only shows that 71 is too long]."""

_CLIENT_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_CLIENT_ID_LENGTH}}}")
_ATTRIBUTE = re.compile(r"attribute:\s*'([A-Za-z_]+)", re.IGNORECASE)
_NO_ERROR = frozenset({"-99", "0"})
"""Codes that report no error [guess: -99 = no error / in progress]."""

_RECIPIENT_ATTRIBUTES = frozenset({"phones", "phone"})
_CREDENTIAL_ATTRIBUTES = frozenset({"login", "psw"})

_ERRORS: ErrorTable = {
    -1: ErrorCode(GatewayResponseError, "System error"),
    -2: ErrorCode(GatewayResponseError, "Out of memory"),
    -6: ErrorCode(NotSupportedError, "Not implemented"),
    -21: ErrorCode(AuthenticationError, "Missing login"),
    -22: ErrorCode(AuthenticationError, "Missing password"),
    -23: ErrorCode(AuthenticationError, "Invalid login or password"),
    -24: ErrorCode(AuthenticationError, "IP address not allowed"),
    -25: ErrorCode(InvalidRecipientError, "Missing destination address"),
    -26: ErrorCode(InvalidRecipientError, "Invalid destination address"),
    -27: ErrorCode(InvalidRequestError, "Missing text"),
    -28: ErrorCode(InvalidRequestError, "Invalid validity"),
    -29: ErrorCode(InvalidRequestError, "Invalid deferred time"),
    -30: ErrorCode(InvalidRequestError, "Invalid priority"),
    -31: ErrorCode(InvalidSenderError, "Invalid sender"),
    -32: ErrorCode(InvalidSenderError, "Sender not allowed"),
    -33: ErrorCode(InvalidRequestError, "Invalid charset"),
    -34: ErrorCode(InvalidRequestError, "Missing message id"),
    -35: ErrorCode(InvalidRequestError, "Invalid message id"),
    -41: ErrorCode(MessageRejectedError, "Text too long"),
    -42: ErrorCode(MessageRejectedError, "Too many segments"),
    -43: ErrorCode(InsufficientFundsError, "Not enough credits"),
}
"""Every code of the document's table (REXSMSCE_*), with what it means to us."""

_STATES: dict[str, DeliveryState] = {
    "ENROUTE": DeliveryState.SENT,
    "ACCEPTD": DeliveryState.SENT,
    "DELIVRD": DeliveryState.DELIVERED,
    "EXPIRED": DeliveryState.EXPIRED,
    "DELETED": DeliveryState.FAILED,
    "UNDELIV": DeliveryState.FAILED,
    "REJECTD": DeliveryState.FAILED,
    "UNKNOWN": DeliveryState.UNKNOWN,
}
"""SMPP receipt words in `stat`; an empty `stat` means not yet handed over."""


def base_url(data: Mapping[str, Any]) -> str:
    """The address an account's host, port and HTTPS fields point at."""
    scheme = "https" if data.get(SSL, True) else "http"
    return f"{scheme}://{data[HOST]}:{data.get(PORT, DEFAULT_PORT)}{PATH}"


DESCRIPTION = GatewayDescription(
    id=GatewayId.SMSTELE,
    name="SMStele (REX400)",
    fields=(
        *LOGIN_AND_PASSWORD,
        AccountField(HOST, default=DEFAULT_HOST),
        AccountField(PORT, default=DEFAULT_PORT, type=FieldType.NUMBER, minimum=1, maximum=65535),
        AccountField(SSL, default=True, type=FieldType.BOOLEAN),
    ),
    # One `status` request per message id answers for all its numbers; no documented limit.
    status=StatusPolicy(StatusMode.MESSAGE),
    # By our id. The gateway has been seen answering "not there" a couple of seconds after
    # a timeout, before it recorded the message it took: half a minute to settle, and
    # once more half a minute later before a "not there" is believed. [guess]
    evidence=EvidencePolicy((EvidenceSource.OUR_ID,), settle=30.0, confirm_after=30.0),
    base_url=base_url,
    per_host=True,
    # The document takes both by GET or POST: POST, the credentials in the body.
    endpoints=(
        Endpoint("sendsms", HttpMethod.POST, "smstele-rex400-http.txt: sending, HLR"),
        Endpoint("status", HttpMethod.POST, "smstele-rex400-http.txt: status"),
    ),
)


class SmsteleClient(SmsGateway):
    """An SMStele (REX400) account: send, delivery status and HLR lookup; no balance."""

    description = DESCRIPTION
    capabilities = Capabilities(
        lookup=True,
        flash=True,
        client_message_id=True,
        server_transliteration=True,
    )
    default_base_url = DEFAULT_BASE_URL

    # -- what the integration calls ---------------------------------------------------

    async def check_credentials(self) -> None:
        """Ask for the status of a message that cannot exist: only bad credentials fail."""
        try:
            await self._request("status", {"id": CHECK_MESSAGE_ID})
        except InvalidRequestError, InvalidRecipientError:
            # The gateway checks the login before anything else (the document's first
            # example): a complaint about the request itself means the login passed.
            return

    async def delivery_status(self, messages: Sequence[MessageRef]) -> list[DeliveryStatus]:
        """The state of each message: one `status` request per distinct message id.

        Linear in the numbers: a bulk send's 10,000 numbers share one id and one answer.
        """
        groups: dict[str, dict[str, None]] = {}
        for ref in messages:
            groups.setdefault(ref.message_id, {})[ref.phone] = None
        if not groups:
            return []
        answers = await self._fan_out(
            list(groups),
            lambda mid: self._status_of(mid, list(groups[mid])),
            # Others were answered: these stay unknown and are asked again later.
            lambda mid, err: [
                DeliveryStatus(
                    message_id=mid,
                    phone=phone,
                    state=DeliveryState.UNKNOWN,
                    raw_text=str(err),
                    error_code=err.code,
                )
                for phone in groups[mid]
            ],
        )
        return [status for answer in answers for status in answer]

    async def evidence_by_our_id(
        self, message_id: str, phones: Sequence[str]
    ) -> dict[str, Evidence]:
        """What `status` says of our id, per number, in one request.

        A number with an item is `TAKEN` (whatever its `stat`); a readable `results` list
        without one is `NOT_TAKEN`. The document has no error for an unknown id: it is
        answered with no item for it (in the documented shape, a list of nothing but its
        trailing `{}`) [guess]. An answer without `results` tells nothing.
        """
        form = {"id": message_id}
        if len(phones) == 1:
            form["phone"] = phone_digits(phones[0])
        data = await self._request("status", form)
        listed = data.get("results")
        if not isinstance(listed, list | dict):
            raise GatewayResponseError("SMStele answered a status request without results")
        items = [item for item in _records(listed) if to_str(item.get("id")) in (None, message_id)]
        numbers = {phone_digits(item.get("phone")) for item in items}
        # An item that names no number answers for the one number asked about.
        anonymous = "" in numbers and len(phones) == 1
        return {
            phone: Evidence.TAKEN
            if anonymous or phone_digits(phone) in numbers
            else Evidence.NOT_TAKEN
            for phone in phones
        }

    async def lookup(self, phones: Iterable[str]) -> list[LookupResult]:
        """HLR lookup (`hlr=1`): the operator of each number, answered at once."""
        numbers = normalize_phones(phones)
        size = self.max_recipients_per_request
        chunks = [numbers[i : i + size] for i in range(0, len(numbers), size)]
        answers = await self._fan_out(
            chunks,
            self._lookup_chunk,
            lambda chunk, err: [
                LookupResult(phone=phone, state=LookupState.FAILED, error_code=err.code)
                for phone in chunk
            ],
        )
        return [result for answer in answers for result in answer]

    # -- the gateway's side of send ---------------------------------------------------

    def _check_options(self, options: SendOptions) -> None:
        super()._check_options(options)
        self._check_message_id(options.client_message_id, _CLIENT_ID)

    async def _send_chunk(self, phones: list[str], text: str, options: SendOptions) -> SendResult:
        # Always our own id, so that every send can be asked about later.
        message_id = options.client_message_id or new_message_id()
        form = {"phones": ",".join(phones), "mes": text, "id": message_id}
        if options.sender:
            form["sender"] = options.sender
        if options.transliterate:
            form["translit"] = "1"
        if options.flash:
            form["flash"] = "1"
        if options.send_at is not None:
            # [guess] Moscow time: the answers' timestamps carry +03.
            form["deferred"] = format_local(options.send_at, MOSCOW, "%Y-%m-%d %H:%M:%S")
        if options.validity is not None:
            # [guess] minutes: the document gives no unit.
            form["validity"] = str(int(options.validity.total_seconds() // 60))
        try:
            data = await self._request("sendsms", form, may_deliver=True)
        except InvalidRecipientError as err:
            err.phones = tuple(phones)
            raise
        if not _records(data.get("messages")) and not to_str(data.get("id")):
            # Neither an error nor an envelope: what became of the text is unknown.
            raise GatewayResponseError(
                "SMStele sent an answer without a message id",
                may_have_been_accepted=True,
            )
        recipients = _send_recipients(data, phones, text, message_id)
        _LOGGER.debug(
            "sendsms: %d of %d numbers accepted (the envelope counts %s)",
            sum(1 for r in recipients if r.accepted),
            len(recipients),
            to_str(data.get("cnt")),
        )
        return SendResult(recipients=tuple(recipients), client_message_id=message_id)

    # -- requests ---------------------------------------------------------------------

    async def _status_of(self, message_id: str, phones: list[str]) -> list[DeliveryStatus]:
        form = {"id": message_id}
        if len(phones) == 1 and phones[0]:
            form["phone"] = phone_digits(phones[0])
        data = await self._request("status", form)
        results: list[dict[str, Any]] = []
        by_phone: dict[str, list[dict[str, Any]]] = {}
        async for item in in_turns(_records(data.get("results"))):
            if to_str(item.get("id")) in (None, message_id):
                results.append(item)
                by_phone.setdefault(phone_digits(item.get("phone")), []).append(item)
        statuses: list[DeliveryStatus] = []
        async for phone in in_turns(phones):
            digits = phone_digits(phone)
            # A number we do not know (none given) takes whatever the id answered.
            matching = by_phone.get(digits, []) if digits else results
            statuses.append(_delivery_status(message_id, phone, matching))
        return statuses

    async def _lookup_chunk(self, phones: list[str]) -> list[LookupResult]:
        data = await self._request("sendsms", {"phones": ",".join(phones), "hlr": "1"})
        request_id = to_str(data.get("id"))
        by_phone = _by_phone(data.get("messages"))
        return [_lookup_result(phone, by_phone.get(phone), request_id) for phone in phones]

    async def _request(
        self, path: str, form: dict[str, str], *, may_deliver: bool = False
    ) -> dict[str, Any]:
        """POST `form` with the credentials and read the answer; errors are raised."""
        login, password = self._credentials.login, self._credentials.password
        if not login or not password:
            raise AuthenticationError("SMStele needs a login and a password")
        full = {"login": login, "psw": password, "charset": "utf-8", **form}

        async def attempt(base: str) -> dict[str, Any]:
            answer = await self._submit(path, full, may_deliver=may_deliver, base_url=base)
            return await read_answer(answer, may_deliver=may_deliver)

        return await self._call(attempt, may_deliver=may_deliver)


# -- reading answers ------------------------------------------------------------------


async def read_answer(answer: HttpAnswer, *, may_deliver: bool) -> dict[str, Any]:
    """The answer as a dict, or the error it reports.

    A long one (a status answer about thousands of numbers) is read in turns of the
    event loop (`loads_lenient_in_turns`).

    Raises the mapped error for `{"error": "<negative code>", ...}` and
    `GatewayResponseError` for anything that cannot be read (HTTP 429 and 503 never come
    here: `request_form` raises them, for every gateway).
    """
    try:
        data: Any = await loads_lenient_in_turns(answer.text)
    except ValueError:
        data = None
    if isinstance(data, list):
        # A bare list of per-number items, without the envelope.
        data = {"messages": data, "results": data}
    if isinstance(data, dict):
        code = to_str(data.get("error"))
        if code is not None and code not in _NO_ERROR:
            raise refusal_error(code, to_str(data.get("description")), may_deliver=may_deliver)
        if answer.status < 400:
            return data
    if answer.status == 404:
        # Nothing answered at that address, so nothing was sent.
        raise GatewayResponseError(
            "SMStele has no such address (HTTP 404): check the base URL", code=404
        )
    raise unreadable(answer, may_deliver=may_deliver)


def refusal_error(
    code: str, description: str | None, *, may_deliver: bool = False
) -> SmsGatewayError:
    """The error for an `{"error": "<negative code>", "description": ...}` answer.

    `code` as the gateway wrote it; a named attribute in the description decides over the
    code (`classify`).
    """
    entry = classify(code, description)
    message = f"SMStele refused the request: {entry.meaning}"
    if issubclass(entry.error, GatewayUnavailableError):
        # The table's codes reject the request; an unknown code might not have.
        known = to_int(code) in _ERRORS
        return entry.error(
            message,
            code=code,
            text=description,
            may_have_been_accepted=may_deliver and not known,
        )
    return error_for(entry, code=code, text=description, message=message)


def classify(code: str, description: str | None) -> ErrorCode:
    """The error class and meaning of a code, trusting a named attribute over the code.

    The document's own examples answer -24 (IP not allowed, by the table) for a missing
    `phones` and -25 for an empty one: where the description names the attribute, that
    decides.
    """
    entry = _ERRORS.get(to_int(code) or 0, ErrorCode(GatewayResponseError, f"Error {code}"))
    match = _ATTRIBUTE.search(description or "")
    if match is None:
        return entry
    attribute = match.group(1).lower()
    if attribute in _RECIPIENT_ATTRIBUTES:
        return ErrorCode(InvalidRecipientError, f"Bad recipient numbers ({attribute})")
    if attribute in _CREDENTIAL_ATTRIBUTES:
        return ErrorCode(AuthenticationError, f"Bad credentials ({attribute})")
    if attribute == "sender":
        return ErrorCode(InvalidSenderError, "Bad sender name")
    if entry.error in (InvalidRequestError, MessageRejectedError):
        return entry
    return ErrorCode(InvalidRequestError, f"Bad parameter {attribute!r}")


def _send_recipients(
    data: dict[str, Any], phones: list[str], text: str, message_id: str
) -> list[RecipientResult]:
    envelope_id = to_str(data.get("id")) or message_id
    # Items rule over the envelope's `cnt`: each names its number and code, `cnt` names none.
    by_phone = _by_phone(data.get("messages"))
    results: list[RecipientResult] = []
    for phone in phones:
        item = by_phone.get(phone)
        if item is None:
            # Missing from an answer that reports no error (the documented ones are cut
            # short): the request was taken, so was the number; its status will tell.
            results.append(
                RecipientResult(
                    phone=phone,
                    accepted=True,
                    message_ids=(envelope_id,),
                    segments=segments_of(text),
                )
            )
            continue
        code = _item_error(item)
        if code is not None:
            entry = classify(code, None)
            results.append(
                RecipientResult(
                    phone=phone,
                    accepted=False,
                    error_kind=entry.error.kind,
                    error_code=code,
                )
            )
            continue
        parts = to_int(item.get("cnt"))
        results.append(
            RecipientResult(
                phone=phone,
                accepted=True,
                message_ids=(to_str(item.get("id")) or envelope_id,),
                segments=parts if parts is not None and parts >= 1 else segments_of(text),
            )
        )
    return results


def _lookup_result(phone: str, item: dict[str, Any] | None, request_id: str | None) -> LookupResult:
    if item is None:
        return LookupResult(phone=phone, state=LookupState.FAILED, request_id=request_id)
    code = _item_error(item)
    operator = to_str(item.get("operator"))
    if code is not None:
        failed = classify(code, None).error is InvalidRecipientError
        state = LookupState.UNREACHABLE if failed else LookupState.FAILED
    else:
        # [guess] no operator in the register's answer: the number is not served.
        state = LookupState.REACHABLE if operator else LookupState.UNREACHABLE
    return LookupResult(
        phone=phone,
        state=state,
        request_id=to_str(item.get("id")) or request_id,
        operator=operator,
        region=to_str(item.get("region")),
        mnc=to_str(item.get("mnc")),
        raw_code=to_str(item.get("status")),
        error_code=code,
    )


def _delivery_status(message_id: str, phone: str, matching: list[dict[str, Any]]) -> DeliveryStatus:
    """The state of one number from the answer's items about it."""
    if not matching:
        return DeliveryStatus(
            message_id=message_id,
            phone=phone,
            state=DeliveryState.UNKNOWN,
            raw_text="not found",
        )
    # Our ids need not be unique on the gateway: the latest message with it counts.
    item = max(
        matching,
        key=lambda r: (
            to_str(r.get("last_timestamp")) or "",
            to_str(r.get("send_timestamp")) or "",
        ),
    )
    stat = (to_str(item.get("stat")) or "").upper()
    state = _STATES.get(stat, DeliveryState.UNKNOWN) if stat else DeliveryState.QUEUED
    err = to_str(item.get("err"))
    updated = _moscow_time(item.get("last_timestamp")) or _moscow_time(item.get("send_timestamp"))
    return DeliveryStatus(
        message_id=message_id,
        phone=phone,
        state=state,
        raw_code=to_str(item.get("status")),
        raw_text=stat or None,
        error_code=None if err in _NO_ERROR else err,
        updated_at=updated,
    )


def _moscow_time(value: Any) -> datetime | None:
    return parse_iso(value, default_tz=MOSCOW)


def _item_error(item: dict[str, Any]) -> str | None:
    """The error code of one number's item, or None when it was taken."""
    for key in ("error", "status"):
        code = to_str(item.get(key))
        value = to_int(code)
        if code is not None and value is not None and value < 0 and code not in _NO_ERROR:
            return code
    return None


def _records(value: Any) -> list[dict[str, Any]]:
    """The non-empty objects of a list (the documented lists end with `{}`)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict) and item]


def _by_phone(value: Any) -> dict[str, dict[str, Any]]:
    by_phone: dict[str, dict[str, Any]] = {}
    for item in _records(value):
        phone = phone_digits(item.get("phone"))
        if phone:
            by_phone.setdefault(phone, item)
    return by_phone
