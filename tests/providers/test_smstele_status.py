"""SMStele client: delivery status, HLR lookup, credentials check, answer parsing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta, timezone

import aiohttp
import pytest

from custom_components.ru_sms.providers import parsing
from custom_components.ru_sms.providers.errors import (
    AuthenticationError,
    GatewayResponseError,
    InsufficientFundsError,
    InvalidRequestError,
    NotSupportedError,
)
from custom_components.ru_sms.providers.http import HttpAnswer
from custom_components.ru_sms.providers.models import (
    Credentials,
    DeliveryState,
    LookupState,
    MessageRef,
    RecipientResult,
    SendOptions,
)
from custom_components.ru_sms.providers.smstele import CHECK_MESSAGE_ID, SmsteleClient, read_answer
from tests.emulators.base import Fault
from tests.emulators.smstele import SmsteleEmulator
from tests.providers.test_parsing import long_status_answer, turns_while

LOGIN, PASSWORD = "test:http", "~test123"
MTS, MEGAFON, OTHER = "79160001234", "79260004567", "79072233645"
MSK = timezone(timedelta(hours=3))


pytestmark = pytest.mark.usefixtures("no_client_retry_delay")


@pytest.fixture
async def emulator(http_session: aiohttp.ClientSession) -> AsyncIterator[SmsteleEmulator]:
    emu = SmsteleEmulator(login=LOGIN, password=PASSWORD)
    emu.hang_seconds = 1.0
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
def client(http_session: aiohttp.ClientSession, emulator: SmsteleEmulator) -> SmsteleClient:
    return SmsteleClient(
        http_session,
        Credentials(login=LOGIN, password=PASSWORD),
        base_url=emulator.base_url,
        timeout=0.5,
    )


def refs(recipients: Sequence[RecipientResult]) -> list[MessageRef]:
    return [
        MessageRef(message_id=r.message_ids[0], phone=r.phone) for r in recipients if r.accepted
    ]


# -- delivery status ------------------------------------------------------------------


async def test_a_poll_of_thousands_of_numbers_under_one_id(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    """A bulk send's numbers share one id: one request, each number matched to its item."""
    emulator.documented_shapes = False
    phones = [f"7916{n:07d}" for n in range(3000)]
    emulator.outcomes = {phones[7]: "UNDELIV", phones[2999]: "EXPIRED"}
    sent = await client.send(phones, "Flood", SendOptions(client_message_id="bulk-1"))
    emulator.advance(60)
    emulator.reset_counts()

    statuses = await client.delivery_status([*refs(sent.recipients), *refs(sent.recipients)])

    assert emulator.count("status") == 1
    assert emulator.requests[0].form["id"] == "bulk-1"
    assert "phone" not in emulator.requests[0].form
    assert len(statuses) == 3000  # each number once, asked twice or not
    assert [s.phone for s in statuses] == phones
    failed = {s.phone: s.state for s in statuses if s.state is not DeliveryState.DELIVERED}
    assert failed == {phones[7]: DeliveryState.FAILED, phones[2999]: DeliveryState.EXPIRED}


@pytest.mark.parametrize("documented", [True, False], ids=["documented-shape", "clean-json"])
async def test_states_move_on(
    client: SmsteleClient, emulator: SmsteleEmulator, documented: bool
) -> None:
    emulator.documented_shapes = documented
    emulator.outcomes = {MEGAFON: "UNDELIV"}
    sent = await client.send([MTS, MEGAFON], "hi")
    emulator.reset_counts()

    statuses = await client.delivery_status(refs(sent.recipients))

    assert emulator.count("status") == 1  # one message id: one request
    form = emulator.requests[0].form
    assert form["id"] == sent.recipients[0].message_ids[0]
    assert "phone" not in form  # both numbers in one answer
    assert (form["login"], form["psw"], form["charset"]) == (LOGIN, PASSWORD, "utf-8")
    assert emulator.requests[0].query == {}
    assert [s.state for s in statuses] == [DeliveryState.SENT, DeliveryState.SENT]
    assert [s.phone for s in statuses] == [MTS, MEGAFON]
    assert statuses[0].raw_text == "ENROUTE"

    emulator.advance(31)
    statuses = await client.delivery_status(refs(sent.recipients))

    delivered, failed = statuses
    assert delivered.state is DeliveryState.DELIVERED
    assert delivered.raw_code == "-99"
    assert delivered.raw_text == "DELIVRD"
    assert delivered.error_code is None
    assert delivered.message_id == sent.recipients[0].message_ids[0]
    assert delivered.updated_at is not None
    assert delivered.updated_at.utcoffset() == timedelta(hours=3)
    assert abs(delivered.updated_at.timestamp() - (emulator.messages[0].sent_at + 30)) < 1
    assert failed.state is DeliveryState.FAILED
    assert failed.raw_text == "UNDELIV"


