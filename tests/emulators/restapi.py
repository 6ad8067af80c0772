"""What the emulated Devino and Stream gateways share: the REST API family.

Sessions from a login (expiring after a virtual lifetime), `{"Code": N, "Desc": "text"}`
errors with HTTP 400/401/403/500, `/Date(ms)/` dates, one message id per segment, states
that move on with the virtual clock, incoming messages and statistics. Subclasses give
the paths, parameter names, id formats and state codes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
import itertools
import json
import re
import secrets
from typing import ClassVar

from aiohttp import web

from tests.emulators.base import EmulatedGateway, Fault, gateway_segments, json_response

MOSCOW = timezone(timedelta(hours=3))
MAX_DATA = 2000
_NUMBER = re.compile(r"\+?\d{10,15}")


class ExpiredAnswer(StrEnum):
    """How the gateway answers a call with an expired or unknown session id."""

    CODE_4 = "code4"
    """HTTP 401 `{"Code": 4, "Desc": "SessionID expired"}`, as the Devino document shows."""
    CODE_3 = "code3"
    """HTTP 400 `{"Code": 3, "Desc": "Invalid session id"}`, as Devino's C# client expects."""
    TEXT = "text"
    """HTTP 400 with the bare text `"SessionID expired"` (Stream's error texts)."""


class IdShape(StrEnum):
    """How a list of message ids is written."""

    JSON = "json"
    DOCUMENT = "document"
    """The broken shapes the documents show."""


class Outcome(StrEnum):
    """How a message to a number ends."""

    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"


def ms_date(moment: float | None) -> str | None:
    """`/Date(ms)/` for a unix time."""
    return None if moment is None else f"/Date({int(moment * 1000)})/"


@dataclass
class SentSegment:
    """One segment of a message the emulator accepted (the gateways id each segment)."""

    message_id: str
    phone: str
    text: str
    sender: str
    created: float
    starts: float
    """When sending begins (a send-at time, else `created`)."""
    price: Decimal
    outcome: Outcome


class GatewayError(Exception):
    """An error answer a handler gives."""

    def __init__(self, code: int, desc: str, status: int = 400) -> None:
        super().__init__(desc)
        self.code = code
        self.desc = desc
        self.status = status


class Params:
    """The form of a request, read as the gateway reads it."""

    def __init__(self, pairs: list[tuple[str, str]], *, case_insensitive: bool) -> None:
        self.pairs = pairs
        self._fold = case_insensitive

    def _same(self, key: str, name: str) -> bool:
        return key.lower() == name.lower() if self._fold else key == name

    def get(self, name: str) -> str | None:
        """The first value of `name`, or None."""
        values = self.getall(name)
        return values[0] if values else None

    def getall(self, name: str) -> list[str]:
        """Every value of `name`, in order."""
        return [value for key, value in self.pairs if self._same(key, name)]

    def require(self, name: str) -> str:
        """The value of `name`; Code 1 when it is missing or empty."""
        value = self.get(name)
        if value is None or not value.strip():
            raise GatewayError(1, f"Argument {name} can not be null or empty")
        return value


type Route = Callable[[web.Request, Params], Awaitable[web.Response]]


