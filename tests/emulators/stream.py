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

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
import io
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
REPORT_STATES = {"deliver": (0,), "not_deliver": (42,), "expired": (46,), "sent": (-1,)}
"""3.3.8's `state` values and the states each selects."""
REPORT_HEADERS = {
    "english": ("id", "phone", "sender", "text", "send_date", "state"),
    "russian": ("ID", "Телефон", "Отправитель", "Текст сообщения", "Дата отправки", "Статус"),
}
"""The report's header line, by `StreamEmulator.report_headers` [guess: undocumented]."""
XLS_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
"""How an XLS file (`type_load=1`) starts; the emulator sends no more of it."""


@dataclass
class Report:
    """A detailed statistics report: when it was asked for, and what it lists."""

    ordered: float
    segments: list[SentSegment]
    xls: bool = False


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
        self.reports: dict[str, Report] = {}
        self.report_ready_after = REPORT_READY_AFTER
        """Seconds (virtual) from asking for a detailed report to its file being ready."""
        self.report_headers = "english"
        """The report's header names (`REPORT_HEADERS`)."""

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
        """3.3.8: a report is asked for (its id answered), then fetched by `id_report`.

        The report lists the messages taken in the period (by `phone` and `state` when
        asked), one line per segment, in the format `type_load` picks (0 CSV, 1 XLS). The
        document gives the requests, their errors and the answer's report id, not the
        file's columns: the CSV here has a header line and `;` between fields [guess],
        its names per `report_headers`.
        """
        report_id = params.get("id_report")
        if report_id is None:
            return self.order_report(params)
        report = self.reports.get(report_id)
        if report is None:
            return json_response("Id report not found", 400)
        if self.now() - report.ordered < self.report_ready_after:
            return json_response("Report is not ready yet", 400)
        if report.xls:
            return web.Response(body=XLS_MAGIC, content_type="application/vnd.ms-excel")
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(REPORT_HEADERS[self.report_headers])
        for s in report.segments:
            sent = datetime.fromtimestamp(s.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
            writer.writerow([s.message_id, s.phone, s.sender, s.text, sent, self.state_code(s)[0]])
        return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8")

    def order_report(self, params: Params) -> web.Response:
        """Start a report of the period (`startTime`/`endTime`, or the GET example's names)."""
        busy = [
            r for r in self.reports.values() if self.now() - r.ordered < self.report_ready_after
        ]
        if len(busy) >= 2:
            return json_response(
                "More than 2 reports at once are not allowed, make request later", 400
            )
        # The GET example names the period as 3.3.7 does, the POST one otherwise.
        start_name = "startTime" if params.get("startTime") is not None else "startDateTime"
        end_name = "endTime" if params.get("endTime") is not None else "endDateTime"
        start, end = params.get(start_name), params.get(end_name)
        if not start:
            return json_response(
                "StartDateTime can not be null or empty\r\nParameter name: startDateTime", 400
            )
        if not end:
            return json_response(
                "EndDateTime can not be null or empty\r\nParameter name: endDateTime", 400
            )
        try:
            since = datetime.strptime(start, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            return json_response("Not correct format startTime", 400)
        try:
            until = datetime.strptime(end, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            return json_response("Not correct format endTime", 400)
        phone = (params.get("phone") or "").lstrip("+")
        if phone and not phone.isdigit():
            return json_response("Phone must be numeric", 400)
        if phone and not 10 <= len(phone) <= 15:
            return json_response("Not correct length phone", 400)
        state = params.get("state") or None
        if state is not None and state not in REPORT_STATES:
            return json_response("Bad Request", 400)
        found = [
            s
            for s in self.segments.values()
            if self.recorded(s.created)
            and since.timestamp() <= s.created <= until.timestamp()
            and phone in ("", s.phone)
            and (state is None or self.state_code(s)[0] in REPORT_STATES[state])
        ]
        report_id = str(12124 + len(self.reports))
        self.reports[report_id] = Report(self.now(), found, xls=params.get("type_load") == "1")
        return json_response(int(report_id))

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
