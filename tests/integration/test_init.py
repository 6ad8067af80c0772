"""Setting up, unloading and reloading an account against the emulated gateways."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState, ConfigSubentry
from homeassistant.const import CONF_PASSWORD, CONF_URL, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.helpers.device_registry import DeviceEntryType
from homeassistant.loader import async_get_integration
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    get_scheduled_timer_handles,
)

from custom_components.ru_sms.const import (
    CONF_BALANCE_INTERVAL,
    CONF_LOW_BALANCE,
    CONF_PHONES,
    DOMAIN,
    SUBENTRY_RECIPIENT,
)
from custom_components.ru_sms.coordinator import BalanceCoordinator
from custom_components.ru_sms.providers import description_of
from custom_components.ru_sms.providers.models import GatewayId
from tests.conftest import IVAN, make_entry
from tests.emulators.base import Fault
from tests.emulators.catalog import by_gateway

BALANCE_GATEWAYS = list(by_gateway(lambda account: account.balance_path))
SERVICE_NAMES = by_gateway(lambda account: account.slug)
"""`notify.<slug of the entry title>` for the emulated accounts."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/."""


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add an entry and set it up (whatever the outcome)."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def device_owner(device: dr.DeviceEntry) -> tuple[str, str | None]:
    """The entry and subentry of a device (2026.3: sets of them; 2026.10: one of each)."""
    if hasattr(device, "config_subentry_id"):
        return device.config_entry_id, device.config_subentry_id
    ((entry_id, subentries),) = device.config_entries_subentries.items()
    (subentry_id,) = subentries
    return entry_id, subentry_id


def find_device(
    device_registry: dr.DeviceRegistry, entry: MockConfigEntry, identifier: str
) -> dr.DeviceEntry:
    """An entry's device by its identifier (the lookup helpers differ between versions)."""
    (device,) = (
        device
        for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
        if (DOMAIN, identifier) in device.identifiers
    )
    return device


def coordinator_timers(hass: HomeAssistant, coordinator: BalanceCoordinator) -> list[Any]:
    """Pending timers that would poll this coordinator."""
    return [
        handle
        for handle in get_scheduled_timer_handles(hass.loop)
        if not handle.cancelled() and getattr(handle._callback, "__self__", None) is coordinator
    ]


def reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> list[Any]:
    """The reauthentication flows in progress for an entry."""
    return list(entry.async_get_active_flows(hass, {SOURCE_REAUTH}))


async def test_manifest_is_read(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.name == "RU SMS Gateways"
    assert integration.config_flow is True
    assert integration.integration_type == "service"
    assert integration.iot_class == "cloud_polling"
    assert str(integration.version) == "0.1.0"


async def test_setup_without_accounts(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})


# -- setup per gateway -------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_setup_entities_per_gateway(
    hass: HomeAssistant,
    start_emulator: Any,
    entity_registry: er.EntityRegistry,
    provider: GatewayId,
) -> None:
    emulator = await start_emulator(provider)
    entry = make_entry(provider, emulator)
    await setup_entry(hass, entry)

    assert entry.state is ConfigEntryState.LOADED
    slug = SERVICE_NAMES[provider]
    (subentry_id,) = entry.subentries
    expected = {
        "notify.ivan": f"{entry.entry_id}_{subentry_id}_notify",
        "sensor.ivan_last_message": f"{entry.entry_id}_{subentry_id}_last_message",
        f"sensor.{slug}_last_message": f"{entry.entry_id}_last_message",
        f"sensor.{slug}_messages_in_flight": f"{entry.entry_id}_in_flight",
        f"event.{slug}_messages": f"{entry.entry_id}_messages",
    }
    if provider is not GatewayId.SMSTELE:
        expected[f"sensor.{slug}_balance"] = f"{entry.entry_id}_balance"
        expected[f"binary_sensor.{slug}_low_balance"] = f"{entry.entry_id}_low_balance"
    # statistics sensors: registered, disabled by default (no state)
    disabled = {}
    if provider in (GatewayId.STREAM, GatewayId.DEVINO):
        disabled = {
            f"sensor.{slug}_sent_last_24_hours": f"{entry.entry_id}_sent_24h",
            f"sensor.{slug}_delivery_ratio_last_24_hours": f"{entry.entry_id}_delivery_ratio_24h",
        }
    entries = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    assert {e.entity_id: e.unique_id for e in entries} == expected | disabled
    for entity_id in expected:
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state != STATE_UNAVAILABLE
    assert {s.entity_id for s in hass.states.async_all()} == set(expected)
    assert hass.services.has_service("notify", slug)
    assert (entry.runtime_data.balance is None) is (provider is GatewayId.SMSTELE)
    assert emulator.breaches == []