class RestApiEmulator(EmulatedGateway):
    """Base of the emulated Devino and Stream gateways."""

    prefix = "/rest/"
    case_insensitive = False
    """Whether parameter names are read in any case (ASP.NET does, PHP does not)."""
    session_param = "sessionId"
    rate_limit_answer: tuple[int, str, int] = (10, "Flood SMS", 400)
    queued_state = -1
    failed_state = 42
    send_date_tz: timezone = UTC
    descriptions: ClassVar[dict[int, str]] = {
        -2: "Queued",
        -1: "Sent",
        0: "Delivered",
        42: "NotDelivered",
        46: "Expired",
        255: "Unknown",
    }

    def __init__(self) -> None:
        """An account `user` / `secret-pass` with the sender `ALERTS` and 100.00 on it."""
        self.accounts = {"user": "secret-pass"}
        self.senders = {"ALERTS"}
        self.balance = Decimal("100.00")
        self.price = Decimal("1.50")
        """Per segment."""
        self.sessions: dict[str, float] = {}
        self.session_lifetime: float | None = 120 * 60
        self.expired_answer = ExpiredAnswer.CODE_4
        self.quote_session = True
        self.id_shape = IdShape.JSON
        self.segments: dict[str, SentSegment] = {}
        self.outcomes: dict[str, Outcome] = {}
        """How messages to a number end (delivered when not set)."""
        self.invalid_numbers: set[str] = set()
        """Numbers the gateway judges invalid although they look right."""
        self.inbox: list[dict[str, object]] = []
        self.logins = 0
        self._ids = itertools.count(371324579)
        super().__init__()

    async def start(self, path: str = "/") -> str:
        """Listen; the base URL ends with the API prefix (`/rest/`)."""
        return await super().start(self.prefix)

    # -- routing ----------------------------------------------------------------------

    def route(
        self, path: str, handler: Route, methods: tuple[str, ...], *, login: bool = False
    ) -> None:
        """Serve `handler` at `path` by `methods`, checking the session unless `login`."""

        async def serve(request: web.Request) -> web.Response:
            params = Params(request["multi"], case_insensitive=self.case_insensitive)
            try:
                if not login and (refusal := self.check_session(request, params)):
                    return refusal
                return await handler(request, params)
            except GatewayError as err:
                return self.error(err)

        self.serve(self.prefix + path, serve, methods)

    def error(self, err: GatewayError) -> web.Response:
        """The family's error object."""
        return json_response({"Code": err.code, "Desc": err.desc}, err.status)

    def expired(self) -> web.Response:
        """The configured answer to an expired or unknown session."""
        if self.expired_answer is ExpiredAnswer.CODE_3:
            return self.error(GatewayError(3, "Invalid session id", 400))
        if self.expired_answer is ExpiredAnswer.TEXT:
            return json_response("SessionID expired", 400)
        return self.error(GatewayError(4, "SessionID expired", 401))

    def check_session(self, request: web.Request, params: Params) -> web.Response | None:
        """Refuse a missing, unknown or expired session, and answer injected faults."""
        fault = self.take_fault(request.path)
        session_id, expired = None, False
        if not self.signs_in_directly(params):
            session_id = params.require(self.session_param)
            started = self.sessions.get(session_id)
            expired = started is None or (
                self.session_lifetime is not None and self.now() - started > self.session_lifetime
            )
        if fault is Fault.EXPIRED_SESSION or expired:
            if session_id is not None:
                self.sessions.pop(session_id, None)
            return self.expired()
        if fault is Fault.NO_MONEY:
            raise GatewayError(5, "Not enough credits", 403)
        if fault is Fault.RATE_LIMIT:
            raise GatewayError(*self.rate_limit_answer)
        return None

    def signs_in_directly(self, params: Params) -> bool:
        """Whether a call carries a login and password instead of a session (not here)."""
        return False

    # -- handlers shared by both ------------------------------------------------------

    async def login(self, request: web.Request, params: Params) -> web.Response:
        """Check the login and password; answer a new session id as a quoted string."""
        login = params.require("login")
        password = params.require("password")
        if self.accounts.get(login) != password:
            raise GatewayError(4, "Invalid user login or password", 401)
        self.logins += 1
        session_id = secrets.token_hex(18).upper()
        self.sessions[session_id] = self.now()
        if self.quote_session:
            return json_response(session_id)
        return web.Response(text=session_id, content_type="application/json")

    async def get_balance(self, request: web.Request, params: Params) -> web.Response:
        """The balance as a bare number."""
        return web.Response(text=str(self.balance), content_type="application/json")

    def accept(
        self,
        params: Params,
        phones: list[str],
        *,
        names: tuple[str, str, str, str],
        send_date_tz: timezone | None,
    ) -> list[list[str]]:
        """Check a send as the gateway does and accept it: the ids, per number.

        `names` are the gateway's (data, source, validity, send date) parameter names.
        """
        data_name, source_name, validity_name, date_name = names
        text = params.require(data_name)
        sender = params.require(source_name)
        # An optional field sent empty (`validity=`) is as good as one left out.
        validity = params.get(validity_name) or None
        if validity is not None and not validity.strip().isdigit():
            raise GatewayError(2, f"Invalid argument {validity_name}")
        send_date = (params.get(date_name) or None) if send_date_tz is not None else None
        starts = self.now()
        if send_date is not None and send_date_tz is not None:
            starts = self.parse_date(send_date, date_name, send_date_tz).timestamp()
        # The documents say nothing of pairs at a part's end: cut, as a plain count does.
        segments = gateway_segments(text, cut_pairs=True)
        cost = self.price * segments * len(phones)
        if cost > self.balance:
            raise GatewayError(5, "Not enough credits", 403)
        for phone in phones:
            if not _NUMBER.fullmatch(phone) or phone.lstrip("+") in self.invalid_numbers:
                raise GatewayError(2, f"Invalid destination address {phone}")
        if sender not in self.senders:
            raise GatewayError(6, "Invalid source address")
        if len(text) > MAX_DATA:
            raise GatewayError(2, f"Invalid argument {data_name}: longer than {MAX_DATA}")
        self.balance -= cost
        groups = []
        for phone in phones:
            number = phone.lstrip("+")
            ids = self.make_ids(number, segments)
            for message_id in ids:
                self.segments[message_id] = SentSegment(
                    message_id=message_id,
                    phone=number,
                    text=text,
                    sender=sender,
                    created=self.now(),
                    starts=max(starts, self.now()),
                    price=self.price,
                    outcome=self.outcomes.get(number, Outcome.DELIVERED),
                )
            groups.append(ids)
        return groups

    def make_ids(self, phone: str, segments: int) -> list[str]:
        """Ids of a message's segments."""
        return [str(next(self._ids)) for _ in range(segments)]

    def ids_response(self, groups: list[list[str]]) -> web.Response:
        """The answer to a send: every id in one list (or the documents' broken shape)."""
        ids = [message_id for group in groups for message_id in group]
        if self.id_shape is IdShape.DOCUMENT:
            return web.Response(text=self.document_ids(groups), content_type="application/json")
        return json_response(ids)

    def document_ids(self, groups: list[list[str]]) -> str:
        """The broken list the document shows."""
        return json.dumps([i for g in groups for i in g])

    def parse_date(self, value: str, name: str, tz: timezone) -> datetime:
        """`2013-08-30T19:00:00` in `tz`; Code 2 when it is not a date."""
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=tz)
        except ValueError:
            raise GatewayError(2, f"Invalid argument {name}") from None

    def state_code(self, segment: SentSegment) -> tuple[int, float | None]:
        """The segment's state now, and when it was reached."""
        now = self.now()
        if now - segment.created > 48 * 3600:
            return 255, None
        if now < segment.starts + 5:
            return self.queued_state, None
        if now < segment.starts + 60:
            return -1, segment.starts + 5
        final = {
            Outcome.DELIVERED: 0,
            Outcome.FAILED: self.failed_state,
            Outcome.EXPIRED: 46,
        }[segment.outcome]
        return final, segment.starts + 60

    def segment_for(self, params: Params) -> SentSegment:
        """The segment a state request names; Code 2 for an unknown id."""
        message_id = params.require("messageId")
        segment = self.segments.get(message_id)
        if segment is None or not self.recorded(segment.created):
            raise GatewayError(2, "Invalid argument messageId")
        return segment

    def add_incoming(self, phone: str, text: str, to: str = "2420") -> None:
        """A subscriber sends `text` to the account now."""
        self.inbox.append(
            {
                "Data": text,
                "SourceAddress": phone,
                "DestinationAddress": to,
                "ID": 5126 + len(self.inbox),
                "CreatedDateUtc": self.now(),
            }
        )

    async def get_incoming(self, request: web.Request, params: Params) -> web.Response:
        """Incoming messages between `minDateUTC` and `maxDateUTC`."""
        start = self.parse_date(params.require("minDateUTC"), "minDateUTC", UTC).timestamp()
        end = self.parse_date(params.require("maxDateUTC"), "maxDateUTC", UTC).timestamp()
        found = [
            {**item, "CreatedDateUtc": ms_date(float(str(item["CreatedDateUtc"])))}
            for item in self.inbox
            if start <= float(str(item["CreatedDateUtc"])) <= end
        ]
        return json_response(found)

    def period(self, params: Params, tz: timezone) -> list[SentSegment]:
        """The segments created in the statistics period."""
        start = self.parse_date(params.require("startDateTime"), "startDateTime", tz)
        end = self.parse_date(params.require("endDateTime"), "endDateTime", tz)
        if end < start:
            raise GatewayError(2, "Invalid argument endDateTime")
        self.check_period(end - start)
        return [
            s
            for s in self.segments.values()
            if self.recorded(s.created) and start.timestamp() <= s.created <= end.timestamp()
        ]

    def check_period(self, length: timedelta) -> None:
        """Refuse a statistics period the gateway does not serve."""
