"""What goes on the wire: each request of each client, its method and where its fields travel.

Every request a client makes is driven against its emulator and recorded: the HTTP method,
the path, the fields in the query and in the body. The record must be exactly the table
below, every request must be one its gateway's description declares (with that method),
every declared request must be made, and the README's table (Development, "Requests on
the wire") must say the same methods and where the credentials travel.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
import re

import aiohttp
import pytest

from custom_components.ru_sms.providers import GATEWAY_TYPES, build_gateway
from custom_components.ru_sms.providers.description import HttpMethod
from custom_components.ru_sms.providers.evidence import LostSend
from custom_components.ru_sms.providers.models import GatewayId, MessageRef, SendOptions
from tests.emulators.base import RecordedRequest
from tests.emulators.catalog import ACCOUNTS
from tests.emulators.stream import StreamEmulator

README = Path(__file__).parents[2] / "README.md"
ALICE = "79161234567"
BOB = "79262345678"
CREDENTIALS = frozenset({"login", "psw", "password", "apikey", "sessionId", "SessionID"})
"""The fields that sign a request in: a login and its password, a key or a session id."""

type Wire = dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]
"""Per request (its path, with what tells two requests to one path apart): the method,
the fields in the query, the fields in the body, in the order sent."""

WIRE: dict[GatewayId, Wire] = {}


async def record(provider: GatewayId, session: aiohttp.ClientSession) -> list[RecordedRequest]:
    """Every kind of request the client makes, against its emulator."""
    account = ACCOUNTS[provider]
    emulator = account.emulator()
    await emulator.start()
    try:
        client = build_gateway(provider, session, account.credentials, base_url=emulator.base_url)
        caps = client.capabilities
        sender = SendOptions(sender=account.sender)
        await client.check_credentials()
        one = await client.send([ALICE], "One", sender)
        two = await client.send([ALICE, BOB], "Two", sender)
        if caps.recipient_local_time:
            local = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
            await client.send(
                [ALICE],
                "Local",
                SendOptions(sender=account.sender, send_at=local, recipient_local_time=True),
            )
        emulator.advance(61)
        refs = [MessageRef(i, r.phone) for r in one.recipients for i in r.message_ids]
        await client.delivery_status(refs)
        refs = [MessageRef(i, r.phone) for r in two.recipients for i in r.message_ids]
        await client.delivery_status(refs)
        if caps.balance:
            await client.balance()
        now = datetime.now(UTC)
        if caps.incoming:
            await client.incoming(now - timedelta(hours=1), now)
        if caps.statistics:
            await client.statistics(now - timedelta(hours=1), now)
        if caps.lookup:
            pending = await client.lookup([ALICE])
            emulator.advance(61)
            await client.lookup_result(pending)
        # The evidence of a send whose answer was lost, from every source declared.
        if isinstance(emulator, StreamEmulator):
            emulator.report_ready_after = 0
            client.report_wait = (0.0,)  # type: ignore[attr-defined]
        lost = LostSend((ALICE,), "One", now, client_message_id=one.client_message_id)
        report = await client.find_evidence(lost)
        assert report.errors == ()
        return list(emulator.requests)
    finally:
        await emulator.stop()


def name_of(request: RecordedRequest) -> str:
    """The request's path, with what tells requests to one path apart."""
    path = request.path.split("/", 2)[-1]
    if request.form.get("hlr") == "1" or request.form.get("all") == "1":
        return f"{path} (HLR)"
    if path.endswith("status.php") and "," in request.form.get("id", ""):
        return f"{path} (a list)"
    if path == "status" and "phone" in request.form:
        return f"{path} (one number)"
    if path.endswith("all_stat.php") and "id_report" in request.form:
        return f"{path} (its file)"
    return path


