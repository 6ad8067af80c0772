"""Form requests: GET and POST, decoding, transport faults, unreadable answers, over loopback."""

from datetime import UTC, datetime
import json
import logging
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
import pytest

from custom_components.ru_sms.providers.description import HttpMethod
from custom_components.ru_sms.providers.errors import (
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
    InvalidRequestError,
    RateLimitedError,
)
from custom_components.ru_sms.providers.http import (
    MAX_RETRY_AFTER,
    TOO_MANY_REQUESTS_WAIT,
    HttpAnswer,
    read_retry_after,
    request_form,
    unreadable,
    url_encoded,
)
from tests.emulators.base import EmulatedGateway, Fault, json_response
from tests.transport import chain_text, connections_never_come


class Plain(EmulatedGateway):
    def setup_routes(self) -> None:
        async def ok(request: web.Request) -> web.Response:
            return json_response({"got": request["form"]})

        async def cp1251(request: web.Request) -> web.Response:
            return web.Response(body="Ошибка".encode("cp1251"), content_type="text/plain")

        async def gateway_timeout(request: web.Request) -> web.Response:
            return web.Response(status=504, text="<html>504</html>", content_type="text/html")

        self.serve("/ok", ok, ("GET", "POST"))
        self.serve("/post-only", ok, ("POST",))
        self.serve("/cp1251", cp1251, ("POST",))
        self.serve("/504", gateway_timeout, ("POST",))


@pytest.fixture
async def plain(http_session: aiohttp.ClientSession):
    emulator = Plain()
    emulator.hang_seconds = 1.0
    await emulator.start()
    yield emulator
    await emulator.stop()


async def test_form_goes_in_the_body_not_the_url(plain: Plain, http_session) -> None:
    answer = await request_form(
        http_session,
        plain.base_url + "ok",
        {"psw": "s3cret", "mes": "Привет"},
        timeout=2,
        may_deliver=False,
    )
    assert answer.status == 200
    assert json.loads(answer.text) == {"got": {"psw": "s3cret", "mes": "Привет"}}
    assert plain.requests[0].query == {}
    assert plain.requests[0].method == "POST"


@pytest.mark.parametrize(
    "form",
    [
        {
            "psw": "s3cret",
            "mes": "Котёл: авария №1 + 100% & a=b; 😀 ~_.-",
            "phones": "+79161234567",
        },
        [("to", "+79161234567"), ("to", "79161234568"), ("text", " \t\n/?#[]@!$'()*,")],
        {"charset": "utf-8", "id": "rs0a9f", "": "", "all": "".join(map(chr, range(1, 0x250)))},
        {},
    ],
)
async def test_form_is_encoded_as_aiohttp_encodes_it(plain: Plain, http_session, form) -> None:
    """We encode the form ourselves (it is quicker): the gateway gets the very same bytes."""
    await request_form(http_session, plain.base_url + "ok", form, timeout=2, may_deliver=False)
    async with http_session.post(plain.base_url + "ok", data=form) as response:
        await response.read()
    ours, aiohttps = plain.requests
    assert ours.raw_body == aiohttps.raw_body
    assert ours.multi == aiohttps.multi == list(form.items() if isinstance(form, dict) else form)


def test_every_character_is_encoded_as_the_standard_library_encodes_it() -> None:
    characters = [chr(c) for c in range(0x800)] + ["€", "№", "\u2028", "\ufeff", "😀"]
    for character in characters:
        form = [(character, f"a{character} b{character}"), ("x", character)]
        assert url_encoded(form) == urlencode(form, doseq=True), repr(character)


async def test_a_form_that_cannot_be_encoded_is_not_sent(plain: Plain, http_session) -> None:
    with pytest.raises(InvalidRequestError, match="cannot be made"):
        await request_form(
            http_session, plain.base_url + "ok", {"mes": "a\ud800b"}, timeout=2, may_deliver=True
        )
    assert plain.requests == []


async def test_undeclared_windows_1251_is_decoded(plain: Plain, http_session) -> None:
    answer = await request_form(
        http_session, plain.base_url + "cp1251", {}, timeout=2, may_deliver=False
    )
    assert answer.text == "Ошибка"


