"""The balance sensor, the low-balance binary sensor and the repair issue."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from enum import Enum
import logging
from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.icon import async_get_icons
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from syrupy.assertion import SnapshotAssertion

from custom_components.ru_sms.const import CONF_BALANCE_INTERVAL, CONF_LOW_BALANCE, DOMAIN
from custom_components.ru_sms.coordinator import BalanceCoordinator
from custom_components.ru_sms.providers.models import GatewayId
from tests.conftest import IVAN, make_entry
from tests.emulators.base import Fault
from tests.emulators.catalog import by_gateway

BALANCE_PATH = by_gateway(lambda account: account.balance_path)
BALANCE_GATEWAYS = list(BALANCE_PATH)
SLUG = by_gateway(lambda account: account.slug)
COORDINATOR_LOGGER = "custom_components.ru_sms.coordinator"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/."""


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> BalanceCoordinator:
    """Set up an entry of a balance gateway; its coordinator."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.balance
    assert coordinator is not None
    return coordinator


async def refresh(hass: HomeAssistant, coordinator: BalanceCoordinator) -> None:
    """Poll the balance now."""
    await coordinator.async_refresh()
    await hass.async_block_till_done()


async def tick(hass: HomeAssistant, freezer: Any, minutes: float) -> None:
    """Let time pass; scheduled polls run (in the background) and finish."""
    freezer.tick(timedelta(minutes=minutes))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def issue_id(entry: MockConfigEntry) -> str:
    return f"low_balance_{entry.entry_id}"


def plain(value: Any) -> Any:
    """Enums as their values, mappings as dicts with text keys: the same on every version."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(plain(key)): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def entities_of(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """States, attributes and registry entries of an entry's entities, ids made stable."""
    registry = er.async_get(hass)
    ids = {entry.entry_id: "<entry_id>"} | {
        subentry_id: f"<subentry:{subentry.title}>"
        for subentry_id, subentry in entry.subentries.items()
    }

    def stable(text: str) -> str:
        for volatile, fixed in ids.items():
            text = text.replace(volatile, fixed)
        return text

    result: dict[str, Any] = {}
    for item in sorted(
        er.async_entries_for_config_entry(registry, entry.entry_id), key=lambda e: e.entity_id
    ):
        state = hass.states.get(item.entity_id)
        # disabled entities (by default: the statistics sensors) have no state
        assert (state is None) is (item.disabled_by is not None)
        result[item.entity_id] = {
            "state": state.state if state else None,
            "attributes": plain(dict(state.attributes)) if state else None,
            "registry": {
                "disabled_by": plain(item.disabled_by),
                "unique_id": stable(item.unique_id),
                "translation_key": item.translation_key,
                "device_class": plain(item.device_class),
                "original_device_class": plain(item.original_device_class),
                "original_name": item.original_name,
                "entity_category": plain(item.entity_category),
            },
        }
    return result


# -- the entities ------------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_entities(
    hass: HomeAssistant, start_emulator: Any, snapshot: SnapshotAssertion, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    entry = make_entry(provider, emulator, options={CONF_LOW_BALANCE: 10})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entities_of(hass, entry) == snapshot


