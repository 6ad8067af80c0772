"""What every client inherits from SmsGateway: checks, chunking, retries, scrubbing.

A minimal gateway ("echo") over a loopback emulator exercises the shared code the way the
real clients use it.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
import json

import aiohttp
from aiohttp import web
import pytest

from custom_components.ru_sms.providers.base import SmsGateway, check_sender, segments_of
from custom_components.ru_sms.providers.description import (
    LOGIN_AND_PASSWORD,
    GatewayDescription,
    StatusMode,
    StatusPolicy,
)
from custom_components.ru_sms.providers.errors import (
    AuthenticationError,
    GatewayConnectionError,
    GatewayResponseError,
    GatewayTimeoutError,
    InvalidRecipientError,
    InvalidRequestError,
    InvalidSenderError,
    MessageRejectedError,
    NotSupportedError,
)
from custom_components.ru_sms.providers.http import unreadable
from custom_components.ru_sms.providers.models import (
    Capabilities,
    Credentials,
    DeliveryStatus,
    ErrorKind,
    MessageRef,
    RecipientResult,
    SendOptions,
    SendResult,
)
from custom_components.ru_sms.providers.parsing import MOSCOW
from tests.emulators.base import EmulatedGateway, Fault, json_response


class EchoEmulator(EmulatedGateway):
    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.max_in_flight = 0
        self.refuse_phone: str | None = None

    def setup_routes(self) -> None:
        async def send(request: web.Request) -> web.Response:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                import asyncio

                await asyncio.sleep(0.05)
                form = request["form"]
                if form.get("psw") != "s3cret-pass":
                    return json_response({"error": f"bad password {form.get('psw')}", "code": 2})
                phones = form["phones"].split(",")
                if self.refuse_phone in phones:
                    return json_response({"error": "no money", "code": 3})
                return json_response(
                    {"phones": phones, "text": form["mes"], "balance": 100 - len(self.requests)}
                )
            finally:
                self.in_flight -= 1

        self.app.router.add_post("/send", send)


class EchoGateway(SmsGateway):
    description = GatewayDescription(
        id="echo", name="Echo", fields=LOGIN_AND_PASSWORD, status=StatusPolicy(StatusMode.MESSAGE)
    )
    capabilities = Capabilities(max_text_length=50, max_validity=timedelta(hours=24))
    default_base_url = "http://127.0.0.1:9/"
    max_recipients_per_request = 2
    max_concurrent_requests = 2

    async def check_credentials(self) -> None:
        await self.send(["+79161234567"], "check")

    async def _send_chunk(self, phones: list[str], text: str, options: SendOptions) -> SendResult:
        form = {"phones": ",".join(phones), "mes": text, "psw": self._credentials.password or ""}

        async def attempt(base: str) -> SendResult:
            answer = await self._submit("send", form, may_deliver=True, base_url=base)
            try:
                data = json.loads(answer.text)
            except ValueError as err:
                raise unreadable(answer, may_deliver=True) from err
            assert isinstance(data, dict)
            if "error" in data:
                cls = AuthenticationError if data["code"] == 2 else GatewayResponseError
                raise cls("refused", code=data["code"], text=data["error"])
            return SendResult(
                recipients=tuple(
                    RecipientResult(
                        phone=p,
                        accepted=True,
                        message_ids=(data["text"],),
                        segments=segments_of(text),
                    )
                    for p in data["phones"]
                ),
                balance=Decimal(data["balance"]),
            )

        return await self._call(attempt)

    async def delivery_status(self, messages: Sequence[MessageRef]) -> list[DeliveryStatus]:
        return []


PHONES = ["+79161234567", "+79161234568", "+79161234569", "+79161234560", "+79161234561"]


pytestmark = pytest.mark.usefixtures("no_client_retry_delay")


@pytest.fixture
async def echo(http_session: aiohttp.ClientSession):
    emulator = EchoEmulator()
    emulator.hang_seconds = 1.0
    await emulator.start()
    yield emulator
    await emulator.stop()


def client_for(
    session: aiohttp.ClientSession, url: str, password: str = "s3cret-pass"
) -> EchoGateway:
    return EchoGateway(
        session, Credentials(login="User", password=password), base_url=url, timeout=0.5
    )


async def test_send_chunks_concurrently_but_bounded(echo: EchoEmulator, http_session) -> None:
    result = await client_for(http_session, echo.base_url).send(PHONES, "Hello")
    assert echo.count("/send") == 3  # 5 numbers, 2 per request
    assert echo.max_in_flight == 2
    assert [r.phone for r in result.recipients] == [p.lstrip("+") for p in PHONES]
    assert result.segments == 5
    assert result.balance == Decimal(97)  # the lowest balance reported is the latest
    assert len(result.accepted) == 5
    assert result.rejected == ()


async def test_one_failed_chunk_rejects_only_its_numbers(echo: EchoEmulator, http_session) -> None:
    echo.refuse_phone = "79161234569"
    result = await client_for(http_session, echo.base_url).send(PHONES, "Hello")
    assert [r.phone for r in result.rejected] == ["79161234569", "79161234560"]
    assert all(r.error_kind is ErrorKind.UNAVAILABLE for r in result.rejected)
    assert result.rejected[0].error_code == "3"
    assert len(result.accepted) == 3


async def test_every_chunk_failing_raises(echo: EchoEmulator, http_session) -> None:
    client = client_for(http_session, echo.base_url, password="wrong-pass")
    with pytest.raises(AuthenticationError) as info:
        await client.send(PHONES, "Hello")
    # The gateway echoed the password: it is scrubbed from the error.
    assert "wrong-pass" not in str(info.value)
    assert "***" in str(info.value)


async def test_invalid_numbers_fail_before_any_request(echo: EchoEmulator, http_session) -> None:
    with pytest.raises(InvalidRecipientError):
        await client_for(http_session, echo.base_url).send(["+79161234567", "nope"], "Hello")
    assert echo.count() == 0


async def test_transliterates_when_the_gateway_cannot(echo: EchoEmulator, http_session) -> None:
    result = await client_for(http_session, echo.base_url).send(
        ["+79161234567"], "Котёл", SendOptions(transliterate=True)
    )
    assert echo.requests[0].form["mes"] == "Kotyol"
    assert result.recipients[0].message_ids == ("Kotyol",)


@pytest.mark.parametrize(
    ("text", "options", "error"),
    [
        ("", SendOptions(), InvalidRequestError),
        ("   ", SendOptions(), InvalidRequestError),
        ("x" * 51, SendOptions(), MessageRejectedError),
        ("hi", SendOptions(flash=True), NotSupportedError),
        (
            "hi",
            SendOptions(recipient_local_time=True, send_at=datetime(2030, 1, 1, tzinfo=MOSCOW)),
            NotSupportedError,
        ),
        ("hi", SendOptions(send_at=datetime(2030, 1, 1)), InvalidRequestError),
        ("hi", SendOptions(validity=timedelta(seconds=30)), InvalidRequestError),
        ("hi", SendOptions(validity=timedelta(hours=25)), InvalidRequestError),
        ("hi", SendOptions(sender="Котельная"), InvalidSenderError),
        ("hi", SendOptions(sender="ABCDEFGHIJKL"), InvalidSenderError),
        ("hi", SendOptions(sender="1234567890123456"), InvalidSenderError),
        ("hi", SendOptions(sender=" "), InvalidSenderError),
    ],
)
async def test_bad_options_fail_before_any_request(
    echo: EchoEmulator, http_session, text: str, options: SendOptions, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await client_for(http_session, echo.base_url).send(["+79161234567"], text, options)
    assert echo.count() == 0


def test_local_time_needs_a_send_at_time(http_session) -> None:
    class LocalGateway(EchoGateway):
        capabilities = Capabilities(recipient_local_time=True)

    client = LocalGateway(http_session, Credentials(login="u", password="p"))
    with pytest.raises(InvalidRequestError, match="send-at"):
        client._check_options(SendOptions(recipient_local_time=True))


@pytest.mark.parametrize(
    "sender", ["MyHome", "My Home", "Dacha-1", "79161234567", "+79161234567", "A.B_C&D!"]
)
def test_good_sender_names(sender: str) -> None:
    check_sender(sender)


async def test_unsent_failure_is_retried_once_on_the_backup_host(
    echo: EchoEmulator, refused_url: str, http_session
) -> None:
    client = client_for(http_session, refused_url)
    client._base_urls = (refused_url, echo.base_url)
    result = await client.send(["+79161234567"], "Hello")
    assert result.accepted
    assert echo.count("/send") == 1


async def test_server_error_after_a_send_is_never_retried(echo: EchoEmulator, http_session) -> None:
    echo.inject(Fault.SERVER_ERROR_HTML)
    with pytest.raises(GatewayResponseError) as info:
        await client_for(http_session, echo.base_url).send(["+79161234567"], "Hello")
    assert info.value.may_have_been_accepted is True
    assert echo.count("/send") == 1


async def test_send_that_may_have_gone_through_is_never_retried(
    echo: EchoEmulator, http_session
) -> None:
    echo.inject(Fault.TIMEOUT_AFTER)
    with pytest.raises(GatewayTimeoutError) as info:
        await client_for(http_session, echo.base_url).send(["+79161234567"], "Hello")
    assert info.value.may_have_been_accepted is True
    assert echo.count("/send") == 1


async def test_refused_everywhere_raises_connection_error(refused_url: str, http_session) -> None:
    with pytest.raises(GatewayConnectionError) as info:
        await client_for(http_session, refused_url).send(["+79161234567"], "Hello")
    assert info.value.may_have_been_accepted is False


async def test_unsupported_features_say_so(http_session) -> None:
    client = client_for(http_session, "http://127.0.0.1:9/")
    start = datetime(2026, 1, 1, tzinfo=MOSCOW)
    for call in (
        client.balance(),
        client.lookup(["+79161234567"]),
        client.lookup_result([]),
        client.incoming(start, start),
        client.statistics(start, start),
    ):
        with pytest.raises(NotSupportedError):
            await call


def test_repr_and_account_id_hide_secrets(http_session) -> None:
    client = client_for(http_session, "http://127.0.0.1:9/api")
    assert "s3cret" not in repr(client)
    assert repr(client) == "<EchoGateway http://127.0.0.1:9/api/>"
    assert client.base_url == "http://127.0.0.1:9/api/"
    assert client.account_id == "user"
    keyed = EchoGateway(http_session, Credentials(api_key="k3y-very-secret"))
    assert keyed.account_id.startswith("key-")
    assert "k3y" not in keyed.account_id
    assert keyed.base_url == "http://127.0.0.1:9/"
    assert "k3y" not in repr(Credentials(api_key="k3y-very-secret"))