def fields(pairs: list[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(key for key, _ in pairs))


EXPECTED: dict[GatewayId, Wire] = {
    GatewayId.SMSC: {
        "send.php": (
            "POST",
            (),
            ("login", "psw", "phones", "mes", "cost", "op", "sender", "fmt", "charset"),
        ),
        "send.php (HLR)": ("POST", (), ("login", "psw", "phones", "hlr", "op", "fmt", "charset")),
        "status.php": ("POST", (), ("login", "psw", "id", "phone", "fmt", "charset")),
        "status.php (a list)": ("POST", (), ("login", "psw", "id", "phone", "fmt", "charset")),
        "status.php (HLR)": ("POST", (), ("login", "psw", "all", "id", "phone", "fmt", "charset")),
        "balance.php": ("POST", (), ("login", "psw", "cur", "fmt", "charset")),
    },
    GatewayId.SMSTELE: {
        "sendsms": ("POST", (), ("login", "psw", "charset", "phones", "mes", "id", "sender")),
        "sendsms (HLR)": ("POST", (), ("login", "psw", "charset", "phones", "hlr")),
        "status": ("POST", (), ("login", "psw", "charset", "id")),
        "status (one number)": ("POST", (), ("login", "psw", "charset", "id", "phone")),
    },
    GatewayId.STREAM: {
        "Session/session.php": ("POST", (), ("login", "password")),
        "Send/SendSms/": ("POST", (), ("sessionId", "destinationAddress", "data", "sourceAddress")),
        "Send/SendBulk/": (
            "POST",
            (),
            ("sessionId", "destinationAddresses", "data", "sourceAddress"),
        ),
        "Send/SendByTime/": (
            "POST",
            (),
            ("sessionId", "destinationAddress", "data", "sourceAddress", "sendDate"),
        ),
        "State/state.php": ("POST", (), ("sessionId", "messageId")),
        "Balance/balance.php": ("POST", (), ("sessionId",)),
        "Incoming/": ("GET", ("sessionId", "minDateUTC", "maxDateUTC"), ()),
        "Statistic/": ("GET", ("sessionId", "startDateTime", "endDateTime"), ()),
        "Statistic/all_stat.php": (
            "POST",
            (),
            ("sessionId", "startTime", "endTime", "type_load", "phone"),
        ),
        "Statistic/all_stat.php (its file)": ("POST", (), ("sessionId", "id_report")),
        "Send/SendHLR/": ("POST", (), ("sessionId", "destinationAddress")),
        "State/HLR/": ("GET", ("sessionId", "messageId"), ()),
    },
    GatewayId.DEVINO: {
        "user/sessionid": ("GET", ("login", "password"), ()),
        "Sms/Send": ("POST", (), ("SessionID", "DestinationAddress", "Data", "SourceAddress")),
        "Sms/SendBulk": (
            "POST",
            (),
            ("SessionID", "DestinationAddresses", "Data", "SourceAddress"),
        ),
        "Sms/SendByTimeZone": (
            "POST",
            (),
            ("SessionID", "DestinationAddress", "Data", "SourceAddress", "SendDate"),
        ),
        "Sms/State": ("GET", ("SessionID", "messageId"), ()),
        "User/Balance": ("GET", ("SessionID",), ()),
        "Sms/In": ("GET", ("SessionID", "minDateUTC", "maxDateUTC"), ()),
        "Sms/Statistics": ("GET", ("SessionID", "startDateTime", "endDateTime"), ()),
    },
}
"""The wire, as the documents give it (see the README's table for the sections)."""


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_each_request_on_the_wire(
    http_session: aiohttp.ClientSession, provider: GatewayId
) -> None:
    requests = await record(provider, http_session)

    wire: Wire = {}
    for request in requests:
        in_query = fields(request.multi[: len(request.multi) - len(request.body)])
        wire[name_of(request)] = (request.method, in_query, fields(request.body))
    assert wire == EXPECTED[provider]
    # Each request is declared by its gateway, with the method it went by, and each
    # declared request was made.
    description = GATEWAY_TYPES[provider].description
    paths = {request.path.split("/", 2)[-1] for request in requests}
    assert paths == {endpoint.path for endpoint in description.endpoints}
    for request in requests:
        assert request.method == description.method_of(request.path.split("/", 2)[-1])
    # Credentials go in a query only where the document gives nothing but a GET.
    for method, in_query, in_body in wire.values():
        where = set(in_query if method == HttpMethod.GET else in_body)
        assert where & CREDENTIALS
        assert not set(in_query) & CREDENTIALS or method == HttpMethod.GET


def readme_table() -> dict[tuple[str, str], tuple[str, str]]:
    """The README's wire table: (gateway, path) -> (method, where the credentials travel)."""
    text = README.read_text("utf-8")
    section = text[text.index("### Requests on the wire") :]
    section = section[: section.index("\n### ", 10)]
    table: dict[tuple[str, str], tuple[str, str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[1].startswith("`"):
            continue
        path = re.match(r"`([^`]+)`", cells[1])
        assert path is not None, line
        where = re.match(r"body|query", cells[3])
        assert where is not None, line
        table[(cells[0], path.group(1))] = (cells[2], where.group(0))
    return table


def test_the_readme_says_what_goes_on_the_wire() -> None:
    expected: dict[tuple[str, str], tuple[str, str]] = {}
    for provider, wire in EXPECTED.items():
        name = GATEWAY_TYPES[provider].description.name
        for request, (method, in_query, _) in wire.items():
            path = request.split(" (")[0]
            where = "query" if set(in_query) & CREDENTIALS else "body"
            expected[(name, path)] = (method, where)
    assert readme_table() == expected
