"""One accounting with SMSC.ru: status requests counted as the gateway counts them.

SMSC.ru allows one status list request a minute (a list being an `id` written as a list,
even of one: `id=5,&phone=79...,`) and five status requests per message a minute (a
message being an SMSC.ru id, which a bulk send's numbers share). The client asks about a
lone message in the single form, and its budget counts what the gateway counts; the
emulator counts exactly as the document says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from custom_components.ru_sms.providers.budget import RequestBudget
from custom_components.ru_sms.providers.description import HttpMethod
from custom_components.ru_sms.providers.http import request_form
from custom_components.ru_sms.providers.models import Credentials, GatewayId, MessageRef
from custom_components.ru_sms.providers.smsc import SmscClient
from tests.emulators.smsc import SmscEmulator

CREDENTIALS = Credentials(login="alerts", password="s3cret-pass")
PHONE = "79161234567"
OTHER = "79162223344"


@pytest.fixture
async def emulator(start_emulator: Any) -> SmscEmulator:
    emulator: SmscEmulator = await start_emulator(GatewayId.SMSC)
    return emulator


@pytest.fixture
def client(http_session: aiohttp.ClientSession, emulator: SmscEmulator) -> SmscClient:
    gateway = SmscClient(http_session, CREDENTIALS, base_url=emulator.base_url, timeout=5)
    gateway.use_budget().clock = emulator.now  # windows on the gateway's (virtual) clock
    return gateway


async def ask(http_session: aiohttp.ClientSession, emulator: SmscEmulator, **form: str) -> str:
    """A raw `status.php` request, as another client would write it."""
    auth = {"login": "alerts", "psw": "s3cret-pass", "fmt": "3", "charset": "utf-8"}
    answer = await request_form(
        http_session,
        emulator.base_url + "status.php",
        {**auth, **form},
        method=HttpMethod.GET,
        timeout=5,
        may_deliver=False,
    )
    return answer.text


async def test_one_message_written_as_a_list_is_a_list_request(
    http_session: aiohttp.ClientSession, emulator: SmscEmulator
) -> None:
    """What the client sent before: `id=N,` counts against the one list a minute."""
    assert '"error_code": 9' not in await ask(http_session, emulator, id="1001,", phone=f"{PHONE},")
    assert '"error_code": 9' in await ask(http_session, emulator, id="1002,", phone=f"{PHONE},")
    assert emulator.breaches == ["status.php: more than one list request a minute"]
    # The single form is no list: it is answered.
    assert '"error_code": 9' not in await ask(http_session, emulator, id="1003", phone=PHONE)


async def test_a_bulk_sends_numbers_are_one_message(
    http_session: aiohttp.ClientSession, emulator: SmscEmulator
) -> None:
    """Five requests a minute per SMSC.ru id, whichever of its numbers each names."""
    numbers = [f"7916000000{n}" for n in range(6)]
    for number in numbers[:5]:
        assert '"error_code": 9' not in await ask(http_session, emulator, id="1001", phone=number)
    assert '"error_code": 9' in await ask(http_session, emulator, id="1001", phone=numbers[5])
    assert emulator.breaches == ["status.php: more than five requests for one message a minute"]


async def test_a_request_naming_a_message_many_times_counts_once(
    http_session: aiohttp.ClientSession, emulator: SmscEmulator
) -> None:
    ids = ",".join(["1001"] * 6)
    phones = ",".join(f"7916000000{n}" for n in range(6))
    assert '"error_code": 9' not in await ask(http_session, emulator, id=ids, phone=phones)
    for _ in range(4):
        assert '"error_code": 9' not in await ask(http_session, emulator, id="1001", phone=PHONE)
    assert emulator.breaches == []


async def test_the_client_asks_about_a_lone_message_in_the_single_form(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    result = await client.send([PHONE, OTHER], "Two numbers, one id")
    refs = [MessageRef(r.message_ids[0], r.phone) for r in result.recipients]
    await client.delivery_status(refs)  # the list request of the minute
    for _ in range(3):
        await client.delivery_status(refs[:1])
    forms = [r.form for r in emulator.requests if r.path.endswith("status.php")]
    assert [(f["id"], f["phone"]) for f in forms] == [
        ("1001,1001", f"{PHONE},{OTHER}"),
        *[("1001", PHONE)] * 3,
    ]
    assert emulator.breaches == []


async def test_the_budget_holds_a_sixth_request_about_a_bulk_send_for_the_next_minute(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    numbers = [f"7916000000{n}" for n in range(6)]
    result = await client.send(numbers, "One id for six numbers")
    refs = [MessageRef(r.message_ids[0], r.phone) for r in result.recipients]
    budget = client.budget
    assert budget is not None
    started = emulator.now()

    asked = [asyncio.ensure_future(client.delivery_status([ref])) for ref in refs]
    await drive(emulator, budget, asyncio.gather(*asked))

    times = [r.at for r in emulator.requests if r.path.endswith("status.php")]
    assert len(times) == 6
    assert sorted(times)[5] - started >= 60  # the sixth waited for the window
    assert budget.waited >= 1
    assert emulator.errors_answered[9] == 0
    assert emulator.breaches == []


async def drive(emulator: SmscEmulator, budget: RequestBudget, work: Awaitable[Any]) -> Any:
    """Await `work`, moving the gateway's clock on 20 s whenever the budget makes it wait."""
    task = asyncio.ensure_future(work)
    while not task.done():
        await asyncio.sleep(0.005)
        if not task.done() and budget._waiting:
            emulator.advance(20)
            await budget.async_wake()
    return task.result()


