"""The emulated SMSC.ru answers as the gateway documents it: every fmt, GET and POST, history.

Written from `smsc-history.txt` (errors in each fmt, the history of sent messages) and
the shapes the gateway's clients read (see `tests/emulators/smsc_formats.py`): not from
what our client sends, which is always POST and fmt=3.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from custom_components.ru_sms.providers.description import HttpMethod
from custom_components.ru_sms.providers.http import request_form
from custom_components.ru_sms.providers.models import GatewayId
from tests.emulators.smsc import NotFound, SmscEmulator

PHONE = "79161234567"
OTHER = "79162223344"
AUTH = {"login": "alerts", "psw": "s3cret-pass", "charset": "utf-8"}


@pytest.fixture
async def emulator(start_emulator: Any) -> SmscEmulator:
    emulator: SmscEmulator = await start_emulator(GatewayId.SMSC)
    return emulator


@pytest.fixture
def ask(http_session: aiohttp.ClientSession, emulator: SmscEmulator):
    async def ask(path: str, method: HttpMethod = HttpMethod.POST, **form: str) -> str:
        answer = await request_form(
            http_session,
            emulator.base_url + path,
            {**AUTH, **form},
            method=method,
            timeout=5,
            may_deliver=False,
        )
        assert answer.status == 200
        return answer.text

    return ask


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ({}, "OK - 1 SMS, ID - 1001"),
        ({"fmt": "0"}, "OK - 1 SMS, ID - 1001"),
        ({"fmt": "1"}, "1001,1"),
        ({"fmt": "2"}, "<result><id>1001</id><cnt>1</cnt></result>"),
        ({"fmt": "3"}, '{"id": 1001, "cnt": 1}'),
        ({"fmt": "3", "cost": "3"}, '{"id": 1001, "cnt": 1, "cost": "1.90", "balance": "98.10"}'),
        ({"fmt": "1", "cost": "3"}, "1001,1,1.90,98.10"),
        ({"fmt": "0", "cost": "2"}, "OK - 1 SMS, ID - 1001, COST - 1.90"),
        ({"fmt": "0", "cost": "3"}, "OK - 1 SMS, ID - 1001, COST - 1.90, BALANCE - 98.10"),
        ({"fmt": "0", "cost": "1"}, "OK - 1 SMS, COST - 1.90"),
        ({"fmt": "1", "cost": "1"}, "1.90,1"),
    ],
)
@pytest.mark.parametrize("method", list(HttpMethod))
async def test_a_send_in_every_format(
    ask, method: HttpMethod, fmt: dict[str, str], expected: str
) -> None:
    assert await ask("send.php", method, phones=PHONE, mes="Test", **fmt) == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("0", "ERROR = 2 (authorise error)"),
        ("1", "0,-2"),
        ("2", "<result><error>authorise error</error><error_code>2</error_code></result>"),
        ("3", '{"error": "authorise error", "error_code": 2}'),
    ],
)
async def test_an_error_in_every_format(ask, fmt: str, expected: str) -> None:
    assert await ask("balance.php", psw="wrong", fmt=fmt) == expected


async def test_a_send_error_names_the_message_id(ask, emulator: SmscEmulator) -> None:
    emulator.balance = emulator.price / 2
    assert await ask("send.php", phones=PHONE, mes="x", fmt="0") == (
        "ERROR = 3 (no money), ID - 1001"
    )
    assert await ask("send.php", phones=PHONE, mes="y", fmt="1") == "1001,-3"


async def test_statuses_in_every_format(ask, emulator: SmscEmulator) -> None:
    await ask("send.php", phones=f"{PHONE},{OTHER}", mes="Two", fmt="3")
    emulator.advance(10)
    stamp = int(emulator.messages[(1001, PHONE)].goes_at + emulator.final_seconds)
    single = {"id": "1001", "phone": PHONE}
    text = await ask("status.php", **single, fmt="0")
    assert text.startswith("Status = 1, check_time = ")
    assert text.endswith(", err = 0, flag = 0")
    assert await ask("status.php", **single, fmt="1") == f"1,{stamp},0,0"
    assert (await ask("status.php", **single, fmt="2")).startswith("<result><status>1</status>")
    assert json.loads(await ask("status.php", **single, fmt="3"))["status"] == 1
    emulator.advance(61)
    # A list: one line per message in the text formats, each with its id and number.
    lines = (await ask("status.php", id="1001,1001", phone=f"{PHONE},{OTHER}", fmt="1")).split()
    assert lines == [f"1,{stamp},0,0,1001,{PHONE}", f"1,{stamp},0,0,1001,{OTHER}"]
    emulator.advance(61)
    xml = await ask("status.php", id="1001,", phone=f"{PHONE},", fmt="2")
    assert xml.startswith("<list><sms><status>1</status>")
    assert xml.endswith(f"<id>1001</id><phone>{PHONE}</phone></sms></list>")


@pytest.mark.parametrize("not_found", list(NotFound))
async def test_a_message_it_does_not_have(ask, emulator: SmscEmulator, not_found: NotFound) -> None:
    emulator.not_found = not_found
    single = json.loads(await ask("status.php", id="555", phone=PHONE, fmt="3"))
    emulator.advance(61)
    listed = json.loads(await ask("status.php", id="555,", phone=f"{PHONE},", fmt="3"))
    if not_found is NotFound.ITEM:
        assert single["status"] == -3
        assert listed[0]["status"] == -3
        assert (listed[0]["id"], listed[0]["phone"]) == ("555", PHONE)
    else:
        assert single == {"error": "message not found", "error_code": 3}
        assert listed == [
            {"id": "555", "phone": PHONE, "error": "message not found", "error_code": 3}
        ]


@pytest.mark.parametrize(("fmt", "expected"), [("0", "100.00"), ("1", "100.00")])
async def test_a_balance_in_the_text_formats(ask, fmt: str, expected: str) -> None:
    assert await ask("balance.php", HttpMethod.GET, fmt=fmt, cur="1") == expected
    assert "<balance>100.00</balance>" in await ask("balance.php", fmt="2")


async def test_credentials_in_the_query_and_the_rest_in_the_body(
    http_session: aiohttp.ClientSession, emulator: SmscEmulator
) -> None:
    answer = await request_form(
        http_session,
        emulator.base_url + "balance.php?login=alerts&psw=s3cret-pass&fmt=3",
        {"cur": "1"},
        timeout=5,
        may_deliver=False,
    )
    assert json.loads(answer.text)["currency"] == "RUB"


async def test_a_method_the_document_does_not_list_is_refused(
    http_session: aiohttp.ClientSession, emulator: SmscEmulator
) -> None:
    async with http_session.put(emulator.base_url + "send.php", data=AUTH) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET, POST"
    assert emulator.messages == {}


async def test_the_history_of_sent_messages(ask, emulator: SmscEmulator) -> None:
    """`get.php?get_messages=1` as `smsc-history.txt` documents it, in each fmt."""
    await ask("send.php", phones=PHONE, mes="First", fmt="3")
    await ask("send.php", phones=OTHER, mes="Second", fmt="3")
    history = {"get_messages": "1"}
    items = json.loads(await ask("get.php", **history, fmt="3"))
    assert [(i["id"], i["phone"], i["message"]) for i in items] == [
        (1002, OTHER, "Second"),
        (1001, PHONE, "First"),
    ]
    assert list(items[0])[:4] == ["status", "last_date", "last_timestamp", "err"]
    one = await ask("get.php", **history, phone=PHONE, fmt="0")
    assert one.startswith("Status = -1, check_time = ")
    assert ", phone = 79161234567, " in one
    assert ", message = First, type = 0, ID = 1001, int_id = 1, " in one
    line = await ask("get.php", **history, phone=OTHER, fmt="1", cnt="1")
    assert line.split(",")[4] == OTHER
    assert (await ask("get.php", **history, fmt="2")).count("<sms>") == 2
    assert "error_code>3<" in await ask("get.php", **history, phone="79990000000", fmt="2")
    assert "ERROR = 1" in await ask("get.php", **history, start="yesterday")
    assert "ERROR = 1" in await ask("get.php")
    # Three identical requests a minute, no more (this one was asked once already).
    for _ in range(2):
        assert "ERROR" not in await ask("get.php", **history, phone=PHONE, fmt="0")
    assert "ERROR = 9" in await ask("get.php", **history, phone=PHONE, fmt="0")
    assert emulator.breaches == [
        "get.php: more than three identical requests a minute or thirty an hour"
    ]


async def test_the_history_within_dates(ask, emulator: SmscEmulator) -> None:
    await ask("send.php", phones=PHONE, mes="Old", fmt="3")
    emulator.advance(3 * 86400)
    await ask("send.php", phones=PHONE, mes="New", fmt="3")
    from datetime import datetime

    from tests.emulators.smsc import MOSCOW

    today = datetime.fromtimestamp(emulator.now(), MOSCOW).strftime("%d.%m.%Y")
    items = json.loads(await ask("get.php", get_messages="1", start=today, end=today, fmt="3"))
    assert [i["message"] for i in items] == ["New"]
    items = json.loads(await ask("get.php", get_messages="1", prev_id="2", fmt="3"))
    assert [i["message"] for i in items] == ["Old"]


async def test_time_zero_is_now(ask, emulator: SmscEmulator) -> None:
    """`time=0`, as PyPI `smsc-client` sends by default: a unix time long past."""
    assert await ask("send.php", phones=PHONE, mes="Now", time="0") == "OK - 1 SMS, ID - 1001"
    message = emulator.messages[(1001, PHONE)]
    assert message.goes_at == message.accepted_at