async def test_smstele_checks_credentials_once(hass: HomeAssistant, start_emulator: Any) -> None:
    """Without a balance, the setup makes one cheap request and polls nothing."""
    emulator = await start_emulator(GatewayId.SMSTELE)
    entry = make_entry(GatewayId.SMSTELE, emulator)
    await setup_entry(hass, entry)

    assert entry.state is ConfigEntryState.LOADED
    assert emulator.count() == 1
    assert emulator.count("status") == 1
    assert emulator.messages == []


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_devices(
    hass: HomeAssistant,
    start_emulator: Any,
    device_registry: dr.DeviceRegistry,
    provider: GatewayId,
) -> None:
    """One service device per account, one per recipient."""
    emulator = await start_emulator(provider)
    entry = make_entry(
        provider, emulator, recipients={"Ivan": ["79161234567"], "Night shift": ["79167654321"]}
    )
    await setup_entry(hass, entry)

    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    assert len(devices) == 3
    gateway = description_of(provider).name
    account = find_device(device_registry, entry, entry.entry_id)
    assert account is not None
    assert account.entry_type is DeviceEntryType.SERVICE
    assert account.manufacturer == gateway
    assert account.model is None  # no English description on the device page
    assert account.via_device_id is None
    assert account.name == entry.title
    assert device_owner(account) == (entry.entry_id, None)
    for subentry_id, subentry in entry.subentries.items():
        device = find_device(device_registry, entry, f"{entry.entry_id}_{subentry_id}")
        assert device is not None
        assert device.entry_type is DeviceEntryType.SERVICE
        assert device.manufacturer == gateway
        assert device.model is None
        assert device.via_device_id == account.id  # under the account, on both versions
        assert device.name == subentry.title
        assert device_owner(device) == (entry.entry_id, subentry_id)


@pytest.mark.parametrize("provider", BALANCE_GATEWAYS)
async def test_account_entities_on_account_device(
    hass: HomeAssistant,
    start_emulator: Any,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    provider: GatewayId,
) -> None:
    emulator = await start_emulator(provider)
    entry = make_entry(provider, emulator)
    await setup_entry(hass, entry)

    account = find_device(device_registry, entry, entry.entry_id)
    assert account is not None
    (subentry_id,) = entry.subentries
    recipient = find_device(device_registry, entry, f"{entry.entry_id}_{subentry_id}")
    assert recipient is not None
    slug = SERVICE_NAMES[provider]
    for entity_id in (f"sensor.{slug}_balance", f"binary_sensor.{slug}_low_balance"):
        registry_entry = entity_registry.async_get(entity_id)
        assert registry_entry is not None
        assert registry_entry.device_id == account.id
        assert registry_entry.config_subentry_id is None
    notify = entity_registry.async_get("notify.ivan")
    assert notify is not None
    assert notify.device_id == recipient.id
    assert notify.config_subentry_id == subentry_id


async def test_unique_ids_stable_across_reload(
    hass: HomeAssistant, start_emulator: Any, entity_registry: er.EntityRegistry
) -> None:
    emulator = await start_emulator(GatewayId.STREAM)
    entry = make_entry(GatewayId.STREAM, emulator)
    await setup_entry(hass, entry)
    before = {
        e.entity_id: (e.id, e.unique_id)
        for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    }

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    after = {
        e.entity_id: (e.id, e.unique_id)
        for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    }
    assert after == before
    assert len(before) == 9