async def test_an_hour_with_a_thousand_messages_in_flight_meets_no_error_9(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    """1,000 messages in flight, one list poll a minute, single-message asks besides.

    500 messages are the numbers of one bulk send (one SMSC.ru id), 500 are sends of their
    own. Every minute of an hour of the gateway's clock: the list poll of all 1,000, and
    eight asks about single messages, six of them about numbers of the bulk send (with
    the list poll, more than its five a minute: the budget holds the rest back).
    """
    emulator.final_seconds = 2 * 3600  # nothing is final within the hour
    emulator.balance = Decimal(10_000)
    budget = client.budget
    assert budget is not None
    bulk = await client.send([f"7916{n:07d}" for n in range(500)], "Flood on floor 1")
    singles = [await client.send([f"7925{n:07d}"], f"Boiler {n} failed") for n in range(500)]
    refs = [MessageRef(r.message_ids[0], r.phone) for r in bulk.recipients]
    refs += [MessageRef(r.message_ids[0], r.phone) for s in singles for r in s.recipients]
    assert len(refs) == 1000
    assert len({ref.message_id for ref in refs}) == 501
    start = emulator.now()

    for minute in range(60):
        lone = [refs[(minute * 6 + n) % 500] for n in range(6)]  # numbers of the bulk send
        lone += [refs[500 + (minute * 2 + n) % 500] for n in range(2)]
        work = asyncio.gather(
            client.delivery_status(refs),
            *(client.delivery_status([ref]) for ref in lone),
        )
        answers = await drive(emulator, budget, work)
        assert len(answers[0]) == 1000
        # The next minute starts a minute after this one did, or now when it ran over.
        emulator.advance(max(0.0, start + 60 * (minute + 1) - emulator.now()))
        await budget.async_wake()

    statuses = [r for r in emulator.requests if r.path.endswith("status.php")]
    lists = [r for r in statuses if "," in r.form["id"]]
    assert len(lists) == 60
    assert len(statuses) - len(lists) == 60 * 8
    assert emulator.now() - start >= 3600
    assert budget.waited > 0  # the budget did hold requests back
    assert emulator.errors_answered[9] == 0
    assert emulator.breaches == []