async def test_translations_and_icons(hass: HomeAssistant, start_emulator: Any) -> None:
    """Every entity's translation key has a name in both languages and an icon."""
    emulator = await start_emulator(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    await setup_entry(hass, entry)
    icons = (await async_get_icons(hass, "entity", [DOMAIN]))[DOMAIN]

    keyed = [
        item
        for item in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if item.translation_key is not None
    ]
    assert {(item.domain, item.translation_key) for item in keyed} == {
        ("sensor", "balance"),
        ("binary_sensor", "low_balance"),
        ("sensor", "last_message"),
        ("sensor", "in_flight"),
        ("event", "messages"),
    }
    for language in ("en", "ru"):
        names = await async_get_translations(hass, language, "entity", [DOMAIN])
        issues = await async_get_translations(hass, language, "issues", [DOMAIN])
        for item in keyed:
            key = f"component.{DOMAIN}.entity.{item.domain}.{item.translation_key}.name"
            assert names.get(key), (language, key)
        description = issues[f"component.{DOMAIN}.issues.low_balance.description"]
        title = issues[f"component.{DOMAIN}.issues.low_balance.title"]
        for placeholder in ("{account}", "{balance}", "{threshold}", "{currency}"):
            assert placeholder in description
        assert "{account}" in title
    for item in keyed:
        assert icons[item.domain][item.translation_key]["default"].startswith("mdi:")
    assert icons["binary_sensor"]["low_balance"]["state"]["on"].startswith("mdi:")


# -- the balance sensor ------------------------------------------------------------------


@pytest.mark.parametrize("provider", BALANCE_GATEWAYS)
async def test_balance_value_and_unit(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    emulator.balance = Decimal("123.45")
    entry = make_entry(provider, emulator)
    await setup_entry(hass, entry)

    state = hass.states.get(f"sensor.{SLUG[provider]}_balance")
    assert state is not None
    assert Decimal(state.state) == Decimal("123.45")
    assert state.attributes["unit_of_measurement"] == "RUB"
    assert state.attributes["device_class"] == "monetary"


async def test_balance_in_the_gateways_currency(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    emulator.currency = "KZT"
    emulator.balance = Decimal("5400.00")
    entry = make_entry(GatewayId.SMSC, emulator, options={CONF_LOW_BALANCE: 6000})
    await setup_entry(hass, entry)

    state = hass.states.get("sensor.smsc_alerts_balance")
    assert state.state == "5400.00"
    assert state.attributes["unit_of_measurement"] == "KZT"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry))
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["currency"] == "KZT"


async def test_credit_attribute(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    emulator.credit = Decimal("500.00")
    entry = make_entry(GatewayId.SMSC, emulator)
    coordinator = await setup_entry(hass, entry)
    assert hass.states.get("sensor.smsc_alerts_balance").attributes["credit"] == 500.0

    emulator.credit = None
    await refresh(hass, coordinator)
    assert "credit" not in hass.states.get("sensor.smsc_alerts_balance").attributes


async def test_balances_reported_together_are_written_twice(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    """The first balance of a turn of the loop at once, the last of the others at its end."""
    emulator = await start_emulator(GatewayId.SMSC)
    coordinator = await setup_entry(hass, make_entry(GatewayId.SMSC, emulator))
    entity_id = "sensor.smsc_alerts_balance"
    written: list[str] = []
    coordinator.async_add_listener(lambda: written.append(str(coordinator.data.amount)))
    for amount in ("99.00", "98.00", "97.00"):  # three answers followed in one turn
        coordinator.async_set_balance(Decimal(amount))
    assert Decimal(hass.states.get(entity_id).state) == Decimal("99.00")
    await asyncio.sleep(0)
    assert Decimal(hass.states.get(entity_id).state) == Decimal("97.00")
    coordinator.async_set_balance(Decimal("96.00"))  # alone in its turn: at once
    assert written == ["99.00", "97.00", "96.00"]


@pytest.mark.parametrize("provider", BALANCE_GATEWAYS)
async def test_balance_polled_on_schedule(
    hass: HomeAssistant, start_emulator: Any, freezer: Any, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    entry = make_entry(provider, emulator, options={CONF_BALANCE_INTERVAL: 10})
    await setup_entry(hass, entry)
    path = BALANCE_PATH[provider]
    assert emulator.count(path) == 1
    entity_id = f"sensor.{SLUG[provider]}_balance"

    emulator.balance = Decimal("80.00")
    await tick(hass, freezer, 9)
    assert emulator.count(path) == 1
    assert Decimal(hass.states.get(entity_id).state) == 100

    await tick(hass, freezer, 1)
    assert emulator.count(path) == 2
    assert Decimal(hass.states.get(entity_id).state) == 80

    emulator.balance = Decimal("70.50")
    await tick(hass, freezer, 10)
    assert emulator.count(path) == 3
    assert Decimal(hass.states.get(entity_id).state) == Decimal("70.50")
    assert emulator.breaches == []


@pytest.mark.parametrize("provider", BALANCE_GATEWAYS)
@pytest.mark.usefixtures("no_client_retry_delay")
async def test_unavailable_while_gateway_down(
    hass: HomeAssistant,
    start_emulator: Any,
    freezer: Any,
    caplog: pytest.LogCaptureFixture,
    provider: GatewayId,
) -> None:
    """Unavailable while the gateway is down, back after; one log line each way."""
    emulator = await start_emulator(provider)
    entry = make_entry(provider, emulator, options={CONF_BALANCE_INTERVAL: 5})
    await setup_entry(hass, entry)
    sensor = f"sensor.{SLUG[provider]}_balance"
    binary = f"binary_sensor.{SLUG[provider]}_low_balance"
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="custom_components.ru_sms")

    # three polls, each with its one retry, all answered by the proxy's 502
    emulator.inject(Fault.SERVER_ERROR_HTML, times=6)
    for _ in range(3):
        await tick(hass, freezer, 5)
        assert hass.states.get(sensor).state == STATE_UNAVAILABLE
        assert hass.states.get(binary).state == STATE_UNAVAILABLE
    assert emulator.faults == type(emulator.faults)()
    assert emulator.count(BALANCE_PATH[provider]) == 1 + 6

    emulator.balance = Decimal("42.00")
    await tick(hass, freezer, 5)
    assert Decimal(hass.states.get(sensor).state) == 42
    assert hass.states.get(binary).state == STATE_OFF

    logged = [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name.startswith("custom_components.ru_sms") and r.levelno >= logging.INFO
    ]
    assert logged == [
        (
            logging.ERROR,
            f"Error fetching ru_sms balance of {entry.title} data: Cannot read the balance (502, a server error or an answer that cannot be read)",
        ),
        (logging.INFO, f"Fetching ru_sms balance of {entry.title} data recovered"),
    ]
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("provider", BALANCE_GATEWAYS)
async def test_refused_credentials_during_poll_start_reauth(
    hass: HomeAssistant, start_emulator: Any, freezer: Any, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    entry = make_entry(provider, emulator, options={CONF_BALANCE_INTERVAL: 5})
    coordinator = await setup_entry(hass, entry)
    assert list(entry.async_get_active_flows(hass, {SOURCE_REAUTH})) == []

    # the password was changed on the gateway's website
    if provider is GatewayId.SMSC:
        emulator.password = "changed"
    else:
        emulator.accounts["user"] = "changed"
        emulator.sessions.clear()
    await tick(hass, freezer, 5)

    (flow,) = entry.async_get_active_flows(hass, {SOURCE_REAUTH})
    assert flow["context"]["entry_id"] == entry.entry_id
    assert coordinator.last_update_success is False
    assert entry.state is ConfigEntryState.LOADED


# -- the low-balance binary sensor and the repair issue ----------------------------------


async def test_threshold_zero_never_low(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    emulator.balance = Decimal("-5.00")
    emulator.credit = Decimal("100.00")
    entry = make_entry(GatewayId.SMSC, emulator)
    coordinator = await setup_entry(hass, entry)

    state = hass.states.get("binary_sensor.smsc_alerts_low_balance")
    assert state.state == STATE_OFF
    assert state.attributes["threshold"] == 0
    assert state.attributes["device_class"] == "problem"
    assert Decimal(hass.states.get("sensor.smsc_alerts_balance").state) == Decimal("-5.00")
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry)) is None

    emulator.balance = Decimal("0.00")
    await refresh(hass, coordinator)
    assert hass.states.get("binary_sensor.smsc_alerts_low_balance").state == STATE_OFF
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry)) is None


@pytest.mark.parametrize("provider", BALANCE_GATEWAYS)
@pytest.mark.usefixtures("no_client_retry_delay")
async def test_low_balance_issue_lifecycle(
    hass: HomeAssistant,
    start_emulator: Any,
    issue_registry: ir.IssueRegistry,
    provider: GatewayId,
) -> None:
    emulator = await start_emulator(provider)
    entry = make_entry(provider, emulator, options={CONF_LOW_BALANCE: 50})
    coordinator = await setup_entry(hass, entry)
    binary = f"binary_sensor.{SLUG[provider]}_low_balance"

    state = hass.states.get(binary)
    assert state.state == STATE_OFF
    assert state.attributes["threshold"] == 50.0
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is None

    # exactly at the threshold is not below it
    emulator.balance = Decimal("50.00")
    await refresh(hass, coordinator)
    assert hass.states.get(binary).state == STATE_OFF
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is None

    emulator.balance = Decimal("20.00")
    await refresh(hass, coordinator)
    assert hass.states.get(binary).state == STATE_ON
    issue = issue_registry.async_get_issue(DOMAIN, issue_id(entry))
    assert issue is not None
    assert issue.translation_key == "low_balance"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.is_fixable is False
    assert issue.translation_placeholders == {
        "account": entry.title,
        "balance": "20.00",
        "threshold": "50.00",
        "currency": "RUB",
    }

    # the gateway cannot be reached: the issue stays (nothing is known to have changed)
    emulator.inject(Fault.SERVER_ERROR_HTML, times=2)
    await refresh(hass, coordinator)
    assert hass.states.get(binary).state == STATE_UNAVAILABLE
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is not None

    emulator.balance = Decimal("19.00")
    await refresh(hass, coordinator)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id(entry))
    assert issue is not None
    assert issue.translation_placeholders["balance"] == "19.00"

    # topped up
    emulator.balance = Decimal("500.00")
    await refresh(hass, coordinator)
    assert hass.states.get(binary).state == STATE_OFF
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is None

    # low again, then the account is unloaded: its issue goes with it
    emulator.balance = Decimal("1.00")
    await refresh(hass, coordinator)
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is None


