"""An emulated Stream Telecom REST API (`https://gateway.api.sc/rest/`).

Parameter names are case-sensitive (PHP). Every resource takes the methods the document
shows it with and no other (405): the session, the balance and the state by GET at
`Session/`, `Balance/`, `State/` and by POST at their `.php` names (3.1.1, 3.2.1, 3.3.5);
the sends by POST (3.3.1 to 3.3.4); incoming messages and statistics by GET only (3.3.6.1,
3.3.7); the detailed statistics report (`Statistic/all_stat.php`, 3.3.8) by either. HLR
(not in the document): `Send/SendHLR/` by POST, `State/HLR/` by GET, its one known form.
An optional field sent empty (`validity=`) is as good as one left out; besides a session
id, a call may carry `login` and `pass` [sdk]. Sessions do not expire unless
`session_lifetime` is set (the lifetime is undocumented); `expired_answer` picks the
answer to a refused session, `ExpiredAnswer.TEXT` being Stream's bare `"SessionID expired"`.
HLR lookups answer `-1` (checking) for 10 virtual seconds, then per `hlr_reachable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
import json

from aiohttp import web

from tests.emulators.base import json_response
from tests.emulators.restapi import (
    MOSCOW,
    GatewayError,
    IdShape,
    Params,
    RestApiEmulator,
    SentSegment,
    ms_date,
)

GET = ("GET",)
POST = ("POST",)
REPORT_READY_AFTER = 10.0
"""Seconds before a detailed statistics report can be fetched [guess]."""


@dataclass
class HlrRequest:
    """One HLR lookup the emulator took."""

    request_id: str
    phone: str
    created: float


class StreamEmulator(RestApiEmulator):
    """Stream's REST API: Session, Send (Sms, Bulk, ByTime, HLR), State, Balance, Incoming, Statistic."""

    session_param = "sessionId"
    rate_limit_answer = (10, "Flood SMS", 400)
    queued_state = -1
    failed_state = 42

    def __init__(self) -> None:
        """As the family's emulator, with HLR lookups."""
        super().__init__()
        self.session_lifetime = None
        self.hlr: dict[str, HlrRequest] = {}
        self.hlr_unreachable: set[str] = set()
        self.ported: set[str] = set()
        self.hlr_price = Decimal("0.20")
        self.reports: dict[str, tuple[float, list[SentSegment]]] = {}

    def setup_routes(self) -> None:
        """The documented resources, each by the methods the document shows."""
        self.route("Session/", self.login, GET, login=True)
        self.route("Session/session.php", self.login, POST, login=True)
        self.route("Balance/", self.get_balance, GET)
        self.route("Balance/balance.php", self.get_balance, POST)
        self.route("State/", self.state, GET)
        self.route("State/state.php", self.state, POST)
        self.route("Send/SendSms/", self.send, POST)
        self.route("Send/SendByTime/", self.send_by_time, POST)
        self.route("Send/SendBulk/", self.send_bulk, POST)
        self.route("Send/SendBulkPacket/", self.send_bulk_packet, POST)
        self.route("Incoming/", self.get_incoming, GET)
        self.route("Statistic/", self.statistics, GET)
        self.route("Statistic/all_stat.php", self.detailed_statistics, ("GET", "POST"))
        self.route("Send/SendHLR/", self.send_hlr, POST)
        self.route("State/HLR/", self.hlr_state, GET)

    def signs_in_directly(self, params: Params) -> bool:
        """`login` and `pass` instead of a session id [sdk]."""
        login, password = params.get("login"), params.get("pass")
        return login is not None and self.accounts.get(login) == password

    def document_ids(self, groups: list[list[str]]) -> str:
        """`[{"371329058"}, {"371329059"}]`: the SendBulk example."""
        return "[" + ", ".join("{" + f'"{i}"' + "}" for g in groups for i in g) + "]"

    async def send(self, request: web.Request, params: Params) -> web.Response:
        """One number, `sendDate` in UTC."""
        phone = params.require("destinationAddress")
        return self.ids_response(self.accept(params, [phone], names=_NAMES, send_date_tz=UTC))

    async def send_by_time(self, request: web.Request, params: Params) -> web.Response:
        """One number, `sendDate` (required) in the recipient's local time: taken as UTC+3."""
        phone = params.require("destinationAddress")
        params.require("sendDate")
        groups = self.accept(params, [phone], names=_NAMES, send_date_tz=MOSCOW)
        if self.id_shape is IdShape.DOCUMENT:
            # The document writes this answer with typographic quotes.
            return web.Response(text=f"[“{groups[0][0]}”]", content_type="application/json")
        return self.ids_response(groups)

    async def send_bulk(self, request: web.Request, params: Params) -> web.Response:
        """`destinationAddresses` comma-separated; no `sendDate` (not documented here)."""
        field = params.require("destinationAddresses")
        phones = [p.strip() for p in field.split(",") if p.strip()]
        return self.ids_response(self.accept(params, phones, names=_NAMES, send_date_tz=None))

    async def send_bulk_packet(self, request: web.Request, params: Params) -> web.Response:
        """`phone_data={"sms": [{"phone": .., "text": ..}, ..]}`: a text per number."""
        try:
            packet = json.loads(params.require("phone_data"))
            messages = [(str(m["phone"]), str(m["text"])) for m in packet["sms"]]
        except ValueError, KeyError, TypeError:
            raise GatewayError(2, "Invalid argument phone_data") from None
        groups = []
        for phone, text in messages:
            one = Params(
                [("data", text), *((k, v) for k, v in params.pairs if k != "phone_data")],
                case_insensitive=False,
            )
            groups += self.accept(one, [phone], names=_NAMES, send_date_tz=None)
        return self.ids_response(groups)

    async def detailed_statistics(self, request: web.Request, params: Params) -> web.Response:
        """3.3.8: a report is asked for (its id answered), then fetched by `id_report`."""
        report_id = params.get("id_report")
        if report_id is None:
            if (
                sum(1 for at, _ in self.reports.values() if self.now() - at < REPORT_READY_AFTER)
                >= 2
            ):
                return json_response(
                    "More than 2 reports at once are not allowed, make request later", 400
                )
            # The GET example names the period as 3.3.7 does, the POST one otherwise.
            start = params.get("startTime") or params.require("startDateTime")
            end = params.get("endTime") or params.require("endDateTime")
            found = [
                s
                for s in self.segments.values()
                if self.parse_date(start, "startTime", UTC).timestamp()
                <= s.created
                <= self.parse_date(end, "endTime", UTC).timestamp()
                and params.get("phone") in (None, "", s.phone)
            ]
            report_id = str(12124 + len(self.reports))
            self.reports[report_id] = (self.now(), found)
            return json_response(int(report_id))
        report = self.reports.get(report_id)
        if report is None:
            return json_response("Id report not found", 400)
        if self.now() - report[0] < REPORT_READY_AFTER:
            return json_response("Report is not ready yet", 400)
        lines = ["id;phone;sender;state"] + [
            f"{s.message_id};{s.phone};{s.sender};{self.state_code(s)[0]}" for s in report[1]
        ]
        return web.Response(text="\n".join(lines), content_type="text/csv")

    async def state(self, request: web.Request, params: Params) -> web.Response:
        """`{"State", "ReportedDateUtc", "StateDescription", "Price"}`."""
        segment = self.segment_for(params)
        code, since = self.state_code(segment)
        answer = {
            "State": code,
            "ReportedDateUtc": ms_date(since),
            "StateDescription": self.descriptions.get(code, "Unknown"),
            "Price": float(segment.price),
        }
        if self.id_shape is IdShape.DOCUMENT and since is not None:
            # `"\Date(ms)\"` as the document writes it: not JSON.
            text = json.dumps(answer).replace(
                f'"{ms_date(since)}"', f'"\\Date({int(since * 1000)})\\"'
            )
            return web.Response(text=text, content_type="application/json")
        return json_response(answer)

    async def statistics(self, request: web.Request, params: Params) -> web.Response:
        """Counts per segment over the period (UTC)."""
        found = self.period(params, UTC)
        codes = [self.state_code(s)[0] for s in found]
        delivered = codes.count(0)
        return json_response(
            {
                "Sent": len(codes),
                "Delivered": delivered,
                "NotDelivered": codes.count(42),
                "InProgress": codes.count(-1),
                "Expired": codes.count(46),
                "DeliveryRatio": round(100 * delivered / len(codes)) if codes else 0,
            }
        )

    async def send_hlr(self, request: web.Request, params: Params) -> web.Response:
        """Start a lookup: `["id"]`."""
        phone = params.require("destinationAddress").lstrip("+")
        if not phone.isdigit() or phone in self.invalid_numbers:
            raise GatewayError(2, f"Invalid destination address {phone}")
        if self.hlr_price > self.balance:
            raise GatewayError(5, "Not enough credits", 403)
        self.balance -= self.hlr_price
        request_id = str(next(self._ids))
        self.hlr[request_id] = HlrRequest(request_id, phone, self.now())
        return json_response([request_id])

    async def hlr_state(self, request: web.Request, params: Params) -> web.Response:
        """`State` -1 checking, 0 reachable, 42 unreachable; `IMSI`, `MSC`, `Port`, `Error`."""
        found = self.hlr.get(params.require("messageId"))
        if found is None:
            raise GatewayError(2, "Invalid argument messageId")
        if self.now() - found.created < 10:
            return json_response({"State": -1, "IMSI": None, "MSC": None, "Port": 0, "Error": 0})
        if found.phone in self.hlr_unreachable:
            return json_response({"State": 42, "IMSI": None, "MSC": None, "Port": 0, "Error": 1})
        return json_response(
            {
                "State": 0,
                "IMSI": "25001" + found.phone[-10:],
                "MSC": "79160009999",
                "Port": 1 if found.phone in self.ported else 0,
                "Error": 0,
            }
        )


_NAMES = ("data", "sourceAddress", "validity", "sendDate")
