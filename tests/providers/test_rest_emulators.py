"""The emulated Devino and Stream gateways answer as their documents say, not as we ask.

Requests here are written as the documents (and the gateways' other clients) write them:
Devino's GETs with the login in the query and paths in any case, Stream's two forms of a
session, balance and state, its GET-only incoming and statistics, empty optional fields.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
import io
import json
from typing import Any

import aiohttp
import pytest

from custom_components.ru_sms.providers.models import GatewayId
from tests.emulators.devino import DevinoEmulator
from tests.emulators.stream import REPORT_READY_AFTER, StreamEmulator

ALICE = "79161234567"
BOB = "79057654321"


@pytest.fixture
async def devino(start_emulator: Any) -> DevinoEmulator:
    emulator: DevinoEmulator = await start_emulator(GatewayId.DEVINO)
    return emulator


@pytest.fixture
async def stream(start_emulator: Any) -> StreamEmulator:
    emulator: StreamEmulator = await start_emulator(GatewayId.STREAM)
    return emulator


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    params: Any = None,
    data: Any = None,
) -> tuple[int, Any]:
    async with session.request(method, url, params=params, data=data) as response:
        text = await response.text()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


# -- Devino ---------------------------------------------------------------------------------


async def test_devino_as_its_document_and_clients_write_it(
    http_session: aiohttp.ClientSession, devino: DevinoEmulator
) -> None:
    base = devino.base_url
    # Table 1: a GET, the login and password in the query; the path in any case.
    status, session_id = await call(
        http_session,
        "GET",
        base + "user/sessionId",
        params={"login": "user", "password": "secret-pass"},
    )
    assert status == 200
    # Table 2, as sw-python-sms-devino writes it.
    status, balance = await call(
        http_session, "GET", base + "user/balance", params={"sessionId": session_id}
    )
    assert (status, balance) == (200, 100.0)
    # Table 3: a POST; `Validity=0` as the document's own example.
    status, ids = await call(
        http_session,
        "POST",
        base + "sms/send",
        data={
            "SessionId": session_id,
            "DestinationAddress": ALICE,
            "SourceAddress": "ALERTS",
            "Data": "test",
            "Validity": "0",
        },
    )
    assert status == 200
    assert len(ids) == 1
    # Table 5: `DestinationAddresses` once per number; an optional field sent empty.
    status, ids = await call(
        http_session,
        "POST",
        base + "Sms/SendBulk",
        data=[
            ("SessionID", session_id),
            ("DestinationAddresses", ALICE),
            ("DestinationAddresses", BOB),
            ("SourceAddress", "ALERTS"),
            ("Data", "test"),
            ("Validity", ""),
            ("SendDate", ""),
        ],
    )
    assert (status, len(ids)) == (200, 2)
    status, state = await call(
        http_session,
        "GET",
        base + "sms/state",
        params={"sessionId": session_id, "messageId": ids[0]},
    )
    assert (status, state["State"]) == (200, -2)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "user/sessionid"),
        ("POST", "User/Balance"),
        ("GET", "Sms/Send"),
        ("GET", "Sms/SendBulk"),
        ("GET", "Sms/SendByTimeZone"),
        ("POST", "Sms/State"),
        ("POST", "Sms/In"),
        ("POST", "Sms/Statistics"),
        ("PUT", "Sms/Send"),
    ],
)
async def test_devino_refuses_a_method_its_document_does_not_give(
    http_session: aiohttp.ClientSession, devino: DevinoEmulator, method: str, path: str
) -> None:
    status, _ = await call(http_session, method, devino.base_url + path)
    assert status == 405


async def test_devino_paths_as_documented_only_in_the_strictest_reading(
    http_session: aiohttp.ClientSession, devino: DevinoEmulator
) -> None:
    login = {"login": "user", "password": "secret-pass"}
    devino.paths_any_case = False
    assert (await call(http_session, "GET", devino.base_url + "user/sessionId", params=login))[
        0
    ] == 404
    assert (await call(http_session, "GET", devino.base_url + "user/sessionid", params=login))[
        0
    ] == 200
    assert (await call(http_session, "GET", devino.base_url + "Sms/Nothing"))[0] == 404


async def test_a_target_too_long_for_a_web_server(
    http_session: aiohttp.ClientSession, devino: DevinoEmulator
) -> None:
    login = {"login": "user", "password": "x" * 9000}
    status, text = await call(http_session, "GET", devino.base_url + "user/sessionid", params=login)
    assert status == 414
    assert "414" in text
    assert devino.logins == 0


# -- Stream -----------------------------------------------------------------------------------


async def test_stream_in_both_documented_forms(
    http_session: aiohttp.ClientSession, stream: StreamEmulator
) -> None:
    base = stream.base_url
    login = {"login": "user", "password": "secret-pass"}
    # 3.1.1: GET `Session/` with the login in the query, or POST `Session/session.php`.
    status, by_get = await call(http_session, "GET", base + "Session/", params=login)
    assert status == 200
    status, by_post = await call(http_session, "POST", base + "Session/session.php", data=login)
    assert status == 200
    assert by_get != by_post
    session = {"sessionId": by_get}
    # 3.2.1, 3.3.5: the balance and a state, each both ways.
    assert await call(http_session, "GET", base + "Balance/", params=session) == (200, 100.0)
    assert await call(http_session, "POST", base + "Balance/balance.php", data=session) == (
        200,
        100.0,
    )
    # 3.3.1 with its optional fields sent empty.
    status, ids = await call(
        http_session,
        "POST",
        base + "Send/SendSms/",
        data={
            **session,
            "sourceAddress": "ALERTS",
            "destinationAddress": ALICE,
            "data": "test",
            "sendDate": "",
            "validity": "",
        },
    )
    assert status == 200
    state = {**session, "messageId": ids[0]}
    assert (await call(http_session, "GET", base + "State/", params=state))[1]["State"] == -1
    assert (await call(http_session, "POST", base + "State/state.php", data=state))[1][
        "State"
    ] == -1
    # 3.3.6.1 and 3.3.7: GET only.
    period = {"minDateUTC": "2013-01-01T00:00:00", "maxDateUTC": "2013-02-11T00:00:00"}
    assert await call(http_session, "GET", base + "Incoming/", params={**session, **period}) == (
        200,
        [],
    )
    assert (await call(http_session, "POST", base + "Incoming/", data={**session, **period}))[
        0
    ] == 405
    stats = {"startDateTime": "2013-01-01T00:00:00", "endDateTime": "2013-02-11T00:00:00"}
    status, counts = await call(
        http_session, "GET", base + "Statistic/", params={**session, **stats}
    )
    assert (status, counts["Sent"]) == (200, 0)
    assert (await call(http_session, "POST", base + "Statistic/", data={**session, **stats}))[
        0
    ] == 405
    assert (await call(http_session, "GET", base + "Send/SendSms/", params=session))[0] == 405
    assert (await call(http_session, "GET", base + "Session/session.php", params=login))[0] == 405


async def test_stream_takes_login_and_pass_instead_of_a_session(
    http_session: aiohttp.ClientSession, stream: StreamEmulator
) -> None:
    direct = {"login": "user", "pass": "secret-pass"}
    assert await call(
        http_session, "POST", stream.base_url + "Balance/balance.php", data=direct
    ) == (
        200,
        100.0,
    )
    wrong = {"login": "user", "pass": "wrong"}
    status, _ = await call(
        http_session, "POST", stream.base_url + "Balance/balance.php", data=wrong
    )
    assert status == 400  # no session id: code 1
    assert stream.logins == 0


async def test_stream_packet_and_detailed_report(
    http_session: aiohttp.ClientSession, stream: StreamEmulator
) -> None:
    base = stream.base_url
    login = {"login": "user", "pass": "secret-pass"}
    packet = {"sms": [{"phone": ALICE, "text": "text1"}, {"phone": BOB, "text": "text2"}]}
    status, ids = await call(
        http_session,
        "POST",
        base + "Send/SendBulkPacket/",
        data={
            **login,
            "sourceAddress": "ALERTS",
            "phone_data": json.dumps(packet),
            "validity": "10",
        },
    )
    assert (status, len(ids)) == (200, 2)
    assert [stream.segments[i].text for i in ids] == ["text1", "text2"]
    bad = {**login, "sourceAddress": "ALERTS", "phone_data": "{"}
    assert (await call(http_session, "POST", base + "Send/SendBulkPacket/", data=bad))[0] == 400

    # 3.3.8: a report is asked for by period (and phone), then fetched by its id.
    period = {"startTime": "2000-01-01T00:00:00", "endTime": "2100-01-01T00:00:00"}
    status, report = await call(
        http_session,
        "POST",
        base + "Statistic/all_stat.php",
        data={**login, **period, "phone": BOB},
    )
    assert status == 200
    fetch = {**login, "id_report": str(report)}
    assert await call(http_session, "GET", base + "Statistic/all_stat.php", params=fetch) == (
        400,
        "Report is not ready yet",
    )
    stream.advance(REPORT_READY_AFTER)
    status, text = await call(http_session, "GET", base + "Statistic/all_stat.php", params=fetch)
    assert status == 200
    sent = datetime.fromtimestamp(stream.segments[ids[1]].created, UTC)
    assert text.splitlines() == [
        "id;phone;sender;text;send_date;state",
        f"{ids[1]};{BOB};ALERTS;text2;{sent:%Y-%m-%d %H:%M:%S};-1",
    ]
    unknown = {**login, "id_report": "1"}
    assert (await call(http_session, "GET", base + "Statistic/all_stat.php", params=unknown)) == (
        400,
        "Id report not found",
    )
    by_get = {**login, "startDateTime": period["startTime"], "endDateTime": period["endTime"]}
    for _ in range(2):
        assert (await call(http_session, "GET", base + "Statistic/all_stat.php", params=by_get))[
            0
        ] == 200
    status, refusal = await call(
        http_session, "GET", base + "Statistic/all_stat.php", params=by_get
    )
    assert (status, refusal) == (
        400,
        "More than 2 reports at once are not allowed, make request later",
    )


@pytest.mark.parametrize(
    ("form", "refusal"),
    [
        ({"startTime": "2000-01-01"}, "Not correct format startTime"),
        ({"endTime": "tomorrow"}, "Not correct format endTime"),
        (
            {"startTime": ""},
            "StartDateTime can not be null or empty\r\nParameter name: startDateTime",
        ),
        ({"endTime": ""}, "EndDateTime can not be null or empty\r\nParameter name: endDateTime"),
        ({"phone": "7916-123"}, "Phone must be numeric"),
        ({"phone": "7916"}, "Not correct length phone"),
        ({"state": "lost"}, "Bad Request"),
    ],
)
async def test_stream_detailed_report_refuses_as_documented(
    http_session: aiohttp.ClientSession,
    stream: StreamEmulator,
    form: dict[str, str],
    refusal: str,
) -> None:
    """3.3.8's error texts, each for the request that earns it."""
    period = {"startTime": "2000-01-01T00:00:00", "endTime": "2100-01-01T00:00:00"}
    login = {"login": "user", "pass": "secret-pass"}
    url = stream.base_url + "Statistic/all_stat.php"
    assert await call(http_session, "POST", url, data={**login, **period, **form}) == (400, refusal)


