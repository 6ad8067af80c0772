"""Form posting: decoding, transport faults and unreadable answers, over real loopback HTTP."""

import json

import aiohttp
from aiohttp import web
import pytest

from custom_components.ru_sms.providers.errors import (
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
    InvalidRequestError,
)
from custom_components.ru_sms.providers.http import HttpAnswer, post_form, unreadable
from tests.emulators.base import EmulatedGateway, Fault, json_response


class Plain(EmulatedGateway):
    def setup_routes(self) -> None:
        async def ok(request: web.Request) -> web.Response:
            return json_response({"got": request["form"]})

        async def cp1251(request: web.Request) -> web.Response:
            return web.Response(body="Ошибка".encode("cp1251"), content_type="text/plain")

        async def gateway_timeout(request: web.Request) -> web.Response:
            return web.Response(status=504, text="<html>504</html>", content_type="text/html")

        self.app.router.add_post("/ok", ok)
        self.app.router.add_post("/cp1251", cp1251)
        self.app.router.add_post("/504", gateway_timeout)


@pytest.fixture
async def plain(http_session: aiohttp.ClientSession):
    emulator = Plain()
    emulator.hang_seconds = 1.0
    await emulator.start()
    yield emulator
    await emulator.stop()


async def test_form_goes_in_the_body_not_the_url(plain: Plain, http_session) -> None:
    answer = await post_form(
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
        {},
    ],
)
async def test_form_is_encoded_as_aiohttp_encodes_it(plain: Plain, http_session, form) -> None:
    """We encode the form ourselves (it is quicker): the gateway gets the very same bytes."""
    await post_form(http_session, plain.base_url + "ok", form, timeout=2, may_deliver=False)
    async with http_session.post(plain.base_url + "ok", data=form) as response:
        await response.read()
    ours, aiohttps = plain.requests
    assert ours.raw_body == aiohttps.raw_body
    assert ours.multi == aiohttps.multi == list(form.items() if isinstance(form, dict) else form)


async def test_a_form_that_cannot_be_encoded_is_not_sent(plain: Plain, http_session) -> None:
    with pytest.raises(InvalidRequestError, match="cannot be made"):
        await post_form(
            http_session, plain.base_url + "ok", {"mes": "a\ud800b"}, timeout=2, may_deliver=True
        )
    assert plain.requests == []


async def test_undeclared_windows_1251_is_decoded(plain: Plain, http_session) -> None:
    answer = await post_form(
        http_session, plain.base_url + "cp1251", {}, timeout=2, may_deliver=False
    )
    assert answer.text == "Ошибка"


async def test_refused_connection_was_not_sent(refused_url: str, http_session) -> None:
    with pytest.raises(GatewayConnectionError) as info:
        await post_form(
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
        await post_form(
            http_session, plain.base_url + "ok", {}, timeout=0.3, may_deliver=may_deliver
        )
    assert info.value.may_have_been_accepted is may_deliver


async def test_disconnect_after_processing(plain: Plain, http_session) -> None:
    plain.inject(Fault.DISCONNECT_AFTER)
    with pytest.raises(GatewayConnectionError) as info:
        await post_form(http_session, plain.base_url + "ok", {}, timeout=2, may_deliver=True)
    assert info.value.may_have_been_accepted is True


async def test_html_bad_gateway_is_a_server_error(plain: Plain, http_session) -> None:
    plain.inject(Fault.SERVER_ERROR_HTML)
    answer = await post_form(http_session, plain.base_url + "ok", {}, timeout=2, may_deliver=True)
    with pytest.raises(GatewayResponseError) as info:
        raise unreadable(answer, may_deliver=True)
    assert info.value.code == "502"
    assert info.value.may_have_been_accepted is True  # a send's fate is unknown


async def test_gateway_timeout_page_leaves_a_send_unknown(plain: Plain, http_session) -> None:
    answer = await post_form(http_session, plain.base_url + "504", {}, timeout=2, may_deliver=True)
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
    answer = await post_form(http_session, plain.base_url + "ok", {}, timeout=2, may_deliver=True)
    with pytest.raises(GatewayResponseError, match=words) as info:
        raise unreadable(answer, may_deliver=True)
    assert info.value.may_have_been_accepted is True


def test_answer_server_error_flag() -> None:
    assert HttpAnswer(500, "", "text/html").is_server_error
    assert not HttpAnswer(404, "", "text/html").is_server_error
