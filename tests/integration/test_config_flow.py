"""The config flow, reauthentication, reconfiguration, options and recipient subentries.

Every flow checks the credentials for real against the emulated gateways over loopback HTTP.
"""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
import re
from typing import Any
from unittest.mock import patch
from urllib.parse import urlsplit

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigSubentry,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import data_entry_flow as flow_helper, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ru_sms.account import create_gateway
from custom_components.ru_sms.config_flow import ADVANCED_MODE_REMOVED, _unique_id
from custom_components.ru_sms.const import DOMAIN, SUBENTRY_RECIPIENT
from custom_components.ru_sms.providers import GATEWAY_TYPES, GatewayId
from custom_components.ru_sms.schema import vol
from tests.conftest import GUARD_FIELDS, GUARD_OPTIONS, IVAN
from tests.emulators.base import EmulatedGateway, Fault
from tests.emulators.catalog import ACCOUNTS, by_gateway

NAMES = {provider: GATEWAY_TYPES[provider].description.name for provider in ACCOUNTS}
CHECK_PATH = by_gateway(lambda account: account.check_path)
"""Where each gateway's credentials check goes."""
BALANCE_PROVIDERS = list(by_gateway(lambda account: account.balance_path))
SMSC_KEY = "k3y-0123456789"
WRONG_PASSWORD = "wrong-pass-42"
NEW_PASSWORD = "new-pass-2024"
NEW_KEY = "n3w-key-9876543210"
SECRETS = {
    *(account.credentials.password for account in ACCOUNTS.values()),
    SMSC_KEY,
    WRONG_PASSWORD,
    NEW_PASSWORD,
    NEW_KEY,
}
"""Every password and key the tests type: none may show in a form's placeholders."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/."""


@pytest.fixture(autouse=True)
def fast_retries(no_client_retry_delay: None) -> None:
    """A request that did not go through is retried at once."""


# -- helpers ---------------------------------------------------------------------------


def checked(result: Any) -> Any:
    """The flow result, after making sure no password or key is in its placeholders."""
    placeholders = result.get("description_placeholders") or {}
    for value in placeholders.values():
        for secret in SECRETS:
            assert secret not in str(value), f"a credential in the placeholders: {placeholders}"
    return result


async def start_user_flow(
    hass: HomeAssistant, provider: GatewayId, *, advanced: bool | None = True
) -> Any:
    """Open the flow and pick the gateway: the credentials form.

    `advanced=None`: the frontend does not say (Home Assistant 2026.6 and later).
    """
    context: dict[str, Any] = {"source": SOURCE_USER}
    if advanced is not None:
        context["show_advanced_options"] = advanced
    result = checked(await hass.config_entries.flow.async_init(DOMAIN, context=context))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] is None or result["errors"] == {}
    result = checked(
        await hass.config_entries.flow.async_configure(
            result["flow_id"], {"provider": provider.value}
        )
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "credentials"
    assert result["description_placeholders"] == {"gateway": NAMES[provider]}
    return result


async def start_reauth(hass: HomeAssistant, entry: ConfigEntry) -> Any:
    """Open a reauthentication flow for the entry, as Home Assistant does."""
    return checked(
        await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_REAUTH, "entry_id": entry.entry_id},
            data=entry.data,
        )
    )


async def start_reconfigure(hass: HomeAssistant, entry: ConfigEntry) -> Any:
    """Open a reconfiguration flow for the entry."""
    return checked(
        await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
        )
    )


async def configure(hass: HomeAssistant, result: Any, user_input: dict[str, Any]) -> Any:
    """Submit a config flow form."""
    return checked(await hass.config_entries.flow.async_configure(result["flow_id"], user_input))


def login_input(provider: GatewayId, emulator: EmulatedGateway, **changes: Any) -> dict[str, Any]:
    """The credentials form filled in for the emulated account (advanced: with the URL)."""
    credentials = ACCOUNTS[provider].credentials
    user_input: dict[str, Any] = {
        "username": credentials.login,
        "password": credentials.password,
        "sender": ACCOUNTS[provider].sender,
        "url": emulator.base_url,
    }
    if provider is GatewayId.SMSTELE:
        user_input |= {"host": "rexsmsc.rex400.ru", "port": 8882, "ssl": True}
    user_input |= changes
    return {key: value for key, value in user_input.items() if value is not None}


def expected_data(provider: GatewayId, emulator: EmulatedGateway, **changes: Any) -> dict[str, Any]:
    """The entry data the flow stores for `login_input`."""
    data = {"provider": provider.value, **login_input(provider, emulator, **changes)}
    data.pop("sender", None)
    return data


def schema_keys(result: Any) -> list[str]:
    """The fields of a form, in order."""
    return [str(key) for key in result["data_schema"].schema]


def suggested(result: Any) -> dict[str, Any]:
    """The values a form shows filled in."""
    values = {}
    for key in result["data_schema"].schema:
        if key.description and "suggested_value" in key.description:
            values[str(key)] = key.description["suggested_value"]
    return values


def emulator_port(emulator: EmulatedGateway) -> int:
    """The loopback port an emulator listens on."""
    port = urlsplit(emulator.base_url).port
    assert port is not None
    return port


def set_password(provider: GatewayId, emulator: Any, password: str) -> None:
    """Change the account's password on the emulated gateway."""
    if provider in (GatewayId.STREAM, GatewayId.DEVINO):
        emulator.accounts[ACCOUNTS[provider].credentials.login] = password
    else:
        emulator.password = password


