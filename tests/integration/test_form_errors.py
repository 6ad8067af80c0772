"""Form errors and units: translated by us, never voluptuous' English, never stale."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.ru_sms.providers import GatewayId
from tests.conftest import GUARD_OPTIONS
from tests.integration.test_config_flow import add_account, configure, login_input, start_user_flow


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/."""


@pytest.fixture(autouse=True)
def fast_retries(no_client_retry_delay: None) -> None:
    """A request that did not go through is retried at once."""


def selector_config(result: Any, field: str) -> dict[str, Any]:
    """The selector configuration of a form field."""
    for key, value in result["data_schema"].schema.items():
        if str(key) == field:
            return dict(value.config)
    raise AssertionError(f"no field {field}")


OPTIONS = {"transliterate": False, "balance_interval": 60, "low_balance_threshold": 0}


@pytest.mark.parametrize(
    ("provider", "case"),
    [
        (GatewayId.SMSC, ("balance_interval", 1)),
        (GatewayId.SMSC, ("balance_interval", 1441)),
        (GatewayId.STREAM, ("incoming_interval", 1441)),
        (GatewayId.DEVINO, ("incoming_interval", -1)),
    ],
)
async def test_an_interval_out_of_range_gets_our_error_then_clears(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId, case: tuple[str, int]
) -> None:
    field, value = case
    emulator = await start_emulator(provider)
    entry = await add_account(hass, provider, emulator)
    extra = {"callbacks": False} if provider is GatewayId.SMSC else {"incoming_interval": 0}
    user_input = {**OPTIONS, **extra, "sender": "Alarm"}
    result = await hass.config_entries.options.async_init(entry.entry_id)
    # The selector itself takes any number: the schema would answer in English.
    assert "min" not in selector_config(result, field)
    assert result["description_placeholders"] == {
        "min_balance_interval": "5",
        "max_balance_interval": "1440",
        "max_incoming_interval": "1440",
        "max_give_up_after": "1440",
        "max_copies": "10",
        "max_guard_window": "1440",
        "max_burst_limit": "1000",
        "max_daily_parts": "1000000",
        "callback_url": "",  # no external URL here
    }

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, field: float(value)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: f"{field}_range"}
    before = dict(entry.options)

    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The give-up time (issue 9) keeps its default of 60 minutes.
    assert (
        entry.options
        == {**user_input, "give_up_after": 60, "max_copies": 3, **GUARD_OPTIONS}
        != before
    )


@pytest.mark.parametrize("provider", [GatewayId.SMSC, GatewayId.STREAM])
async def test_units_are_translated(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    entry = await add_account(hass, provider, emulator)
    result = await hass.config_entries.options.async_init(entry.entry_id)

    interval = selector_config(result, "balance_interval")
    assert (interval["unit_of_measurement"], interval["translation_key"]) == ("min", "minutes")
    threshold = selector_config(result, "low_balance_threshold")
    # The account's currency, as its gateway reports it (the emulators: RUB), shown as it
    # is: a unit with a translation key must be a lower-case key (hassfest), not a code.
    assert threshold["unit_of_measurement"] == "RUB"
    assert "translation_key" not in threshold


async def test_threshold_unit_without_a_loaded_account(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    entry = await add_account(hass, GatewayId.SMSC, emulator)
    await hass.config_entries.async_unload(entry.entry_id)

    result = await hass.config_entries.options.async_init(entry.entry_id)

    assert selector_config(result, "low_balance_threshold")["unit_of_measurement"] == "RUB"


@pytest.mark.parametrize("port", [0, 65536])
async def test_a_port_out_of_range_gets_our_error(
    hass: HomeAssistant, start_emulator: Any, port: int
) -> None:
    emulator = await start_emulator(GatewayId.SMSTELE)
    result = await start_user_flow(hass, GatewayId.SMSTELE)
    assert "max" not in selector_config(result, "port")

    result = await configure(
        hass, result, login_input(GatewayId.SMSTELE, emulator, port=float(port))
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"port": "port_range"}
    assert emulator.count() == 0  # refused before any request


async def test_every_range_error_at_once(hass: HomeAssistant, start_emulator: Any) -> None:
    """A negative threshold gets our message, beside the other fields' (no selector minimum)."""
    emulator = await start_emulator(GatewayId.STREAM)
    entry = await add_account(hass, GatewayId.STREAM, emulator)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "min" not in selector_config(result, "low_balance_threshold")
    user_input = {**OPTIONS, "incoming_interval": 0, "sender": "Alarm"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **user_input,
            "low_balance_threshold": -5.0,
            "balance_interval": 1.0,
            "incoming_interval": 1441.0,
            "give_up_after": 0.0,
            "max_copies": 0.0,
            "sender": "",
        },
    )

    assert result["errors"] == {
        "low_balance_threshold": "low_balance_threshold_range",
        "balance_interval": "balance_interval_range",
        "incoming_interval": "incoming_interval_range",
        "give_up_after": "give_up_after_range",
        "max_copies": "max_copies_range",
        "sender": "sender_required",
    }
    # An amount of money may have kopecks; infinity is no amount.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, "low_balance_threshold": float("inf")}
    )
    assert result["errors"] == {"low_balance_threshold": "low_balance_threshold_range"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, "low_balance_threshold": 12.5}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["low_balance_threshold"] == 12.5
