"""SMStele client, sending: against the emulated gateway over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
import logging

import aiohttp
import pytest

from custom_components.ru_sms.providers.description import HttpMethod
from custom_components.ru_sms.providers.errors import (
    AuthenticationError,
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
    GatewayUnavailableError,
    InsufficientFundsError,
    InvalidRecipientError,
    InvalidRequestError,
    InvalidSenderError,
    MessageRejectedError,
    NotSupportedError,
    RateLimitedError,
    SmsGatewayError,
)
from custom_components.ru_sms.providers.http import request_form
from custom_components.ru_sms.providers.ids import MESSAGE_ID
from custom_components.ru_sms.providers.models import (
    Credentials,
    DeliveryState,
    ErrorKind,
    MessageRef,
    SendOptions,
)
from custom_components.ru_sms.providers.segments import count_segments
from custom_components.ru_sms.providers.smstele import DEFAULT_BASE_URL, SmsteleClient
from tests.emulators.base import Fault
from tests.emulators.smstele import Cnt, SmsteleEmulator

LOGIN, PASSWORD = "test:http", "~test123"
MTS, MEGAFON, OTHER = "79160001234", "79260004567", "79072233645"
CYRILLIC = "Внимание! Протечка воды на кухне, датчик сработал в 03:15. Перекрыт кран."  # 2 parts


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


# -- sending --------------------------------------------------------------------------


@pytest.mark.parametrize("documented", [True, False], ids=["documented-shape", "clean-json"])
async def test_one_alert_costs_one_request(
    client: SmsteleClient, emulator: SmsteleEmulator, documented: bool
) -> None:
    emulator.documented_shapes = documented
    assert count_segments(CYRILLIC).segments == 2

    result = await client.send(["+7 (916) 000-12-34"], CYRILLIC)

    assert emulator.count() == 1
    request = emulator.requests[0]
    assert request.method == "POST"
    assert request.path == "/cgibin/sendsms"
    assert request.query == {}  # nothing in the URL, credentials least of all
    form = request.form
    assert form["login"] == LOGIN
    assert form["psw"] == PASSWORD
    assert form["charset"] == "utf-8"
    assert form["phones"] == MTS
    assert form["mes"] == CYRILLIC  # read as utf-8: not garbled
    assert MESSAGE_ID.fullmatch(form["id"])  # our own id, to ask about the message later
    assert not {"sender", "translit", "flash", "deferred", "validity", "hlr"} & set(form)
    (recipient,) = result.recipients
    assert recipient.accepted
    assert recipient.phone == MTS
    assert recipient.message_ids == (form["id"],)
    assert recipient.segments == 2
    assert recipient.cost is None
    assert result.balance is None
    assert result.client_message_id is None
    assert emulator.messages[0].text == CYRILLIC


async def test_generated_ids_differ(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    first = await client.send([MTS], "one")
    second = await client.send([MTS], "two")
    assert first.recipients[0].message_ids != second.recipients[0].message_ids


async def test_send_options(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    send_at = datetime(2030, 1, 2, 6, 30, tzinfo=UTC)  # 09:30 in Moscow
    options = SendOptions(
        sender="ALERTS",
        client_message_id="alert-42",
        send_at=send_at,
        validity=timedelta(hours=1, minutes=30, seconds=59),
        flash=True,
        transliterate=True,
    )

    result = await client.send([MTS, MEGAFON], CYRILLIC, options)

    form = emulator.requests[0].form
    assert form["sender"] == "ALERTS"
    assert form["id"] == "alert-42"
    assert form["deferred"] == "2030-01-02 09:30:00"
    assert form["validity"] == "90"
    assert form["flash"] == "1"
    assert form["translit"] == "1"
    assert form["mes"] == CYRILLIC  # the gateway transliterates, not us
    assert form["phones"] == f"{MTS},{MEGAFON}"
    assert result.client_message_id == "alert-42"
    assert [r.message_ids for r in result.recipients] == [("alert-42",), ("alert-42",)]
    assert emulator.messages[0].deferred_until == send_at.timestamp()
    assert emulator.messages[0].flash
    assert emulator.messages[0].translit


async def test_cgi_bin_spelling(http_session: aiohttp.ClientSession) -> None:
    emu = SmsteleEmulator(login=LOGIN, password=PASSWORD)
    url = await emu.start("/cgi-bin/")
    try:
        client = SmsteleClient(http_session, Credentials(LOGIN, PASSWORD), base_url=url.rstrip("/"))
        result = await client.send([MTS], "hello")
        assert result.recipients[0].accepted
        assert emu.requests[0].path == "/cgi-bin/sendsms"
    finally:
        await emu.stop()


def test_description(http_session: aiohttp.ClientSession) -> None:
    client = SmsteleClient(http_session, Credentials(LOGIN, PASSWORD))
    assert client.base_url == DEFAULT_BASE_URL == "https://rexsmsc.rex400.ru:8882/cgibin/"
    assert PASSWORD not in repr(client)
    assert client.account_id == LOGIN
    caps = client.capabilities
    assert caps.lookup
    assert not caps.lookup_is_deferred
    assert caps.flash
    assert caps.client_message_id
    assert caps.server_transliteration
    assert not caps.balance
    assert not caps.incoming
    assert not caps.statistics
    assert not caps.recipient_local_time
    assert not caps.send_returns_cost
    assert not caps.send_returns_balance


@pytest.mark.parametrize("bad_id", ["a" * 41, "with space", "кириллица", "semi;colon", "", "a/b"])
async def test_bad_client_id_refused_before_any_request(
    client: SmsteleClient, emulator: SmsteleEmulator, bad_id: str
) -> None:
    with pytest.raises(InvalidRequestError, match="message id"):
        await client.send([MTS], "hi", SendOptions(client_message_id=bad_id))
    assert emulator.count() == 0


async def test_longest_client_id_goes_through(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    mid = "A-z.0:_" + "x" * 33
    result = await client.send([MTS], "hi", SendOptions(client_message_id=mid))
    assert result.recipients[0].message_ids == (mid,)


async def test_gateway_refuses_long_id(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.max_id_length = 20
    with pytest.raises(InvalidRequestError) as info:
        await client.send([MTS], "hi", SendOptions(client_message_id="custom-message-id-test-11"))
    assert info.value.code == "-35"
    assert "Invalid attribute: 'id=custom-message-id-test-11'" in str(info.value)
    assert emulator.messages == []


async def test_some_numbers_rejected(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.rejected_numbers = {OTHER}

    result = await client.send([MTS, OTHER, MEGAFON], "hi")

    assert emulator.count() == 1
    assert [r.phone for r in result.accepted] == [MTS, MEGAFON]
    (rejected,) = result.rejected
    assert rejected.phone == OTHER
    assert rejected.error_kind is ErrorKind.INVALID_RECIPIENT
    assert rejected.error_code == "-26"
    assert rejected.error_text is None  # a code alone: no words of the gateway's
    assert rejected.message_ids == ()
    assert result.segments == 2
    assert {m.phone for m in emulator.messages} == {MTS, MEGAFON}


@pytest.mark.parametrize("documented", [True, False], ids=["documented-shape", "clean-json"])
@pytest.mark.parametrize("cnt", list(Cnt))
async def test_each_number_is_judged_by_its_own_item(
    client: SmsteleClient, emulator: SmsteleEmulator, cnt: Cnt, documented: bool
) -> None:
    """The envelope's `cnt` may disagree with the items (the document's example 2).

    The items rule: each names its number and its code, the count names none. A number
    whose item reads refused is not accepted, whatever `cnt` says; one whose item reads
    `-99` is, and its delivery status tells the rest.
    """
    emulator.cnt = cnt
    emulator.documented_shapes = documented
    emulator.rejected_numbers = {OTHER}

    result = await client.send([MTS, OTHER, MEGAFON], "hi")
    emulator.advance(60)
    statuses = await client.delivery_status(
        [MessageRef(r.message_ids[0], r.phone) for r in result.accepted]
    )

    states = {s.phone: s.state for s in statuses}
    if cnt is Cnt.SEED:
        # Its item reads like the others': taken as far as the answer tells.
        assert [r.phone for r in result.accepted] == [MTS, OTHER, MEGAFON]
        assert states == {
            MTS: DeliveryState.DELIVERED,
            OTHER: DeliveryState.UNKNOWN,  # the gateway never had it: never "delivered"
            MEGAFON: DeliveryState.DELIVERED,
        }
    else:
        assert [r.phone for r in result.accepted] == [MTS, MEGAFON]
        assert [(r.phone, r.error_code) for r in result.rejected] == [(OTHER, "-26")]
        assert states == {MTS: DeliveryState.DELIVERED, MEGAFON: DeliveryState.DELIVERED}


async def test_a_refusing_item_wins_over_a_count_of_all(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    """Example 2 with two items refused while the envelope counts all four."""
    answer = EXAMPLE_2.replace('"cnt": "2"', '"cnt": "4"', 1)
    for phone in ("79072233645", "79676771707"):
        start = answer.index(f'"phone": "{phone}"')
        answer = answer[:start] + answer[start:].replace('"-99"', '"-26"', 2)
    emulator.reply_raw(answer)

    result = await client.send(
        ["79160001234", "79072233645", "79676771707", "79260004567"], "Test message 1"
    )

    assert [r.phone for r in result.accepted] == ["79160001234", "79260004567"]
    assert [r.error_code for r in result.rejected] == ["-26", "-26"]


async def test_all_numbers_rejected(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.rejected_numbers = {MTS, OTHER}
    with pytest.raises(InvalidRecipientError) as info:
        await client.send([MTS, OTHER], "hi")
    assert info.value.code == "-26"
    assert info.value.phones == (MTS, OTHER)


async def test_bad_number_refused_before_any_request(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    with pytest.raises(InvalidRecipientError):
        await client.send(["not a number"], "hi")
    assert emulator.count() == 0


async def test_unregistered_sender(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    with pytest.raises(InvalidSenderError) as info:
        await client.send([MTS], "hi", SendOptions(sender="NOBODY"))
    assert info.value.code == "-32"
    assert info.value.kind is ErrorKind.INVALID_SENDER


async def test_not_enough_credits(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.credits = 3
    with pytest.raises(InsufficientFundsError) as info:
        await client.send([MTS, MEGAFON], CYRILLIC)  # 2 numbers x 2 parts
    assert info.value.code == "-43"
    assert emulator.messages == []
    result = await client.send([MTS], CYRILLIC)
    assert result.recipients[0].accepted
    assert emulator.credits == 1


async def test_no_money_fault(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.inject(Fault.NO_MONEY, "sendsms")
    with pytest.raises(InsufficientFundsError) as info:
        await client.send([MTS], "hi")
    assert info.value.kind is ErrorKind.INSUFFICIENT_FUNDS
    assert emulator.count() == 1


async def test_text_too_long_for_the_gateway(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    emulator.max_segments = 1
    with pytest.raises(MessageRejectedError) as info:
        await client.send([MTS], CYRILLIC)
    assert info.value.code == "-42"
    emulator.max_text_length = 10
    with pytest.raises(MessageRejectedError) as info:
        await client.send([MTS], "eleven char")
    assert info.value.code == "-41"


async def test_text_too_long_for_us(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    with pytest.raises(MessageRejectedError):
        await client.send([MTS], "x" * 1001)
    assert emulator.count() == 0


async def test_bulk_is_chunked(
    client: SmsteleClient, emulator: SmsteleEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SmsteleClient, "max_recipients_per_request", 3)
    phones = [f"7916111000{i}" for i in range(7)]

    result = await client.send(phones, CYRILLIC)

    assert emulator.count("sendsms") == 3
    sent = sorted(len(r.form["phones"].split(",")) for r in emulator.requests)
    assert sent == [1, 3, 3]
    assert [r.phone for r in result.accepted] == phones
    assert result.segments == 14
    assert len({r.form["id"] for r in emulator.requests}) == 3  # one id per request


async def test_bulk_with_one_chunk_failing(
    client: SmsteleClient, emulator: SmsteleEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SmsteleClient, "max_recipients_per_request", 3)
    phones = [f"7916111000{i}" for i in range(6)]
    emulator.inject(Fault.NO_MONEY, "sendsms")

    result = await client.send(phones, "hi")

    assert emulator.count("sendsms") == 2
    assert len(result.accepted) == 3
    assert len(result.rejected) == 3
    assert {r.error_kind for r in result.rejected} == {ErrorKind.INSUFFICIENT_FUNDS}
    assert {r.error_code for r in result.rejected} == {"-43"}


# -- error codes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("-6", NotSupportedError),
        ("-21", AuthenticationError),
        ("-22", AuthenticationError),
        ("-23", AuthenticationError),
        ("-24", AuthenticationError),
        ("-25", InvalidRecipientError),
        ("-26", InvalidRecipientError),
        ("-27", InvalidRequestError),
        ("-28", InvalidRequestError),
        ("-29", InvalidRequestError),
        ("-30", InvalidRequestError),
        ("-31", InvalidSenderError),
        ("-32", InvalidSenderError),
        ("-33", InvalidRequestError),
        ("-34", InvalidRequestError),
        ("-35", InvalidRequestError),
        ("-41", MessageRejectedError),
        ("-42", MessageRejectedError),
        ("-43", InsufficientFundsError),
    ],
)
async def test_every_documented_code(
    client: SmsteleClient,
    emulator: SmsteleEmulator,
    code: str,
    expected: type[SmsGatewayError],
) -> None:
    emulator.fail_next(code, "Some description")
    with pytest.raises(SmsGatewayError) as info:
        await client.send([MTS], "hi")
    assert type(info.value) is expected
    assert info.value.code == code
    assert info.value.text == "Some description"
    assert emulator.count() == 1  # a refusal is final: no retry
    assert emulator.messages == []


@pytest.mark.parametrize("code", ["-1", "-2"])
async def test_system_errors_of_a_send_are_final(
    client: SmsteleClient, emulator: SmsteleEmulator, code: str
) -> None:
    emulator.fail_next(code, "System error")
    with pytest.raises(GatewayResponseError) as info:
        await client.send([MTS], "hi")
    assert emulator.count() == 1
    assert info.value.code == code
    assert not info.value.may_have_been_accepted
    assert info.value.kind is ErrorKind.UNAVAILABLE


async def test_unknown_code_is_not_retried(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    emulator.fail_next("-77", "Something new")
    with pytest.raises(GatewayResponseError) as info:
        await client.send([MTS], "hi")
    assert info.value.code == "-77"
    assert info.value.may_have_been_accepted  # we cannot tell what -77 did
    assert emulator.count() == 1


@pytest.mark.parametrize(
    ("code", "description", "expected"),
    [
        # The document's own examples, which contradict its table.
        ("-24", "Missing attribute: 'phones'", InvalidRecipientError),
        ("-25", "Invalid attribute: 'phones='", InvalidRecipientError),
        ("-35", "Invalid attribute: 'id=x'", InvalidRequestError),
        ("-24", "Missing attribute: 'psw'", AuthenticationError),
        ("-26", "Invalid attribute: 'sender=X'", InvalidSenderError),
        ("-6", "Invalid attribute: 'priority=9'", InvalidRequestError),
        ("-41", "Invalid attribute: 'mes'", MessageRejectedError),
        ("-24", "IP address not allowed", AuthenticationError),
    ],
)
async def test_description_naming_an_attribute_wins(
    client: SmsteleClient,
    emulator: SmsteleEmulator,
    code: str,
    description: str,
    expected: type[SmsGatewayError],
) -> None:
    emulator.fail_next(code, description)
    with pytest.raises(SmsGatewayError) as info:
        await client.send([MTS], "hi")
    assert type(info.value) is expected
    assert info.value.code == code
    assert info.value.text == description


async def test_documented_missing_phones_answer(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    emulator.reply_raw(
        '{  \n  "error": "-24",  \n  "description": "Missing attribute: \'phones\'"  \n}'
    )
    with pytest.raises(InvalidRecipientError) as info:
        await client.send([MTS], "hi")
    assert info.value.phones == (MTS,)


async def test_bad_password(http_session: aiohttp.ClientSession, emulator: SmsteleEmulator) -> None:
    client = SmsteleClient(
        http_session, Credentials(LOGIN, "wrong-secret"), base_url=emulator.base_url
    )
    with pytest.raises(AuthenticationError) as info:
        await client.send([MTS], "hi")
    assert info.value.code == "-23"
    assert emulator.count() == 1


async def test_password_echoed_by_the_gateway_is_scrubbed(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    emulator.fail_next("-23", f"Invalid attribute: 'psw={PASSWORD}'")
    with pytest.raises(AuthenticationError) as info:
        await client.send([MTS], "hi")
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in repr(info.value.args)
    assert "***" in str(info.value)


@pytest.mark.parametrize(
    "credentials", [Credentials(None, PASSWORD), Credentials(LOGIN, None), Credentials(LOGIN, "")]
)
async def test_missing_credentials_need_no_request(
    http_session: aiohttp.ClientSession, emulator: SmsteleEmulator, credentials: Credentials
) -> None:
    client = SmsteleClient(http_session, credentials, base_url=emulator.base_url)
    with pytest.raises(AuthenticationError):
        await client.send([MTS], "hi")
    assert emulator.count() == 0


async def test_gateway_missing_credential_codes(
    http_session: aiohttp.ClientSession, emulator: SmsteleEmulator
) -> None:
    form = {"phones": MTS, "mes": "Test message 1", "charset": "utf-8"}
    answer = await request_form(
        http_session, emulator.base_url + "sendsms", form, timeout=2, may_deliver=True
    )
    assert '"-21"' in answer.text
    answer = await request_form(
        http_session,
        emulator.base_url + "sendsms",
        {**form, "login": LOGIN},
        timeout=2,
        may_deliver=True,
    )
    assert '"-22"' in answer.text
    assert "No password" in answer.text


# -- transport faults -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "processed"),
    [
        (Fault.TIMEOUT_BEFORE, GatewayTimeoutError, False),
        (Fault.TIMEOUT_AFTER, GatewayTimeoutError, True),
        (Fault.DISCONNECT_AFTER, GatewayConnectionError, True),
        (Fault.MALFORMED, GatewayResponseError, True),
        (Fault.EMPTY, GatewayResponseError, True),
    ],
)
async def test_lost_answer_is_flagged_and_not_retried(
    client: SmsteleClient,
    emulator: SmsteleEmulator,
    fault: Fault,
    error: type[SmsGatewayError],
    processed: bool,
) -> None:
    emulator.inject(fault, "sendsms")
    with pytest.raises(error) as info:
        await client.send([MTS], "hi")
    assert isinstance(info.value, GatewayUnavailableError)
    assert info.value.may_have_been_accepted
    assert emulator.count() == 1  # never sent twice
    assert len(emulator.messages) == (1 if processed else 0)


async def test_html_502_after_a_send_is_not_retried(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    emulator.inject(Fault.SERVER_ERROR_HTML, "sendsms")
    with pytest.raises(GatewayResponseError) as info:
        await client.send([MTS], "hi")
    assert info.value.code == "502"
    assert info.value.may_have_been_accepted
    assert emulator.count() == 1
    assert emulator.messages == []


async def test_server_error_with_gateway_json(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    emulator.reply_raw('{"error": "-1", "description": "System error"}', status=500)
    with pytest.raises(GatewayResponseError) as info:
        await client.send([MTS], "hi")
    assert info.value.code == "-1"
    assert emulator.count() == 1


async def test_server_error_with_other_json(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    emulator.reply_raw('{"status": "down"}', status=500)
    with pytest.raises(GatewayResponseError) as info:
        await client.send([MTS], "hi")
    assert info.value.code == "500"
    assert info.value.may_have_been_accepted
    assert emulator.count() == 1


async def test_unavailable_is_not_taken(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    """HTTP 503 takes no message: the send is certainly unsent, never "possibly sent"."""
    emulator.reply_raw('{"status": "down"}', status=503)
    with pytest.raises(GatewayResponseError) as info:
        await client.send([MTS], "hi")
    assert info.value.code == "503"
    assert info.value.unsent
    assert not info.value.may_have_been_accepted
    assert emulator.count() == 1


async def test_connection_refused(http_session: aiohttp.ClientSession, refused_url: str) -> None:
    client = SmsteleClient(
        http_session, Credentials(LOGIN, PASSWORD), base_url=refused_url, timeout=0.5
    )
    with pytest.raises(GatewayConnectionError) as info:
        await client.send([MTS], "hi")
    assert not info.value.may_have_been_accepted
    assert PASSWORD not in str(info.value)


async def test_wrong_path_says_check_the_base_url(
    http_session: aiohttp.ClientSession, emulator: SmsteleEmulator
) -> None:
    client = SmsteleClient(
        http_session, Credentials(LOGIN, PASSWORD), base_url=emulator.base_url + "nowhere/"
    )
    with pytest.raises(GatewayResponseError, match="base URL") as info:
        await client.send([MTS], "hi")
    assert info.value.code == "404"
    assert not info.value.may_have_been_accepted
    assert emulator.messages == []


async def test_rate_limit(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    emulator.inject(Fault.RATE_LIMIT, "sendsms")
    with pytest.raises(RateLimitedError) as info:
        await client.send([MTS], "hi")
    assert info.value.retry_after == 60
    assert info.value.kind is ErrorKind.RATE_LIMITED
    assert emulator.count() == 1
    assert emulator.messages == []
    assert emulator.breaches == []


async def test_no_session_to_expire(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    # The gateway has no sessions: every request carries the login, none can expire.
    emulator.inject(Fault.EXPIRED_SESSION)
    for _ in range(2):
        result = await client.send([MTS], "hi")
        assert result.recipients[0].accepted
    assert emulator.count() == 2
    assert all(r.form["login"] == LOGIN and r.form["psw"] == PASSWORD for r in emulator.requests)


# -- answers as documented ------------------------------------------------------------


async def test_documented_example_2(client: SmsteleClient, emulator: SmsteleEmulator) -> None:
    # Example 2 of the document, put back together where its page break cut it.
    emulator.reply_raw(EXAMPLE_2)
    phones = ["79160001234", "79072233645", "79676771707", "79260004567"]
    result = await client.send(phones, "Test message 1")
    # Its envelope counts 2 for four items that all read -99: the items rule.
    assert [r.phone for r in result.accepted] == phones
    assert {r.message_ids for r in result.recipients} == {("custom-message-id-test-22",)}
    assert [r.segments for r in result.recipients] == [1, 1, 1, 1]


async def test_answer_cut_short_and_without_counts(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    # Example 1 answers one number; the other was taken by the same request.
    emulator.reply_raw(
        '{"id": "custom-message-id-test-21", "cnt": "1", "messages": ['
        '{"id": "custom-message-id-test-21", "phone": "79160001234", "status": "-99",'
        ' "error": "-99", "operator": "mMTS"},\n{\n}\n]'
    )
    result = await client.send([MTS, MEGAFON], CYRILLIC)
    assert [r.accepted for r in result.recipients] == [True, True]
    assert [r.segments for r in result.recipients] == [2, 2]  # counted by us
    assert {r.message_ids for r in result.recipients} == {("custom-message-id-test-21",)}


async def test_answer_with_trailing_rubbish_is_unreadable(
    client: SmsteleClient, emulator: SmsteleEmulator
) -> None:
    emulator.reply_raw('{"id": "x", "cnt": "1", "messages": [{"id": "x", "phone": "7916')
    with pytest.raises(GatewayResponseError) as info:
        await client.send([MTS], "hi")
    assert info.value.may_have_been_accepted


@pytest.mark.parametrize(
    ("status", "text"),
    [(200, "{}"), (200, '{"messages": [{}]}'), (403, '{"message": "Forbidden"}')],
)
async def test_answer_without_envelope_is_not_a_success(
    client: SmsteleClient, emulator: SmsteleEmulator, status: int, text: str
) -> None:
    emulator.reply_raw(text, status=status)
    with pytest.raises(GatewayResponseError) as info:
        await client.send([MTS], "hi")
    assert info.value.may_have_been_accepted
    assert emulator.count() == 1


async def test_charset_matters(
    http_session: aiohttp.ClientSession, emulator: SmsteleEmulator
) -> None:
    # Without charset=utf-8 the gateway reads windows-1251: the emulator garbles as it would.
    form = {"login": LOGIN, "psw": PASSWORD, "phones": MTS, "mes": CYRILLIC}
    await request_form(
        http_session, emulator.base_url + "sendsms", form, timeout=2, may_deliver=True
    )
    assert emulator.messages[0].text != CYRILLIC


async def test_the_emulator_takes_get_and_post_as_documented(
    http_session: aiohttp.ClientSession, emulator: SmsteleEmulator
) -> None:
    """The document's examples: login and password in the URL, the rest in the body."""
    url = f"{emulator.base_url}sendsms?login={LOGIN}&psw={PASSWORD}"
    answer = await request_form(
        http_session, url, {"phones": MTS, "mes": "hi", "id": "mixed"}, timeout=2, may_deliver=True
    )
    assert '"id": "mixed"' in answer.text
    answer = await request_form(
        http_session,
        emulator.base_url + "status",
        {"login": LOGIN, "psw": PASSWORD, "id": "mixed"},
        method=HttpMethod.GET,
        timeout=2,
        may_deliver=False,
    )
    assert '"phone": "79160001234"' in answer.text
    async with http_session.delete(emulator.base_url + "status") as response:
        assert response.status == 405