# -- setup errors ------------------------------------------------------------------------


def balance_state(hass: HomeAssistant, provider: GatewayId) -> str | None:
    """The balance sensor's state (None: the gateway reports no balance)."""
    state = hass.states.get(f"sensor.{SERVICE_NAMES[provider]}_balance")
    return None if state is None else state.state


async def send(hass: HomeAssistant, entry: MockConfigEntry, text: str) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"config_entry_id": entry.entry_id, "phones": [IVAN], "message": text},
        blocking=True,
        return_response=True,
    )


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_setup_wrong_credentials_starts_reauth(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId
) -> None:
    """Refused credentials: the account loads, and reauthentication starts.

    Its balance is unavailable; its alerts would go to a fallback account.
    """
    emulator = await start_emulator(provider)
    entry = make_entry(provider, emulator)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PASSWORD: "wrong"})

    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    (flow,) = reauth_flows(hass, entry)
    assert flow["context"]["entry_id"] == entry.entry_id
    assert balance_state(hass, provider) in (None, STATE_UNAVAILABLE)
    assert hass.services.has_service("notify", SERVICE_NAMES[provider])
    assert emulator.count() >= 1
    # A send hears the refusal (no fallback account here), translated.
    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, "Smoke")
    assert err.value.translation_key == "authentication_failed"
    assert entry.runtime_data.outbox.queued == 0


@pytest.mark.parametrize("provider", list(GatewayId))
@pytest.mark.usefixtures("no_client_retry_delay")
async def test_setup_with_the_gateway_unreachable_loads_and_queues(
    hass: HomeAssistant, start_emulator: Any, refused_url: str, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    entry = make_entry(provider, emulator)
    entry.add_to_hass(hass)
    url = refused_url + ("cgibin/" if provider is GatewayId.SMSTELE else "")
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_URL: url})

    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert reauth_flows(hass, entry) == []
    assert balance_state(hass, provider) in (None, STATE_UNAVAILABLE)
    assert hass.states.get("notify.ivan").state != STATE_UNAVAILABLE
    response = await send(hass, entry, "Boiler failed")
    assert response["queued"] == 1
    assert entry.runtime_data.outbox.queued == 1
    assert emulator.count() == 0


@pytest.mark.parametrize("provider", list(GatewayId))
@pytest.mark.usefixtures("no_client_retry_delay")
async def test_setup_with_the_gateway_down_loads_and_recovers(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId
) -> None:
    """A proxy's 502 on the request and on its one retry: loaded all the same.

    The balance comes back on its own (asked again within a minute), no reload needed.
    """
    emulator = await start_emulator(provider)
    emulator.inject(Fault.SERVER_ERROR_HTML, times=2)
    entry = make_entry(provider, emulator)
    await setup_entry(hass, entry)

    assert entry.state is ConfigEntryState.LOADED
    assert emulator.count() == 2
    assert reauth_flows(hass, entry) == []
    if provider in BALANCE_GATEWAYS:
        assert balance_state(hass, provider) == STATE_UNAVAILABLE
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
        await hass.async_block_till_done(wait_background_tasks=True)
        assert balance_state(hass, provider) not in (None, STATE_UNAVAILABLE)


