"""Fixtures of the integration tests: a frozen clock, another integration's notify entity."""

from __future__ import annotations

from collections.abc import AsyncIterator
import logging
from typing import Any

from homeassistant.components.notify import NotifyEntity
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    mock_config_flow,
    mock_integration,
    mock_platform,
    setup_test_component_platform,
)


@pytest.fixture
def freezer(freezer: Any, caplog: pytest.LogCaptureFixture) -> Any:
    """Frozen time; the emulators' access log, which cannot read a frozen clock, off."""
    caplog.set_level(logging.WARNING, logger="aiohttp.access")
    return freezer


class PhoneNotify(NotifyEntity):
    """Another integration's notify entity (the mobile app): remembers what it was sent."""

    _attr_name = "Phone"
    _attr_unique_id = "phone"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        self.sent.append(message)


class OtherFlow(ConfigFlow):
    """The other integration's config flow (never run: only its handler must exist)."""

    VERSION = 1


@pytest.fixture
async def phone(hass: HomeAssistant) -> AsyncIterator[PhoneNotify]:
    """`notify.phone`, set up before the accounts."""
    entity = PhoneNotify()

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, [Platform.NOTIFY])
        return True

    mock_integration(hass, MockModule("test", async_setup_entry=setup_entry))
    mock_platform(hass, "test.config_flow", None)
    setup_test_component_platform(hass, "notify", [entity], from_config_entry=True)
    with mock_config_flow("test", OtherFlow):
        entry = MockConfigEntry(domain="test")
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert hass.states.get("notify.phone") is not None
        yield entity