async def test_refused_connection_was_not_sent(refused_url: str, http_session) -> None:
    with pytest.raises(GatewayConnectionError) as info:
        await request_form(
            http_session, refused_url + "send?psw=x", {"psw": "s3cret"}, timeout=2, may_deliver=True
        )
    assert info.value.may_have_been_accepted is False
    assert "s3cret" not in str(info.value)
    assert "127.0.0.1" not in str(info.value)


@pytest.mark.parametrize("may_deliver", [True, False])
async def test_timeout_after_the_request_went_out(
    plain: Plain, http_session, may_deliver: bool
) -> None:
    plain.inject(Fault.TIMEOUT_AFTER)
    with pytest.raises(GatewayTimeoutError) as info:
        await request_form(
            http_session, plain.base_url + "ok", {}, timeout=0.3, may_deliver=may_deliver
        )
    assert info.value.may_have_been_accepted is may_deliver


async def test_disconnect_after_processing(plain: Plain, http_session) -> None:
    plain.inject(Fault.DISCONNECT_AFTER)
    with pytest.raises(GatewayConnectionError) as info:
        await request_form(http_session, plain.base_url + "ok", {}, timeout=2, may_deliver=True)
    assert info.value.may_have_been_accepted is True


async def test_html_bad_gateway_is_a_server_error(plain: Plain, http_session) -> None:
    plain.inject(Fault.SERVER_ERROR_HTML)
    answer = await request_form(
        http_session, plain.base_url + "ok", {}, timeout=2, may_deliver=True
    )
    with pytest.raises(GatewayResponseError) as info:
        raise unreadable(answer, may_deliver=True)
    assert info.value.code == "502"
    assert info.value.may_have_been_accepted is True  # a send's fate is unknown


async def test_gateway_timeout_page_leaves_a_send_unknown(plain: Plain, http_session) -> None:
    answer = await request_form(
        http_session, plain.base_url + "504", {}, timeout=2, may_deliver=True
    )
    with pytest.raises(GatewayResponseError) as info:
        raise unreadable(answer, may_deliver=True)
    assert info.value.may_have_been_accepted is True


@pytest.mark.parametrize(
    ("fault", "words"), [(Fault.EMPTY, "empty"), (Fault.MALFORMED, "cannot be read")]
)
async def test_unreadable_answer_after_processing(
    plain: Plain, http_session, fault: Fault, words: str
) -> None:
    plain.inject(fault)
    answer = await request_form(
        http_session, plain.base_url + "ok", {}, timeout=2, may_deliver=True
    )
    with pytest.raises(GatewayResponseError, match=words) as info:
        raise unreadable(answer, may_deliver=True)
    assert info.value.may_have_been_accepted is True


@pytest.mark.parametrize("may_deliver", [True, False])
async def test_unavailable_is_certainly_not_taken(
    plain: Plain, http_session, may_deliver: bool
) -> None:
    """503 takes no request: unsent, never possibly accepted, with the wait it names."""
    plain.inject(Fault.SERVICE_UNAVAILABLE)
    plain.retry_after_header = "120"
    with pytest.raises(GatewayResponseError) as info:
        await request_form(
            http_session, plain.base_url + "ok", {}, timeout=2, may_deliver=may_deliver
        )
    assert info.value.code == "503"
    assert info.value.unsent is True
    assert info.value.may_have_been_accepted is False
    assert info.value.never_connected is False  # it answered: no backup host for this
    assert info.value.retry_after == 120


async def test_too_many_requests_is_a_rate_limit(plain: Plain, http_session) -> None:
    plain.inject(Fault.TOO_MANY_REQUESTS)
    plain.retry_after_header = "7"
    with pytest.raises(RateLimitedError) as info:
        await request_form(http_session, plain.base_url + "ok", {}, timeout=2, may_deliver=True)
    assert (info.value.code, info.value.retry_after) == ("429", 7)


