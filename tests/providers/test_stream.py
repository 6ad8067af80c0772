"""StreamClient against the emulated Stream Telecom REST API, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from custom_components.ru_sms.providers.errors import (
    AuthenticationError,
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
    InsufficientFundsError,
    InvalidRecipientError,
    InvalidSenderError,
    RateLimitedError,
)
from custom_components.ru_sms.providers.models import (
    Credentials,
    DeliveryState,
    ErrorKind,
    LookupResult,
    LookupState,
    MessageRef,
    SendOptions,
)
from custom_components.ru_sms.providers.stream import StreamClient
from tests.conftest import Clock
from tests.emulators.base import Fault
from tests.emulators.restapi import ExpiredAnswer, IdShape, Outcome
from tests.emulators.stream import StreamEmulator

PASSWORD = "secret-pass"
ALICE = "79161234567"
BOB = "79057654321"
CYRILLIC = "Внимание! Сработал датчик протечки в ванной комнате, перекройте воду немедленно."
ALERTS = SendOptions(sender="ALERTS")


pytestmark = pytest.mark.usefixtures("no_client_retry_delay")


@pytest.fixture
async def emulator(http_session: aiohttp.ClientSession) -> AsyncIterator[StreamEmulator]:
    emu = StreamEmulator()
    await emu.start()
    emu.hang_seconds = 1.0
    yield emu
    await emu.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(
    http_session: aiohttp.ClientSession, emulator: StreamEmulator, clock: Clock
) -> StreamClient:
    gateway = StreamClient(
        http_session,
        Credentials(login="user", password=PASSWORD),
        base_url=emulator.base_url,
        timeout=0.5,
    )
    gateway._clock = clock
    return gateway


# -- sessions ---------------------------------------------------------------------------


async def test_login_is_a_post_form(client: StreamClient, emulator: StreamEmulator) -> None:
    await client.check_credentials()
    [login] = emulator.requests
    assert login.method == "POST"
    assert login.path == "/rest/Session/session.php"
    assert login.form == {"login": "user", "password": PASSWORD}
    assert login.query == {}


async def test_bad_password(http_session: aiohttp.ClientSession, emulator: StreamEmulator) -> None:
    wrong = StreamClient(
        http_session,
        Credentials(login="user", password="wrong-password"),
        base_url=emulator.base_url,
    )
    with pytest.raises(AuthenticationError) as caught:
        await wrong.send([ALICE], "test", ALERTS)
    assert caught.value.code == "4"
    assert "wrong-password" not in str(caught.value)
    assert emulator.count("Send/SendSms/") == 0


async def test_one_warm_alert_is_one_request(
    client: StreamClient, emulator: StreamEmulator
) -> None:
    await client.send([ALICE], "first", ALERTS)
    emulator.reset_counts()
    await client.send([ALICE], "second", ALERTS)
    assert emulator.count() == 1
    assert emulator.count("Send/SendSms/") == 1


@pytest.mark.parametrize("answer", [ExpiredAnswer.TEXT, ExpiredAnswer.CODE_3, ExpiredAnswer.CODE_4])
async def test_expired_session_logs_in_again_once(
    client: StreamClient, emulator: StreamEmulator, answer: ExpiredAnswer
) -> None:
    emulator.expired_answer = answer
    emulator.session_lifetime = 30 * 60
    await client.send([ALICE], "warm up", ALERTS)
    emulator.advance(31 * 60)
    emulator.reset_counts()
    result = await client.send([ALICE], "after the expiry", ALERTS)
    assert result.accepted
    assert [r.path for r in emulator.requests] == [
        "/rest/Send/SendSms/",
        "/rest/Session/session.php",
        "/rest/Send/SendSms/",
    ]
    assert len(emulator.segments) == 2


async def test_session_renewed_after_110_minutes(
    client: StreamClient, emulator: StreamEmulator, clock: Clock
) -> None:
    await client.balance()
    clock.now += 111 * 60
    emulator.reset_counts()
    await client.balance()
    assert [r.path for r in emulator.requests] == [
        "/rest/Session/session.php",
        "/rest/Balance/balance.php",
    ]


async def test_text_session_error_refused_twice(
    client: StreamClient, emulator: StreamEmulator
) -> None:
    emulator.expired_answer = ExpiredAnswer.TEXT
    emulator.inject(Fault.EXPIRED_SESSION, "Balance/balance.php", times=2)
    with pytest.raises(AuthenticationError) as caught:
        await client.balance()
    assert caught.value.text == "SessionID expired"
    assert emulator.logins == 2


# -- sending ----------------------------------------------------------------------------


async def test_send_to_one_number(client: StreamClient, emulator: StreamEmulator) -> None:
    options = SendOptions(sender="ALERTS", validity=timedelta(hours=2))
    result = await client.send(["8 916 123-45-67"], "Leak", options)
    send = emulator.requests[-1]
    assert send.path == "/rest/Send/SendSms/"
    assert send.form["destinationAddress"] == ALICE
    assert send.form["data"] == "Leak"
    assert send.form["sourceAddress"] == "ALERTS"
    assert send.form["validity"] == "120"
    assert send.form["sessionId"] in emulator.sessions
    [recipient] = result.recipients
    assert recipient.message_ids == ("371324579",)
    assert recipient.segments == 1


async def test_bulk_numbers_in_one_field(client: StreamClient, emulator: StreamEmulator) -> None:
    result = await client.send([ALICE, BOB], CYRILLIC, ALERTS)
    send = emulator.requests[-1]
    assert send.path == "/rest/Send/SendBulk/"
    assert send.form["destinationAddresses"] == f"{ALICE},{BOB}"
    assert send.form["data"] == CYRILLIC
    alice, bob = result.recipients
    # Ids come in order: both segments of the first number, then the next.
    assert alice.message_ids == ("371324579", "371324580")
    assert bob.message_ids == ("371324581", "371324582")
    assert emulator.segments["371324581"].phone == BOB


async def test_document_shaped_answers(client: StreamClient, emulator: StreamEmulator) -> None:
    emulator.id_shape = IdShape.DOCUMENT
    result = await client.send([ALICE, BOB], "test", ALERTS)
    assert [r.message_ids for r in result.recipients] == [("371324579",), ("371324580",)]
    when = datetime(2030, 1, 2, 10, 0, tzinfo=UTC)
    options = SendOptions(sender="ALERTS", send_at=when, recipient_local_time=True)
    result = await client.send([ALICE], "test", options)
    assert result.recipients[0].message_ids == ("371324581",)
    emulator.advance(10)
    [status] = await client.delivery_status([MessageRef("371324579", ALICE)])
    assert status.state is DeliveryState.SENT
    assert status.updated_at is not None


async def test_uneven_ids_are_split_evenly(client: StreamClient, emulator: StreamEmulator) -> None:
    # 306 septets with `{` across the part boundary: we count 3 parts, the gateway 2.
    text = "a" * 152 + "{" + "a" * 152
    result = await client.send([ALICE, BOB], text, ALERTS)
    alice, bob = result.recipients
    assert alice.message_ids == ("371324579", "371324580")
    assert bob.message_ids == ("371324581", "371324582")
    assert alice.segments == 2


async def test_bulk_is_chunked_at_1000(client: StreamClient, emulator: StreamEmulator) -> None:
    emulator.balance = Decimal(100000)
    phones = [f"7916{n:07d}" for n in range(2001)]
    result = await client.send(phones, "test", ALERTS)
    assert emulator.count("Send/SendBulk/") == 2
    assert emulator.count("Send/SendSms/") == 1
    assert len(result.accepted) == 2001
    assert emulator.logins == 1


async def test_send_at_in_utc_one_number_a_request(
    client: StreamClient, emulator: StreamEmulator
) -> None:
    when = datetime(2030, 1, 2, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    await client.send([ALICE, BOB], "later", SendOptions(sender="ALERTS", send_at=when))
    sends = [r for r in emulator.requests if r.path == "/rest/Send/SendSms/"]
    assert len(sends) == 2
    assert all(r.form["sendDate"] == "2030-01-02T09:00:00" for r in sends)
    assert emulator.count("Send/SendBulk/") == 0


async def test_recipient_local_time(client: StreamClient, emulator: StreamEmulator) -> None:
    when = datetime(2030, 1, 2, 10, 0, tzinfo=ZoneInfo("Asia/Yekaterinburg"))
    options = SendOptions(sender="ALERTS", send_at=when, recipient_local_time=True)
    await client.send([ALICE], "good morning", options)
    send = emulator.requests[-1]
    assert send.path == "/rest/Send/SendByTime/"
    assert send.form["sendDate"] == "2030-01-02T10:00:00"
    assert send.form["destinationAddress"] == ALICE


async def test_flood(client: StreamClient, emulator: StreamEmulator) -> None:
    await client.check_credentials()
    emulator.inject(Fault.RATE_LIMIT, "Send/SendSms/")
    with pytest.raises(RateLimitedError) as caught:
        await client.send([ALICE], "test", ALERTS)
    assert caught.value.retry_after == 60
    assert caught.value.code == "10"
    assert emulator.count("Send/SendSms/") == 1  # not retried
    assert emulator.breaches == []


async def test_no_money(client: StreamClient, emulator: StreamEmulator) -> None:
    emulator.inject(Fault.NO_MONEY, "Send/SendBulk/")
    with pytest.raises(InsufficientFundsError) as caught:
        await client.send([ALICE, BOB], "test", ALERTS)
    assert caught.value.code == "5"


async def test_unregistered_sender(client: StreamClient, emulator: StreamEmulator) -> None:
    with pytest.raises(InvalidSenderError) as caught:
        await client.send([ALICE], "test", SendOptions(sender="SMS Info"))
    assert caught.value.code == "6"


async def test_one_bad_number_refuses_the_bulk(
    client: StreamClient, emulator: StreamEmulator
) -> None:
    emulator.invalid_numbers.add(ALICE)
    with pytest.raises(InvalidRecipientError) as caught:
        await client.send([ALICE, BOB], "test", ALERTS)
    assert caught.value.phones == (ALICE,)
    assert caught.value.kind is ErrorKind.INVALID_RECIPIENT
    assert emulator.segments == {}


async def test_timeouts_and_garbage(client: StreamClient, emulator: StreamEmulator) -> None:
    await client.check_credentials()
    emulator.inject(Fault.TIMEOUT_AFTER, "Send/SendBulk/")
    with pytest.raises(GatewayTimeoutError) as timed_out:
        await client.send([ALICE, BOB], "test", ALERTS)
    assert timed_out.value.may_have_been_accepted
    assert len(emulator.segments) == 2
    emulator.inject(Fault.MALFORMED, "Send/SendSms/")
    with pytest.raises(GatewayResponseError) as garbled:
        await client.send([ALICE], "test", ALERTS)
    assert garbled.value.may_have_been_accepted
    emulator.inject(Fault.SERVER_ERROR_HTML, "Balance/balance.php")
    assert len(emulator.segments) == 3  # the garbled answer hid an accepted send
    assert (await client.balance()).amount == Decimal("95.50")
    assert emulator.count("Balance/balance.php") == 2


async def test_connection_refused(http_session: aiohttp.ClientSession, refused_url: str) -> None:
    gateway = StreamClient(
        http_session, Credentials(login="user", password=PASSWORD), base_url=refused_url
    )
    with pytest.raises(GatewayConnectionError):
        await gateway.balance()


# -- state, account ---------------------------------------------------------------------


async def test_states(client: StreamClient, emulator: StreamEmulator) -> None:
    emulator.outcomes[BOB] = Outcome.FAILED
    result = await client.send([ALICE, BOB], "test", ALERTS)
    refs = [MessageRef(r.message_ids[0], r.phone) for r in result.recipients]
    statuses = await client.delivery_status(refs)
    assert [s.state for s in statuses] == [DeliveryState.SENT, DeliveryState.SENT]
    assert emulator.requests[-1].path == "/rest/State/state.php"
    emulator.advance(61)
    alice, bob = await client.delivery_status(refs)
    assert alice.state is DeliveryState.DELIVERED
    assert alice.raw_text == "Delivered"
    assert alice.cost == Decimal("1.5")
    assert bob.state is DeliveryState.FAILED
    assert bob.raw_code == "42"
    emulator.advance(49 * 3600)
    alice, _ = await client.delivery_status(refs)
    assert alice.state is DeliveryState.UNKNOWN
    assert alice.raw_code == "255"


async def test_expired_state(client: StreamClient, emulator: StreamEmulator) -> None:
    emulator.outcomes[ALICE] = Outcome.EXPIRED
    result = await client.send([ALICE], "test", ALERTS)
    emulator.advance(61)
    [status] = await client.delivery_status(
        [MessageRef(result.recipients[0].message_ids[0], ALICE)]
    )
    assert status.state is DeliveryState.EXPIRED


async def test_balance(client: StreamClient, emulator: StreamEmulator) -> None:
    emulator.balance = Decimal("20015.3")
    assert (await client.balance()).amount == Decimal("20015.3")


async def test_incoming(client: StreamClient, emulator: StreamEmulator) -> None:
    emulator.add_incoming(BOB, "message")
    start = datetime.now(UTC) - timedelta(minutes=5)
    [message] = await client.incoming(start, start + timedelta(minutes=10))
    assert emulator.requests[-1].path == "/rest/Incoming/"
    assert (message.phone, message.text, message.to) == (BOB, "message", "2420")


async def test_statistics(client: StreamClient, emulator: StreamEmulator) -> None:
    emulator.outcomes[BOB] = Outcome.EXPIRED
    await client.send([ALICE, BOB, "79260000001"], "test", ALERTS)
    emulator.advance(61)
    await client.send(["79260000002"], "test", ALERTS)
    start = datetime.now(UTC) - timedelta(hours=1)
    stats = await client.statistics(start, start + timedelta(hours=2))
    request = emulator.requests[-1]
    assert request.path == "/rest/Statistic/"
    assert request.form["startDateTime"] == start.strftime("%Y-%m-%dT%H:%M:%S")
    assert (stats.sent, stats.delivered, stats.expired, stats.in_progress) == (4, 2, 1, 1)
    assert stats.failed == 0
    assert stats.delivery_ratio == 50.0
    # Stream has no documented limit on the period.
    assert (await client.statistics(start - timedelta(days=365), start)).sent == 0


# -- HLR --------------------------------------------------------------------------------


async def test_lookup(client: StreamClient, emulator: StreamEmulator) -> None:
    emulator.ported.add(ALICE)
    emulator.hlr_unreachable.add(BOB)
    pending = await client.lookup([ALICE, BOB])
    assert [p.state for p in pending] == [LookupState.PENDING, LookupState.PENDING]
    assert all(p.request_id for p in pending)
    hlr = [r for r in emulator.requests if r.path == "/rest/Send/SendHLR/"]
    assert {r.form["destinationAddress"] for r in hlr} == {ALICE, BOB}
    still = await client.lookup_result(pending)
    assert [p.state for p in still] == [LookupState.PENDING, LookupState.PENDING]
    emulator.advance(11)
    alice, bob = await client.lookup_result(still)
    assert alice.state is LookupState.REACHABLE
    assert alice.ported is True
    assert alice.imsi == "250019161234567"
    assert alice.msc == "79160009999"
    assert alice.error_code is None
    assert alice.raw_code == "0"
    assert bob.state is LookupState.UNREACHABLE
    assert bob.ported is False
    assert bob.error_code == "1"
    # Final results are not asked about again.
    emulator.reset_counts()
    assert await client.lookup_result([alice, bob]) == [alice, bob]
    assert emulator.count() == 0


async def test_lookup_failures(client: StreamClient, emulator: StreamEmulator) -> None:
    emulator.invalid_numbers.add(BOB)
    alice, bob = await client.lookup([ALICE, BOB])
    assert alice.state is LookupState.PENDING
    assert bob.state is LookupState.FAILED
    assert bob.error_code == "2"
    with pytest.raises(InvalidRecipientError):
        await client.lookup([BOB])
    [unknown] = await client.lookup_result(
        [LookupResult(phone=ALICE, state=LookupState.PENDING, request_id="999")]
    )
    assert unknown.state is LookupState.FAILED
    assert unknown.error_code == "2"
    emulator.inject(Fault.EXPIRED_SESSION, "State/HLR/", times=2)
    with pytest.raises(AuthenticationError):
        await client.lookup_result([alice])


def test_capabilities() -> None:
    caps = StreamClient.capabilities
    assert (caps.lookup, caps.lookup_is_deferred, caps.recipient_local_time) == (True, True, True)
    assert (caps.balance, caps.incoming, caps.statistics) == (True, True, True)
    assert (caps.flash, caps.client_message_id) == (False, False)
    assert StreamClient.default_base_url == "https://gateway.api.sc/rest/"


async def test_unreadable_balance_and_lookup_answers(
    client: StreamClient, emulator: StreamEmulator
) -> None:
    [pending] = await client.lookup([ALICE])
    emulator.inject(Fault.EMPTY, "Balance/balance.php", times=2)
    with pytest.raises(GatewayResponseError):
        await client.balance()
    emulator.inject(Fault.MALFORMED, "State/HLR/", times=2)
    with pytest.raises(GatewayResponseError) as caught:
        await client.lookup_result([pending])
    assert not caught.value.may_have_been_accepted
    assert emulator.count("State/HLR/") == 2
