"""What Devino Telecom and Stream Telecom share: one REST API family.

Both gateways sign in once for a session id and pass it with every call, answer errors as
`{"Code": N, "Desc": "text"}` with HTTP 400/401/403/500, dates as `/Date(ms)/`, and one
message id per SMS segment: all segments of the first number, then the next. This module
holds that once, every request built from a table of names (`RestApiForms`); `devino.py`
and `stream.py` keep only their table, their states and what one of them alone has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
import logging
import re
import time
from typing import Any, ClassVar

import aiohttp

from .base import DEFAULT_TIMEOUT, SmsGateway, segments_of
from .errors import (
    AuthenticationError,
    ErrorCode,
    ErrorTable,
    GatewayResponseError,
    InsufficientFundsError,
    InvalidRecipientError,
    InvalidRequestError,
    InvalidSenderError,
    MessageRejectedError,
    RateLimitedError,
    SmsGatewayError,
    error_for,
)
from .evidence import Evidence, LostSend
from .http import HttpAnswer, unreadable
from .models import (
    Balance,
    Credentials,
    DeliveryState,
    DeliveryStatus,
    IncomingMessage,
    MessageRef,
    RecipientResult,
    SendOptions,
    SendResult,
    Statistics,
)
from .parsing import (
    MOSCOW,
    format_local,
    loads_lenient,
    parse_id_list,
    parse_ms_date,
    to_decimal,
    to_int,
    to_str,
)

_LOGGER = logging.getLogger(__name__)

type Form = list[tuple[str, str]]
"""Form fields in order; a key may repeat (Devino's `DestinationAddresses`)."""

SESSION_RENEW_AFTER = 110 * 60.0
"""Seconds a session is used before a new one is fetched (Devino's live 120 minutes)."""
FLOOD_RETRY_AFTER = 60.0
"""Seconds to wait after Stream's flood error (code 10): "wait a minute"."""
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"

_SENDER_WORDS = re.compile(r"source|sender|originator|отправител", re.IGNORECASE)
_RECIPIENT_WORDS = re.compile(r"destination|address|phone|номер|адрес|получател", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"[\w.+\-]+")
_ONE_WORD_ERRORS = frozenset({"unauthorized", "forbidden", "error", "flood"})
_TEXT_CODES: tuple[tuple[re.Pattern[str], int], ...] = (
    # Stream's plain-text errors ("SessionID expired", "Bad Request", ...) read as codes.
    (re.compile(r"session", re.IGNORECASE), 3),
    (re.compile(r"login|password|unauthori", re.IGNORECASE), 4),
    (re.compile(r"flood|more than \d+ .*at once|too many", re.IGNORECASE), 10),
    (re.compile(r"credit|money|balance|баланс", re.IGNORECASE), 5),
    (re.compile(r"originator|source|sender", re.IGNORECASE), 6),
    (re.compile(r"phone|destination", re.IGNORECASE), 2),
    (re.compile(r"forbidden|spam", re.IGNORECASE), 7),
)


class SessionRejectedError(AuthenticationError):
    """The gateway refused the session id (expired or unknown): log in again once."""


ERRORS: ErrorTable = {
    1: ErrorCode(InvalidRequestError, "A required parameter is missing"),
    2: ErrorCode(InvalidRequestError, "A parameter is invalid"),
    3: ErrorCode(SessionRejectedError, "The session is not valid"),
    4: ErrorCode(SessionRejectedError, "Unauthorised"),
    5: ErrorCode(InsufficientFundsError, "Not enough credits"),
    6: ErrorCode(InvalidRequestError, "Invalid operation"),
    7: ErrorCode(MessageRejectedError, "Forbidden"),
    # An explicit error answer: nothing was accepted, so one retry is safe.
    8: ErrorCode(GatewayResponseError, "Gateway error"),
    9: ErrorCode(GatewayResponseError, "Internal server error"),
    10: ErrorCode(RateLimitedError, "Too many messages (flood)", retry_after=FLOOD_RETRY_AFTER),
}
"""The family's error codes, as documented (Stream's table; Devino's has 1..9)."""


def code_error(
    code: int | None,
    desc: str | None,
    status: int,
    *,
    phones: Sequence[str] = (),
) -> SmsGatewayError:
    """The error for a `{"Code": code, "Desc": desc}` answer (or a bare HTTP status).

    `phones` are the numbers of the request, named by `InvalidRecipientError`; a bulk
    send is refused whole when one number is bad, so all are named unless `desc` says which.
    """
    text = desc or None
    if code is None:
        if status == 401:
            return SessionRejectedError("The gateway refused the session", text=text)
        if status >= 500:
            return GatewayResponseError(
                f"The gateway failed (HTTP {status})", code=status, text=text
            )
        return InvalidRequestError(f"The gateway refused the request (HTTP {status})", text=text)
    entry = ERRORS.get(code)
    message = f"The gateway refused the request: {entry.meaning}" if entry else None
    # A parameter error that names the sender or the numbers is about them.
    if code in (1, 2, 6) and text and _SENDER_WORDS.search(text):
        entry = ErrorCode(InvalidSenderError, "Bad sender name")
    elif code in (1, 2) and text and _RECIPIENT_WORDS.search(text):
        entry = ErrorCode(InvalidRecipientError, "Bad recipient numbers")
        phones = tuple(p for p in phones if p in text) or phones
    entry = entry or ErrorCode(InvalidRequestError, "The gateway refused the request")
    return error_for(entry, code=code, text=text, phones=tuple(phones), message=message)


def text_error(text: str, status: int, *, phones: Sequence[str] = ()) -> SmsGatewayError:
    """The error for a plain-text answer such as Stream's `"SessionID expired"`."""
    for pattern, code in _TEXT_CODES:
        if pattern.search(text):
            return code_error(code, text, status, phones=phones)
    if status >= 500:
        return GatewayResponseError(f"The gateway failed (HTTP {status})", code=status, text=text)
    return InvalidRequestError("The gateway refused the request", text=text)


def field(data: Mapping[str, Any], name: str) -> Any:
    """A field of an answer, whatever the case of its name (`State`, `state`)."""
    if name in data:
        return data[name]
    lowered = name.lower()
    for key, value in data.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _is_error_text(value: str) -> bool:
    """Whether a string answer is an error text rather than an id (ids have no spaces)."""
    stripped = value.strip()
    return bool(re.search(r"\s", stripped)) or stripped.lower() in _ONE_WORD_ERRORS


def _is_bare_text(body: str) -> bool:
    """Whether a body that is not JSON is an error text (not HTML, not a broken id list)."""
    return bool(body) and len(body) < 300 and body[0] not in '<[{"“' and _is_error_text(body)


_NOT_JSON = object()


def check_answer(answer: HttpAnswer, *, may_deliver: bool, phones: Sequence[str] = ()) -> Any:
    """Raise the error an answer carries; else return its JSON (`None` when it has none).

    Error objects come with HTTP 400/401/403/500 (and sometimes 200); Stream also answers
    bare texts. An HTML page or an empty body is `unreadable`.
    """
    try:
        data: Any = loads_lenient(answer.text)
    except ValueError:
        data = _NOT_JSON
    error = _error_in(answer, data, phones)
    if error is not None:
        raise error
    if 200 <= answer.status < 300:
        return None if data is _NOT_JSON else data
    raise unreadable(answer, may_deliver=may_deliver)


def _error_in(answer: HttpAnswer, data: Any, phones: Sequence[str]) -> SmsGatewayError | None:
    """The gateway's error in an answer, or None when it carries none that can be read."""
    if isinstance(data, dict) and field(data, "Code") is not None:
        return code_error(
            to_int(field(data, "Code")),
            to_str(field(data, "Desc")) or to_str(field(data, "Message")),
            answer.status,
            phones=phones,
        )
    if isinstance(data, str) and _is_error_text(data):
        return text_error(data, answer.status, phones=phones)
    body = answer.text.strip()
    # In a 2xx only a known error text: anything else may still be a list of ids.
    if (
        data is _NOT_JSON
        and _is_bare_text(body)
        and answer.status < 500
        and (answer.status >= 300 or any(p.search(body) for p, _ in _TEXT_CODES))
    ):
        return text_error(body, answer.status, phones=phones)
    if 200 <= answer.status < 300:
        return None
    if answer.status == 401:
        return code_error(None, None, 401)
    if answer.status >= 500 or data is _NOT_JSON:
        return None  # an HTML page, an empty body, a bare 5xx: unreadable
    return code_error(None, None, answer.status)


def read_ids(answer: HttpAnswer, *, phones: Sequence[str] = ()) -> list[str]:
    """The message ids a send answers (an error answer raises; so does a garbled list)."""
    check_answer(answer, may_deliver=True, phones=phones)
    try:
        ids = parse_id_list(answer.text)
    except ValueError:
        ids = []
    if not ids or not all(_MESSAGE_ID.fullmatch(i) for i in ids):
        raise unreadable(answer, may_deliver=True)
    return ids


def assign_ids(phones: Sequence[str], ids: Sequence[str], segments: int) -> list[tuple[str, ...]]:
    """Give each number its run of per-segment ids (the gateway lists them in order).

    The count of ids should be `segments` per number. When it is not, group by the number
    the ids embed (`SAR-GW01+79160000000-5f3b1972-2-1`), else split evenly, else give each
    number its expected run and the excess to the last one. Never fails.
    """
    count = len(phones)
    if count == 0:
        return []
    if count == 1:
        return [tuple(ids)]
    if len(ids) == count * segments:
        return [tuple(ids[i * segments : (i + 1) * segments]) for i in range(count)]
    embedded = _group_by_embedded_number(phones, ids)
    if embedded is not None:
        return embedded
    if ids and len(ids) % count == 0:
        per = len(ids) // count
        return [tuple(ids[i * per : (i + 1) * per]) for i in range(count)]
    _LOGGER.debug(
        "%d ids for %d numbers of %d segments: assigning in order", len(ids), count, segments
    )
    runs = [tuple(ids[i * segments : (i + 1) * segments]) for i in range(count)]
    runs[-1] = runs[-1] + tuple(ids[count * segments :])
    return runs


def _group_by_embedded_number(
    phones: Sequence[str], ids: Sequence[str]
) -> list[tuple[str, ...]] | None:
    patterns = [re.compile(rf"(?<!\d){re.escape(phone)}(?!\d)") for phone in phones]
    groups: list[list[str]] = [[] for _ in phones]
    for message_id in ids:
        owners = [i for i, pattern in enumerate(patterns) if pattern.search(message_id)]
        if len(owners) != 1:
            return None
        groups[owners[0]].append(message_id)
    return [tuple(group) for group in groups]


def read_state(
    data: Any, ref: MessageRef, table: Mapping[int, DeliveryState]
) -> DeliveryStatus | None:
    """A `DeliveryStatus` from a state answer, or None when the answer has no state."""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict):
        return None
    raw = field(data, "State")
    code = to_int(raw)
    if code is None:
        return None
    updated = parse_ms_date(field(data, "ReportedDateUtc")) or parse_ms_date(
        field(data, "TimeStampUtc")
    )
    return DeliveryStatus(
        message_id=ref.message_id,
        phone=ref.phone,
        state=table.get(code, DeliveryState.UNKNOWN),
        raw_code=str(code),
        raw_text=to_str(field(data, "StateDescription")),
        updated_at=updated,
        cost=to_decimal(field(data, "Price")),
    )


