"""The Devino/Stream family's shared readers: error codes, id lists, states, sessions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
from aiohttp import web
import pytest

from custom_components.ru_sms.providers.devino import DEVINO_STATES, DevinoClient
from custom_components.ru_sms.providers.errors import (
    AuthenticationError,
    GatewayConnectionError,
    GatewayResponseError,
    InsufficientFundsError,
    InvalidRecipientError,
    InvalidRequestError,
    InvalidSenderError,
    MessageRejectedError,
    RateLimitedError,
    SmsGatewayError,
)
from custom_components.ru_sms.providers.http import HttpAnswer
from custom_components.ru_sms.providers.models import (
    Credentials,
    DeliveryState,
    LookupResult,
    LookupState,
    MessageRef,
    SendOptions,
)
from custom_components.ru_sms.providers.restapi import (
    SessionRejectedError,
    _read_session_id,
    assign_ids,
    check_answer,
    code_error,
    read_balance,
    read_ids,
    read_incoming,
    read_state,
    text_error,
)
from custom_components.ru_sms.providers.stream import STREAM_STATES, read_hlr_state
from tests.emulators.base import json_response
from tests.emulators.devino import DevinoEmulator
from tests.emulators.restapi import Params, gateway_segments

ALICE = "79161234567"
BOB = "79057654321"
REF = MessageRef("371329059", ALICE)


def answer(text: str, status: int = 200) -> HttpAnswer:
    return HttpAnswer(status=status, text=text, content_type="application/json")


# -- error codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "desc", "status", "expected"),
    [
        (1, "Argument Data can not be null or empty", 400, InvalidRequestError),
        (1, "Argument SourceAddress can not be null or empty", 400, InvalidSenderError),
        (2, "Invalid argument Validity", 400, InvalidRequestError),
        (2, "Invalid destination address 79161234567", 400, InvalidRecipientError),
        (3, "Invalid session id", 400, SessionRejectedError),
        (4, "SessionID expired", 401, SessionRejectedError),
        (5, "Not enough credits", 403, InsufficientFundsError),
        (6, "Invalid source address", 400, InvalidSenderError),
        (6, "Invalid operation", 400, InvalidRequestError),
        (7, "Forbidden", 403, MessageRejectedError),
        (8, "Gateway error", 500, GatewayResponseError),
        (9, "Internal server error", 500, GatewayResponseError),
        (10, "Flood SMS", 400, RateLimitedError),
        (42, "Something new", 400, InvalidRequestError),
        (None, None, 401, SessionRejectedError),
        (None, None, 502, GatewayResponseError),
        (None, None, 404, InvalidRequestError),
    ],
)
def test_every_error_code_is_mapped(
    code: int | None, desc: str | None, status: int, expected: type[SmsGatewayError]
) -> None:
    error = code_error(code, desc, status, phones=(ALICE, BOB))
    assert type(error) is expected
    if code is not None:
        assert error.code == str(code)
    if isinstance(error, GatewayResponseError):
        assert not error.may_have_been_accepted
    if isinstance(error, RateLimitedError):
        assert error.retry_after == 60
    if isinstance(error, InvalidRecipientError):
        assert error.phones == (ALICE,)


def test_recipient_error_names_every_number_when_the_text_does_not() -> None:
    error = code_error(2, "Invalid destination address", 400, phones=(ALICE, BOB))
    assert isinstance(error, InvalidRecipientError)
    assert error.phones == (ALICE, BOB)


@pytest.mark.parametrize(
    ("text", "status", "expected"),
    [
        ("SessionID expired", 400, SessionRejectedError),
        ("Invalid user login or password", 401, SessionRejectedError),
        ("Flood SMS", 400, RateLimitedError),
        ("More than 2 reports at once are not allowed, make request later", 400, RateLimitedError),
        ("Not enough credits", 403, InsufficientFundsError),
        ("Not correct length originator", 400, InvalidSenderError),
        ("Not correct length phone", 400, InvalidRecipientError),
        ("Phone must be numeric", 400, InvalidRecipientError),
        ("Forbidden", 403, MessageRejectedError),
        ("Bad Request", 400, InvalidRequestError),
        ("Not correct format endTime", 400, InvalidRequestError),
        ("Something broke", 500, GatewayResponseError),
    ],
)
def test_stream_error_texts(text: str, status: int, expected: type[SmsGatewayError]) -> None:
    assert type(text_error(text, status)) is expected


# -- reading answers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status", "expected"),
    [
        ('{"Code": 5, "Desc": "Not enough credits"}', 403, InsufficientFundsError),
        ('{ Code: 4, Desc: "Invalid user login or password" }', 401, SessionRejectedError),
        ('{"code": 10, "desc": "Flood SMS"}', 200, RateLimitedError),
        ('"SessionID expired"', 200, SessionRejectedError),
        ("Bad Request", 400, InvalidRequestError),
        ("Unauthorized", 200, SessionRejectedError),
        ("SessionID expired", 200, SessionRejectedError),
        ("Phone must be numeric", 400, InvalidRecipientError),
        ("Something odd happened", 403, InvalidRequestError),
        ("<html>401</html>", 401, SessionRejectedError),
        ('{"Message": "An error has occurred."}', 400, InvalidRequestError),
        ("<html><body>404 Not Found</body></html>", 404, GatewayResponseError),
        ("<html>502 Bad Gateway</html>", 502, GatewayResponseError),
        ("Internal Server Error", 500, GatewayResponseError),
        ('{"Message": "An error has occurred."}', 500, GatewayResponseError),
    ],
)
def test_check_answer_raises_what_the_answer_carries(
    text: str, status: int, expected: type[SmsGatewayError]
) -> None:
    with pytest.raises(expected):
        check_answer(answer(text, status), may_deliver=True)


def test_check_answer_returns_the_json() -> None:
    assert check_answer(answer("GW1, GW2"), may_deliver=False) is None  # maybe ids
    assert check_answer(answer('["1","2"]'), may_deliver=False) == ["1", "2"]
    assert check_answer(answer("20015.3"), may_deliver=False) == 20015.3
    assert check_answer(answer('[{"1"}, {"2"}]'), may_deliver=False) is None
    assert check_answer(answer('"GW0261BBD6B3"'), may_deliver=False) == "GW0261BBD6B3"


def test_unreadable_answers_say_whether_a_send_may_have_gone() -> None:
    assert check_answer(answer("", 204), may_deliver=True) is None  # the caller judges
    with pytest.raises(GatewayResponseError) as empty:
        check_answer(answer("", 400), may_deliver=True)
    assert empty.value.may_have_been_accepted
    with pytest.raises(GatewayResponseError) as page:
        check_answer(answer("<html>502</html>", 502), may_deliver=True)
    assert page.value.may_have_been_accepted
    with pytest.raises(GatewayResponseError) as redirect:
        check_answer(answer("<html>moved</html>", 301), may_deliver=False)
    assert redirect.value.code == "301"


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ('["GW0261BBD6B3"]', ["GW0261BBD6B3"]),
        ("[371324579]", ["371324579"]),
        ('[{"371329058"}, {"371329059"}]', ["371329058", "371329059"]),
        ("[“371324579”]", ["371324579"]),
        (
            '["SAR-GW01+79160000000-5f3b1972-2-1","SAR-GW01+79160000000-5f3b1972-2-2",\n'
            '["SAR-GW01+79053500000-5d3b1972-2-1","SAR-GW01+79053500000-5d3b1972-2-2]',
            [
                "SAR-GW01+79160000000-5f3b1972-2-1",
                "SAR-GW01+79160000000-5f3b1972-2-2",
                "SAR-GW01+79053500000-5d3b1972-2-1",
                "SAR-GW01+79053500000-5d3b1972-2-2",
            ],
        ),
        ('[{"371324131"}, "371324132"]', ["371324131", "371324132"]),
    ],
)
def test_id_lists_of_every_documented_shape(text: str, ids: list[str]) -> None:
    assert read_ids(answer(text)) == ids


@pytest.mark.parametrize("text", ["[]", '{"id": 12, "cnt"', "", "<html></html>"])
def test_garbled_id_lists_are_unreadable(text: str) -> None:
    with pytest.raises(GatewayResponseError) as caught:
        read_ids(answer(text))
    assert caught.value.may_have_been_accepted


# -- ids to numbers ---------------------------------------------------------------------


def test_ids_in_order_per_number() -> None:
    assert assign_ids([ALICE, BOB], ["a1", "a2", "b1", "b2"], 2) == [("a1", "a2"), ("b1", "b2")]
    assert assign_ids([ALICE], ["a1", "a2", "a3"], 2) == [("a1", "a2", "a3")]
    assert assign_ids([], ["a1"], 1) == []


def test_ids_grouped_by_embedded_number() -> None:
    ids = [f"SAR-GW01+{ALICE}-5f-2-1", f"SAR-GW01+{BOB}-5d-2-1", f"SAR-GW01+{BOB}-5d-2-2"]
    assert assign_ids([ALICE, BOB], ids, 2) == [(ids[0],), (ids[1], ids[2])]


def test_ids_split_evenly_when_the_count_differs() -> None:
    assert assign_ids([ALICE, BOB], ["1", "2", "3", "4"], 3) == [("1", "2"), ("3", "4")]


def test_ids_last_resort_puts_the_excess_on_the_last_number() -> None:
    assert assign_ids([ALICE, BOB], ["1", "2", "3"], 1) == [("1",), ("2", "3")]
    assert assign_ids([ALICE, BOB, "79260000001"], ["1", "2"], 1) == [("1",), ("2",), ()]


# -- states, balance, incoming, HLR -----------------------------------------------------


def test_state_shapes() -> None:
    status = read_state(
        {
            "State": "0",
            "ReportedDateUtc": "/Date(1377761466000)/",
            "StateDescription": "Delivered",
            "Price": 0.5,
        },
        REF,
        STREAM_STATES,
    )
    assert status is not None
    assert status.state is DeliveryState.DELIVERED
    assert status.updated_at == datetime(2013, 8, 29, 7, 31, 6, tzinfo=UTC)
    assert status.cost == Decimal("0.5")
    wrapped = read_state([{"state": -98, "TimeStampUtc": 1377761466000}], REF, DEVINO_STATES)
    assert wrapped is not None
    assert wrapped.state is DeliveryState.FAILED
    assert wrapped.updated_at is not None
    odd = read_state({"State": 12345}, REF, DEVINO_STATES)
    assert odd is not None
    assert odd.state is DeliveryState.UNKNOWN
    assert odd.raw_code == "12345"
    assert read_state({"State": None}, REF, DEVINO_STATES) is None
    assert read_state("Delivered", REF, DEVINO_STATES) is None


def test_state_tables() -> None:
    assert DEVINO_STATES[-2] is DeliveryState.QUEUED
    assert DEVINO_STATES[-1] is DeliveryState.SENT
    assert DEVINO_STATES[46] is DeliveryState.EXPIRED
    assert {DEVINO_STATES[c] for c in (10, 11, 41, 42, 47, 48, 69, -97, -98)} == {
        DeliveryState.FAILED
    }
    assert DEVINO_STATES[99] is DEVINO_STATES[255] is DeliveryState.UNKNOWN
    assert STREAM_STATES == {
        -1: DeliveryState.SENT,
        0: DeliveryState.DELIVERED,
        42: DeliveryState.FAILED,
        46: DeliveryState.EXPIRED,
        255: DeliveryState.UNKNOWN,
    }


def test_balance_shapes() -> None:
    assert read_balance(20015.3) == Decimal("20015.3")
    assert read_balance("12,50") == Decimal("12.50")
    assert read_balance({"balance": "7"}) == Decimal(7)
    assert read_balance("n/a") is None
    assert read_balance(None) is None


def test_incoming_shapes() -> None:
    [message] = read_incoming(
        {
            "Prefix": "prefix",
            "Data": "message",
            "SourceAddress": "79115687451",
            "DestinationAddress": "2420",
            "ID": 5126,
            "CreatedDateUtc": "/Date(1357536599000)/",
        }
    )
    assert message.message_id == "5126"
    assert message.received_at == datetime(2013, 1, 7, 5, 29, 59, tzinfo=UTC)
    assert read_incoming([None, "x", {}])[0].phone == ""
    assert read_incoming(None) == []


def test_hlr_shapes() -> None:
    item = LookupResult(phone=ALICE, state=LookupState.PENDING, request_id="7")
    found = read_hlr_state([{"State": 0, "IMSI": "250", "Port": None, "Error": "0"}], item)
    assert found is not None
    assert found.state is LookupState.REACHABLE
    assert found.ported is None
    assert found.error_code is None
    odd = read_hlr_state({"State": 7}, item)
    assert odd is not None
    assert odd.state is LookupState.FAILED
    assert read_hlr_state({"IMSI": "250"}, item) is None
    assert read_hlr_state("checking", item) is None


# -- sessions ---------------------------------------------------------------------------


def test_session_id_answers() -> None:
    assert _read_session_id(answer('"Z5CYSZEKDL1DPICU37WEHQVOYKP0T1GSLHX1"')) == (
        "Z5CYSZEKDL1DPICU37WEHQVOYKP0T1GSLHX1"
    )
    assert _read_session_id(answer("967648e7c4bc8895182862a8f0490f5e\n")) == (
        "967648e7c4bc8895182862a8f0490f5e"
    )
    assert _read_session_id(answer("1234567")) == "1234567"
    with pytest.raises(AuthenticationError) as caught:
        _read_session_id(answer('{Code: 4, Desc: "Invalid user login or password"}', 401))
    assert not isinstance(caught.value, SessionRejectedError)
    assert caught.value.code == "4"
    for unreadable in ("", "<html>login</html>", "[]"):
        with pytest.raises(GatewayResponseError):
            _read_session_id(answer(unreadable))


def test_emulator_counts_segments_as_the_gateway() -> None:
    assert gateway_segments("a" * 160) == 1
    assert gateway_segments("a" * 161) == 2
    assert gateway_segments("я" * 70) == 1
    assert gateway_segments("я" * 135) == 3
    assert gateway_segments("{" * 80) == 1


# -- odd answers over HTTP --------------------------------------------------------------


class OddDevino(DevinoEmulator):
    """Answers in shapes the document does not show."""

    async def get_balance(self, request: web.Request, params: Params) -> web.Response:
        return json_response({"Balance": "12.5"})

    async def statistics(self, request: web.Request, params: Params) -> web.Response:
        return json_response([])

    async def state(self, request: web.Request, params: Params) -> web.Response:
        return json_response([{"State": 47, "StateDescription": "Deleted"}])


pytestmark = pytest.mark.usefixtures("no_client_retry_delay")


@pytest.fixture
async def odd(http_session: aiohttp.ClientSession) -> AsyncIterator[OddDevino]:
    emu = OddDevino()
    await emu.start()
    yield emu
    await emu.stop()


def make_client(session: aiohttp.ClientSession, url: str) -> DevinoClient:
    return DevinoClient(
        session, Credentials(login="user", password="secret-pass"), base_url=url, timeout=0.5
    )


async def test_odd_answers(http_session: aiohttp.ClientSession, odd: OddDevino) -> None:
    gateway = make_client(http_session, odd.base_url)
    assert (await gateway.balance()).amount == Decimal("12.5")
    [status] = await gateway.delivery_status([REF])
    assert status.state is DeliveryState.FAILED
    assert status.raw_text == "Deleted"
    now = datetime.now(UTC)
    with pytest.raises(GatewayResponseError):
        await gateway.statistics(now, now)
    assert odd.count("Sms/Statistics") == 2  # unreadable, nothing sent: tried twice


async def test_concurrent_refusals_log_in_once(
    http_session: aiohttp.ClientSession, odd: OddDevino
) -> None:
    gateway = make_client(http_session, odd.base_url)
    await gateway.check_credentials()
    odd.advance(121 * 60)  # every session expires on the gateway's side
    amounts = await asyncio.gather(*(gateway.balance() for _ in range(4)))
    assert {a.amount for a in amounts} == {Decimal("12.5")}
    assert odd.logins == 2
    assert odd.count("User/Balance") == 8


async def test_bulk_to_a_gateway_gone_away(
    http_session: aiohttp.ClientSession, refused_url: str
) -> None:
    gateway = make_client(http_session, refused_url)
    gateway._session_id = "WARM-SESSION"
    gateway._session_started = gateway._clock()
    with pytest.raises(GatewayConnectionError) as caught:
        await gateway.send([ALICE, BOB], "test", SendOptions(sender="ALERTS"))
    # Refused before anything was sent: tried twice, safe.
    assert not caught.value.may_have_been_accepted