async def test_no_secret_or_text_in_logs(
    client: SmsteleClient, emulator: SmsteleEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.send([MTS], CYRILLIC)
    emulator.inject(Fault.SERVER_ERROR_HTML)
    with pytest.raises(GatewayResponseError):
        await client.send([MTS], CYRILLIC)
    assert caplog.records
    for text in (PASSWORD, CYRILLIC, MTS, LOGIN):
        assert text not in caplog.text


EXAMPLE_2 = """{
"id": "custom-message-id-test-22",
"cnt": "2",
"messages": [
{
"id": "custom-message-id-test-22",
"phone": "79160001234",
"status": "-99",
"error": "-99",
"cnt": "1",
"operator": "mMTS",
"region": "77",
"mnc": "01"
},
{
"id": "custom-message-id-test-22",
"phone": "79072233645",
"status": "-99",
"error": "-99",
"cnt": "1",
"operator": "",
"region": "",
"mnc": ""
},
{
"id": "custom-message-id-test-22",
"phone": "79676771707",
"status": "-99",
"error": "-99",
"cnt": "1",
"operator": "",
"region": "",
"mnc": ""
},
{
"id": "custom-message-id-test-22",
"phone": "79260004567",
"status": "-99",
"error": "-99",
"cnt": "1",
"operator": "mMEGAFON",
"region": "77",
"mnc": "02"
}
]
}
"""