async def test_stream_detailed_report_by_state_and_format(
    http_session: aiohttp.ClientSession, stream: StreamEmulator
) -> None:
    """`state` picks the messages by their state; `type_load=1` makes an XLS file."""
    login = {"login": "user", "pass": "secret-pass"}
    url = stream.base_url + "Statistic/all_stat.php"
    send = {**login, "sourceAddress": "ALERTS", "data": "Котёл: авария"}
    _, (first,) = await call(
        http_session,
        "POST",
        stream.base_url + "Send/SendSms/",
        data={**send, "destinationAddress": ALICE},
    )
    stream.advance(120)  # delivered by now
    _, (second,) = await call(
        http_session,
        "POST",
        stream.base_url + "Send/SendSms/",
        data={**send, "destinationAddress": BOB},
    )
    stream.report_ready_after = 0
    stream.report_headers = "russian"
    period = {"startTime": "2000-01-01T00:00:00", "endTime": "2100-01-01T00:00:00"}

    async def report(**form: str) -> list[list[str]]:
        _, report_id = await call(http_session, "POST", url, data={**login, **period, **form})
        _, text = await call(http_session, "POST", url, data={**login, "id_report": str(report_id)})
        return list(csv.reader(io.StringIO(text), delimiter=";"))

    delivered = await report(state="deliver")
    assert delivered[0][:4] == ["ID", "Телефон", "Отправитель", "Текст сообщения"]
    assert [row[:4] for row in delivered[1:]] == [[first, ALICE, "ALERTS", "Котёл: авария"]]
    assert [row[0] for row in (await report(state="sent"))[1:]] == [second]
    assert [row[0] for row in (await report(state="expired"))[1:]] == []

    _, report_id = await call(http_session, "POST", url, data={**login, **period, "type_load": "1"})
    async with http_session.post(url, data={**login, "id_report": str(report_id)}) as response:
        assert response.content_type == "application/vnd.ms-excel"
        assert (await response.read()).startswith(bytes.fromhex("d0cf11e0"))


