"""DevinoClient against the emulated Devino REST API, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
import pytest

from custom_components.ru_sms.providers.devino import DevinoClient
from custom_components.ru_sms.providers.errors import (
    AuthenticationError,
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
    InsufficientFundsError,
    InvalidRecipientError,
    InvalidRequestError,
    InvalidSenderError,
    MessageRejectedError,
    NotSupportedError,
)
from custom_components.ru_sms.providers.models import (
    Credentials,
    DeliveryState,
    ErrorKind,
    MessageRef,
    SendOptions,
    combine_states,
)
from tests.conftest import Clock
from tests.emulators.base import Fault
from tests.emulators.devino import DevinoEmulator
from tests.emulators.restapi import ExpiredAnswer, GatewayError, IdShape, Outcome, Params

PASSWORD = "secret-pass"
ALICE = "79161234567"
BOB = "79057654321"
CYRILLIC = "Внимание! Сработал датчик протечки в ванной комнате, перекройте воду немедленно."


pytestmark = pytest.mark.usefixtures("no_client_retry_delay")


@pytest.fixture
async def emulator(http_session: aiohttp.ClientSession) -> AsyncIterator[DevinoEmulator]:
    emu = DevinoEmulator()
    await emu.start()
    emu.hang_seconds = 1.0
    yield emu
    await emu.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(
    http_session: aiohttp.ClientSession, emulator: DevinoEmulator, clock: Clock
) -> DevinoClient:
    gateway = DevinoClient(
        http_session,
        Credentials(login="user", password=PASSWORD),
        base_url=emulator.base_url,
        timeout=0.5,
    )
    gateway._clock = clock
    return gateway


ALERTS = SendOptions(sender="ALERTS")


# -- sessions ---------------------------------------------------------------------------


async def test_check_credentials_logs_in_by_get_as_documented(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    """The document gives `user/sessionid` as a GET request only: the login in the query."""
    await client.check_credentials()
    [login] = emulator.requests
    assert login.method == "GET"
    assert login.path == "/rest/user/sessionid"
    assert login.query == {"login": "user", "password": PASSWORD}
    assert login.raw_body == b""
    assert client._session_id in emulator.sessions


async def test_bad_password_is_an_authentication_error(
    http_session: aiohttp.ClientSession, emulator: DevinoEmulator
) -> None:
    wrong = DevinoClient(
        http_session,
        Credentials(login="user", password="wrong-password"),
        base_url=emulator.base_url,
        timeout=0.5,
    )
    with pytest.raises(AuthenticationError) as caught:
        await wrong.check_credentials()
    assert caught.value.code == "4"
    assert "wrong-password" not in str(caught.value)
    with pytest.raises(AuthenticationError):
        await wrong.send([ALICE], "test", ALERTS)
    assert emulator.count("Sms/Send") == 0
    assert emulator.count("user/sessionid") == 2


async def test_missing_credentials_fail_without_a_request(
    http_session: aiohttp.ClientSession, emulator: DevinoEmulator
) -> None:
    anonymous = DevinoClient(http_session, Credentials(login="user"), base_url=emulator.base_url)
    with pytest.raises(AuthenticationError):
        await anonymous.balance()
    assert emulator.count() == 0


async def test_unquoted_session_id_is_taken(client: DevinoClient, emulator: DevinoEmulator) -> None:
    emulator.quote_session = False
    result = await client.send([ALICE], "test", ALERTS)
    assert result.accepted
    assert emulator.requests[-1].form["SessionID"] in emulator.sessions


async def test_one_warm_alert_is_one_request(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    await client.send([ALICE], "first", ALERTS)
    assert emulator.count() == 2  # login, send
    emulator.reset_counts()
    await client.send([ALICE], "second", ALERTS)
    assert emulator.count() == 1
    assert emulator.count("Sms/Send") == 1


async def test_concurrent_calls_share_one_login(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    await asyncio.gather(*(client.send([ALICE], f"alert {i}", ALERTS) for i in range(5)))
    assert emulator.logins == 1
    assert emulator.count("Sms/Send") == 5


async def test_session_is_renewed_before_it_gets_old(
    client: DevinoClient, emulator: DevinoEmulator, clock: Clock
) -> None:
    await client.balance()
    clock.now += 109 * 60
    emulator.advance(109 * 60)
    await client.balance()
    assert emulator.logins == 1
    clock.now += 2 * 60
    emulator.advance(2 * 60)
    emulator.reset_counts()
    await client.balance()
    # A new session first: no call is refused on the way.
    assert [r.path for r in emulator.requests] == ["/rest/user/sessionid", "/rest/User/Balance"]
    assert emulator.logins == 2


@pytest.mark.parametrize("answer", [ExpiredAnswer.CODE_4, ExpiredAnswer.CODE_3])
async def test_expired_session_logs_in_again_once(
    client: DevinoClient, emulator: DevinoEmulator, answer: ExpiredAnswer
) -> None:
    emulator.expired_answer = answer
    await client.send([ALICE], "warm up", ALERTS)
    # The gateway's clock runs on, ours did not: the gateway expires the session first.
    emulator.advance(121 * 60)
    emulator.reset_counts()
    result = await client.send([ALICE], "after the expiry", ALERTS)
    assert result.accepted
    assert [r.path.rsplit("/", 1)[-1] for r in emulator.requests] == ["Send", "sessionid", "Send"]
    assert emulator.logins == 2
    # One message only: the refused call was not processed.
    assert len(emulator.segments) == 2


async def test_injected_expired_session_fault(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    await client.balance()
    emulator.inject(Fault.EXPIRED_SESSION, "Sms/Send")
    result = await client.send([ALICE], "test", ALERTS)
    assert result.accepted
    assert emulator.count("Sms/Send") == 2
    assert emulator.logins == 2


async def test_session_refused_twice_is_an_authentication_error(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    emulator.inject(Fault.EXPIRED_SESSION, "User/Balance", times=2)
    with pytest.raises(AuthenticationError) as caught:
        await client.balance()
    assert caught.value.code == "4"
    assert emulator.count("User/Balance") == 2
    assert emulator.logins == 2


class TattletaleDevino(DevinoEmulator):
    """Names the session id in its error texts."""

    async def state(self, request: web.Request, params: Params) -> web.Response:
        raise GatewayError(2, f"Invalid argument messageId in session {params.get('SessionID')}")


async def test_session_ids_never_show_in_errors(http_session: aiohttp.ClientSession) -> None:
    emulator = TattletaleDevino()
    await emulator.start()
    try:
        gateway = DevinoClient(
            http_session,
            Credentials(login="user", password=PASSWORD),
            base_url=emulator.base_url,
            timeout=0.5,
        )
        [status] = await gateway.delivery_status([MessageRef("GW1", ALICE)])
        session_id = gateway._session_id
        assert session_id
        assert status.state is DeliveryState.UNKNOWN
        assert status.raw_text == "Invalid argument messageId in session ***"
        emulator.inject(Fault.EXPIRED_SESSION, "User/Balance", times=2)
        with pytest.raises(AuthenticationError) as caught:
            await gateway.balance()
        assert session_id not in str(caught.value)
        assert session_id in gateway._secrets()  # an old session id is still scrubbed
        assert PASSWORD not in repr(gateway)
        assert session_id not in repr(gateway)
    finally:
        await emulator.stop()


# -- sending ----------------------------------------------------------------------------


async def test_send_to_one_number(client: DevinoClient, emulator: DevinoEmulator) -> None:
    result = await client.send(["+7 (916) 123-45-67"], "Leak in the bathroom", ALERTS)
    send = emulator.requests[-1]
    assert send.path == "/rest/Sms/Send"
    assert send.query == {}
    assert send.form["DestinationAddress"] == ALICE
    assert send.form["Data"] == "Leak in the bathroom"
    assert send.form["SourceAddress"] == "ALERTS"
    assert "SendDate" not in send.form
    assert "Validity" not in send.form
    [recipient] = result.recipients
    assert recipient.accepted
    assert recipient.phone == ALICE
    assert recipient.segments == 1
    assert len(recipient.message_ids) == 1
    assert recipient.message_ids[0].startswith("GW")
    assert emulator.balance == Decimal("98.50")


async def test_multi_segment_cyrillic_bulk(client: DevinoClient, emulator: DevinoEmulator) -> None:
    text = CYRILLIC * 2  # 164 characters of UCS-2: three parts
    result = await client.send([ALICE, BOB], text, ALERTS)
    send = emulator.requests[-1]
    assert send.path == "/rest/Sms/SendBulk"
    assert [v for k, v in send.multi if k == "DestinationAddresses"] == [ALICE, BOB]
    assert send.form["Data"] == text  # Cyrillic arrives intact
    alice, bob = result.recipients
    assert alice.segments == bob.segments == 3
    assert all(ALICE in i for i in alice.message_ids)
    assert all(BOB in i for i in bob.message_ids)
    assert result.segments == 6


async def test_document_shaped_bulk_answer(client: DevinoClient, emulator: DevinoEmulator) -> None:
    emulator.id_shape = IdShape.DOCUMENT
    result = await client.send([ALICE, BOB], CYRILLIC, ALERTS)
    alice, bob = result.recipients
    assert len(alice.message_ids) == len(bob.message_ids) == 2
    assert set(alice.message_ids + bob.message_ids) == set(emulator.segments)


async def test_ids_are_grouped_by_the_number_they_embed(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    # 306 septets with `{` across the part boundary: we count 3 parts, the gateway 2.
    text = "a" * 152 + "{" + "a" * 152
    result = await client.send([ALICE, BOB], text, ALERTS)
    alice, bob = result.recipients
    assert len(alice.message_ids) == len(bob.message_ids) == 2
    assert all(ALICE in i for i in alice.message_ids)
    assert alice.segments == 2


async def test_bulk_is_chunked_at_1000(client: DevinoClient, emulator: DevinoEmulator) -> None:
    emulator.balance = Decimal(100000)
    phones = [f"7916{n:07d}" for n in range(1500)]
    result = await client.send(phones, "test", ALERTS)
    bulks = [r for r in emulator.requests if r.path.endswith("SendBulk")]
    sizes = sorted(sum(1 for k, _ in r.multi if k == "DestinationAddresses") for r in bulks)
    assert sizes == [500, 1000]
    assert len(result.accepted) == 1500
    assert emulator.logins == 1


async def test_send_at_goes_in_moscow_time(client: DevinoClient, emulator: DevinoEmulator) -> None:
    when = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)
    await client.send([ALICE, BOB], "later", SendOptions(sender="ALERTS", send_at=when))
    assert emulator.requests[-1].form["SendDate"] == "2030-01-02T12:00:00"
    assert emulator.requests[-1].path.endswith("SendBulk")
    await client.send([ALICE], "later", SendOptions(sender="ALERTS", send_at=when))
    assert emulator.requests[-1].form["SendDate"] == "2030-01-02T12:00:00"


async def test_recipient_local_time(client: DevinoClient, emulator: DevinoEmulator) -> None:
    when = datetime(2030, 1, 2, 9, 0, tzinfo=ZoneInfo("Asia/Vladivostok"))
    options = SendOptions(sender="ALERTS", send_at=when, recipient_local_time=True)
    result = await client.send([ALICE, BOB], "good morning", options)
    sends = [r for r in emulator.requests if r.path.endswith("SendByTimeZone")]
    assert len(sends) == 2
    assert {r.form["DestinationAddress"] for r in sends} == {ALICE, BOB}
    assert all(r.form["SendDate"] == "2030-01-02T09:00:00" for r in sends)
    assert len(result.accepted) == 2
    assert DevinoClient.capabilities.recipient_local_time


async def test_validity_and_transliteration(client: DevinoClient, emulator: DevinoEmulator) -> None:
    options = SendOptions(sender="ALERTS", validity=timedelta(minutes=90), transliterate=True)
    result = await client.send([ALICE], "Протечка", options)
    send = emulator.requests[-1]
    assert send.form["Validity"] == "90"
    assert send.form["Data"] == "Protechka"
    assert result.recipients[0].segments == 1


async def test_flash_is_not_supported(client: DevinoClient, emulator: DevinoEmulator) -> None:
    with pytest.raises(NotSupportedError):
        await client.send([ALICE], "test", SendOptions(sender="ALERTS", flash=True))
    assert emulator.count() == 0


async def test_too_long_text_is_refused_before_sending(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    with pytest.raises(MessageRejectedError):
        await client.send([ALICE], "a" * 2001, ALERTS)
    assert emulator.count() == 0


# -- send errors ------------------------------------------------------------------------


async def test_unregistered_sender(client: DevinoClient, emulator: DevinoEmulator) -> None:
    with pytest.raises(InvalidSenderError) as caught:
        await client.send([ALICE], "test", SendOptions(sender="NOBODY"))
    assert caught.value.code == "6"
    assert caught.value.text == "Invalid source address"


async def test_missing_sender(client: DevinoClient, emulator: DevinoEmulator) -> None:
    # Devino has no default sender: refused before any request, not by the gateway.
    with pytest.raises(InvalidSenderError) as caught:
        await client.send([ALICE], "test")
    assert caught.value.problem == "sender_required"
    assert emulator.count("Sms/Send") == 0


async def test_one_bad_number_refuses_the_bulk(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    emulator.invalid_numbers.add(BOB)
    with pytest.raises(InvalidRecipientError) as caught:
        await client.send([ALICE, BOB], "test", ALERTS)
    assert caught.value.code == "2"
    assert caught.value.phones == (BOB,)
    assert emulator.segments == {}


async def test_no_money(client: DevinoClient, emulator: DevinoEmulator) -> None:
    emulator.inject(Fault.NO_MONEY, "Sms/Send")
    with pytest.raises(InsufficientFundsError) as caught:
        await client.send([ALICE], "test", ALERTS)
    assert caught.value.code == "5"
    assert caught.value.kind is ErrorKind.INSUFFICIENT_FUNDS
    emulator.balance = Decimal("1.00")
    with pytest.raises(InsufficientFundsError):
        await client.send([ALICE], "test", ALERTS)


async def test_rate_limit_fault_is_an_internal_error_never_retried(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    # Devino has no flood code: the emulator answers Code 9, a final answer to a send.
    emulator.inject(Fault.RATE_LIMIT, "Sms/Send")
    with pytest.raises(GatewayResponseError) as caught:
        await client.send([ALICE], "test", ALERTS)
    assert emulator.count("Sms/Send") == 1
    assert caught.value.code == "9"
    assert not caught.value.may_have_been_accepted
    assert emulator.breaches == []


async def test_partial_failure_of_chunks_rejects_only_that_chunk(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    emulator.balance = Decimal(100000)
    emulator.invalid_numbers.add("79160001000")
    phones = [f"7916{n:07d}" for n in range(1001)]
    result = await client.send(phones, "test", ALERTS)
    [rejected] = result.rejected
    assert rejected.phone == "79160001000"
    assert rejected.error_kind is ErrorKind.INVALID_RECIPIENT
    assert rejected.error_code == "2"
    assert len(result.accepted) == 1000


# -- transport faults -------------------------------------------------------------------


async def _warm(client: DevinoClient, emulator: DevinoEmulator) -> None:
    await client.check_credentials()
    emulator.reset_counts()


async def test_timeout_before_processing_a_send(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    await _warm(client, emulator)
    emulator.inject(Fault.TIMEOUT_BEFORE, "Sms/Send")
    with pytest.raises(GatewayTimeoutError) as caught:
        await client.send([ALICE], "test", ALERTS)
    # The request went out: we cannot know it was not processed.
    assert caught.value.may_have_been_accepted
    assert emulator.count("Sms/Send") == 1


async def test_timeout_after_accepting_a_send(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    await _warm(client, emulator)
    emulator.inject(Fault.TIMEOUT_AFTER, "Sms/Send")
    with pytest.raises(GatewayTimeoutError) as caught:
        await client.send([ALICE], "test", ALERTS)
    assert caught.value.may_have_been_accepted
    assert len(emulator.segments) == 1
    assert emulator.count("Sms/Send") == 1


@pytest.mark.parametrize("path", ["Sms/Send", "Sms/SendBulk"])
async def test_disconnect_after_accepting(
    client: DevinoClient, emulator: DevinoEmulator, path: str
) -> None:
    await _warm(client, emulator)
    emulator.inject(Fault.DISCONNECT_AFTER, path)
    phones = [ALICE] if path == "Sms/Send" else [ALICE, BOB]
    with pytest.raises(GatewayConnectionError) as caught:
        await client.send(phones, "test", ALERTS)
    assert caught.value.may_have_been_accepted
    assert emulator.count(path) == 1


async def test_bulk_timeouts(client: DevinoClient, emulator: DevinoEmulator) -> None:
    await _warm(client, emulator)
    emulator.inject(Fault.TIMEOUT_AFTER, "Sms/SendBulk")
    with pytest.raises(GatewayTimeoutError) as caught:
        await client.send([ALICE, BOB], "test", ALERTS)
    assert caught.value.may_have_been_accepted


async def test_html_502_after_a_send_is_never_retried(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    await _warm(client, emulator)
    emulator.inject(Fault.SERVER_ERROR_HTML, "Sms/SendBulk")
    with pytest.raises(GatewayResponseError) as caught:
        await client.send([ALICE, BOB], "test", ALERTS)
    assert emulator.count("Sms/SendBulk") == 1
    assert caught.value.code == "502"
    assert caught.value.may_have_been_accepted


@pytest.mark.parametrize("fault", [Fault.MALFORMED, Fault.EMPTY])
async def test_unreadable_send_answer(
    client: DevinoClient, emulator: DevinoEmulator, fault: Fault
) -> None:
    await _warm(client, emulator)
    emulator.inject(fault, "Sms/Send")
    with pytest.raises(GatewayResponseError) as caught:
        await client.send([ALICE], "test", ALERTS)
    assert caught.value.may_have_been_accepted
    assert emulator.count("Sms/Send") == 1


async def test_unreadable_status_answer_is_retried(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    result = await client.send([ALICE], "test", ALERTS)
    refs = [MessageRef(i, ALICE) for i in result.recipients[0].message_ids]
    # Nothing is sent by a status request: any failure is safe to try once more.
    for fault in (Fault.SERVER_ERROR_HTML, Fault.TIMEOUT_BEFORE, Fault.EMPTY, Fault.MALFORMED):
        emulator.reset_counts()
        emulator.inject(fault, "Sms/State")
        [status] = await client.delivery_status(refs)
        assert status.state is DeliveryState.QUEUED
        assert emulator.count("Sms/State") == 2
    emulator.inject(Fault.EMPTY, "Sms/State", times=2)
    with pytest.raises(GatewayResponseError) as caught:
        await client.delivery_status(refs)
    assert not caught.value.may_have_been_accepted


async def test_connection_refused(http_session: aiohttp.ClientSession, refused_url: str) -> None:
    gateway = DevinoClient(
        http_session, Credentials(login="user", password=PASSWORD), base_url=refused_url
    )
    with pytest.raises(GatewayConnectionError) as caught:
        await gateway.send([ALICE], "test", ALERTS)
    assert not caught.value.may_have_been_accepted
    assert PASSWORD not in str(caught.value)


async def test_login_failure_is_raised_at_once(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    """A login stands on a send's way: it is never retried after a wait."""
    emulator.inject(Fault.SERVER_ERROR_HTML, "user/sessionid")
    with pytest.raises(GatewayResponseError):
        await client.send([ALICE], "test", ALERTS)
    assert emulator.count("user/sessionid") == 1
    assert emulator.count("Sms/Send") == 0
    emulator.inject(Fault.EMPTY, "user/sessionid")
    with pytest.raises(GatewayResponseError):
        await client.check_credentials()
    await client.check_credentials()  # the next call logs in
    assert emulator.count("user/sessionid") == 3


