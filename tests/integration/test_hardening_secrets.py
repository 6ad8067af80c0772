"""No secret in any form in errors, logs, setup-failure reasons, repairs or diagnostics.

An "echo" gateway on 127.0.0.1 answers every request with the gateway's own error shape,
its text repeating the request body as it came over the wire and the password in every
form it can take: URL-encoded (`+` and `%20`, hex in both cases), windows-1251
percent-encoded, JSON-escaped, and the base64 of `login:password` (issue 8).

Where a document gives a request by GET only, its credentials travel in the query
(Devino's login and password; Devino's and Stream's session id): a connection that never
comes makes aiohttp's own error name the whole URL, query and all. None of it reaches
Home Assistant (issue 17): after a GET that error is not chained to ours, and whatever
chain an error has is scrubbed of every form of the secrets (each alone keeps these
tests green; with both gone they fail).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
import json
import logging
from typing import Any
from urllib.parse import quote, quote_plus

from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.ru_sms.const import CONF_PROVIDER, DOMAIN
from custom_components.ru_sms.diagnostics import redact_address
from custom_components.ru_sms.providers import Credentials, GatewayId, HttpMethod, SmsGatewayError
from custom_components.ru_sms.providers.redact import Redactor
from tests.conftest import IVAN, make_entry, setup_account
from tests.emulators.catalog import ACCOUNTS
from tests.integration.test_services import send
from tests.transport import chain_text, connections_never_come

LOGIN = "alerts"
SECRET = 'Pw&SMSC+7f 3k9%"ж\\/'
"""A password whose forms all differ: space, +, &, %, quote, backslash, slash, Cyrillic."""


def secret_forms(login: str = LOGIN, secret: str = SECRET) -> dict[str, str]:
    """Every form of the password a gateway may echo, by name (computed here, not by us)."""
    utf8 = quote(secret, safe="")
    return {
        "raw": secret,
        "url-encoded, +": quote_plus(secret),
        "url-encoded, %20": utf8,
        "url-encoded, lower-case hex": utf8.replace("%2B", "%2b").replace("%D0%B6", "%d0%b6"),
        "url-encoded, / kept": quote(secret),
        "cp1251 percent-encoded, +": quote_plus(secret, encoding="cp1251"),
        "cp1251 percent-encoded, %20": quote(secret, safe="", encoding="cp1251"),
        "JSON-escaped": json.dumps(secret)[1:-1],
        "JSON-escaped, ASCII only": json.dumps(secret, ensure_ascii=True)[1:-1],
        "JSON-escaped, UTF-8": json.dumps(secret, ensure_ascii=False)[1:-1],
        "base64 of login:password": base64.b64encode(f"{login}:{secret}".encode()).decode(),
        "base64 of the password": base64.b64encode(secret.encode()).decode(),
    }


FORMS = secret_forms()


def echo_text(body: bytes) -> str:
    """What the echo gateway says: the request as received, then every form of the secret."""
    return body.decode("latin-1") + " | " + " | ".join(FORMS.values())


ERROR_SHAPES: dict[GatewayId, Callable[[str, bool], web.Response]] = {
    GatewayId.SMSC: lambda text, auth: web.json_response(
        {"error": text, "error_code": 2 if auth else 1}
    ),
    GatewayId.SMSTELE: lambda text, auth: web.json_response(
        {"error": "-23" if auth else "-1", "description": text}
    ),
    GatewayId.STREAM: lambda text, auth: web.json_response(
        {"Code": 4 if auth else 9, "Desc": text}, status=401 if auth else 500
    ),
    GatewayId.DEVINO: lambda text, auth: web.json_response(
        {"Code": 4 if auth else 9, "Desc": text}, status=401 if auth else 500
    ),
}


class Echo:
    """An echo gateway for one provider; `auth` makes its errors refuse the credentials."""

    def __init__(self, provider: GatewayId) -> None:
        self.provider = provider
        self.auth = False
        self.base_url = ""
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        # The query as it came over the wire (aiohttp's `query_string` is half decoded).
        query = request.raw_path.partition("?")[2]
        text = echo_text(await request.read() + b"?" + query.encode())
        return ERROR_SHAPES[self.provider](text, self.auth)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        # No access log: it is the gateway's own, and would write a GET's query.
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/"
        return self.base_url


@pytest.fixture
async def echo(socket_enabled: None) -> AsyncIterator[Callable[[GatewayId], Any]]:
    started: list[Echo] = []

    async def start(provider: GatewayId) -> Echo:
        server = Echo(provider)
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        assert server.runner is not None
        await server.runner.cleanup()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


@pytest.fixture(autouse=True)
def fast_retries(no_client_retry_delay: None) -> None: ...


@pytest.fixture(autouse=True)
def debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


CHECKED: dict[str, int] = {}
"""Forms checked per place (the report of issue 8 gives the totals)."""


def assert_clean(place: str, text: str) -> None:
    """No form of the secret in `text`."""
    for name, form in FORMS.items():
        assert form not in text, f"{name} of the secret in the {place}"
        assert form.lower() not in text.lower() or name.startswith("base64"), (name, place)
    CHECKED[place] = CHECKED.get(place, 0) + len(FORMS)


def echo_entry(provider: GatewayId, url: str) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"{provider.value} ({LOGIN})",
        unique_id=f"{provider.value}:{LOGIN}",
        data={CONF_PROVIDER: provider.value, "username": LOGIN, "password": SECRET, "url": url},
        options={"sender": ACCOUNTS[provider].sender},
    )


def issues_text(hass: HomeAssistant) -> str:
    return repr(
        [
            (i.translation_key, i.translation_placeholders)
            for i in ir.async_get(hass).issues.values()
        ]
    )


@pytest.mark.parametrize("auth", [False, True], ids=["error", "refused"])
@pytest.mark.parametrize("provider", list(GatewayId))
async def test_setup_failure_reason_and_logs_carry_no_secret(
    hass: HomeAssistant,
    echo: Any,
    caplog: pytest.LogCaptureFixture,
    provider: GatewayId,
    auth: bool,
) -> None:
    server = await echo(provider)
    server.auth = auth
    entry = echo_entry(provider, server.base_url)
    entry.add_to_hass(hass)

    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    # A gateway failing at setup never holds the account back (its alerts must queue):
    # what it said reaches the log and the balance's error, scrubbed.
    assert entry.state is ConfigEntryState.LOADED
    assert "|" in caplog.text  # the echo got through: it is the gateway's text, scrubbed
    assert_clean("log", caplog.text)
    if (balance := entry.runtime_data.balance) is not None:
        assert_clean("balance error", repr(balance.last_exception))
    assert_clean("repairs", issues_text(hass))
    flows = hass.config_entries.flow.async_progress()
    assert_clean("reauthentication flows", repr(flows))
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_action_error_and_logs_carry_no_secret(
    hass: HomeAssistant,
    echo: Any,
    emulators: Any,
    caplog: pytest.LogCaptureFixture,
    provider: GatewayId,
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    server = await echo(provider)
    client = entry.runtime_data.gateway
    # The same account, now with the secret password and at the echo gateway.
    client._credentials = Credentials(login=LOGIN, password=SECRET)
    client._base_url = server.base_url
    client._base_urls = (server.base_url,)
    if hasattr(client, "_session_id"):
        client._session_id = None  # the echo has to see the login, password and all

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Boiler failure", queue=False)

    cause = err.value.__cause__
    assert isinstance(cause, SmsGatewayError)
    assert "|" in str(cause)
    assert_clean("action error", str(err.value))
    assert_clean("action error placeholders", repr(err.value.translation_placeholders))
    assert_clean("gateway error", f"{cause} {cause.args} {cause.text}")
    assert_clean("log", caplog.text)
    assert_clean("repairs", issues_text(hass))
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("key", "address"),
    [
        (
            "url",
            f"https://{LOGIN}:{quote(SECRET, safe='')}@gateway.example/sys/?psw={quote_plus(SECRET)}",
        ),
        ("url", f"https://{LOGIN}:{SECRET}@gateway.example/sys/"),
        ("host", f"{LOGIN}:{SECRET}@gateway.example"),
        ("host", f"{LOGIN}:{quote(SECRET, safe='')}@gateway.example"),
    ],
)
async def test_diagnostics_hide_credentials_inside_url_and_host(
    hass: HomeAssistant, hass_client: Any, key: str, address: str
) -> None:
    """An address typed before the flow refused credentials in it."""
    provider = GatewayId.SMSTELE if key == "host" else GatewayId.SMSC
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="account",
        data={
            CONF_PROVIDER: provider.value,
            "username": "other",
            "password": "other-password",
            key: address,
            **({"port": 8882} if key == "host" else {}),
        },
        state=ConfigEntryState.NOT_LOADED,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id) is False or True
    await hass.async_block_till_done()

    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    dump = json.dumps(result, ensure_ascii=False)
    assert_clean("diagnostics", dump)
    assert "gateway.example" in result["entry"]["data"][key]


def test_redact_address() -> None:
    assert redact_address("https://u:p@h:1/x?y=z#f") == "https://**REDACTED**@h:1/x"
    assert redact_address("u:p/q@h") == "**REDACTED**@h"
    assert redact_address("h") == "h"


def test_redactor_masks_every_form() -> None:
    redact = Redactor([SECRET], [base64.b64encode(f"{LOGIN}:{SECRET}".encode()).decode()])
    for name, form in FORMS.items():
        assert redact(f"before {form} after") == "before *** after", name
    assert redact("") == ""
    assert not Redactor(["ab", ""])  # too short to scrub


# -- requests whose credentials travel in a query (GET) ----------------------------------


async def test_a_get_login_that_never_connects_leaves_no_secret(
    hass: HomeAssistant,
    hass_client: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Devino's login is a GET, the password in its query (devino-rest.txt, table 1)."""
    entry = echo_entry(GatewayId.DEVINO, "http://127.0.0.1:9/rest/")
    entry.add_to_hass(hass)
    with connections_never_come(monkeypatch):
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    # The timeout, in words (not a class name).
    assert "no answer in time" in str(entry.runtime_data.balance.last_exception)
    assert_clean("balance error", repr(entry.runtime_data.balance.last_exception))
    assert_clean("log", caplog.text)
    assert_clean("repairs", issues_text(hass))
    dump = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, entry))
    assert_clean("diagnostics", dump)
    await hass.config_entries.async_unload(entry.entry_id)