def read_balance(data: Any) -> Decimal | None:
    """The amount of a balance answer: a bare number (or string), or `{"Balance": n}`."""
    if isinstance(data, dict):
        data = field(data, "Balance")
    return to_decimal(data)


def read_incoming(data: Any) -> list[IncomingMessage]:
    """Incoming messages from an answer list; items that are not messages are skipped."""
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return []
    messages = []
    for item in data:
        if not isinstance(item, dict):
            continue
        messages.append(
            IncomingMessage(
                message_id=to_str(field(item, "ID")) or "",
                phone=to_str(field(item, "SourceAddress")) or "",
                text=str(field(item, "Data") or ""),
                to=to_str(field(item, "DestinationAddress")),
                received_at=parse_ms_date(field(item, "CreatedDateUtc")),
            )
        )
    return messages


def delivery_ratio(data: Mapping[str, Any], delivered: int, sent: int) -> float | None:
    """Percent delivered: the answer's `DeliveryRatio`, else computed when anything was sent."""
    given = to_decimal(field(data, "DeliveryRatio"))
    if given is not None:
        return float(given)
    return round(100.0 * delivered / sent, 2) if sent > 0 else None


def count_of(data: Mapping[str, Any], *names: str) -> int:
    """The sum of integer fields of a statistics answer (missing ones count 0)."""
    return sum(to_int(field(data, name)) or 0 for name in names)