async def test_one_number_asks_with_phone(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    sent = await client.send([MTS, MEGAFON], "hi")
    emulator.reset_counts()
    (status,) = await client.delivery_status(refs(sent.recipients)[1:])
    assert emulator.requests[0].form["phone"] == MEGAFON
    assert status.phone == MEGAFON
    assert status.state is DeliveryState.SENT


async def test_one_request_per_message_id(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    first = await client.send([MTS], "one")
    second = await client.send([MEGAFON], "two", SendOptions(client_message_id="second"))
    emulator.reset_counts()
    wanted = refs(first.recipients) + refs(second.recipients) + refs(first.recipients)

    statuses = await client.delivery_status(wanted)

    assert emulator.count("status") == 2
    assert {r.form["id"] for r in emulator.requests} == {
        first.recipients[0].message_ids[0],
        "second",
    }
    assert [(s.message_id, s.phone) for s in statuses] == [
        (first.recipients[0].message_ids[0], MTS),
        ("second", MEGAFON),
    ]


async def test_nothing_to_ask(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    assert await client.delivery_status([]) == []
    assert emulator.count() == 0


async def test_deferred_message_is_queued(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    send_at = datetime.fromtimestamp(emulator.now(), UTC).replace(microsecond=0) + timedelta(
        hours=1
    )
    sent = await client.send([MTS], "later", SendOptions(send_at=send_at))
    assert emulator.messages[0].deferred_until == send_at.timestamp()

    (status,) = await client.delivery_status(refs(sent.recipients))
    assert status.state is DeliveryState.QUEUED
    assert status.raw_text is None

    emulator.advance(3600)
    (status,) = await client.delivery_status(refs(sent.recipients))
    assert status.state is DeliveryState.SENT

    emulator.advance(30)
    (status,) = await client.delivery_status(refs(sent.recipients))
    assert status.state is DeliveryState.DELIVERED


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("DELIVRD", DeliveryState.DELIVERED),
        ("EXPIRED", DeliveryState.EXPIRED),
        ("DELETED", DeliveryState.FAILED),
        ("UNDELIV", DeliveryState.FAILED),
        ("REJECTD", DeliveryState.FAILED),
        ("ACCEPTD", DeliveryState.SENT),
        ("UNKNOWN", DeliveryState.UNKNOWN),
        ("enroute", DeliveryState.SENT),
        ("SOMETHING", DeliveryState.UNKNOWN),
    ],
)
async def test_final_states(
    client: SmsteleClient, emulator: SmsteleEmulator, stat: str, state: DeliveryState
) -> None:
    emulator.outcomes = {MTS: stat}
    sent = await client.send([MTS], "hi")
    emulator.advance(60)
    (status,) = await client.delivery_status(refs(sent.recipients))
    assert status.state is state
    assert status.raw_text == stat.upper()


async def test_unknown_message(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    (status,) = await client.delivery_status([MessageRef("ru_sms-nothing", MTS)])
    assert status.state is DeliveryState.UNKNOWN
    assert status.raw_text == "not found"
    assert status.message_id == "ru_sms-nothing"


async def test_reused_id_reports_the_latest(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    options = SendOptions(client_message_id="reused")
    await client.send([MTS], "old", options)
    emulator.advance(60)  # the first one is delivered
    await client.send([MTS], "new", options)
    emulator.advance(5)
    (status,) = await client.delivery_status([MessageRef("reused", MTS)])
    assert status.state is DeliveryState.SENT


async def test_documented_status_example(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.reply_raw(STATUS_EXAMPLE, path="status")
    refs_ = [
        MessageRef("custom-message-id-test-22", "+7 916 000-12-34"),
        MessageRef("custom-message-id-test-22", "89260004567"),
        MessageRef("custom-message-id-test-22", OTHER),
    ]
    statuses = await client.delivery_status(refs_)
    assert [s.state for s in statuses] == [
        DeliveryState.DELIVERED,
        DeliveryState.DELIVERED,
        DeliveryState.UNKNOWN,
    ]
    assert statuses[0].phone == "+7 916 000-12-34"  # as the caller named it
    assert statuses[0].updated_at == datetime(2018, 6, 4, 18, 41, 9, tzinfo=MSK)
    assert statuses[1].updated_at == datetime(2018, 6, 4, 18, 41, 10, tzinfo=MSK)


async def test_status_keeps_gateway_numbers(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    emulator.reply_raw(
        '{"results": [{"id": "m1", "phone": "79160001234", "status": "12", "err": "-26",'
        ' "stat": "UNDELIV", "send_timestamp": "2018-06-04 18:41:09+03"},'
        ' {"id": "other", "phone": "79160001234", "stat": "DELIVRD"}, {}]}',
        path="status",
    )
    (status,) = await client.delivery_status([MessageRef("m1", MTS)])
    assert status.state is DeliveryState.FAILED
    assert status.raw_code == "12"
    assert status.error_code == "-26"
    assert status.updated_at == datetime(2018, 6, 4, 18, 41, 9, tzinfo=MSK)


async def test_status_single_object_and_no_phone(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    emulator.reply_raw(
        '{"results": {"id": "m1", "phone": "79160001234", "stat": "", "last_timestamp": "bad"}}',
        path="status",
    )
    (status,) = await client.delivery_status([MessageRef("m1", "")])
    assert status.state is DeliveryState.QUEUED
    assert status.updated_at is None
    assert "phone" not in emulator.requests[0].form


async def test_status_when_one_request_fails(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    await client.send([MTS], "one", SendOptions(client_message_id="one"))
    await client.send([MTS], "two", SendOptions(client_message_id="two"))
    emulator.fail_next("-35", "Invalid attribute: 'id=...'", path="status")

    statuses = await client.delivery_status([MessageRef("one", MTS), MessageRef("two", MTS)])

    assert emulator.count("status") == 2
    states = sorted((s.state, s.error_code) for s in statuses)
    assert states == [(DeliveryState.SENT, None), (DeliveryState.UNKNOWN, "-35")]


async def test_status_when_all_fail(
    http_session: aiohttp.ClientSession, emulator: SmsteleEmulator
) -> None:
    client = SmsteleClient(http_session, Credentials(LOGIN, "bad"), base_url=emulator.base_url)
    with pytest.raises(AuthenticationError) as info:
        await client.delivery_status([MessageRef("one", MTS), MessageRef("two", MTS)])
    assert info.value.code == "-23"


async def test_status_faults(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    sent = await client.send([MTS], "hi")
    emulator.reset_counts()
    # A status request sends nothing: any answer lost is asked again once.
    for fault in (Fault.MALFORMED, Fault.EMPTY, Fault.SERVER_ERROR_HTML, Fault.TIMEOUT_AFTER):
        emulator.inject(fault, "status")
        (status,) = await client.delivery_status(refs(sent.recipients))
        assert status.state is DeliveryState.SENT
    assert emulator.count("status") == 8


async def test_status_missing_id(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await client.delivery_status([MessageRef("", "")])
    assert info.value.code == "-34"


# -- HLR lookup -----------------------------------------------------------------------


async def test_lookup(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.rejected_numbers = {"79676771707"}
    before = emulator.credits

    results = await client.lookup([MTS, "8 926 000-45-67", OTHER, "79676771707"])

    assert emulator.count() == 1
    form = emulator.requests[0].form
    assert form["hlr"] == "1"
    assert "mes" not in form
    assert form["phones"] == f"{MTS},{MEGAFON},{OTHER},79676771707"
    assert emulator.messages == []  # no SMS went out
    assert emulator.credits == before
    mts, megafon, other, rejected = results
    assert mts.state is LookupState.REACHABLE
    assert (mts.operator, mts.region, mts.mnc) == ("mMTS", "77", "01")
    assert mts.is_final
    assert mts.raw_code == "-99"
    assert mts.error_code is None
    assert megafon.phone == MEGAFON
    assert megafon.operator == "mMEGAFON"
    assert other.state is LookupState.UNREACHABLE
    assert other.operator is None
    assert rejected.state is LookupState.UNREACHABLE
    assert rejected.error_code == "-26"
    assert await client.lookup_result(results) == results


async def test_lookup_odd_answers(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.reply_raw(
        '{"id": "h1", "messages": [{"phone": "79160001234", "status": "-43", "error": "-43"},'
        ' {"id": "h1", "operator": "mMTS"}]'
    )
    results = await client.lookup([MTS, MEGAFON])
    assert [(r.state, r.error_code, r.request_id) for r in results] == [
        (LookupState.FAILED, "-43", "h1"),
        (LookupState.FAILED, None, "h1"),  # not in the answer
    ]


async def test_lookup_chunks_and_partial_failure(
    client: SmsteleClient, emulator: SmsteleEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SmsteleClient, "max_recipients_per_request", 2)
    emulator.inject(Fault.NO_MONEY, "sendsms")
    phones = [f"7916111000{i}" for i in range(4)]

    results = await client.lookup(phones)

    assert emulator.count("sendsms") == 2
    assert [r.phone for r in results] == phones
    failed = [r for r in results if r.state is LookupState.FAILED]
    assert len(failed) == 2
    assert {r.error_code for r in failed} == {"-43"}
    assert sum(r.state is LookupState.REACHABLE for r in results) == 2


async def test_lookup_fails(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.inject(Fault.NO_MONEY, "sendsms")
    with pytest.raises(InsufficientFundsError):
        await client.lookup([MTS])


# -- credentials and what the gateway does not have -----------------------------------


async def test_check_credentials(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    await client.check_credentials()
    assert emulator.count() == 1
    request = emulator.requests[0]
    assert request.path.endswith("/status")
    assert request.form["id"] == CHECK_MESSAGE_ID
    assert emulator.messages == []


async def test_check_bad_credentials(
    http_session: aiohttp.ClientSession, emulator: SmsteleEmulator
) -> None:
    client = SmsteleClient(
        http_session, Credentials("nobody", PASSWORD), base_url=emulator.base_url
    )
    with pytest.raises(AuthenticationError) as info:
        await client.check_credentials()
    assert info.value.code == "-23"


@pytest.mark.parametrize(
    "description", ["Missing attribute: 'phone'", "Invalid attribute: 'id=ru_sms-check'"]
)
async def test_check_passes_on_request_complaints(
    client: SmsteleClient, emulator: SmsteleEmulator, description: str
) -> None:
    emulator.fail_next("-24", description, path="status")
    await client.check_credentials()
    assert emulator.count() == 1


async def test_check_ip_not_allowed(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.fail_next("-24", "IP not allowed", path="status")
    with pytest.raises(AuthenticationError):
        await client.check_credentials()


async def test_check_gateway_down(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.inject(Fault.SERVER_ERROR_HTML, times=2)
    with pytest.raises(GatewayResponseError):
        await client.check_credentials()
    assert emulator.count() == 2


async def test_no_balance_incoming_or_statistics(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)
    with pytest.raises(NotSupportedError):
        await client.balance()
    with pytest.raises(NotSupportedError):
        await client.incoming(start, end)
    with pytest.raises(NotSupportedError):
        await client.statistics(start, end)
    assert emulator.count() == 0


# -- parsing --------------------------------------------------------------------------


async def test_read_answer_shapes() -> None:
    listed = await read_answer(
        HttpAnswer(200, '[{"phone": "7916"}]', "application/json"), may_deliver=True
    )
    assert listed["messages"] == [{"phone": "7916"}]
    ok = await read_answer(
        HttpAnswer(200, '{"id": "1", "error": "-99"}', "text/html"), may_deliver=True
    )
    assert ok["id"] == "1"
    with pytest.raises(GatewayResponseError) as info:
        await read_answer(HttpAnswer(200, '{"error": "Bad things"}', "text/html"), may_deliver=True)
    assert info.value.code == "Bad things"
    assert info.value.may_have_been_accepted
    with pytest.raises(GatewayResponseError) as info:
        await read_answer(HttpAnswer(200, '"just a string"', "text/plain"), may_deliver=False)
    assert not info.value.may_have_been_accepted


async def test_a_long_status_answer_is_read_in_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop runs while a long status answer is read, not only after.

    Ten thousand numbers under one id, the answer lacking its last bracket.
    """
    monkeypatch.setattr(parsing, "TURN", 0.0)  # a turn at every look at the clock
    text = long_status_answer(10_000)

    read = read_answer(HttpAnswer(200, text, "application/json"), may_deliver=False)
    data, turns = await turns_while(read)

    assert len(data["results"]) == 10_001
    assert data["results"][-2]["phone"] == "79160009999"
    assert turns >= 10_000 // 64


STATUS_EXAMPLE = """{
"results": [
{
"id": "custom-message-id-test-22",
"phone": "79160001234",
"sender": "REX400.RU",
"status": "-99",
"err": "-99",
"stat": "DELIVRD",
"type": "1",
"send_timestamp": "2018-06-04 18:41:09+03",
"last_timestamp": "2018-06-04 18:41:09+03",
"operator": "mMTS",
"region": "77",
"mnc": "01"
},
{
"id": "custom-message-id-test-22",
"phone": "79260004567",
"sender": "REX400.RU",
"status": "-99",
"err": "-99",
"stat": "DELIVRD",
"type": "1",
"send_timestamp": "2018-06-04 18:41:10+03",
"last_timestamp": "2018-06-04 18:41:10+03",
"operator": "mMEGAFON",
"region": "77",
"mnc": "02"
}
]
"""
