"""An emulated Devino Telecom REST API (`https://integrationapi.net/rest/`).

Paths and parameter names are read in any case (the gateway is ASP.NET: clients write
`user/sessionId`, `sms/send`); `paths_any_case = False` holds the document's spelling.
The session and the balance are GET requests (the document's tables 1 and 2), the sends
POST (tables 3 to 5); state, incoming and statistics, past the end of the document, are
GET as every client of the gateway reads them. Any other method is answered 405.
`Validity=0` (the document's example) and empty optional fields are taken.

Sessions live 120 virtual minutes; an expired one is answered as the document shows
(Code 4, HTTP 401) or, with `expired_answer = ExpiredAnswer.CODE_3`, as the official C#
client expects. Devino has no flood code: an injected `Fault.RATE_LIMIT` is answered
Code 9 (internal error, HTTP 500).
"""

from __future__ import annotations

from datetime import timedelta
import secrets
from typing import ClassVar

from aiohttp import web

from tests.emulators.base import json_response
from tests.emulators.restapi import MOSCOW, GatewayError, Params, RestApiEmulator, ms_date

STATISTICS_DAYS = 90
GET = ("GET",)
POST = ("POST",)


class DevinoEmulator(RestApiEmulator):
    """Devino's REST API: sessions, Send/SendBulk/SendByTimeZone, State, Balance, In, Statistics."""

    case_insensitive = True
    paths_any_case = True
    session_param = "SessionID"
    rate_limit_answer = (9, "Internal server error", 500)
    queued_state = -2
    failed_state = 42
    descriptions: ClassVar[dict[int, str]] = {
        -2: "Queued",
        -1: "Sent",
        0: "Delivered",
        42: "Rejected by SMSC",
        46: "Expired",
        255: "Unknown",
    }

    def setup_routes(self) -> None:
        """The documented resources, each by its documented method."""
        self.route("user/sessionid", self.login, GET, login=True)
        self.route("User/Balance", self.get_balance, GET)
        self.route("Sms/Send", self.send, POST)
        self.route("Sms/SendByTimeZone", self.send_by_time_zone, POST)
        self.route("Sms/SendBulk", self.send_bulk, POST)
        self.route("Sms/State", self.state, GET)
        self.route("Sms/In", self.get_incoming, GET)
        self.route("Sms/Statistics", self.statistics, GET)

    def make_ids(self, phone: str, segments: int) -> list[str]:
        """`GW0261BBD6B3` for one part; `SAR-GW01+<number>-<hex>-<n>-<i>` per part."""
        if segments == 1:
            return [f"GW{secrets.token_hex(5).upper()}"]
        tag = secrets.token_hex(4)
        return [f"SAR-GW01+{phone}-{tag}-{segments}-{i}" for i in range(1, segments + 1)]

    def document_ids(self, groups: list[list[str]]) -> str:
        r"""`["a","b",\n["c","d]`: the SendBulk example, brackets and a quote astray."""
        body = ",\n".join("[" + ",".join(f'"{i}"' for i in group) for group in groups)
        return body[:-1] + "]"

    async def send(self, request: web.Request, params: Params) -> web.Response:
        """One number, `SendDate` in Moscow time."""
        phone = params.require("DestinationAddress")
        return self.ids_response(self.accept(params, [phone], names=_NAMES, send_date_tz=MOSCOW))

    async def send_by_time_zone(self, request: web.Request, params: Params) -> web.Response:
        """One number, `SendDate` (required) in the recipient's zone: taken as Moscow here."""
        phone = params.require("DestinationAddress")
        params.require("SendDate")
        return self.ids_response(self.accept(params, [phone], names=_NAMES, send_date_tz=MOSCOW))

    async def send_bulk(self, request: web.Request, params: Params) -> web.Response:
        """`DestinationAddresses` once per number; refused whole when one is invalid."""
        phones = [p for p in params.getall("DestinationAddresses") if p.strip()]
        if not phones:
            raise GatewayError(1, "Argument DestinationAddresses can not be null or empty")
        return self.ids_response(self.accept(params, phones, names=_NAMES, send_date_tz=MOSCOW))

    async def state(self, request: web.Request, params: Params) -> web.Response:
        """`State`, dates as `/Date(ms)/` (`ReportedDateUtc` null until final), `Price`."""
        segment = self.segment_for(params)
        code, since = self.state_code(segment)
        final = code in (0, 42, 46)
        return json_response(
            {
                "State": code,
                "CreationDateUtc": ms_date(segment.created),
                "SubmittedDateUtc": ms_date(segment.starts + 5) if code != -2 else None,
                "ReportedDateUtc": ms_date(since) if final else None,
                "TimeStampUtc": ms_date(since or segment.created),
                "StateDescription": self.descriptions.get(code, "Unknown"),
                "Price": float(segment.price),
            }
        )

    def check_period(self, length: timedelta) -> None:
        """At most 90 days (the error code of a longer period is a guess)."""
        if length > timedelta(days=STATISTICS_DAYS):
            raise GatewayError(2, "Invalid argument: the period is longer than 90 days")

    async def statistics(self, request: web.Request, params: Params) -> web.Response:
        """Counts per segment over the period (written in Moscow time)."""
        found = self.period(params, MOSCOW)
        codes = [self.state_code(s)[0] for s in found]
        return json_response(
            {
                "Sent": len(codes),
                "Delivered": codes.count(0),
                "Errors": codes.count(42),
                "Rejected": 0,
                "InProcess": sum(1 for c in codes if c in (-1, -2)),
                "Expired": codes.count(46),
            }
        )


_NAMES = ("Data", "SourceAddress", "Validity", "SendDate")