async def add_account(
    hass: HomeAssistant, provider: GatewayId, emulator: EmulatedGateway, **changes: Any
) -> ConfigEntry:
    """Add the emulated account through the flow; returns the loaded entry."""
    result = await start_user_flow(hass, provider)
    result = await configure(hass, result, login_input(provider, emulator, **changes))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def add_key_account(hass: HomeAssistant, emulator: EmulatedGateway) -> ConfigEntry:
    """Add the emulated SMSC account by its API key alone."""
    result = await start_user_flow(hass, GatewayId.SMSC)
    result = await configure(hass, result, {"api_key": SMSC_KEY, "url": emulator.base_url})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


def recipient_entities(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, str]:
    """Notify entity id per recipient subentry id."""
    registry = er.async_get(hass)
    return {
        ent.config_subentry_id: ent.entity_id
        for ent in er.async_entries_for_config_entry(registry, entry.entry_id)
        if ent.domain == "notify" and ent.config_subentry_id is not None
    }


# -- adding an account -----------------------------------------------------------------


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_user_flow_creates_working_entry(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    result = await start_user_flow(hass, provider)
    assert "url" in schema_keys(result)
    assert ("host" in schema_keys(result)) is (provider is GatewayId.SMSTELE)
    assert ("api_key" in schema_keys(result)) is (provider is GatewayId.SMSC)

    result = await configure(hass, result, login_input(provider, emulator))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    login = ACCOUNTS[provider].credentials.login
    assert result["title"] == f"{NAMES[provider]} ({login})"
    data = dict(result["data"])
    if provider is GatewayId.SMSC:
        # An SMSC.ru account gets its callback webhook: an id and a signing secret.
        assert len(data.pop("webhook_id")) >= 32
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", data.pop("webhook_secret"))
    assert data == expected_data(provider, emulator)
    assert result["options"] == {"sender": ACCOUNTS[provider].sender}
    entry = result["result"]
    host = ":127.0.0.1" if provider is GatewayId.SMSTELE else ""
    assert entry.unique_id == f"{provider.value}:{login}{host}"
    # The credentials were checked on the gateway itself.
    assert emulator.count(CHECK_PATH[provider]) >= 1
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.gateway.base_url == emulator.base_url
    assert emulator.breaches == []


async def test_user_flow_without_advanced_mode(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """The URL is asked in advanced mode; since Home Assistant 2026.6 there is no such mode."""
    result = await start_user_flow(hass, GatewayId.STREAM, advanced=False)
    assert schema_keys(result) == ["username", "password", "sender"]
    result = await start_user_flow(hass, GatewayId.SMSC, advanced=False)
    assert schema_keys(result) == ["username", "password", "api_key", "sender"]
    # A frontend that does not say: before 2026.6 it was not in advanced mode.
    url = ["url"] if ADVANCED_MODE_REMOVED else []
    result = await start_user_flow(hass, GatewayId.STREAM, advanced=None)
    assert schema_keys(result) == ["username", "password", "sender", *url]
    # Home Assistant 2026.10 would warn about the deprecated `show_advanced_options`.
    assert "show_advanced_options" not in caplog.text


def test_advanced_mode_removed_matches_home_assistant() -> None:
    """Home Assistant's frontend asks for advanced options exactly until 2026.6."""
    source = Path(flow_helper.__file__).read_text(encoding="utf-8")
    assert ("show_advanced_options" in source) is not ADVANCED_MODE_REMOVED


async def test_smstele_by_host_port_and_ssl(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.SMSTELE)
    port = emulator_port(emulator)
    result = await start_user_flow(hass, GatewayId.SMSTELE, advanced=None)
    assert schema_keys(result)[:6] == ["username", "password", "host", "port", "ssl", "sender"]
    assert ("url" in schema_keys(result)) is ADVANCED_MODE_REMOVED

    result = await configure(
        hass,
        result,
        {
            "username": "test:http",
            "password": "~test123",
            "host": " 127.0.0.1 ",
            "port": float(port),  # what the number selector gives
            "ssl": False,
        },
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "SMStele (REX400) (test:http)"
    assert result["data"] == {
        "provider": "smstele",
        "username": "test:http",
        "password": "~test123",
        "host": "127.0.0.1",
        "port": port,
        "ssl": False,
    }
    assert isinstance(result["data"]["port"], int)
    assert result["options"] == {}
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.gateway.base_url == f"http://127.0.0.1:{port}/cgibin/"
    assert emulator.count("/cgibin/status") >= 2  # the flow's check and the setup's


async def test_smsc_by_api_key_alone(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    result = await start_user_flow(hass, GatewayId.SMSC)

    result = await configure(
        hass, result, {"api_key": f" {SMSC_KEY} ", "url": emulator.base_url, "sender": ""}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "SMSC.ru"
    data = dict(result["data"])
    assert set(data.pop("webhook_id", "") + data.pop("webhook_secret", "")) != set()
    assert data == {"provider": "smsc", "api_key": SMSC_KEY, "url": emulator.base_url}
    assert result["options"] == {}
    entry = result["result"]
    assert entry.unique_id.startswith("smsc:key-")
    assert SMSC_KEY not in entry.unique_id
    sent = emulator.requests[-1].form
    assert sent["apikey"] == SMSC_KEY
    assert "login" not in sent
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_wrong_password_then_right(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    result = await start_user_flow(hass, provider)

    result = await configure(hass, result, login_input(provider, emulator, password=WRONG_PASSWORD))

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "credentials"
    assert result["errors"] == {"base": "invalid_auth"}
    # What was typed is shown again, for a correction.
    assert suggested(result)["username"] == ACCOUNTS[provider].credentials.login
    result = await configure(hass, result, login_input(provider, emulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_refused_connection(
    hass: HomeAssistant, start_emulator: Any, refused_url: str, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    result = await start_user_flow(hass, provider)

    result = await configure(hass, result, login_input(provider, emulator, url=refused_url))

    assert result["errors"] == {"base": "cannot_connect"}
    result = await configure(hass, result, login_input(provider, emulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_proxy_error_page(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    emulator.inject(Fault.SERVER_ERROR_HTML, times=4)
    result = await start_user_flow(hass, provider)

    result = await configure(hass, result, login_input(provider, emulator))

    assert result["errors"] == {"base": "cannot_connect"}
    assert emulator.count(CHECK_PATH[provider]) >= 1
    emulator.faults.clear()
    result = await configure(hass, result, login_input(provider, emulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("provider", [GatewayId.SMSC, GatewayId.SMSTELE])
async def test_rate_limited(hass: HomeAssistant, start_emulator: Any, provider: GatewayId) -> None:
    emulator = await start_emulator(provider)
    emulator.inject(Fault.RATE_LIMIT, CHECK_PATH[provider])
    result = await start_user_flow(hass, provider)

    result = await configure(hass, result, login_input(provider, emulator))

    assert result["errors"] == {"base": "rate_limited"}
    assert emulator.faults == type(emulator.faults)()  # the fault was answered
    result = await configure(hass, result, login_input(provider, emulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_gateway_refuses_the_check_request(hass: HomeAssistant, start_emulator: Any) -> None:
    """A gateway error that says nothing about the credentials or the connection."""
    emulator = await start_emulator(GatewayId.SMSC)
    emulator.error_next(1, "balance.php")  # SMSC.ru: error in the parameters
    result = await start_user_flow(hass, GatewayId.SMSC)

    result = await configure(hass, result, login_input(GatewayId.SMSC, emulator))

    assert result["errors"] == {"base": "gateway_refused"}
    result = await configure(hass, result, login_input(GatewayId.SMSC, emulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unexpected_exception(
    hass: HomeAssistant, start_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = await start_emulator(GatewayId.STREAM)

    class Broken:
        async def check_credentials(self) -> None:
            raise RuntimeError("boom")

    result = await start_user_flow(hass, GatewayId.STREAM)
    with patch(
        "custom_components.ru_sms.config_flow.create_gateway", return_value=Broken()
    ) as factory:
        result = await configure(hass, result, login_input(GatewayId.STREAM, emulator))

    assert factory.call_count == 1
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error checking the stream credentials" in caplog.text
    assert "secret-pass" not in caplog.text
    result = await configure(hass, result, login_input(GatewayId.STREAM, emulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    "user_input",
    [
        {},
        {"username": "alerts"},
        {"password": "s3cret-pass"},
        {"username": "  ", "password": " ", "api_key": "  "},
    ],
)
async def test_smsc_missing_credentials(
    hass: HomeAssistant, start_emulator: Any, user_input: dict[str, Any]
) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    result = await start_user_flow(hass, GatewayId.SMSC)

    result = await configure(hass, result, {**user_input, "url": emulator.base_url})

    assert result["errors"] == {"base": "missing_credentials"}
    assert emulator.requests == []  # nothing to ask the gateway about
    result = await configure(hass, result, login_input(GatewayId.SMSC, emulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("provider", list(GatewayId))
@pytest.mark.parametrize("sender", ["Too-long-sender", "Отправитель", "1234567890123456"])
async def test_invalid_sender(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId, sender: str
) -> None:
    emulator = await start_emulator(provider)
    result = await start_user_flow(hass, provider)

    result = await configure(hass, result, login_input(provider, emulator, sender=sender))

    assert result["errors"] == {"sender": "invalid_sender"}
    assert emulator.requests == []
    result = await configure(hass, result, login_input(provider, emulator, sender=" ALERTS "))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"] == {"sender": "ALERTS"}


async def test_invalid_sender_and_wrong_password_together(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    result = await start_user_flow(hass, GatewayId.SMSC)

    result = await configure(hass, result, {"sender": "Too-long-sender", "url": emulator.base_url})

    assert result["errors"] == {"sender": "invalid_sender", "base": "missing_credentials"}


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_same_account_twice(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    await add_account(hass, provider, emulator)
    result = await start_user_flow(hass, provider)

    result = await configure(hass, result, login_input(provider, emulator))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_same_smsc_key_twice(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    await add_key_account(hass, emulator)
    result = await start_user_flow(hass, GatewayId.SMSC)

    result = await configure(hass, result, {"api_key": SMSC_KEY, "url": emulator.base_url})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_smstele_same_login_on_same_host_by_url_or_host(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    """An SMStele account is its login on its host, however the address was typed."""
    emulator = await start_emulator(GatewayId.SMSTELE)
    await add_account(hass, GatewayId.SMSTELE, emulator)
    port = emulator_port(emulator)
    result = await start_user_flow(hass, GatewayId.SMSTELE, advanced=None)

    result = await configure(
        hass,
        result,
        {
            "username": "TEST:HTTP".lower(),
            "password": "~test123",
            "host": "127.0.0.1",
            "port": port,
            "ssl": False,
        },
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


def smstele_elsewhere() -> MockConfigEntry:
    """The emulated SMStele login, added on the gateway's own host."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="SMStele (REX400) (test:http)",
        unique_id="smstele:test:http:rexsmsc.rex400.ru",
        data={
            "provider": "smstele",
            "username": "test:http",
            "password": "~test123",
            "host": "rexsmsc.rex400.ru",
            "port": 8882,
            "ssl": True,
        },
    )


async def test_smstele_same_login_on_another_host(hass: HomeAssistant, start_emulator: Any) -> None:
    """The same login with another operator's REX400 is another account."""
    emulator = await start_emulator(GatewayId.SMSTELE)
    smstele_elsewhere().add_to_hass(hass)

    entry = await add_account(hass, GatewayId.SMSTELE, emulator)

    assert entry.unique_id == "smstele:test:http:127.0.0.1"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 2


# -- reauthentication ------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_reauth_after_password_change(
    hass: HomeAssistant,
    start_emulator: Any,
    provider: GatewayId,
) -> None:
    emulator = await start_emulator(provider)
    entry = await add_account(hass, provider, emulator)
    # The password changes on the gateway: the next load asks to sign in (the account
    # loads all the same: its alerts go to a fallback account meanwhile).
    set_password(provider, emulator, NEW_PASSWORD)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    result = checked(await hass.config_entries.flow.async_configure(flows[0]["flow_id"]))
    assert result["step_id"] == "reauth_confirm"
    assert schema_keys(result) == ["password"]
    assert result["description_placeholders"]["gateway"] == NAMES[provider]
    assert result["description_placeholders"]["account"] == entry.title

    result = await configure(hass, result, {"password": WRONG_PASSWORD})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}

    result = await configure(hass, result, {"password": f"{NEW_PASSWORD} "})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["password"] == NEW_PASSWORD
    assert entry.data["username"] == ACCOUNTS[provider].credentials.login
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_of_a_loaded_entry_reloads_once(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.STREAM)
    entry = await add_account(hass, GatewayId.STREAM, emulator)
    emulator.accounts["user"] = NEW_PASSWORD
    logins = emulator.logins

    result = await start_reauth(hass, entry)
    result = await configure(hass, result, {"password": NEW_PASSWORD})
    await hass.async_block_till_done()

    assert result["reason"] == "reauth_successful"
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data["password"] == NEW_PASSWORD
    # One login to check the password, one for the one setup that follows.
    assert emulator.logins == logins + 2


async def test_reauth_with_the_same_password_reloads(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    """The gateway refused the password for a while: the same one is tried again."""
    emulator = await start_emulator(GatewayId.STREAM)
    entry = await add_account(hass, GatewayId.STREAM, emulator)
    emulator.accounts["user"] = "locked"
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    emulator.accounts["user"] = "secret-pass"
    result = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]

    result = await configure(hass, result, {"password": "secret-pass"})
    await hass.async_block_till_done()

    assert result["reason"] == "reauth_successful"
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_cannot_connect(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.DEVINO)
    entry = await add_account(hass, GatewayId.DEVINO, emulator)
    result = await start_reauth(hass, entry)
    emulator.inject(Fault.SERVER_ERROR_HTML, times=4)

    result = await configure(hass, result, {"password": "secret-pass"})

    assert result["errors"] == {"base": "cannot_connect"}


async def test_reauth_of_a_key_only_account_asks_for_the_key(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    entry = await add_key_account(hass, emulator)
    # The key is revoked and a new one made.
    emulator.api_key = NEW_KEY
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    flow = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]
    result = checked(await hass.config_entries.flow.async_configure(flow["flow_id"]))
    assert schema_keys(result) == ["api_key"]
    assert result["description_placeholders"]["gateway"] == "SMSC.ru"
    assert result["description_placeholders"]["account"] == "SMSC.ru"

    result = await configure(hass, result, {"api_key": SMSC_KEY})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await configure(hass, result, {"api_key": NEW_KEY})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["api_key"] == NEW_KEY
    assert entry.state is ConfigEntryState.LOADED
    assert entry.unique_id.startswith("smsc:key-")
    assert NEW_KEY not in entry.unique_id
    # The account is now known by its new key: adding that key again is refused.
    result = await start_user_flow(hass, GatewayId.SMSC)
    result = await configure(hass, result, {"api_key": NEW_KEY, "url": emulator.base_url})
    assert result["reason"] == "already_configured"


async def test_reauth_with_another_accounts_key(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    entry = await add_key_account(hass, emulator)
    # Another account, added by its key, is the only one the gateway accepts now.
    emulator.api_key = NEW_KEY
    other_data = {"provider": "smsc", "api_key": NEW_KEY, "url": emulator.base_url}
    other = MockConfigEntry(
        domain=DOMAIN,
        title="SMSC.ru",
        data=other_data,
        unique_id=_unique_id(create_gateway(hass, other_data), other_data),
    )
    other.add_to_hass(hass)
    old_unique_id = entry.unique_id

    result = await start_reauth(hass, entry)
    result = await configure(hass, result, {"api_key": NEW_KEY})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["api_key"] == SMSC_KEY
    assert entry.unique_id == old_unique_id


async def test_reauth_when_the_login_now_is_another_account(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    """An entry whose unique id names another account than its login is refused."""
    emulator = await start_emulator(GatewayId.STREAM)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Stream Telecom (user)",
        unique_id="stream:someone-else",
        data=expected_data(GatewayId.STREAM, emulator),
    )
    entry.add_to_hass(hass)

    result = await start_reauth(hass, entry)
    result = await configure(hass, result, {"password": "secret-pass"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"


# -- reconfiguration -------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_reconfigure_sender_password_and_address(
    hass: HomeAssistant,
    start_emulator: Any,
    provider: GatewayId,
) -> None:
    emulator = await start_emulator(provider)
    entry = await add_account(hass, provider, emulator)
    hass.config_entries.async_update_entry(entry, options={**entry.options, "transliterate": True})
    await hass.async_block_till_done()
    backup = await start_emulator(provider)
    set_password(provider, backup, NEW_PASSWORD)

    result = await start_reconfigure(hass, entry)
    assert result["step_id"] == "reconfigure"
    assert result["description_placeholders"] == {"gateway": NAMES[provider]}
    # The URL field is there although the flow is not in advanced mode: the entry has one.
    assert "url" in schema_keys(result)
    assert suggested(result)["url"] == emulator.base_url
    assert suggested(result)["sender"] == ACCOUNTS[provider].sender

    result = await configure(
        hass,
        result,
        login_input(
            provider,
            backup,
            password=NEW_PASSWORD,
            sender="Alarm",
            host="127.0.0.1" if provider is GatewayId.SMSTELE else None,
        ),
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["password"] == NEW_PASSWORD
    assert entry.data["url"] == backup.base_url
    assert entry.options == {"sender": "Alarm", "transliterate": True}
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.gateway.base_url == backup.base_url
    assert backup.count(CHECK_PATH[provider]) >= 1


async def test_reconfigure_reloads_once(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.STREAM)
    entry = await add_account(hass, GatewayId.STREAM, emulator)
    logins = emulator.logins

    result = await start_reconfigure(hass, entry)
    result = await configure(hass, result, login_input(GatewayId.STREAM, emulator, sender="OTHER"))
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    assert entry.options == {"sender": "OTHER"}
    assert entry.state is ConfigEntryState.LOADED
    assert emulator.logins == logins + 2


@pytest.mark.parametrize("sender", ["  ", None])
@pytest.mark.parametrize("provider", [GatewayId.STREAM, GatewayId.DEVINO])
async def test_sender_required_where_the_gateway_has_no_default(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId, sender: str | None
) -> None:
    """Blank or left out: our error, never the frontend's "not all required fields".

    The field is optional in the schema, so the frontend lets the empty form through.
    """
    emulator = await start_emulator(provider)
    result = await start_user_flow(hass, provider)
    field = next(key for key in result["data_schema"].schema if str(key) == "sender")
    assert isinstance(field, vol.Optional)

    result = await configure(hass, result, login_input(provider, emulator, sender=sender))

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"sender": "sender_required"}
    assert emulator.count() == 0


async def test_reconfigure_without_changes_reloads(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.STREAM)
    entry = await add_account(hass, GatewayId.STREAM, emulator)
    logins = emulator.logins

    result = await start_reconfigure(hass, entry)
    result = await configure(hass, result, login_input(GatewayId.STREAM, emulator))
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    assert entry.state is ConfigEntryState.LOADED
    assert emulator.logins == logins + 2


async def test_reconfigure_to_another_account(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.DEVINO)
    entry = await add_account(hass, GatewayId.DEVINO, emulator)
    emulator.accounts["other"] = "other-pass"
    data = dict(entry.data)

    result = await start_reconfigure(hass, entry)
    result = await configure(
        hass,
        result,
        login_input(GatewayId.DEVINO, emulator, username="other", password="other-pass"),
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert dict(entry.data) == data


async def test_reconfigure_smstele_to_another_host(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.SMSTELE)
    entry = smstele_elsewhere()
    entry.add_to_hass(hass)

    result = await start_reconfigure(hass, entry)
    result = await configure(
        hass,
        result,
        {
            "username": "test:http",
            "password": "~test123",
            "host": "127.0.0.1",
            "port": emulator_port(emulator),
            "ssl": False,
        },
    )

    assert emulator.count("status") == 1  # the credentials are right
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["host"] == "rexsmsc.rex400.ru"
    assert "url" not in entry.data


async def test_reconfigure_errors_then_success(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    entry = await add_account(hass, GatewayId.SMSC, emulator)
    result = await start_reconfigure(hass, entry)

    result = await configure(
        hass, result, login_input(GatewayId.SMSC, emulator, password=WRONG_PASSWORD)
    )
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result)["password"] == WRONG_PASSWORD

    result = await configure(
        hass, result, login_input(GatewayId.SMSC, emulator, sender="Too-long-sender")
    )
    assert result["errors"] == {"sender": "invalid_sender"}

    result = await configure(hass, result, {"url": emulator.base_url})
    assert result["errors"] == {"base": "missing_credentials"}

    emulator.inject(Fault.RATE_LIMIT, "balance.php")
    result = await configure(hass, result, login_input(GatewayId.SMSC, emulator))
    assert result["errors"] == {"base": "rate_limited"}

    result = await configure(hass, result, login_input(GatewayId.SMSC, emulator))
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert emulator.breaches == []


async def test_reconfigure_to_a_new_smsc_key(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    entry = await add_key_account(hass, emulator)
    old_unique_id = entry.unique_id
    emulator.api_key = NEW_KEY

    result = await start_reconfigure(hass, entry)
    assert schema_keys(result) == ["username", "password", "api_key", "sender", "url"]
    result = await configure(hass, result, {"api_key": NEW_KEY, "url": emulator.base_url})

    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    webhook = {key: entry.data[key] for key in ("webhook_id", "webhook_secret")}
    # The callback webhook stays: its URL is pasted in SMSC's settings.
    assert entry.data == {
        "provider": "smsc",
        "api_key": NEW_KEY,
        "url": emulator.base_url,
        **webhook,
    }
    assert entry.unique_id != old_unique_id
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_smstele_by_host(hass: HomeAssistant, start_emulator: Any) -> None:
    """Without advanced mode and without a URL, the address is host, port and HTTPS."""
    emulator = await start_emulator(GatewayId.SMSTELE)
    port = emulator_port(emulator)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="SMStele (REX400) (test:http)",
        unique_id="smstele:test:http:127.0.0.1",
        data={
            "provider": "smstele",
            "username": "test:http",
            "password": "wrong",
            "host": "127.0.0.1",
            "port": 1,
            "ssl": False,
        },
    )
    entry.add_to_hass(hass)

    result = await start_reconfigure(hass, entry)
    assert schema_keys(result)[:6] == ["username", "password", "host", "port", "ssl", "sender"]
    assert ("url" in schema_keys(result)) is ADVANCED_MODE_REMOVED
    assert suggested(result)["port"] == 1
    result = await configure(
        hass,
        result,
        {
            "username": "test:http",
            "password": "~test123",
            "host": "127.0.0.1",
            "port": port,
            "ssl": False,
        },
    )

    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["port"] == port
    assert entry.state is ConfigEntryState.LOADED


# -- options ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", BALANCE_PROVIDERS)
async def test_options_of_a_gateway_with_balance(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    entry = await add_account(hass, provider, emulator)
    assert entry.runtime_data.balance.update_interval == timedelta(minutes=60)

    result = checked(await hass.config_entries.options.async_init(entry.entry_id))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    extra = {GatewayId.SMSC: ["callbacks"]}.get(provider, ["incoming_interval"])
    assert schema_keys(result) == [
        "sender",
        "transliterate",
        "replace_typography",
        "balance_interval",
        "low_balance_threshold",
        *extra,
        "give_up_after",
        "max_copies",
        *GUARD_FIELDS,
    ]
    assert suggested(result)["sender"] == ACCOUNTS[provider].sender

    result = checked(
        await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                "sender": " Alarm ",
                "transliterate": True,
                "balance_interval": 15,
                "low_balance_threshold": 250.5,
                **dict.fromkeys(extra, 0),
                "give_up_after": 30,
            },
        )
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {
        "sender": "Alarm",
        "transliterate": True,
        "balance_interval": 15,
        "low_balance_threshold": 250.5,
        **dict.fromkeys(extra, 0),
        "give_up_after": 30,
        "max_copies": 3,
        **GUARD_OPTIONS,
    }
    # The account was started anew with them.
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.balance.update_interval == timedelta(minutes=15)
    assert entry.runtime_data.balance.is_low  # the emulated account holds 100


async def test_options_of_smstele(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.SMSTELE)
    entry = await add_account(hass, GatewayId.SMSTELE, emulator)

    result = checked(await hass.config_entries.options.async_init(entry.entry_id))
    assert schema_keys(result) == [
        "sender",
        "transliterate",
        "replace_typography",
        "give_up_after",
        "max_copies",
        *GUARD_FIELDS,
    ]
    result = checked(
        await hass.config_entries.options.async_configure(
            result["flow_id"], {"sender": "REX400.RU", "transliterate": True}
        )
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {
        "sender": "REX400.RU",
        "transliterate": True,
        "give_up_after": 60,
        "max_copies": 3,
        **GUARD_OPTIONS,
    }
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.balance is None


async def test_options_invalid_sender_then_cleared(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    entry = await add_account(hass, GatewayId.SMSC, emulator)
    result = checked(await hass.config_entries.options.async_init(entry.entry_id))
    user_input = {
        "transliterate": False,
        "balance_interval": 30,
        "low_balance_threshold": 0,
        "callbacks": False,
        "give_up_after": 60,
        "max_copies": 3,
    }

    result = checked(
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**user_input, "sender": "Too-long-sender"}
        )
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"sender": "invalid_sender"}
    assert suggested(result)["sender"] == "Too-long-sender"

    result = checked(
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**user_input, "sender": "  "}
        )
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {**user_input, **GUARD_OPTIONS}
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.balance.update_interval == timedelta(minutes=30)


async def test_options_sender_cannot_be_cleared_where_required(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.DEVINO)
    entry = await add_account(hass, GatewayId.DEVINO, emulator)
    result = checked(await hass.config_entries.options.async_init(entry.entry_id))

    result = checked(
        await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                "sender": "  ",
                "transliterate": False,
                "balance_interval": 30,
                "low_balance_threshold": 0,
                "incoming_interval": 0,
            },
        )
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"sender": "sender_required"}
    assert entry.options["sender"] == ACCOUNTS[GatewayId.DEVINO].sender


# -- recipients ------------------------------------------------------------------------


async def test_add_recipient(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.STREAM)
    entry = await add_account(hass, GatewayId.STREAM, emulator)
    assert recipient_entities(hass, entry) == {}

    result = checked(
        await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_RECIPIENT), context={"source": SOURCE_USER}
        )
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert schema_keys(result) == ["name", "phones", "escalation"]
    result = checked(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {
                "name": " Ivan ",
                "phones": ["+7 (916) 123-45-67", "8 916 222 33 44", "", "79161234567"],
            },
        )
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Ivan"
    assert result["data"] == {"phones": [IVAN, "79162223344"]}
    await hass.async_block_till_done()
    # The account was reloaded and has the recipient's notify entity.
    assert entry.state is ConfigEntryState.LOADED
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_RECIPIENT
    entities = recipient_entities(hass, entry)
    assert list(entities) == [subentry.subentry_id]
    assert hass.states.get(entities[subentry.subentry_id]) is not None

    # Removing the recipient removes its entity.
    assert hass.config_entries.async_remove_subentry(entry, subentry.subentry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert recipient_entities(hass, entry) == {}
    assert hass.states.get(entities[subentry.subentry_id]) is None


async def test_recipient_errors(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    entry = await add_account(hass, GatewayId.SMSC, emulator)
    result = checked(
        await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_RECIPIENT), context={"source": SOURCE_USER}
        )
    )
    assert result["description_placeholders"] == {"numbers": "", "code": "{code}"}

    result = checked(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Ivan", "phones": ["+7 916 123-45-67", "12", "abc"]}
        )
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"phones": "invalid_phone"}
    assert result["description_placeholders"] == {"numbers": "12, abc", "code": "{code}"}
    assert suggested(result)["phones"] == ["+7 916 123-45-67", "12", "abc"]

    result = checked(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "  ", "phones": ["", " "]}
        )
    )
    assert result["errors"] == {"name": "empty_name", "phones": "no_phones"}

    result = checked(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "  ", "phones": ["+79161234567"]}
        )
    )
    assert result["errors"] == {"name": "empty_name"}

    result = checked(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Duty", "phones": ["+79161234567"]}
        )
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"phones": [IVAN]}
    # The new recipient reloads the account: let that end before Home Assistant stops
    # (a reload racing the test's teardown left a store's delayed write behind).
    await hass.async_block_till_done()
    assert hass.states.get("notify.duty") is not None


async def test_reconfigure_recipient(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.DEVINO)
    entry = await add_account(hass, GatewayId.DEVINO, emulator)
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data={"phones": [IVAN]},
            subentry_type=SUBENTRY_RECIPIENT,
            title="Ivan",
            unique_id=None,
        ),
    )
    await hass.async_block_till_done()
    (subentry_id,) = entry.subentries
    entity_id = recipient_entities(hass, entry)[subentry_id]
    assert hass.states.get(entity_id) is not None

    result = checked(
        await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_RECIPIENT),
            context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id},
        )
    )
    assert result["step_id"] == "reconfigure"
    assert suggested(result) == {"name": "Ivan", "phones": [IVAN]}

    result = checked(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Ivan", "phones": ["bad"]}
        )
    )
    assert result["errors"] == {"phones": "invalid_phone"}
    assert result["description_placeholders"] == {"numbers": "bad", "code": "{code}"}

    result = checked(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {"name": "Night shift", "phones": ["8 916 222 33 44", "+44 20 7946 0958"]},
        )
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    subentry = entry.subentries[subentry_id]
    assert subentry.title == "Night shift"
    assert subentry.data == {"phones": ["79162223344", "442079460958"]}
    assert entry.state is ConfigEntryState.LOADED
    # The reloaded entity texts the new numbers.
    state = hass.states.get(entity_id)
    assert state is not None
    await hass.services.async_call(
        "notify", "send_message", {"entity_id": entity_id, "message": "Test"}, blocking=True
    )
    sent = [
        value
        for request in emulator.requests
        if "/Sms/Send" in request.path
        for key, value in request.multi
        if key.startswith("DestinationAddress")
    ]
    assert sorted(sent) == ["442079460958", "79162223344"]


async def test_smsc_login_with_key_signs_in_again_by_key(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    """A login typed with an API key and no password: the key is what signs in."""
    emulator = await start_emulator(GatewayId.SMSC)
    result = await start_user_flow(hass, GatewayId.SMSC)
    result = await configure(
        hass, result, {"username": "alerts", "api_key": SMSC_KEY, "url": emulator.base_url}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "SMSC.ru (alerts)"
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    emulator.api_key = NEW_KEY

    result = await start_reauth(hass, entry)
    assert schema_keys(result) == ["api_key"]
    result = await configure(hass, result, {"api_key": NEW_KEY})

    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["api_key"] == NEW_KEY
    assert entry.unique_id == "smsc:alerts"
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_entry_without_unique_id(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.STREAM)
    entry = MockConfigEntry(
        domain=DOMAIN, title="Stream", data=expected_data(GatewayId.STREAM, emulator)
    )
    entry.add_to_hass(hass)

    result = await start_reconfigure(hass, entry)
    result = await configure(hass, result, login_input(GatewayId.STREAM, emulator))

    assert result["reason"] == "reconfigure_successful"
    assert entry.unique_id == "stream:user"


# -- translations ----------------------------------------------------------------------

TRANSLATIONS = Path(__file__).parents[2] / "custom_components" / "ru_sms" / "translations"
FLOW_SECTIONS = ("config", "options", "config_subentries")
STEP_PLACEHOLDERS = {
    ("config", "user"): set(),
    ("config", "credentials"): {"gateway"},
    ("config", "reauth_confirm"): {"gateway", "account", "name"},
    ("config", "reconfigure"): {"gateway"},
    ("options", "init"): {
        "min_balance_interval",
        "max_balance_interval",
        "max_incoming_interval",
        "max_give_up_after",
        "max_copies",
        "max_guard_window",
        "max_burst_limit",
        "max_daily_parts",
        "callback_url",
    },
    ("recipient", "user"): {"numbers", "code"},
    ("recipient", "reconfigure"): {"numbers", "code"},
}
"""The placeholders each form is given (`name`: Home Assistant's, for reauthentication)."""


def placeholders_in(tree: Any) -> set[str]:
    """Every `{placeholder}` in the strings of a translation subtree."""
    if isinstance(tree, dict):
        return set().union(*(placeholders_in(value) for value in tree.values()))
    return set(re.findall(r"\{(\w+)\}", tree))


def key_tree(tree: Any) -> Any:
    """The keys of a translation subtree, without the texts."""
    if isinstance(tree, dict):
        return {key: key_tree(value) for key, value in tree.items()}
    return None


HARDENING_ERRORS = (
    "url_credentials",
    "url_query",
    "url_fragment",
    "url_scheme",
    "url_no_host",
    "url_invalid",
    "host_required",
    "host_credentials",
    "host_invalid",
    "host_unusable",
    "url_unusable",
    "invalid_characters",
    "gateway_refused",
)
"""What the address, port and text checks of the flow say (tests/integration/test_hardening_flow.py)."""


@pytest.mark.parametrize("language", ["en", "ru"])
def test_flow_translations(language: str) -> None:
    strings = json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    config, options = strings["config"], strings["options"]
    recipient = strings["config_subentries"]["recipient"]
    assert set(config["error"]) == {
        "invalid_auth",
        "cannot_connect",
        "rate_limited",
        "missing_credentials",
        "invalid_sender",
        "sender_required",
        "unknown",
        "port_range",
        *HARDENING_ERRORS,
    }
    assert set(config["abort"]) == {
        "already_configured",
        "reauth_successful",
        "reconfigure_successful",
        "wrong_account",
    }
    assert set(options["error"]) == {
        "invalid_sender",
        "sender_required",
        "no_callback_url",
        "balance_interval_range",
        "incoming_interval_range",
        "give_up_after_range",
        "max_copies_range",
        "low_balance_threshold_range",
        "repeat_window_range",
        "burst_limit_range",
        "burst_window_range",
        "daily_parts_limit_range",
        "daily_cost_limit_range",
    }
    assert set(recipient["error"]) == {
        "invalid_phone",
        "empty_name",
        "no_phones",
        "invalid_characters",
        "escalate_window_required",
        "escalate_window_out_of_range",
        "escalate_too_many_steps",
        "escalate_no_steps",
        "escalate_step_repeated",
        "escalate_unknown_target",
        "escalate_no_fallback",
        "escalate_to_same_recipient",
        "acknowledgement_needs_incoming",
        "acknowledgement_not_supported",
    }
    # Gateway names are brands: the picker shows the name each gateway declares.
    assert "provider" not in strings["selector"]
    steps = {("config", step): tree for step, tree in config["step"].items()} | {
        ("options", step): tree for step, tree in options["step"].items()
    }
    steps |= {("recipient", step): tree for step, tree in recipient["step"].items()}
    assert set(steps) == set(STEP_PLACEHOLDERS)
    for step, tree in steps.items():
        assert placeholders_in(tree) <= STEP_PLACEHOLDERS[step], step
    # Every field of the forms is named: each field a gateway declares, sender and URL.
    declared = {
        field.key for client in GATEWAY_TYPES.values() for field in client.description.fields
    }
    assert declared == {"username", "password", "api_key", "host", "port", "ssl"}
    assert set(config["step"]["credentials"]["data"]) == declared | {"sender", "url"}
    assert config["step"]["reconfigure"]["data"] == config["step"]["credentials"]["data"]
    assert set(options["step"]["init"]["data"]) == {
        "sender",
        "transliterate",
        "balance_interval",
        "low_balance_threshold",
        "callbacks",
        "callback_url",
        "incoming_interval",
        "give_up_after",
        "max_copies",
        "fallback_entry_id",
        *GUARD_OPTIONS,
    }
    # The escalation's errors name what is at fault, as the action's do.
    assert placeholders_in(recipient["error"]) == {
        "numbers",
        "min",
        "max",
        "field",
        "target",
        "account",
        "gateway",
    }


def test_flow_translations_have_the_same_keys() -> None:
    english, russian = (
        json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
        for language in ("en", "ru")
    )
    for section in FLOW_SECTIONS:
        assert key_tree(russian[section]) == key_tree(english[section]), section
