from aiohttp import web

from custom_components.ru_sms.providers.http import request_form
from tests.emulators.base import EmulatedGateway, json_response


class Echo(EmulatedGateway):
    default_charset = "cp1251"

    def setup_routes(self) -> None:
        async def echo(request: web.Request) -> web.Response:
            return json_response(request["form"])

        self.app.router.add_post("/echo", echo)


async def test_echo(http_session) -> None:
    emu = Echo()
    url = await emu.start()
    try:
        answer = await request_form(
            http_session, url + "echo", {"mes": "Привет"}, timeout=5, may_deliver=False
        )
        assert "Привет" not in answer.text  # decoded as windows-1251: garbled
        answer = await request_form(
            http_session,
            url + "echo",
            {"mes": "Привет", "charset": "utf-8"},
            timeout=5,
            may_deliver=False,
        )
        assert "Привет" in answer.text
    finally:
        await emu.stop()