async def _balance(hass: HomeAssistant, entry: MockConfigEntry) -> BaseException | None:
    coordinator = entry.runtime_data.balance
    await coordinator.async_refresh()
    return coordinator.last_exception


async def _statistics(hass: HomeAssistant, entry: MockConfigEntry) -> BaseException | None:
    coordinator = entry.runtime_data.statistics
    await coordinator.async_refresh()
    return coordinator.last_exception


async def _incoming(hass: HomeAssistant, entry: MockConfigEntry) -> BaseException | None:
    await entry.runtime_data.incoming.async_poll()  # logs its failure, raises nothing
    return None


async def _status(hass: HomeAssistant, entry: MockConfigEntry) -> BaseException | None:
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_status",
            {"config_entry_id": entry.entry_id, "message_ids": ["GW0261BBD6B3"], "phones": [IVAN]},
            blocking=True,
            return_response=True,
        )
    return err.value


GET_REQUESTS: dict[str, tuple[GatewayId, str, Callable[..., Awaitable[BaseException | None]]]] = {
    "devino User/Balance": (GatewayId.DEVINO, "User/Balance", _balance),
    "devino Sms/State": (GatewayId.DEVINO, "Sms/State", _status),
    "devino Sms/In": (GatewayId.DEVINO, "Sms/In", _incoming),
    "devino Sms/Statistics": (GatewayId.DEVINO, "Sms/Statistics", _statistics),
    "stream Incoming/": (GatewayId.STREAM, "Incoming/", _incoming),
    "stream Statistic/": (GatewayId.STREAM, "Statistic/", _statistics),
}