@pytest.mark.parametrize(
    ("header", "wait_429", "wait_503"),
    [
        ("", TOO_MANY_REQUESTS_WAIT, 0.0),  # none named
        ("soon", TOO_MANY_REQUESTS_WAIT, 0.0),  # cannot be read
        ("-5", 0.0, 0.0),
        ("1e12", MAX_RETRY_AFTER, MAX_RETRY_AFTER),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, 0.0),  # long past: now
    ],
)
async def test_retry_after_read_leniently(
    plain: Plain, http_session, header: str, wait_429: float, wait_503: float
) -> None:
    plain.retry_after_header = header
    waits = []
    for fault in (Fault.TOO_MANY_REQUESTS, Fault.SERVICE_UNAVAILABLE):
        plain.inject(fault)
        with pytest.raises((RateLimitedError, GatewayResponseError)) as info:
            await request_form(http_session, plain.base_url + "ok", {}, timeout=2, may_deliver=True)
        waits.append(info.value.retry_after)
    assert waits == [wait_429, wait_503]


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert read_retry_after("Sun, 01 Mar 2026 12:02:30 GMT", now) == 150
    assert read_retry_after("Sun, 01 Mar 2026 12:02:30", now) == 150  # no zone: GMT
    assert read_retry_after(None, now) is None
    assert read_retry_after("nan", now) is None


def test_answer_server_error_flag() -> None:
    assert HttpAnswer(500, "", "text/html").is_server_error
    assert not HttpAnswer(404, "", "text/html").is_server_error


# -- GET: the form in the query, and nothing of it in any error --------------------------

SECRET = "Pw&SMSC+7f 3k9%ж/?"
QUERY_FORMS = (SECRET, urlencode({"p": SECRET})[2:], "Pw%26SMSC", "SMSC+7f", "3k9")
"""The password and pieces of every way it is written in a URL."""


async def test_get_carries_the_form_in_the_query(plain: Plain, http_session) -> None:
    form = [("login", "alerts"), ("password", SECRET), ("to", "7916"), ("to", "7925")]
    answer = await request_form(
        http_session,
        plain.base_url + "ok",
        form,
        method=HttpMethod.GET,
        timeout=2,
        may_deliver=False,
    )
    (request,) = plain.requests
    assert request.method == "GET"
    assert request.raw_body == b""
    assert request.body == []
    assert request.multi == form
    assert answer.status == 200
    # Byte for byte what the body of a POST would have been.
    assert request.target == "/ok?" + urlencode(form)


async def test_a_method_the_resource_does_not_take_is_refused(plain: Plain, http_session) -> None:
    answer = await request_form(
        http_session,
        plain.base_url + "post-only",
        {},
        method=HttpMethod.GET,
        timeout=2,
        may_deliver=False,
    )
    assert answer.status == 405
    assert plain.requests[0].method == "GET"


@pytest.mark.parametrize("method", list(HttpMethod))
async def test_an_error_never_carries_the_query(
    http_session,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    method: HttpMethod,
) -> None:
    """The connect timeout of aiohttp names the whole URL: after a GET, it is not chained."""
    caplog.set_level(logging.DEBUG)
    url = "http://127.0.0.1:9/rest/user/sessionid"
    with connections_never_come(monkeypatch), pytest.raises(GatewayTimeoutError) as info:
        await request_form(
            http_session,
            url,
            {"login": "alerts", "password": SECRET},
            method=method,
            timeout=2,
            may_deliver=False,
        )
    err = info.value
    assert err.unsent
    text = chain_text(err) + caplog.text
    if method is HttpMethod.GET:
        assert err.__cause__ is None
        assert err.__context__ is None
        for form in QUERY_FORMS:
            assert form not in text
    else:
        # A POST's URL has no query: aiohttp's error is kept for the traceback.
        assert isinstance(err.__cause__, aiohttp.ConnectionTimeoutError)
        assert url in text


async def test_an_address_that_cannot_take_the_query_fails_without_it(http_session) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await request_form(
            http_session,
            "http://127.0.0.1:99999/x",
            {"password": SECRET},
            method=HttpMethod.GET,
            timeout=1,
            may_deliver=False,
        )
    assert info.value.__cause__ is None
    for form in QUERY_FORMS:
        assert form not in chain_text(info.value)
