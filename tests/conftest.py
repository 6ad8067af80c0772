"""Shared fixtures: an aiohttp session for the clients, emulated gateways, config entries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import dataclasses
import socket
from typing import Any

import aiohttp
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.ru_sms.const import CONF_PHONES, CONF_PROVIDER, DOMAIN, SUBENTRY_RECIPIENT
from custom_components.ru_sms.providers import GATEWAY_TYPES, base as base_module
from custom_components.ru_sms.providers.models import GatewayId
from tests.emulators.base import EmulatedGateway
from tests.emulators.catalog import ACCOUNTS

IVAN = "79161234567"
"""The number of the recipient every test entry has."""
GUARD_OPTIONS: dict[str, Any] = {
    "replace_typography": False,
    "storm_guard": True,
    "repeat_window": 10,
    "burst_limit": 10,
    "burst_window": 10,
    "daily_parts_limit": 0,
    "daily_cost_limit": 0.0,
}
"""Options the options form stores with their defaults when they are not changed."""
GUARD_FIELDS = [key for key in GUARD_OPTIONS if key != "replace_typography"]
"""The options form's last fields: the storm guard's and the spending limits'."""


@pytest.fixture
async def http_session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A real aiohttp session, as Home Assistant's shared one would be."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def refused_url(socket_enabled: None) -> str:
    """A loopback URL where the connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def patch_description(monkeypatch: pytest.MonkeyPatch, provider: str, **changes: Any) -> None:
    """Change what a gateway declares, for one test (`lookup_wait=(0.0,)`, ...)."""
    client = GATEWAY_TYPES[provider]
    monkeypatch.setattr(client, "description", dataclasses.replace(client.description, **changes))


class Clock:
    """A monotonic clock the tests move by hand (the REST clients' session age)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the Home Assistant side -----------------------------------------------------------


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's snapshots (tests/integration/snapshots/), whichever plugin's fixture won.

    On the newer test harness syrupy's own fixture takes precedence, with another format
    and folder: one .ambr must serve both supported Home Assistant versions.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def no_client_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry a request that did not go through at once."""
    monkeypatch.setattr(base_module, "RETRY_DELAY", 0)


@pytest.fixture
async def start_emulator(
    socket_enabled: None,
) -> AsyncIterator[Callable[[GatewayId], Any]]:
    """Start an emulated gateway for a provider (stopped after the test)."""
    started: list[EmulatedGateway] = []

    async def start(provider: GatewayId) -> Any:
        emulator = ACCOUNTS[provider].emulator()
        emulator.hang_seconds = 1.0
        await emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        await emulator.stop()


@pytest.fixture
async def emulators(start_emulator: Any) -> AsyncIterator[Callable[[GatewayId], Any]]:
    """Start emulators; after the test, none of them saw a rate-limit rule broken."""
    started: list[EmulatedGateway] = []

    async def start(provider: GatewayId) -> Any:
        emulator = await start_emulator(provider)
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        assert emulator.breaches == []


async def setup_account(
    hass: HomeAssistant, provider: GatewayId, emulator: EmulatedGateway, **kwargs: Any
) -> MockConfigEntry:
    """Add and set up an entry for an emulated account (`make_entry`'s arguments)."""
    entry = make_entry(provider, emulator, **kwargs)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


def gateway_data(provider: GatewayId, emulator: EmulatedGateway) -> dict[str, Any]:
    """Entry data for the emulated account of a provider."""
    credentials = ACCOUNTS[provider].credentials
    return {
        CONF_PROVIDER: provider.value,
        "username": credentials.login,
        "password": credentials.password,
        "url": emulator.base_url,
    }


def make_entry(
    provider: GatewayId,
    emulator: EmulatedGateway,
    *,
    options: dict[str, Any] | None = None,
    recipients: dict[str, list[str]] | None = None,
    title: str | None = None,
    unique_id: str | None = None,
) -> MockConfigEntry:
    """A config entry for the emulated account, with recipient subentries."""
    if recipients is None:
        recipients = {"Ivan": [IVAN]}
    credentials = ACCOUNTS[provider].credentials
    return MockConfigEntry(
        domain=DOMAIN,
        title=title or f"{provider.value} ({credentials.login})",
        # As the config flow makes it (SMStele accounts are per host).
        unique_id=unique_id
        or f"{provider.value}:{(credentials.login or '').lower()}"
        + (":127.0.0.1" if provider is GatewayId.SMSTELE else ""),
        data=gateway_data(provider, emulator),
        options={"sender": ACCOUNTS[provider].sender, **(options or {})},
        subentries_data=[
            {
                "data": {CONF_PHONES: phones},
                "subentry_type": SUBENTRY_RECIPIENT,
                "title": name,
                "unique_id": None,
            }
            for name, phones in recipients.items()
        ],
    )