@pytest.mark.parametrize("request_name", list(GET_REQUESTS))
async def test_a_get_with_a_session_that_never_connects_leaves_no_secret(
    hass: HomeAssistant,
    *,
    hass_client: Any,
    emulators: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    refused_url: str,
    request_name: str,
) -> None:
    """The session id travels in these GETs' query; it is a secret as the password is."""
    provider, path, trigger = GET_REQUESTS[request_name]
    emulator = await emulators(provider)
    emulator.accounts = {LOGIN: SECRET}
    entry = make_entry(provider, emulator, options={"incoming_interval": 60})
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "username": LOGIN, "password": SECRET}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    # The first incoming poll runs as a background task: done before the address changes.
    await hass.async_block_till_done(wait_background_tasks=True)
    client = entry.runtime_data.gateway
    assert client.description.method_of(path) is HttpMethod.GET
    session_id = client._session_id
    assert session_id
    # The same account at an address with no connection kept alive: a new one is needed.
    client._base_url = refused_url + "rest/"
    client._base_urls = (client._base_url,)
    caplog.clear()

    with connections_never_come(monkeypatch):
        error = await trigger(hass, entry)
        await hass.async_block_till_done()

    texts = {
        "log": caplog.text,
        "repairs": issues_text(hass),
        "error": "" if error is None else chain_text(error),
    }
    assert "Timed out connecting" in texts["log"] + texts["error"]
    for place, text in texts.items():
        assert_clean(place, text)
        assert session_id not in text, f"the session id in the {place}"
        assert session_id.lower() not in text.lower(), f"the session id in the {place}"
    dump = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, entry))
    assert session_id not in dump
    assert_clean("diagnostics", dump)
    await hass.config_entries.async_unload(entry.entry_id)