async def test_issue_per_account(
    hass: HomeAssistant, start_emulator: Any, issue_registry: ir.IssueRegistry
) -> None:
    """Two accounts, one of them low: one issue, for that one."""
    smsc = await start_emulator(GatewayId.SMSC)
    stream = await start_emulator(GatewayId.STREAM)
    smsc.balance = Decimal("5.00")
    low = make_entry(GatewayId.SMSC, smsc, options={CONF_LOW_BALANCE: 10})
    fine = make_entry(GatewayId.STREAM, stream, options={CONF_LOW_BALANCE: 10})
    await setup_entry(hass, low)
    await setup_entry(hass, fine)

    assert set(issue_registry.issues) == {(DOMAIN, issue_id(low))}
    assert hass.states.get("binary_sensor.smsc_alerts_low_balance").state == STATE_ON
    assert hass.states.get("binary_sensor.stream_user_low_balance").state == STATE_OFF


@pytest.mark.parametrize(
    ("domain", "service", "data"),
    [
        pytest.param(
            DOMAIN, "send_message", {"phones": [IVAN], "message": "Door open"}, id="action"
        ),
        pytest.param(
            "notify",
            "send_message",
            {"entity_id": "notify.ivan", "message": "Door open"},
            id="notify_entity",
        ),
        pytest.param(
            "notify", "smsc_alerts", {"message": "Door open", "target": [IVAN]}, id="notify_service"
        ),
    ],
)
async def test_send_answer_updates_balance(
    hass: HomeAssistant, start_emulator: Any, domain: str, service: str, data: dict[str, Any]
) -> None:
    """SMSC.ru tells the new balance in its send answer: no balance request needed."""
    emulator = await start_emulator(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator, options={CONF_LOW_BALANCE: 99})
    await setup_entry(hass, entry)
    assert hass.states.get("binary_sensor.smsc_alerts_low_balance").state == STATE_OFF
    if domain == DOMAIN:
        data = {"config_entry_id": entry.entry_id, **data}

    await hass.services.async_call(domain, service, data, blocking=True)
    await hass.async_block_till_done()

    assert emulator.count("send.php") == 1
    assert emulator.count("balance.php") == 1
    assert emulator.balance == Decimal("98.10")
    state = hass.states.get("sensor.smsc_alerts_balance")
    assert Decimal(state.state) == Decimal("98.10")
    assert state.attributes["unit_of_measurement"] == "RUB"
    assert state.attributes["credit"] == 0.0
    assert hass.states.get("binary_sensor.smsc_alerts_low_balance").state == STATE_ON
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry))
    assert issue is not None
    assert issue.translation_placeholders["balance"] == "98.10"
