"""SmscClient against the emulated SMSC.ru over real loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest

from custom_components.ru_sms.providers.errors import (
    AuthenticationError,
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
    InsufficientFundsError,
    InvalidRecipientError,
    InvalidRequestError,
    MessageRejectedError,
    NotSupportedError,
    RateLimitedError,
    SmsGatewayError,
)
from custom_components.ru_sms.providers.http import request_form
from custom_components.ru_sms.providers.models import (
    Balance,
    Credentials,
    DeliveryState,
    ErrorKind,
    LookupResult,
    LookupState,
    MessageRef,
    SendOptions,
)
from custom_components.ru_sms.providers.smsc import BACKUP_BASE_URL, SmscClient
from tests.emulators.base import Fault
from tests.emulators.smsc import NotFound, SmscEmulator

PHONE = "79161234567"
OTHER = "79162223344"
THIRD = "79163334455"
CYRILLIC = "Внимание: протечка воды на кухне!"  # 33 characters, one UCS-2 part


pytestmark = pytest.mark.usefixtures("no_client_retry_delay")


@pytest.fixture
async def emulator(socket_enabled: None) -> AsyncIterator[SmscEmulator]:
    emu = SmscEmulator()
    emu.hang_seconds = 1.0
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
def client(http_session: aiohttp.ClientSession, emulator: SmscEmulator) -> SmscClient:
    return SmscClient(
        http_session,
        Credentials(login="alerts", password="s3cret-pass"),
        base_url=emulator.base_url,
        timeout=0.5,
    )


def key_client(session: aiohttp.ClientSession, emulator: SmscEmulator, key: str) -> SmscClient:
    return SmscClient(session, Credentials(api_key=key), base_url=emulator.base_url, timeout=0.5)


# -- construction --------------------------------------------------------------------------


async def test_default_address_has_the_backup_host(http_session: aiohttp.ClientSession) -> None:
    client = SmscClient(http_session, Credentials(login="a", password="secret-pw"))
    assert client.base_url == "https://smsc.ru/sys/"
    assert client._base_urls == ("https://smsc.ru/sys/", BACKUP_BASE_URL)
    same = SmscClient(http_session, Credentials(api_key="k"), base_url="https://smsc.ru/sys")
    assert same._base_urls == ("https://smsc.ru/sys/", BACKUP_BASE_URL)
    custom = SmscClient(http_session, Credentials(api_key="k"), base_url="https://x.example/sys")
    assert custom._base_urls == ("https://x.example/sys/",)
    assert "secret-pw" not in repr(client)


def test_capabilities() -> None:
    caps = SmscClient.capabilities
    assert caps.balance
    assert caps.lookup
    assert caps.lookup_is_deferred
    assert caps.flash
    assert caps.client_message_id
    assert caps.server_transliteration
    assert caps.send_returns_cost
    assert caps.send_returns_balance
    assert not caps.recipient_local_time
    assert not caps.incoming
    assert not caps.statistics
    assert caps.max_text_length == 1000
    assert caps.max_validity == timedelta(hours=24)


async def test_backup_host_takes_the_retry(
    client: SmscClient, emulator: SmscEmulator, refused_url: str
) -> None:
    client._base_urls = (refused_url, emulator.base_url)
    result = await client.send([PHONE], "Backup host")
    assert result.accepted[0].message_ids == ("1001",)
    assert emulator.count("send.php") == 1


# -- sending -------------------------------------------------------------------------------


async def test_one_alert_is_one_request(client: SmscClient, emulator: SmscEmulator) -> None:
    result = await client.send(["+7 (916) 123-45-67"], CYRILLIC)

    assert emulator.count() == 1
    request = emulator.requests[0]
    assert request.method == "POST"
    assert request.path == "/sys/send.php"
    assert request.query == {}  # credentials only in the body
    assert request.form == {
        "login": "alerts",
        "psw": "s3cret-pass",
        "phones": PHONE,
        "mes": CYRILLIC,  # intact: sent as utf-8 and said so
        "cost": "3",
        "op": "1",
        "fmt": "3",
        "charset": "utf-8",
    }
    (recipient,) = result.recipients
    assert recipient.accepted
    assert recipient.phone == PHONE
    assert recipient.message_ids == ("1001",)
    assert recipient.segments == 1
    assert recipient.cost == Decimal("1.90")
    assert result.balance == Decimal("98.10")
    assert result.cost == Decimal("1.90")
    assert emulator.messages[(1001, PHONE)].text == CYRILLIC


async def test_multi_segment_cyrillic(client: SmscClient, emulator: SmscEmulator) -> None:
    text = "Датчик протечки сработал. " * 6  # 156 UCS-2 characters: three parts of 67
    result = await client.send([PHONE, OTHER], text)
    assert emulator.count() == 1
    assert emulator.requests[0].form["phones"] == f"{PHONE},{OTHER}"
    assert [r.segments for r in result.recipients] == [3, 3]
    assert [r.cost for r in result.recipients] == [Decimal("5.70"), Decimal("5.70")]
    assert result.segments == 6
    assert result.balance == Decimal("88.60")
    assert result.recipients[0].message_ids == result.recipients[1].message_ids == ("1001",)


async def test_send_options_go_into_the_form(client: SmscClient, emulator: SmscEmulator) -> None:
    at = datetime(2031, 5, 1, 9, 5, tzinfo=UTC)  # 12:05 in Moscow
    options = SendOptions(
        sender="HomeAlert",
        client_message_id="alert-42.x_1",
        send_at=at,
        validity=timedelta(minutes=90),
        flash=True,
        transliterate=True,
    )
    result = await client.send([PHONE], CYRILLIC, options)
    form = emulator.requests[0].form
    assert form["sender"] == "HomeAlert"
    assert form["id"] == "alert-42.x_1"
    assert form["time"] == "0105311205"
    assert form["valid"] == "01:30"
    assert form["flash"] == "1"
    assert form["translit"] == "1"
    assert form["mes"] == CYRILLIC  # the gateway transliterates, not us
    assert result.client_message_id == "alert-42.x_1"
    message = emulator.messages[(1001, PHONE)]
    assert message.text.isascii()
    assert message.goes_at == at.timestamp()
    assert message.flash
    assert result.recipients[0].segments == 1


@pytest.mark.parametrize(
    ("validity", "expected"),
    [
        (timedelta(hours=24), "24:00"),
        (timedelta(seconds=61), "00:02"),
        (timedelta(minutes=5), "00:05"),
    ],
)
async def test_validity_format(
    client: SmscClient, emulator: SmscEmulator, validity: timedelta, expected: str
) -> None:
    await client.send([PHONE], f"Valid {expected}", SendOptions(validity=validity))
    assert emulator.requests[0].form["valid"] == expected
    assert emulator.messages[(1001, PHONE)].valid == expected


@pytest.mark.parametrize("message_id", ["x" * 41, "bad id", "ид", ""])
async def test_bad_client_message_id_is_refused_before_sending(
    client: SmscClient, emulator: SmscEmulator, message_id: str
) -> None:
    with pytest.raises(InvalidRequestError):
        await client.send([PHONE], "Hi", SendOptions(client_message_id=message_id))
    assert emulator.count() == 0


async def test_numeric_client_message_id(client: SmscClient, emulator: SmscEmulator) -> None:
    await client.send([PHONE], "Hi", SendOptions(client_message_id="1234567"))
    assert emulator.messages[(1001, PHONE)].client_id == "1234567"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (SendOptions(validity=timedelta(hours=25)), InvalidRequestError),
        (
            SendOptions(send_at=datetime(2031, 1, 1, tzinfo=UTC), recipient_local_time=True),
            NotSupportedError,
        ),
    ],
)
async def test_options_the_gateway_cannot_take(
    client: SmscClient, emulator: SmscEmulator, options: SendOptions, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await client.send([PHONE], "Hi", options)
    assert emulator.count() == 0


async def test_api_key_alone(http_session: aiohttp.ClientSession, emulator: SmscEmulator) -> None:
    client = key_client(http_session, emulator, "k3y-0123456789")
    result = await client.send([PHONE], "By key")
    assert result.accepted
    form = emulator.requests[0].form
    assert form["apikey"] == "k3y-0123456789"
    assert "login" not in form
    assert "psw" not in form


async def test_no_credentials(http_session: aiohttp.ClientSession, emulator: SmscEmulator) -> None:
    client = SmscClient(http_session, Credentials(login="alerts"), base_url=emulator.base_url)
    with pytest.raises(AuthenticationError):
        await client.send([PHONE], "Hi")
    assert emulator.count() == 0


async def test_wrong_password(http_session: aiohttp.ClientSession, emulator: SmscEmulator) -> None:
    client = SmscClient(
        http_session,
        Credentials(login="alerts", password="wrong-pass"),
        base_url=emulator.base_url,
        timeout=0.5,
    )
    with pytest.raises(AuthenticationError) as caught:
        await client.send([PHONE], "Hi")
    assert caught.value.code == "2"
    assert caught.value.kind is ErrorKind.AUTHENTICATION
    assert emulator.count() == 1
    assert emulator.messages == {}


async def test_secret_echoed_by_the_gateway_is_scrubbed(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    emulator.answer_next({"error": "bad psw s3cret-pass", "error_code": 2})
    with pytest.raises(AuthenticationError) as caught:
        await client.balance()
    assert "s3cret-pass" not in str(caught.value)
    assert "***" in str(caught.value)


async def test_mixed_numbers_give_per_number_results(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    emulator.invalid_numbers = {OTHER}
    emulator.undeliverable_numbers = {THIRD}
    result = await client.send([PHONE, OTHER, THIRD], "Mixed list")
    assert emulator.count() == 1
    accepted, bad_format, undeliverable = result.recipients
    assert accepted.accepted
    assert accepted.message_ids == ("1001",)
    assert accepted.cost == Decimal("1.90")
    assert not bad_format.accepted
    assert bad_format.error_kind is ErrorKind.INVALID_RECIPIENT
    assert bad_format.error_code == "7"
    assert not undeliverable.accepted
    assert undeliverable.error_kind is ErrorKind.INVALID_RECIPIENT
    assert undeliverable.error_code == "8"
    assert result.cost == Decimal("1.90")
    assert result.balance == Decimal("98.10")
    assert set(emulator.messages) == {(1001, PHONE)}


async def test_single_bad_number_raises(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.invalid_numbers = {PHONE}
    with pytest.raises(InvalidRecipientError) as caught:
        await client.send([PHONE], "Bad number")
    assert caught.value.code == "7"
    assert caught.value.phones == (PHONE,)


@pytest.mark.parametrize(
    ("code", "error", "retry_after"),
    [
        (1, InvalidRequestError, None),
        (2, AuthenticationError, None),
        (3, InsufficientFundsError, None),
        (4, RateLimitedError, 600),
        (5, InvalidRequestError, None),
        (6, MessageRejectedError, None),
        (7, InvalidRecipientError, None),
        (8, InvalidRecipientError, None),
        (9, RateLimitedError, 60),
    ],
)
async def test_error_codes(
    client: SmscClient,
    emulator: SmscEmulator,
    code: int,
    error: type[SmsGatewayError],
    retry_after: int | None,
) -> None:
    emulator.error_next(code, "send.php")
    with pytest.raises(error) as caught:
        await client.send([PHONE], f"Error {code}")
    assert type(caught.value) is error
    assert caught.value.code == str(code)
    assert getattr(caught.value, "retry_after", None) == retry_after
    assert emulator.count() == 1  # the gateway's answer is final: no retry


async def test_unknown_error_code(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.error_next(42, "send.php")
    emulator.error_next(42, "send.php")
    with pytest.raises(GatewayResponseError) as caught:
        await client.send([PHONE], "Unknown")
    assert caught.value.code == "42"
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert not caught.value.may_have_been_accepted
    assert emulator.count() == 1  # an answer to a send is final: never tried again
    assert emulator.messages == {}


async def test_unregistered_sender(client: SmscClient, emulator: SmscEmulator) -> None:
    with pytest.raises(MessageRejectedError) as caught:
        await client.send([PHONE], "Hi", SendOptions(sender="Unknown"))
    assert caught.value.code == "6"


async def test_forbidden_text(client: SmscClient, emulator: SmscEmulator) -> None:
    with pytest.raises(MessageRejectedError):
        await client.send([PHONE], "Лучшее казино")


async def test_balance_runs_out(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.balance = Decimal("3.00")
    first = await client.send([PHONE], "First")
    assert first.balance == Decimal("1.10")
    with pytest.raises(InsufficientFundsError) as caught:
        await client.send([PHONE], "Second")
    assert caught.value.code == "3"
    assert len(emulator.messages) == 1


async def test_no_money_fault(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.inject(Fault.NO_MONEY, "send.php")
    with pytest.raises(InsufficientFundsError):
        await client.send([PHONE], "No money")
    assert emulator.count() == 1


async def test_rate_limit_fault(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.inject(Fault.RATE_LIMIT, "send.php")
    with pytest.raises(RateLimitedError) as caught:
        await client.send([PHONE], "Rate limited")
    assert caught.value.retry_after == 60
    assert emulator.count() == 1
    assert emulator.messages == {}


async def test_expired_session_does_not_apply(client: SmscClient, emulator: SmscEmulator) -> None:
    # SMSC.ru has no sessions: the credentials travel with every request.
    emulator.inject(Fault.EXPIRED_SESSION, "send.php")
    result = await client.send([PHONE], "No session")
    assert result.accepted
    assert emulator.count() == 1


async def test_ip_blocked(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.blocked = True
    with pytest.raises(RateLimitedError) as caught:
        await client.balance()
    assert caught.value.retry_after == 600
    assert caught.value.code == "4"


async def test_identical_send_within_a_minute(client: SmscClient, emulator: SmscEmulator) -> None:
    await client.send([PHONE], "Same text")
    with pytest.raises(RateLimitedError):
        await client.send([PHONE], "Same text")
    assert emulator.breaches == ["send.php: the same send twice in a minute"]
    emulator.advance(61)
    assert (await client.send([PHONE], "Same text")).accepted


async def test_bulk_is_chunked_at_1000(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.balance = Decimal("10000.00")
    phones = [f"7916{n:07d}" for n in range(1001)]
    result = await client.send(phones, "Bulk")
    assert emulator.count("send.php") == 2
    sizes = sorted(len(r.form["phones"].split(",")) for r in emulator.requests)
    assert sizes == [1, 1000]
    assert len(result.accepted) == 1001
    assert result.balance == Decimal("10000.00") - Decimal("1.90") * 1001
    assert {r.message_ids for r in result.recipients} == {("1001",), ("1002",)}


async def test_bulk_with_one_chunk_refused(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.balance = Decimal("10000.00")
    emulator.inject(Fault.NO_MONEY, "send.php")
    phones = [f"7916{n:07d}" for n in range(1001)]
    result = await client.send(phones, "Bulk, partly")
    assert emulator.count("send.php") == 2
    assert len(result.rejected) in (1, 1000)
    assert len(result.accepted) == 1001 - len(result.rejected)
    assert {r.error_kind for r in result.rejected} == {ErrorKind.INSUFFICIENT_FUNDS}


async def test_numbers_as_strings(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.stringly = True
    result = await client.send([PHONE, OTHER], "Strings")
    assert [r.message_ids for r in result.recipients] == [("1001",), ("1001",)]
    assert [r.segments for r in result.recipients] == [1, 1]
    assert result.cost == Decimal("3.80")
    statuses = await client.delivery_status([MessageRef("1001", PHONE)])
    assert statuses[0].state is DeliveryState.QUEUED
    assert statuses[0].raw_code == "-1"


async def test_answer_without_per_number_details(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    emulator.answer_next({"id": "77", "cnt": "2", "cost": "3,80", "balance": 50}, "send.php")
    result = await client.send([PHONE], "Old answer shape")
    (recipient,) = result.recipients
    assert recipient.message_ids == ("77",)
    assert recipient.segments == 2
    assert recipient.cost == Decimal("3.80")
    assert result.balance == Decimal("50")

    emulator.answer_next({"id": 78, "cnt": 3}, "send.php")
    result = await client.send([PHONE, OTHER], "Two numbers, uneven parts")
    assert [r.segments for r in result.recipients] == [1, 1]  # counted: 3 does not split
    assert [r.cost for r in result.recipients] == [None, None]
    assert result.balance is None


async def test_answer_with_a_text_error_per_number(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    emulator.answer_next(
        {
            "id": 90,
            "cnt": 1,
            "phones": [
                {"phone": "+" + PHONE, "cost": 1.9, "error": "0"},
                {"phone": OTHER, "error": "blocked"},
                "junk",
            ],
        },
        "send.php",
    )
    result = await client.send([PHONE, OTHER, THIRD], "Odd details")
    first, second, third = result.recipients
    assert first.accepted
    assert first.cost == Decimal("1.9")
    assert not second.accepted
    assert second.error_text
    assert "blocked" in second.error_text
    assert third.accepted
    assert third.cost is None


@pytest.mark.parametrize("answer", [{"cnt": 1}, ["1001"], "OK"])
async def test_send_answer_without_id(
    client: SmscClient, emulator: SmscEmulator, answer: object
) -> None:
    emulator.answer_next(answer, "send.php")
    with pytest.raises(GatewayResponseError) as caught:
        await client.send([PHONE], "No id")
    assert caught.value.may_have_been_accepted
    assert emulator.count() == 1


# -- transport faults ----------------------------------------------------------------------


async def test_timeout_before_processing(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.inject(Fault.TIMEOUT_BEFORE, "send.php")
    with pytest.raises(GatewayTimeoutError) as caught:
        await client.send([PHONE], "Slow")
    # The client cannot tell it was not processed: a send is never repeated blindly.
    assert caught.value.may_have_been_accepted
    assert emulator.count() == 1
    await asyncio.sleep(0.7)
    assert emulator.messages == {}


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.TIMEOUT_AFTER, GatewayTimeoutError),
        (Fault.DISCONNECT_AFTER, GatewayConnectionError),
        (Fault.MALFORMED, GatewayResponseError),
        (Fault.EMPTY, GatewayResponseError),
    ],
)
async def test_lost_answer_to_a_send(
    client: SmscClient, emulator: SmscEmulator, fault: Fault, error: type[Exception]
) -> None:
    emulator.inject(fault, "send.php")
    with pytest.raises(error) as caught:
        await client.send([PHONE], f"Lost {fault}")
    assert getattr(caught.value, "may_have_been_accepted", None) is True
    assert emulator.count() == 1
    assert (1001, PHONE) in emulator.messages  # it did go out


async def test_proxy_error_page_after_a_send_is_not_retried(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php")
    with pytest.raises(GatewayResponseError) as caught:
        await client.send([PHONE], "After 502")
    assert caught.value.code == "502"
    assert caught.value.may_have_been_accepted
    assert emulator.count() == 1
    assert emulator.messages == {}


async def test_server_error_with_gateway_error_body(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    emulator.answer_next({"error": "no money", "error_code": 3}, "send.php", status=500)
    with pytest.raises(InsufficientFundsError):
        await client.send([PHONE], "500 with JSON")
    emulator.answer_next({"id": 5}, "balance.php", status=503)
    emulator.answer_next({"id": 5}, "balance.php", status=503)
    with pytest.raises(GatewayResponseError) as caught:
        await client.balance()
    assert caught.value.code == "503"


async def test_connection_refused(http_session: aiohttp.ClientSession, refused_url: str) -> None:
    client = SmscClient(http_session, Credentials(api_key="k3y"), base_url=refused_url, timeout=0.5)
    with pytest.raises(GatewayConnectionError) as caught:
        await client.send([PHONE], "Nobody home")
    assert not caught.value.may_have_been_accepted


@pytest.mark.parametrize("fault", [Fault.MALFORMED, Fault.EMPTY, Fault.TIMEOUT_BEFORE])
async def test_reads_are_retried(client: SmscClient, emulator: SmscEmulator, fault: Fault) -> None:
    emulator.inject(fault, "balance.php")
    assert (await client.balance()).amount == Decimal("100.00")
    assert emulator.count("balance.php") == 2


# -- delivery status -----------------------------------------------------------------------


async def test_delivery_moves_on(client: SmscClient, emulator: SmscEmulator) -> None:
    result = await client.send([PHONE], "Track me")
    ref = MessageRef(result.recipients[0].message_ids[0], result.recipients[0].phone)

    (status,) = await client.delivery_status([ref])
    assert status.state is DeliveryState.QUEUED
    assert status.raw_code == "-1"
    form = emulator.requests[-1].form
    assert emulator.requests[-1].path == "/sys/status.php"
    # One message in the single form: SMSC.ru counts `id=1001,` as a list request.
    assert form["id"] == "1001"
    assert form["phone"] == PHONE
    assert form["fmt"] == "3"
    assert form["charset"] == "utf-8"
    assert form["psw"] == "s3cret-pass"
    assert "all" not in form

    emulator.advance(3)
    (status,) = await client.delivery_status([ref])
    assert status.state is DeliveryState.SENT

    emulator.advance(3)
    (status,) = await client.delivery_status([ref])
    assert status.state is DeliveryState.DELIVERED
    assert status.raw_text == "Delivered"
    assert status.error_code is None
    assert status.message_id == "1001"
    assert status.phone == PHONE
    expected = int(emulator.messages[(1001, PHONE)].goes_at + emulator.final_seconds)
    assert status.updated_at == datetime.fromtimestamp(expected, UTC)
    assert emulator.count("status.php") == 3
    assert emulator.breaches == []


async def test_many_messages_in_one_request(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.outcomes = {OTHER: 20, THIRD: 3}
    result = await client.send([PHONE, OTHER, THIRD], "Three")
    other = await client.send([PHONE], "Another")
    refs = [MessageRef(r.message_ids[0], r.phone) for r in result.recipients]
    refs.append(MessageRef(other.recipients[0].message_ids[0], "+7 916 123-45-67"))
    emulator.advance(10)

    statuses = await client.delivery_status(refs)

    assert emulator.count("status.php") == 1
    form = emulator.requests[-1].form
    assert form["id"] == "1001,1001,1001,1002"
    assert form["phone"] == f"{PHONE},{OTHER},{THIRD},{PHONE}"
    assert [s.state for s in statuses] == [
        DeliveryState.DELIVERED,
        DeliveryState.FAILED,
        DeliveryState.EXPIRED,
        DeliveryState.DELIVERED,
    ]
    assert statuses[1].raw_code == "20"
    assert statuses[1].error_code == "255"
    assert statuses[2].error_code == "6"
    assert statuses[3].message_id == "1002"
    assert statuses[3].phone == "+7 916 123-45-67"
    assert emulator.breaches == []


async def test_status_codes(client: SmscClient, emulator: SmscEmulator) -> None:
    expected = {
        -3: DeliveryState.UNKNOWN,
        -2: DeliveryState.FAILED,
        1: DeliveryState.DELIVERED,
        2: DeliveryState.DELIVERED,
        3: DeliveryState.EXPIRED,
        4: DeliveryState.DELIVERED,
        20: DeliveryState.FAILED,
        22: DeliveryState.FAILED,
        23: DeliveryState.FAILED,
        24: DeliveryState.FAILED,
        25: DeliveryState.FAILED,
        99: DeliveryState.UNKNOWN,
    }
    phones = {code: f"791600000{n:02d}" for n, code in enumerate(expected)}
    emulator.outcomes = {phone: code for code, phone in phones.items()}
    result = await client.send(list(phones.values()), "All the codes")
    emulator.advance(10)
    statuses = await client.delivery_status(
        [MessageRef(r.message_ids[0], r.phone) for r in result.recipients]
    )
    assert {int(s.raw_code or "0"): s.state for s in statuses} == expected
    assert emulator.count("status.php") == 1


async def test_unknown_message_is_unknown(client: SmscClient, emulator: SmscEmulator) -> None:
    await client.send([PHONE], "Known")
    statuses = await client.delivery_status([MessageRef("1001", PHONE), MessageRef("555", OTHER)])
    assert statuses[0].state is DeliveryState.QUEUED
    assert statuses[1].state is DeliveryState.UNKNOWN
    assert statuses[1].error_code == "3"
    assert statuses[1].raw_text == "message not found"


async def test_single_unknown_message(client: SmscClient, emulator: SmscEmulator) -> None:
    (status,) = await client.delivery_status([MessageRef("555", PHONE)])
    assert status.state is DeliveryState.UNKNOWN
    assert emulator.count("status.php") == 1


async def test_status_answer_shapes(client: SmscClient, emulator: SmscEmulator) -> None:
    ref = MessageRef("7", PHONE)
    # A lone object without id and phone: the message asked about.
    emulator.answer_next(
        {"status": "1", "last_date": "28.12.2019 19:20:22", "err": "0", "cost": "1.90"}
    )
    (status,) = await client.delivery_status([ref])
    assert status.state is DeliveryState.DELIVERED
    assert status.updated_at == datetime(2019, 12, 28, 16, 20, 22, tzinfo=UTC)
    assert status.cost == Decimal("1.90")
    # The single-message "not found" error answer.
    emulator.answer_next({"error": "message not found", "error_code": 3})
    (status,) = await client.delivery_status([ref])
    assert status.state is DeliveryState.UNKNOWN
    assert status.raw_text == "message not found"
    assert status.error_code == "3"
    # Odd items: no status, an unreadable date, a two-digit year, a status name.
    emulator.advance(61)
    emulator.answer_next(
        [
            {"id": 7, "phone": PHONE, "last_date": "yesterday"},
            {"id": 8, "phone": OTHER, "status": 0, "last_date": "28.12.19 19:20:22"},
            {"id": 9, "phone": THIRD, "status": -1, "status_name": "Ожидает отправки"},
        ]
    )
    statuses = await client.delivery_status([ref, MessageRef("8", OTHER), MessageRef("9", THIRD)])
    assert statuses[0].state is DeliveryState.UNKNOWN
    assert statuses[0].updated_at is None
    assert statuses[1].updated_at == datetime(2019, 12, 28, 16, 20, 22, tzinfo=UTC)
    assert statuses[2].raw_text == "Ожидает отправки"


@pytest.mark.parametrize("stringly", [False, True], ids=["numbers", "strings"])
@pytest.mark.parametrize("not_found", list(NotFound))
async def test_every_documented_answer_variant(
    client: SmscClient, emulator: SmscEmulator, not_found: NotFound, stringly: bool
) -> None:
    """Sends, statuses (a list and a lone message), lookups and balance, in each variant."""
    emulator.not_found = not_found
    emulator.stringly = stringly
    result = await client.send([PHONE, OTHER], "Variant", SendOptions(sender="HomeAlert"))
    assert result.balance == Decimal("96.20")
    refs = [MessageRef(r.message_ids[0], r.phone) for r in result.recipients]
    emulator.advance(10)

    listed = await client.delivery_status([*refs, MessageRef("555", THIRD)])
    emulator.advance(61)
    (lone_unknown,) = await client.delivery_status([MessageRef("556", PHONE)])
    (lone_known,) = await client.delivery_status(refs[:1])

    assert [s.state for s in listed[:2]] == [DeliveryState.DELIVERED] * 2
    assert lone_known.state is DeliveryState.DELIVERED
    for unknown in (listed[2], lone_unknown):
        # Both shapes mean "no such message": unknown, never delivered or failed.
        assert unknown.state is DeliveryState.UNKNOWN
        assert (unknown.raw_text or "").lower() == "message not found"
        if not_found is NotFound.ITEM:
            assert (unknown.raw_code, unknown.error_code) == ("-3", None)
        else:
            assert (unknown.raw_code, unknown.error_code) == (None, "3")
    [pending] = await client.lookup([THIRD])
    emulator.advance(61)
    [looked_up] = await client.lookup_result([pending])
    assert looked_up.state is LookupState.REACHABLE
    assert await client.balance() == Balance(Decimal("96.00"), "RUB", Decimal("0.00"))
    assert emulator.breaches == []


async def test_unreadable_status_answer(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.answer_next("delivered")
    emulator.answer_next("delivered")
    with pytest.raises(GatewayResponseError):
        await client.delivery_status([MessageRef("7", PHONE)])
    assert emulator.count("status.php") == 2  # a single message may be asked again


async def test_lost_list_answer_is_not_repeated(client: SmscClient, emulator: SmscEmulator) -> None:
    await client.send([PHONE, OTHER], "Two")
    emulator.inject(Fault.MALFORMED, "status.php")
    with pytest.raises(GatewayResponseError):
        await client.delivery_status([MessageRef("1001", PHONE), MessageRef("1001", OTHER)])
    # Repeating it at once would be a second list request within the minute.
    assert emulator.count("status.php") == 1
    assert emulator.breaches == []


async def test_no_refs_no_request(client: SmscClient, emulator: SmscEmulator) -> None:
    assert await client.delivery_status([]) == []
    assert emulator.count() == 0


async def test_duplicate_refs_are_asked_once(client: SmscClient, emulator: SmscEmulator) -> None:
    await client.send([PHONE], "Twice asked")
    ref = MessageRef("1001", PHONE)
    statuses = await client.delivery_status([ref, ref])
    assert len(statuses) == 2
    assert emulator.requests[-1].form["id"] == "1001"


async def test_status_requests_are_chunked(client: SmscClient, emulator: SmscEmulator) -> None:
    refs = [MessageRef(str(n), f"7916{n:07d}") for n in range(1001)]
    statuses = await client.delivery_status(refs)
    assert len(statuses) == 1001
    assert {s.state for s in statuses} == {DeliveryState.UNKNOWN}
    forms = [r.form for r in emulator.requests]
    assert [f["id"].count(",") for f in forms] == [999, 0]  # the 2nd: one, in the single form
    assert emulator.breaches == []


async def test_status_limits(client: SmscClient, emulator: SmscEmulator) -> None:
    await client.send([PHONE, OTHER], "Limits")
    both = [MessageRef("1001", PHONE), MessageRef("1001", OTHER)]
    await client.delivery_status(both)
    with pytest.raises(RateLimitedError) as caught:
        await client.delivery_status(both)
    assert caught.value.retry_after == 60
    assert emulator.breaches == ["status.php: more than one list request a minute"]

    emulator.advance(61)
    emulator.breaches.clear()
    for _ in range(5):
        await client.delivery_status([both[0]])
    with pytest.raises(RateLimitedError):
        await client.delivery_status([both[0]])
    assert emulator.breaches == ["status.php: more than five requests for one message a minute"]


async def test_status_rate_limit_fault(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.inject(Fault.RATE_LIMIT, "status.php")
    with pytest.raises(RateLimitedError):
        await client.delivery_status([MessageRef("1", PHONE)])


# -- balance -------------------------------------------------------------------------------


async def test_balance(client: SmscClient, emulator: SmscEmulator) -> None:
    balance = await client.balance()
    assert balance == Balance(Decimal("100.00"), "RUB", Decimal("0.00"))
    request = emulator.requests[0]
    assert request.path == "/sys/balance.php"
    assert request.form["cur"] == "1"
    assert request.form["fmt"] == "3"


async def test_balance_shapes(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.credit = None
    emulator.stringly = True
    assert await client.balance() == Balance(Decimal("100.00"), "RUB", None)
    emulator.answer_next(12.5, "balance.php")
    assert await client.balance() == Balance(Decimal("12.5"))
    emulator.answer_next({"sum": 1}, "balance.php")
    emulator.answer_next({"sum": 1}, "balance.php")
    with pytest.raises(GatewayResponseError):
        await client.balance()


async def test_check_credentials(
    client: SmscClient, emulator: SmscEmulator, http_session: aiohttp.ClientSession
) -> None:
    await client.check_credentials()
    assert emulator.count("balance.php") == 1
    with pytest.raises(AuthenticationError):
        await key_client(http_session, emulator, "wrong-key").check_credentials()
    assert emulator.count() == 2


async def test_balance_limit(client: SmscClient, emulator: SmscEmulator) -> None:
    for _ in range(10):
        await client.balance()
    assert emulator.breaches == []
    with pytest.raises(RateLimitedError):
        await client.balance()
    assert emulator.breaches == ["balance.php: more than ten requests a minute"]
    emulator.advance(61)
    assert (await client.balance()).amount == Decimal("100.00")


# -- lookup --------------------------------------------------------------------------------


async def test_lookup(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.hlr_outcomes = {OTHER: 20}
    emulator.invalid_numbers = {THIRD}
    pending = await client.lookup(["+7 916 123 45 67", "89162223344", THIRD])
    assert emulator.count() == 1
    form = emulator.requests[0].form
    assert form["hlr"] == "1"
    assert form["phones"] == f"{PHONE},{OTHER},{THIRD}"
    assert "mes" not in form
    assert [r.state for r in pending] == [
        LookupState.PENDING,
        LookupState.PENDING,
        LookupState.FAILED,
    ]
    assert pending[0].request_id == "1001"
    assert pending[2].error_code == "7"

    still = await client.lookup_result(pending)
    assert [r.state for r in still] == [
        LookupState.PENDING,
        LookupState.PENDING,
        LookupState.FAILED,
    ]
    form = emulator.requests[-1].form
    assert form["all"] == "1"
    assert form["id"] == "1001,1001"  # only the pending ones
    assert form["phone"] == f"{PHONE},{OTHER}"

    emulator.advance(61)
    done = await client.lookup_result(still)
    reachable, unreachable, failed = done
    assert reachable.state is LookupState.REACHABLE
    assert reachable.operator == "МТС"
    assert reachable.country == "Россия"
    assert (reachable.mcc, reachable.mnc) == ("250", "1")
    assert reachable.imsi == "250011234567890"
    assert reachable.msc == "79168999999"
    assert reachable.roaming_country is None
    assert reachable.roaming_operator is None
    assert reachable.raw_code == "1"
    assert unreachable.state is LookupState.UNREACHABLE
    assert unreachable.error_code == "255"
    assert failed is still[2]
    assert emulator.breaches == []

    count = emulator.count()
    assert await client.lookup_result(done) == done
    assert emulator.count() == count  # nothing pending: no request


async def test_lookup_states(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.answer_next(
        [
            {"id": 1, "phone": PHONE, "status": 0},
            {"id": 1, "phone": OTHER, "status": 24, "err": 0},
            {"id": 1, "phone": THIRD, "error": "not found", "error_code": 3},
            {"id": 1, "phone": "79164445566"},
        ]
    )
    pending = [
        LookupResult(phone, LookupState.PENDING, request_id="1")
        for phone in (PHONE, OTHER, THIRD, "79164445566")
    ]
    results = await client.lookup_result(pending)
    assert [r.state for r in results] == [
        LookupState.PENDING,
        LookupState.FAILED,
        LookupState.FAILED,
        LookupState.PENDING,
    ]
    assert results[2].error_code == "3"


async def test_lookup_errors(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.invalid_numbers = {PHONE}
    with pytest.raises(InvalidRecipientError):
        await client.lookup([PHONE])
    with pytest.raises(InvalidRecipientError):
        await client.lookup(["not a number"])
    emulator.answer_next({"cnt": 1}, "send.php")
    with pytest.raises(GatewayResponseError) as caught:
        await client.lookup([OTHER])
    assert caught.value.may_have_been_accepted
    emulator.balance = Decimal("0.10")
    with pytest.raises(InsufficientFundsError):
        await client.lookup([OTHER])
    assert emulator.count() == 3


# -- the emulator itself -------------------------------------------------------------------


async def test_emulator_decodes_windows_1251_without_charset(
    http_session: aiohttp.ClientSession, emulator: SmscEmulator
) -> None:
    form = {"login": "alerts", "psw": "s3cret-pass", "fmt": "3", "phones": PHONE, "mes": "Привет"}
    answer = await request_form(
        http_session, emulator.base_url + "send.php", form, timeout=5, may_deliver=True
    )
    assert '"id": 1001' in answer.text
    garbled = "Привет".encode().decode("cp1251")  # utf-8 bytes read as windows-1251
    assert emulator.messages[(1001, PHONE)].text == garbled

    emulator.advance(10)
    form = {"login": "alerts", "psw": "s3cret-pass", "fmt": "3", "id": "1001", "phone": PHONE}
    answer = await request_form(
        http_session,
        emulator.base_url + "status.php",
        {**form, "all": "1"},
        timeout=5,
        may_deliver=False,
    )
    assert "Доставлено" in answer.text  # answered in windows-1251, read back right
    assert '"id"' not in answer.text  # the single form answers one object


async def test_emulator_checks_parameters(
    http_session: aiohttp.ClientSession, emulator: SmscEmulator
) -> None:
    auth = {"login": "alerts", "psw": "s3cret-pass", "charset": "utf-8"}

    async def post(path: str, **form: str) -> str:
        answer = await request_form(
            http_session, emulator.base_url + path, {**auth, **form}, timeout=5, may_deliver=False
        )
        return answer.text

    assert await post("balance.php") == "100.00"  # no fmt: fmt 0, the bare amount
    assert '"error_code": 1' in await post("send.php", fmt="3", phones=PHONE)
    assert '"error_code": 1' in await post("send.php", fmt="3", phones=PHONE, mes="a", id="a b")
    assert '"error_code": 1' in await post("send.php", fmt="3", phones=PHONE, mes="b", valid="25")
    assert '"error_code": 1' in await post(
        "send.php", fmt="3", phones=PHONE, mes="c", valid="01:75"
    )
    assert '"error_code": 5' in await post("send.php", fmt="3", phones=PHONE, mes="d", time="x")
    assert '"error_code": 1' in await post("send.php", fmt="3", hlr="1")
    assert '"error_code": 1' in await post("status.php", fmt="3", id="1,2", phone=PHONE)
    assert '"cnt": 1' in await post("send.php", fmt="3", phones=PHONE, mes="e", cost="1")
    assert emulator.messages == {}
    assert '"id": 1001' in await post("send.php", fmt="3", phones=PHONE, mes="f", time="+5")
    assert '"id": 1002' in await post(
        "send.php", fmt="3", phones=PHONE, mes="g", time="0" + str(int(emulator.now()) + 60)
    )
    assert '"id": 1003' in await post(
        "send.php", fmt="3", phones=f"{PHONE};{OTHER}", mes="h", valid="2", cost="2"
    )
    assert '"id": 1004' in await post("send.php", fmt="3", phones=PHONE, hlr="1", cost="3")
    assert emulator.status_of(1001, PHONE) == -1
    emulator.advance(400)
    assert emulator.status_of(1001, PHONE) == 1
    assert emulator.status_of(1004, PHONE) == 1
    assert emulator.messages[(1003, OTHER)].valid == "2"


async def test_emulator_limits_concurrent_status_requests(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    emulator._status_in_flight = 4  # four requests already being answered
    with pytest.raises(RateLimitedError):
        await client.delivery_status([MessageRef("1", PHONE)])
    assert emulator.breaches == ["status.php: five or more concurrent requests"]


async def test_answers_that_arrive_together_are_read_one_per_loop_turn(
    http_session: aiohttp.ClientSession,
) -> None:
    """A bulk send's answers land together: each is read in a turn of its own.

    Whatever else waits for the loop runs in between (here: a callback of each reader).
    """
    client = SmscClient(http_session, Credentials(login="a", password="secret-pw"))
    order: list[str] = []

    async def read(name: str) -> None:
        await client._take_turn()
        order.append(name)
        asyncio.get_running_loop().call_soon(order.append, f"after {name}")

    await asyncio.gather(read("first"), read("second"), read("third"))

    assert order == ["first", "after first", "second", "after second", "third", "after third"]