# -- unload and reload -------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_unload_releases_everything(
    hass: HomeAssistant, start_emulator: Any, issue_registry: ir.IssueRegistry, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    entry = make_entry(provider, emulator, options={CONF_LOW_BALANCE: 1000})
    await setup_entry(hass, entry)
    slug = SERVICE_NAMES[provider]
    coordinator = entry.runtime_data.balance
    if coordinator is not None:
        assert coordinator_timers(hass, coordinator)
        assert issue_registry.async_get_issue(DOMAIN, f"low_balance_{entry.entry_id}")
    assert hass.services.has_service("notify", slug)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.NOT_LOADED
    states = hass.states.async_all()
    assert states
    assert all(state.state == STATE_UNAVAILABLE for state in states)
    assert not hass.services.has_service("notify", slug)
    assert issue_registry.async_get_issue(DOMAIN, f"low_balance_{entry.entry_id}") is None
    if coordinator is not None:
        assert coordinator_timers(hass, coordinator) == []
    # the actions stay: they belong to the integration, not to the account
    assert hass.services.has_service(DOMAIN, "send_message")

    # hours later, nothing polls the gateway
    requests = emulator.count()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=3))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert emulator.count() == requests


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_reload_restores_everything(
    hass: HomeAssistant, start_emulator: Any, issue_registry: ir.IssueRegistry, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    entry = make_entry(provider, emulator, options={CONF_LOW_BALANCE: 1000})
    await setup_entry(hass, entry)
    slug = SERVICE_NAMES[provider]
    old_client = entry.runtime_data.gateway

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.gateway is not old_client
    assert hass.services.has_service("notify", slug)
    assert hass.states.get("notify.ivan").state != STATE_UNAVAILABLE
    has_balance = provider is not GatewayId.SMSTELE
    assert (
        issue_registry.async_get_issue(DOMAIN, f"low_balance_{entry.entry_id}") is not None
    ) is has_balance
    if has_balance:
        assert float(hass.states.get(f"sensor.{slug}_balance").state) == 100
        assert hass.states.get(f"binary_sensor.{slug}_low_balance").state == "on"

    # the service of the new load sends (and only once)
    await hass.services.async_call(
        "notify", slug, {"message": "after reload", "target": ["79161234567"]}, blocking=True
    )
    assert emulator.breaches == []


async def test_options_change_reloads(hass: HomeAssistant, start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.STREAM)
    entry = make_entry(GatewayId.STREAM, emulator)
    await setup_entry(hass, entry)
    coordinator = entry.runtime_data.balance
    assert coordinator is not None
    assert coordinator.update_interval == timedelta(minutes=60)

    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_BALANCE_INTERVAL: 10, CONF_LOW_BALANCE: 500}
    )
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    new = entry.runtime_data.balance
    assert new is not None
    assert new is not coordinator
    assert new.update_interval == timedelta(minutes=10)
    assert coordinator_timers(hass, coordinator) == []
    assert hass.states.get("binary_sensor.stream_user_low_balance").state == "on"


async def test_added_recipient_gets_entity_and_device(
    hass: HomeAssistant,
    start_emulator: Any,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    emulator = await start_emulator(GatewayId.DEVINO)
    entry = make_entry(GatewayId.DEVINO, emulator)
    await setup_entry(hass, entry)

    subentry = ConfigSubentry(
        data={CONF_PHONES: ["79167654321"]},
        subentry_type=SUBENTRY_RECIPIENT,
        title="Petr",
        unique_id=None,
    )
    hass.config_entries.async_add_subentry(entry, subentry)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    petr = entity_registry.async_get("notify.petr")
    assert petr is not None
    assert petr.unique_id == f"{entry.entry_id}_{subentry.subentry_id}_notify"
    assert petr.config_subentry_id == subentry.subentry_id
    assert hass.states.get("notify.petr").state != STATE_UNAVAILABLE
    assert len(dr.async_entries_for_config_entry(device_registry, entry.entry_id)) == 3

    hass.config_entries.async_remove_subentry(entry, subentry.subentry_id)
    await hass.async_block_till_done()
    assert entity_registry.async_get("notify.petr") is None
    assert len(dr.async_entries_for_config_entry(device_registry, entry.entry_id)) == 2


async def test_failed_unload_keeps_the_account(
    hass: HomeAssistant, start_emulator: Any, issue_registry: ir.IssueRegistry
) -> None:
    """A platform that refuses to unload: the account stays as it was, issue included."""
    emulator = await start_emulator(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator, options={CONF_LOW_BALANCE: 1000})
    await setup_entry(hass, entry)

    with patch.object(hass.config_entries, "async_unload_platforms", return_value=False):
        assert not await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.FAILED_UNLOAD
    assert issue_registry.async_get_issue(DOMAIN, f"low_balance_{entry.entry_id}") is not None