def format_date(moment: datetime, tz: timezone = UTC) -> str:
    """`2013-08-30T19:00:00` in `tz`; a naive datetime is refused."""
    if moment.tzinfo is None:
        raise InvalidRequestError("Dates must carry a time zone")
    return format_local(moment, tz, DATE_FORMAT)


def wall_clock(moment: datetime) -> str:
    """The date and time as written, ignoring its zone (a recipient's local time)."""
    return moment.strftime(DATE_FORMAT)


def validity_minutes(options: SendOptions) -> str | None:
    """The validity in whole minutes (at least one), or None when not set."""
    if options.validity is None:
        return None
    return str(max(1, int(options.validity.total_seconds() // 60)))


@dataclass(frozen=True, slots=True)
class RestApiForms:
    """What sets one gateway of the family apart on the wire: its paths and field names.

    Both gateways send, read states, balances, incoming messages and statistics the same
    way; only these names differ (Stream's `destinationAddress`, Devino's
    `DestinationAddress`, ...). `RestApiGateway` builds every request from them.
    """

    login: str
    balance: str
    state: str
    incoming: str
    statistics: str
    session: str
    """The name the session id travels under (`SessionID`, `sessionId`)."""
    send_one: str
    """The path of a send to one number."""
    send_many: str
    """The path of a send to several numbers at once."""
    send_local_time: str
    """The path of a send at the recipient's local time (one number)."""
    destination: str
    destinations: str
    destinations_joined: bool
    """Several numbers go comma-separated in one field (else the field repeats per number)."""
    data: str
    source: str
    validity: str
    send_date: str
    send_date_tz: timezone
    """The zone a send-at time is written in (a local-time send: its wall clock)."""
    bulk_takes_send_date: bool
    """A send to several numbers may carry a send-at time (else one number a request)."""
    statistics_tz: timezone
    """The zone the statistics period is written in."""
    max_statistics_period: timedelta | None
    failed: tuple[str, ...]
    """The statistics counts of messages that failed (summed)."""
    in_progress: tuple[str, ...]
    """The statistics counts of messages still on their way (summed)."""


class RestApiGateway(SmsGateway):
    """A gateway of the Devino/Stream REST family: a session id signs every call.

    The session is fetched on first use, reused, renewed before it gets old and, when the
    gateway refuses it anyway, fetched again once and the call repeated. Concurrent calls
    share one login.
    """

    forms: ClassVar[RestApiForms]
    state_table: ClassVar[Mapping[int, DeliveryState]]
    session_renew_after: ClassVar[float] = SESSION_RENEW_AFTER

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: Credentials,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Create a client; nothing is requested until the first call."""
        super().__init__(session, credentials, base_url=base_url, timeout=timeout)
        self._session_id: str | None = None
        self._session_started = 0.0
        self._old_session_ids: list[str] = []
        """Earlier session ids, still scrubbed from errors."""
        self._session_lock = asyncio.Lock()
        self._clock: Callable[[], float] = time.monotonic
        """Seconds, for the session's age (tests replace it)."""

    # -- sessions ---------------------------------------------------------------------

    def _secrets(self) -> Iterable[str]:
        """The password and every session id this client had."""
        return (*super()._secrets(), self._session_id or "", *self._old_session_ids)

    def _session_is_fresh(self) -> bool:
        return (
            self._session_id is not None
            and self._clock() - self._session_started < self.session_renew_after
        )

    async def _current_session(self) -> str:
        """The session id, logging in when there is none or it is getting old."""
        if self._session_is_fresh():
            return self._session_id or ""
        async with self._session_lock:
            if self._session_is_fresh():
                return self._session_id or ""
            return await self._login()

    async def _renewed_session(self, stale: str) -> str:
        """A session id other than `stale`: another call may have fetched one already."""
        async with self._session_lock:
            if self._session_id is not None and self._session_id != stale:
                return self._session_id
            return await self._login()

    async def _login(self) -> str:
        """Fetch a new session id (callers hold the lock)."""
        login = self._credentials.login
        password = self._credentials.password
        if not login or not password:
            raise AuthenticationError(f"{self.gateway_id} needs a login and a password")
        if self._session_id is not None:
            self._old_session_ids = [self._session_id, *self._old_session_ids][:4]
        self._session_id = None
        form: Form = [("login", login), ("password", password)]

        async def attempt(base: str) -> str:
            answer = await self._submit(self.forms.login, form, base_url=base)
            return _read_session_id(answer)

        _LOGGER.debug("%s: logging in", self.gateway_id)
        # Under the session lock, maybe on a send's way: never a wait here (a read that
        # needs the session waits to try again outside the lock, in `_request`).
        session_id = await self._call(attempt, retry_later=False)
        self._session_id = session_id
        self._session_started = self._clock()
        return session_id

    async def check_credentials(self) -> None:
        """Log in afresh: `AuthenticationError` when the login or password is wrong."""
        async with self._session_lock:
            await self._login()

    # -- requests ---------------------------------------------------------------------

    async def _request[T](
        self,
        path: str,
        form: Form,
        read: Callable[[HttpAnswer], T],
        *,
        may_deliver: bool = False,
    ) -> T:
        """One signed call: `read` parses the answer (inside the retry, so a read retries a 5xx).

        A refused session is renewed once and the call made again; refused twice, it is an
        `AuthenticationError`.
        """

        def attempt_with(session_id: str) -> Callable[[str], Awaitable[T]]:
            signed: Form = [(self.forms.session, session_id), *form]

            async def attempt(base: str) -> T:
                answer = await self._submit(path, signed, may_deliver=may_deliver, base_url=base)
                return read(answer)

            return attempt

        # A read may wait to log in again; a send never does (the login holds no wait).
        session_id = await (
            self._current_session() if may_deliver else self._once_more_later(self._current_session)
        )
        try:
            return await self._call(attempt_with(session_id), may_deliver=may_deliver)
        except SessionRejectedError:
            _LOGGER.debug("%s: session refused, logging in again", self.gateway_id)
        session_id = await self._renewed_session(session_id)
        return await self._call(attempt_with(session_id), may_deliver=may_deliver)

    # -- sending ----------------------------------------------------------------------

    def _chunk_size(self, options: SendOptions) -> int:
        """How many numbers one send takes: one where only the one-number send can say it.

        A send at the recipient's local time has no several-number form; a send-at time
        goes one number a request where the several-number send takes none.
        """
        if options.recipient_local_time or (
            options.send_at is not None and not self.forms.bulk_takes_send_date
        ):
            return 1
        return self.max_recipients_per_request

    def _send_request(self, phones: list[str], text: str, options: SendOptions) -> tuple[str, Form]:
        """The path and form (without the session) that send `text` to `phones`."""
        names = self.forms
        if options.recipient_local_time:
            path = names.send_local_time
            form: Form = [(names.destination, phones[0])]
        elif len(phones) == 1:
            path = names.send_one
            form = [(names.destination, phones[0])]
        else:
            path = names.send_many
            if names.destinations_joined:
                form = [(names.destinations, ",".join(phones))]
            else:
                form = [(names.destinations, phone) for phone in phones]
        form.append((names.data, text))
        if options.sender is not None:
            form.append((names.source, options.sender))
        if (minutes := validity_minutes(options)) is not None:
            form.append((names.validity, minutes))
        if options.send_at is not None:
            when = (
                wall_clock(options.send_at)
                if options.recipient_local_time
                else format_date(options.send_at, names.send_date_tz)
            )
            form.append((names.send_date, when))
        return path, form

    async def _send_chunk(self, phones: list[str], text: str, options: SendOptions) -> SendResult:
        """Send to the numbers; the ids (one per segment) are shared out among them."""
        path, form = self._send_request(phones, text, options)

        def read(answer: HttpAnswer) -> list[str]:
            return read_ids(answer, phones=phones)

        ids = await self._request(path, form, read, may_deliver=True)
        segments = segments_of(text)
        runs = assign_ids(phones, ids, segments)
        return SendResult(
            recipients=tuple(
                RecipientResult(
                    phone=phone,
                    accepted=True,
                    message_ids=run,
                    segments=len(run) or segments,
                )
                for phone, run in zip(phones, runs, strict=True)
            ),
            client_message_id=options.client_message_id,
        )

    # -- delivery state ---------------------------------------------------------------

    async def delivery_status(self, messages: Sequence[MessageRef]) -> list[DeliveryStatus]:
        """One state request per segment id (the gateways take one id per request).

        An id the gateway refuses as invalid comes back `unknown` with its error; any
        other failure is raised.
        """
        return await self._fan_out(
            messages,
            self._state_of,
            lambda ref, err: DeliveryStatus(
                message_id=ref.message_id,
                phone=ref.phone,
                state=DeliveryState.UNKNOWN,
                raw_text=err.text or str(err),
                error_code=err.code,
            ),
            tolerate=InvalidRequestError,
            all_failed_raises=False,
        )

    async def _state_of(self, ref: MessageRef) -> DeliveryStatus:
        def read(answer: HttpAnswer) -> DeliveryStatus:
            status = read_state(check_answer(answer, may_deliver=False), ref, self.state_table)
            if status is None:
                raise unreadable(answer, may_deliver=False)
            return status

        return await self._request(self.forms.state, [("messageId", ref.message_id)], read)

    # -- account ----------------------------------------------------------------------

    async def balance(self) -> Balance:
        """The account balance (a bare number in the answer; currency not given)."""

        def read(answer: HttpAnswer) -> Balance:
            amount = read_balance(check_answer(answer, may_deliver=False))
            if amount is None:
                raise unreadable(answer, may_deliver=False)
            return Balance(amount=amount)

        return await self._request(self.forms.balance, [], read)

    async def incoming(self, start: datetime, end: datetime) -> list[IncomingMessage]:
        """Messages subscribers sent between `start` and `end` (UTC on the wire)."""
        form: Form = [("minDateUTC", format_date(start)), ("maxDateUTC", format_date(end))]

        def read(answer: HttpAnswer) -> list[IncomingMessage]:
            return read_incoming(check_answer(answer, may_deliver=False))

        return await self._request(self.forms.incoming, form, read)

    async def statistics(self, start: datetime, end: datetime) -> Statistics:
        """Delivery statistics of the messages sent between `start` and `end`."""
        if end < start:
            raise InvalidRequestError("The period ends before it starts")
        limit = self.forms.max_statistics_period
        if limit is not None and end - start > limit:
            raise InvalidRequestError(
                f"{self.gateway_id} reports statistics for {limit.days} days at most"
            )
        tz = self.forms.statistics_tz
        return await self._statistics_between(format_date(start, tz), format_date(end, tz))

    async def _statistics_between(self, start: str, end: str) -> Statistics:
        """The statistics of a period written as the gateway reads it."""
        form: Form = [("startDateTime", start), ("endDateTime", end)]

        def read(answer: HttpAnswer) -> Statistics:
            data = check_answer(answer, may_deliver=False)
            if not isinstance(data, dict):
                raise unreadable(answer, may_deliver=False)
            return read_statistics(data, self.forms)

        return await self._request(self.forms.statistics, form, read)

    def _evidence_window(self, lost: LostSend) -> tuple[str, str]:
        """The period of a lost send's evidence, written to hold whatever the gateway's zone.

        The documents give some dates in UTC and others in Moscow time, and none for the
        statistics: the start is written as UTC (read as Moscow time it starts earlier),
        the end as Moscow time (read as UTC it ends later), so that either reading holds
        the whole period and no message of it is missed.
        """
        start, end = self._evidence_period(lost)
        return format_date(start, UTC), format_date(end, MOSCOW)

    async def _evidence_from_count(self, lost: LostSend) -> dict[str, Evidence]:
        """The statistics since the request: nothing counted proves nothing was taken.

        Any count leaves every number undecided: other sends of the account are counted
        alike. An answer whose `Sent` cannot be read tells nothing either.
        """
        statistics = await self._statistics_between(*self._evidence_window(lost))
        none = nothing_counted(statistics.raw)
        return dict.fromkeys(lost.phones, Evidence.NOT_TAKEN if none else Evidence.NO_EVIDENCE)


def nothing_counted(data: Mapping[str, Any]) -> bool:
    """Whether a statistics answer counts no message at all.

    `Sent` must read 0, and so must every other number in it (numbers written as text
    too): a ratio or a count of any kind above zero means something was counted.
    """
    if to_int(field(data, "Sent")) != 0:
        return False
    return all(to_decimal(value) in (None, 0) for value in data.values())


def read_statistics(data: Mapping[str, Any], forms: RestApiForms) -> Statistics:
    """Statistics from a gateway's answer, read by its own field names (`forms`).

    Both gateways name `Sent`, `Delivered` and `Expired` alike; the failed and the ones
    on their way go by names of their own.
    """
    sent = count_of(data, "Sent")
    delivered = count_of(data, "Delivered")
    return Statistics(
        sent=sent,
        delivered=delivered,
        failed=count_of(data, *forms.failed),
        in_progress=count_of(data, *forms.in_progress),
        expired=count_of(data, "Expired"),
        delivery_ratio=delivery_ratio(data, delivered, sent),
        raw=dict(data),
    )


def _read_session_id(answer: HttpAnswer) -> str:
    """The session id of a login answer: a quoted string (an unquoted one is taken too)."""
    try:
        data = check_answer(answer, may_deliver=False)
    except SessionRejectedError as err:
        # At login, a refused session or login means the credentials are wrong.
        raise AuthenticationError(
            "The gateway refused the login or password", code=err.code, text=err.text
        ) from None
    if data is None:
        data = answer.text.strip().strip("\"'")
    if isinstance(data, int) and not isinstance(data, bool):
        data = str(data)
    if isinstance(data, str) and data.strip() and not data.lstrip().startswith("<"):
        return data.strip()
    raise unreadable(answer, may_deliver=False)