async def test_records_lag_behind_a_slow_gateway(
    http_session: aiohttp.ClientSession, stream: StreamEmulator
) -> None:
    """`record_delay`: a taken message shows in states and reports only that much later."""
    stream.record_delay = 20
    stream.report_ready_after = 0
    login = {"login": "user", "pass": "secret-pass"}
    send = {**login, "sourceAddress": "ALERTS", "data": "Boiler", "destinationAddress": ALICE}
    status, (message_id,) = await call(
        http_session, "POST", stream.base_url + "Send/SendSms/", data=send
    )
    assert status == 200
    state = {**login, "messageId": message_id}
    url = stream.base_url + "Statistic/all_stat.php"
    period = {"startTime": "2000-01-01T00:00:00", "endTime": "2100-01-01T00:00:00"}

    async def listed() -> int:
        _, report_id = await call(http_session, "POST", url, data={**login, **period})
        _, text = await call(http_session, "POST", url, data={**login, "id_report": str(report_id)})
        return len(text.splitlines()) - 1

    assert (await call(http_session, "POST", stream.base_url + "State/state.php", data=state))[
        0
    ] == 400
    assert await listed() == 0
    stream.advance(20)
    assert (await call(http_session, "POST", stream.base_url + "State/state.php", data=state))[
        0
    ] == 200
    assert await listed() == 1
