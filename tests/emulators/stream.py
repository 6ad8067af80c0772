"""An emulated Stream Telecom REST API (`https://gateway.api.sc/rest/`).

Parameter names are case-sensitive (PHP). Paths keep their trailing slash; Session,
Balance and State also answer at their `.php` names. Sessions do not expire unless
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
from tests.emulators.restapi import MOSCOW, GatewayError, IdShape, Params, RestApiEmulator, ms_date


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

    def setup_routes(self) -> None:
        """The documented resources, POST only."""
        for path in ("Session/", "Session/session.php"):
            self.route(path, self.login, login=True)
        for path in ("Balance/", "Balance/balance.php"):
            self.route(path, self.get_balance)
        for path in ("State/", "State/state.php"):
            self.route(path, self.state)
        self.route("Send/SendSms/", self.send)
        self.route("Send/SendByTime/", self.send_by_time)
        self.route("Send/SendBulk/", self.send_bulk)
        self.route("Incoming/", self.get_incoming)
        self.route("Statistic/", self.statistics)
        self.route("Send/SendHLR/", self.send_hlr)
        self.route("State/HLR/", self.hlr_state)

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