# -- delivery state ---------------------------------------------------------------------


async def test_states_move_on(client: DevinoClient, emulator: DevinoEmulator) -> None:
    result = await client.send([ALICE], "test", ALERTS)
    refs = [MessageRef(i, ALICE) for i in result.recipients[0].message_ids]
    emulator.reset_counts()
    [status] = await client.delivery_status(refs)
    assert emulator.count() == 1
    assert emulator.requests[0].form["messageId"] == refs[0].message_id
    assert status.state is DeliveryState.QUEUED
    assert status.raw_code == "-2"
    emulator.advance(10)
    [status] = await client.delivery_status(refs)
    assert status.state is DeliveryState.SENT
    assert status.updated_at is not None  # from TimeStampUtc
    emulator.advance(60)
    [status] = await client.delivery_status(refs)
    assert status.state is DeliveryState.DELIVERED
    assert status.raw_code == "0"
    assert status.raw_text == "Delivered"
    assert status.cost == Decimal("1.5")
    assert status.updated_at is not None
    assert status.updated_at.tzinfo is not None
    emulator.advance(49 * 3600)
    [status] = await client.delivery_status(refs)
    assert status.state is DeliveryState.UNKNOWN
    assert status.raw_code == "255"


async def test_failed_and_expired_per_number(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    emulator.outcomes[ALICE] = Outcome.FAILED
    emulator.outcomes[BOB] = Outcome.EXPIRED
    result = await client.send([ALICE, BOB], CYRILLIC, ALERTS)
    refs = [MessageRef(i, r.phone) for r in result.recipients for i in r.message_ids]
    assert len(refs) == 4
    emulator.advance(120)
    emulator.reset_counts()
    statuses = await client.delivery_status(refs)
    assert emulator.count("Sms/State") == 4  # one request per segment id
    by_phone = {
        phone: combine_states([s.state for s in statuses if s.phone == phone])
        for phone in (ALICE, BOB)
    }
    assert by_phone == {ALICE: DeliveryState.FAILED, BOB: DeliveryState.EXPIRED}
    assert {s.raw_code for s in statuses} == {"42", "46"}


async def test_unknown_id_is_unknown(client: DevinoClient, emulator: DevinoEmulator) -> None:
    [status] = await client.delivery_status([MessageRef("GWNOSUCHID", ALICE)])
    assert status.state is DeliveryState.UNKNOWN
    assert status.error_code == "2"


async def test_status_auth_failure_is_raised(
    client: DevinoClient, emulator: DevinoEmulator
) -> None:
    emulator.inject(Fault.EXPIRED_SESSION, "Sms/State", times=2)
    with pytest.raises(AuthenticationError):
        await client.delivery_status([MessageRef("GW1", ALICE)])


# -- account ----------------------------------------------------------------------------


async def test_balance(client: DevinoClient, emulator: DevinoEmulator) -> None:
    emulator.balance = Decimal("20015.3")
    balance = await client.balance()
    assert balance.amount == Decimal("20015.3")
    assert balance.currency is None
    assert emulator.requests[-1].path == "/rest/User/Balance"


async def test_incoming(client: DevinoClient, emulator: DevinoEmulator) -> None:
    emulator.add_incoming(ALICE, "Стоп")
    start = datetime.now(UTC) - timedelta(hours=1)
    messages = await client.incoming(start, start + timedelta(hours=2))
    request = emulator.requests[-1]
    assert request.path == "/rest/Sms/In"
    assert request.form["minDateUTC"] == start.strftime("%Y-%m-%dT%H:%M:%S")
    [message] = messages
    assert message.phone == ALICE
    assert message.text == "Стоп"
    assert message.to == "2420"
    assert message.message_id == "5126"
    assert message.received_at is not None
    assert abs(message.received_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert await client.incoming(start - timedelta(days=2), start - timedelta(days=1)) == []


async def test_naive_dates_are_refused(client: DevinoClient, emulator: DevinoEmulator) -> None:
    with pytest.raises(InvalidRequestError):
        await client.incoming(datetime(2030, 1, 1), datetime(2030, 1, 2))
    assert emulator.count() == 0


async def test_statistics(client: DevinoClient, emulator: DevinoEmulator) -> None:
    emulator.outcomes[BOB] = Outcome.FAILED
    await client.send([ALICE, BOB], "test", ALERTS)
    await client.send(["79260000001"], "test", ALERTS)
    emulator.advance(120)
    await client.send(["79260000002"], "test", ALERTS)
    start = datetime.now(UTC) - timedelta(days=1)
    stats = await client.statistics(start, start + timedelta(days=2))
    request = emulator.requests[-1]
    assert request.path == "/rest/Sms/Statistics"
    assert request.form["startDateTime"] == (start + timedelta(hours=3)).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )
    assert (stats.sent, stats.delivered, stats.failed, stats.in_progress) == (4, 2, 1, 1)
    assert stats.delivery_ratio == 50.0
    assert stats.raw["Errors"] == 1


async def test_statistics_period_limits(client: DevinoClient, emulator: DevinoEmulator) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidRequestError):
        await client.statistics(start, start + timedelta(days=91))
    with pytest.raises(InvalidRequestError):
        await client.statistics(start, start - timedelta(days=1))
    assert emulator.count() == 0
    stats = await client.statistics(start, start + timedelta(days=90))
    assert stats.sent == 0
    assert stats.delivery_ratio is None


def test_capabilities() -> None:
    caps = DevinoClient.capabilities
    assert (caps.balance, caps.incoming, caps.statistics) == (True, True, True)
    assert (caps.lookup, caps.flash, caps.client_message_id) == (False, False, False)
    assert not caps.server_transliteration
    assert caps.max_text_length == 2000
    assert DevinoClient.default_base_url == "https://integrationapi.net/rest/"
