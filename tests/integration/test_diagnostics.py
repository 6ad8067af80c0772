"""Diagnostics: what support sees, without credentials, phone numbers or names."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.ru_sms.const import CONF_BALANCE_INTERVAL, CONF_LOW_BALANCE
from custom_components.ru_sms.providers.models import GatewayId
from tests.conftest import IVAN, make_entry
from tests.emulators.base import Fault
from tests.emulators.catalog import ACCOUNTS

OTHER = "79037654321"
SMSC_API_KEY = "k3y-0123456789"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/."""


def entry_for(provider: GatewayId, emulator: Any) -> MockConfigEntry:
    """An account with options, two recipients, and (SMSC.ru) an API key as well."""
    return make_entry(
        provider,
        emulator,
        options={CONF_BALANCE_INTERVAL: 30, CONF_LOW_BALANCE: 10},
        recipients={"Ivan": [IVAN], "Night shift": [IVAN, OTHER]},
    )


def secrets_of(provider: GatewayId, entry: MockConfigEntry) -> list[str]:
    """Strings that must not appear anywhere in the diagnostics."""
    credentials = ACCOUNTS[provider].credentials
    found = [
        credentials.password or "",
        entry.title,
        entry.unique_id or "",
        IVAN,
        OTHER,
        IVAN[1:],  # the number without its country code
        "Night shift",
    ]
    # "user" is also in the key "username": look for the login as a JSON value
    found.append(json.dumps(credentials.login))
    if CONF_API_KEY in entry.data:
        found.append(entry.data[CONF_API_KEY])
    # SMSC.ru accounts get a webhook id and secret (by the migration of older entries)
    found += [entry.data[key] for key in ("webhook_id", "webhook_secret") if key in entry.data]
    return found


async def diagnostics_of(
    hass: HomeAssistant, hass_client: Any, entry: MockConfigEntry, emulator: Any
) -> Any:
    """The entry's diagnostics as the download gives them, the emulator's port made stable."""
    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    return json.loads(json.dumps(result).replace(emulator.base_url, "http://emulator/"))


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: Any,
    start_emulator: Any,
    snapshot: SnapshotAssertion,
    provider: GatewayId,
) -> None:
    emulator = await start_emulator(provider)
    entry = entry_for(provider, emulator)
    entry.add_to_hass(hass)
    if provider is GatewayId.SMSC:
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_API_KEY: SMSC_API_KEY}
        )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    result = await diagnostics_of(hass, hass_client, entry, emulator)

    dump = json.dumps(result)
    for secret in secrets_of(provider, entry):
        assert secret not in dump, secret
    assert entry.entry_id not in dump
    data = result["entry"]["data"]
    assert data[CONF_PASSWORD] == "**REDACTED**"
    assert data[CONF_USERNAME] == "**REDACTED**"
    assert result["entry"]["title"] == "**REDACTED**"
    assert result["options"][CONF_LOW_BALANCE] == 10
    assert result["options"][CONF_BALANCE_INTERVAL] == 30
    assert result["state"] == "loaded"
    if provider is GatewayId.SMSTELE:
        assert result["balance"] is None
    else:
        assert result["balance"]["last_update_success"] is True
        assert float(result["balance"]["data"]["amount"]) == 100
    assert result == snapshot


async def test_diagnostics_last_balance_after_failed_poll(
    hass: HomeAssistant, hass_client: Any, start_emulator: Any, no_client_retry_delay: None
) -> None:
    """The last balance read stays, marked as not current."""
    emulator = await start_emulator(GatewayId.STREAM)
    entry = entry_for(GatewayId.STREAM, emulator)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    emulator.inject(Fault.SERVER_ERROR_HTML, times=2)
    await entry.runtime_data.balance.async_refresh()

    result = await diagnostics_of(hass, hass_client, entry, emulator)

    assert result["balance"] == {
        "last_update_success": False,
        "data": {"amount": "100.0", "currency": None, "credit": None},
    }


@pytest.mark.parametrize("provider", [GatewayId.SMSC, GatewayId.SMSTELE])
async def test_diagnostics_of_account_with_credentials_refused(
    hass: HomeAssistant, hass_client: Any, start_emulator: Any, provider: GatewayId
) -> None:
    """Credentials refused at setup: loaded all the same, no balance read, no secret."""
    emulator = await start_emulator(provider)
    entry = entry_for(provider, emulator)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_PASSWORD: "wrong-password"}
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    result = await diagnostics_of(hass, hass_client, entry, emulator)

    assert "wrong-password" not in json.dumps(result)
    assert result["state"] == "loaded"
    assert result["gateway"]["provider"] == provider.value
    assert result["balance"] == (
        None if provider is GatewayId.SMSTELE else {"last_update_success": False, "data": None}
    )
    assert result["outbox"]["queued"] == 0
    assert result["options"][CONF_LOW_BALANCE] == 10


async def test_diagnostics_after_unload(
    hass: HomeAssistant, hass_client: Any, start_emulator: Any
) -> None:
    """An unloaded account shows no stale balance."""
    emulator = await start_emulator(GatewayId.DEVINO)
    entry = entry_for(GatewayId.DEVINO, emulator)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    result = await diagnostics_of(hass, hass_client, entry, emulator)

    assert result["state"] == "not_loaded"
    assert result["balance"] is None
    assert result["gateway"]["capabilities"] is None


async def test_diagnostics_count_tracked_messages_without_numbers(
    hass: HomeAssistant, hass_client: Any, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.STREAM)
    entry = entry_for(GatewayId.STREAM, emulator)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(
        "notify", "send_message", {"entity_id": "notify.ivan", "message": "Alarm"}, blocking=True
    )
    await hass.async_block_till_done()

    result = await diagnostics_of(hass, hass_client, entry, emulator)

    assert result["tracker"] == {
        "callbacks": False,
        "in_flight": 1,
        "on_record": 1,
        "states": {"queued": 1},
    }
    assert IVAN not in json.dumps(result)
    await hass.config_entries.async_unload(entry.entry_id)
