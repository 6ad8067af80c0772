"""Delivery entities: last message, messages in flight, messages event, statistics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import DATA_COMPONENT as SENSOR_COMPONENT
from homeassistant.config_entries import RELOAD_AFTER_UPDATE_DELAY, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.icon import async_get_icons
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from syrupy.assertion import SnapshotAssertion

from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.providers import IncomingMessage, SendOptions
from custom_components.ru_sms.providers.models import GatewayId, RecipientResult, SendResult
from custom_components.ru_sms.signals import async_fire_incoming_sms
from tests.conftest import IVAN, setup_account
from tests.emulators.base import Fault
from tests.emulators.catalog import by_gateway
from tests.emulators.restapi import Outcome
from tests.integration.test_sensor import entities_of

SLUG = by_gateway(lambda account: account.slug)
STATISTICS_PATH = by_gateway(lambda account: account.statistics_path)
STATISTICS_GATEWAYS = list(STATISTICS_PATH)
PETR = "79167654321"
"""A second number, the one made to fail."""
FAILED_OUTCOME: dict[GatewayId, Any] = {
    GatewayId.SMSC: 20,
    GatewayId.SMSTELE: "UNDELIV",
    GatewayId.STREAM: Outcome.FAILED,
    GatewayId.DEVINO: Outcome.FAILED,
}
"""What each emulator reports for a number that cannot be reached."""


STATES = [
    "queued",
    "sent",
    "delivered",
    "failed",
    "expired",
    "status_unknown",
    "awaiting_acknowledgement",
    "acknowledged",
    "escalated",
    "not_acknowledged",
]
"""The last-message sensor's states with an icon and a name (and `waiting`, its first)."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/."""


@pytest.fixture(autouse=True)
def quiet_access_log(caplog: pytest.LogCaptureFixture) -> None:
    """The emulators' access log cannot format a frozen clock: keep it quiet."""
    caplog.set_level(logging.WARNING, logger="aiohttp.access")


def ids(provider: GatewayId) -> dict[str, str]:
    """Entity ids of an account's delivery entities (recipient Ivan)."""
    slug = SLUG[provider]
    return {
        "recipient": "sensor.ivan_last_message",
        "account": f"sensor.{slug}_last_message",
        "in_flight": f"sensor.{slug}_messages_in_flight",
        "event": f"event.{slug}_messages",
        "sent": f"sensor.{slug}_sent_last_24_hours",
        "ratio": f"sensor.{slug}_delivery_ratio_last_24_hours",
    }


async def notify(
    hass: HomeAssistant, entity_id: str = "notify.ivan", message: str = "Door open"
) -> None:
    await hass.services.async_call(
        "notify", "send_message", {"entity_id": entity_id, "message": message}, blocking=True
    )
    await hass.async_block_till_done()


async def run(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, emulator: Any, seconds: int, step: int = 30
) -> None:
    """Let `seconds` pass for Home Assistant and the emulator alike, in steps."""
    for _ in range(seconds // step):
        freezer.tick(timedelta(seconds=step))
        emulator.advance(step)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


def state_of(hass: HomeAssistant, entity_id: str) -> Any:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state


def params(request: Any) -> dict[str, str]:
    """A recorded request's parameters, wherever they were sent."""
    return {**request.query, **request.form}


async def enable_statistics(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, provider: GatewayId
) -> None:
    """Enable both statistics sensors in the entity registry; the account then reloads."""
    registry = er.async_get(hass)
    for key in ("sent", "ratio"):
        registry.async_update_entity(ids(provider)[key], disabled_by=None)
    # Home Assistant reloads the entry itself, a while after the last change
    freezer.tick(timedelta(seconds=RELOAD_AFTER_UPDATE_DELAY + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def state_changes(hass: HomeAssistant, entity_id: str) -> list[Any]:
    """The new states an entity takes from now on."""
    found: list[Any] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        if event.data["new_state"] is not None:
            found.append(event.data["new_state"])

    async_track_state_change_event(hass, [entity_id], record)
    return found


# -- the entities ------------------------------------------------------------------------


async def test_the_changes_of_one_turn_are_written_at_most_twice(
    hass: HomeAssistant, emulators: Any
) -> None:
    """A stream of sends changes the tracker several times a turn: two state writes."""
    entry = await setup_account(hass, GatewayId.SMSC, await emulators(GatewayId.SMSC))
    in_flight = ids(GatewayId.SMSC)["in_flight"]
    changes = state_changes(hass, in_flight)
    tracker = entry.runtime_data.tracker
    for n in range(5):  # five answers followed in one turn of the loop
        accepted = RecipientResult(phone=IVAN, accepted=True, message_ids=(f"m{n}",))
        tracker.async_track(SendResult(recipients=(accepted,)), SendOptions())
    assert state_of(hass, in_flight).state == "1"  # the first at once, the rest next turn
    await asyncio.sleep(0)
    assert state_of(hass, in_flight).state == "5"
    # A change alone in its turn is written at once.
    accepted = RecipientResult(phone=IVAN, accepted=True, message_ids=("m5",))
    tracker.async_track(SendResult(recipients=(accepted,)), SendOptions())
    assert state_of(hass, in_flight).state == "6"
    await hass.async_block_till_done()
    assert [state.state for state in changes] == ["1", "5", "6"]


async def test_a_last_message_state_searches_the_queue_once(
    hass: HomeAssistant, emulators: Any
) -> None:
    """Its state, its attributes and its escalation all show the one latest message."""
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    outbox = entry.runtime_data.outbox
    searched: list[list[str] | None] = []
    latest = outbox.latest

    def counted(phones: list[str] | None = None) -> Any:
        searched.append(phones)
        return latest(phones)

    outbox.latest = counted  # type: ignore[method-assign]
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php", times=10)
    await notify(hass)  # queued: each last-message sensor shows it waiting
    await hass.async_block_till_done()

    entity = ids(GatewayId.SMSC)
    assert state_of(hass, entity["recipient"]).state == "waiting"
    assert state_of(hass, entity["account"]).state == "waiting"
    sensors = hass.data[SENSOR_COMPONENT]
    for entity_id, phones in ((entity["account"], None), (entity["recipient"], [IVAN])):
        searched.clear()
        sensor = sensors.get_entity(entity_id)
        assert sensor is not None
        sensor._async_changed()  # one write
        assert searched == [phones]


async def test_the_in_flight_state_counts_the_queue_once(
    hass: HomeAssistant, emulators: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its state and its attributes show the one count of the outbox's waiting messages."""
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php", times=10)
    await notify(hass)  # queued: one message waits
    await hass.async_block_till_done()
    outbox = type(entry.runtime_data.outbox)
    counted: list[int] = []
    waiting = outbox.waiting

    def counted_waiting(self: Any) -> int:
        counted.append(waiting.fget(self))
        return counted[-1]

    monkeypatch.setattr(outbox, "waiting", property(counted_waiting))
    in_flight = ids(GatewayId.SMSC)["in_flight"]
    sensor = hass.data[SENSOR_COMPONENT].get_entity(in_flight)
    assert sensor is not None
    sensor._async_changed()  # one write

    assert counted == [1]
    state = state_of(hass, in_flight)
    assert (state.state, state.attributes["waiting"], state.attributes["queued"]) == ("1", 1, 1)


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_entities_per_gateway(
    hass: HomeAssistant,
    emulators: Any,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    provider: GatewayId,
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    (subentry_id,) = entry.subentries
    entity = ids(provider)
    devices = {
        identifier: device
        for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
        for _, identifier in device.identifiers
    }
    account = devices.get(entry.entry_id)
    recipient = devices.get(f"{entry.entry_id}_{subentry_id}")
    assert account is not None
    assert recipient is not None

    item = entity_registry.async_get(entity["recipient"])
    assert item is not None
    assert item.unique_id == f"{entry.entry_id}_{subentry_id}_last_message"
    assert (item.device_id, item.config_subentry_id) == (recipient.id, subentry_id)
    for key, unique in (
        ("account", "last_message"),
        ("in_flight", "in_flight"),
        ("event", "messages"),
    ):
        item = entity_registry.async_get(entity[key])
        assert item is not None
        assert item.unique_id == f"{entry.entry_id}_{unique}"
        assert (item.device_id, item.config_subentry_id) == (account.id, None)
        assert item.disabled_by is None

    for key in ("recipient", "account"):
        state = state_of(hass, entity[key])
        assert state.state == STATE_UNKNOWN
        assert "number" not in state.attributes
        assert state.attributes["device_class"] == "enum"
        assert state.attributes["options"] == ["waiting", *STATES]
    in_flight = state_of(hass, entity["in_flight"])
    assert in_flight.state == "0"
    assert in_flight.attributes["state_class"] == "measurement"
    assert "unit_of_measurement" not in in_flight.attributes
    event = state_of(hass, entity["event"])
    assert event.state == STATE_UNKNOWN
    assert event.attributes["event_types"] == [
        "delivered",
        "failed",
        "expired",
        "incoming",
        "escalated",
        "acknowledged",
    ]

    with_statistics = provider in STATISTICS_GATEWAYS
    assert (entry.runtime_data.statistics is not None) is with_statistics
    for key, unique in (("sent", "sent_24h"), ("ratio", "delivery_ratio_24h")):
        item = entity_registry.async_get(entity[key])
        if not with_statistics:
            assert item is None
            continue
        assert item is not None
        assert item.unique_id == f"{entry.entry_id}_{unique}"
        assert item.device_id == account.id
        assert item.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert hass.states.get(entity[key]) is None
    if with_statistics:
        assert emulator.count(STATISTICS_PATH[provider]) == 0


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_snapshot_after_deliveries(
    hass: HomeAssistant,
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
    provider: GatewayId,
) -> None:
    """One message delivered to Ivan, then one that fails to Petr."""
    freezer.move_to("2026-11-02T10:00:00+00:00")
    emulator = await emulators(provider)
    entry = await setup_account(
        hass, provider, emulator, recipients={"Ivan": [IVAN], "Petr": [PETR]}
    )
    emulator.outcomes[PETR] = FAILED_OUTCOME[provider]
    await notify(hass)
    await run(hass, freezer, emulator, 60)
    await notify(hass, "notify.petr", "Door closed")
    await run(hass, freezer, emulator, 300)

    tracker = entry.runtime_data.tracker
    volatile = {
        message_id: f"<message:{message.phone}>"
        for message in tracker.messages.values()
        for message_id in message.message_ids
    }
    mine = {
        entity_id: value
        for entity_id, value in entities_of(hass, entry).items()
        if value["registry"]["translation_key"] in DELIVERY_KEYS
    }
    assert replace_values(mine, volatile) == snapshot


DELIVERY_KEYS = {"last_message", "in_flight", "messages", "sent_24h", "delivery_ratio_24h"}


def replace_values(value: Any, volatile: dict[str, str]) -> Any:
    """The same structure with volatile texts (gateway message ids) replaced."""
    if isinstance(value, dict):
        return {key: replace_values(item, volatile) for key, item in value.items()}
    if isinstance(value, list):
        return [replace_values(item, volatile) for item in value]
    if isinstance(value, str):
        return volatile.get(value, value)
    return value


# -- last message and messages in flight ---------------------------------------------------


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_last_message_follows_delivery(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    entity = ids(provider)
    recipient_states = state_changes(hass, entity["recipient"])
    account_states = state_changes(hass, entity["account"])
    sent_at = dt_util.utcnow()

    await notify(hass)

    (message,) = entry.runtime_data.tracker.messages.values()
    for key in ("recipient", "account"):
        state = state_of(hass, entity[key])
        assert state.state == "queued"
        assert state.attributes["number"] == IVAN
        assert state.attributes["message_id"] == message.message_id
        assert state.attributes["sent_at"] == sent_at.isoformat()
        assert state.attributes["delivered_at"] is None
        assert state.attributes["error"] is None

    await run(hass, freezer, emulator, 180)

    for key, changes in (("recipient", recipient_states), ("account", account_states)):
        state = state_of(hass, entity[key])
        assert state.state == "delivered"
        assert state.attributes["number"] == IVAN
        assert state.attributes["message_id"] == message.message_id
        assert state.attributes["sent_at"] == sent_at.isoformat()
        delivered_at = dt_util.parse_datetime(state.attributes["delivered_at"])
        assert delivered_at is not None
        assert delivered_at >= sent_at.replace(microsecond=0)
        assert state.attributes["error"] is None
        # queued first, delivered last, nothing else than `sent` between
        seen = [s.state for s in changes]
        assert seen[0] == "queued"
        assert seen[-1] == "delivered"
        assert set(seen) <= {"queued", "sent", "delivered"}
    assert emulator.breaches == []


async def test_account_shows_latest_of_any_recipient(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    await setup_account(
        hass, GatewayId.STREAM, emulator, recipients={"Ivan": [IVAN], "Petr": [PETR]}
    )
    entity = ids(GatewayId.STREAM)
    await notify(hass)
    await run(hass, freezer, emulator, 120)
    await notify(hass, "notify.petr", "Door closed")

    assert state_of(hass, entity["recipient"]).state == "delivered"
    assert state_of(hass, entity["recipient"]).attributes["number"] == IVAN
    assert state_of(hass, "sensor.petr_last_message").state == "queued"
    account = state_of(hass, entity["account"])
    assert account.state == "queued"
    assert account.attributes["number"] == PETR


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        (GatewayId.SMSC, ("Undeliverable", "255", "20")),
        (GatewayId.SMSTELE, ("UNDELIV", None, "-99")),
        (GatewayId.STREAM, ("NotDelivered", None, "42")),
        (GatewayId.DEVINO, ("Rejected by SMSC", None, "42")),
    ],
)
async def test_failed_message_shows_error(
    hass: HomeAssistant,
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    provider: GatewayId,
    expected: tuple[str, str | None, str],
) -> None:
    """The gateway's words for the failure: text, error code, raw status code."""
    error, error_code, raw_code = expected
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator, recipients={"Petr": [PETR]})
    emulator.outcomes[PETR] = FAILED_OUTCOME[provider]
    entity = ids(provider)
    events = state_changes(hass, entity["event"])

    await notify(hass, "notify.petr")
    await run(hass, freezer, emulator, 180)

    (message,) = entry.runtime_data.tracker.messages.values()
    for entity_id in ("sensor.petr_last_message", entity["account"]):
        state = state_of(hass, entity_id)
        assert state.state == "failed"
        assert state.attributes["number"] == PETR
        assert state.attributes["error"] == error
        assert state.attributes["error_code"] == error_code
        assert state.attributes["delivered_at"] is None
    (fired,) = events
    assert fired.attributes["event_type"] == "failed"
    assert {k: fired.attributes[k] for k in EVENT_STATUS_ATTRIBUTES} == {
        "number": PETR,
        "message_id": message.message_id,
        "recipient": "Petr",
        "raw_code": raw_code,
        "raw_text": error,
        "error_code": error_code,
        "cost": message.cost,
    }


EVENT_STATUS_ATTRIBUTES = (
    "number",
    "message_id",
    "recipient",
    "raw_code",
    "raw_text",
    "error_code",
    "cost",
)


async def test_in_flight_counts_up_and_down(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator, recipients={"Ivan": [IVAN], "Petr": [PETR]})
    entity = ids(GatewayId.SMSC)
    changes = state_changes(hass, entity["in_flight"])

    await hass.services.async_call(
        "notify",
        "smsc_alerts",
        {"message": "Door open", "target": [IVAN, PETR]},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert state_of(hass, entity["in_flight"]).state == "2"
    await notify(hass, message="Window open")
    assert state_of(hass, entity["in_flight"]).state == "3"

    await run(hass, freezer, emulator, 180)

    assert state_of(hass, entity["in_flight"]).state == "0"
    assert [s.state for s in changes] == ["2", "3", "0"]


# -- the event entity ----------------------------------------------------------------------


@pytest.mark.parametrize("outcome", [Outcome.DELIVERED, Outcome.FAILED, Outcome.EXPIRED])
async def test_event_fires_final_states_only(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory, outcome: Outcome
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator)
    emulator.outcomes[IVAN] = outcome
    entity = ids(GatewayId.STREAM)
    events = state_changes(hass, entity["event"])
    recipient = state_changes(hass, entity["recipient"])

    await notify(hass)
    await run(hass, freezer, emulator, 300, step=5)

    # queued, sent, then the final state: one event, for the last
    assert [s.state for s in recipient] == ["queued", "sent", outcome.value]
    (message,) = entry.runtime_data.tracker.messages.values()
    (fired,) = events
    assert fired.attributes["event_type"] == outcome.value
    assert {k: fired.attributes[k] for k in EVENT_STATUS_ATTRIBUTES} == {
        "number": IVAN,
        "message_id": message.message_id,
        "recipient": "Ivan",
        "raw_code": message.raw_code,
        "raw_text": message.raw_text,
        "error_code": None,
        "cost": 1.5,
    }
    # fired when the final state was reached
    fired_at = dt_util.parse_datetime(fired.state)
    assert fired_at is not None
    assert abs(fired_at - recipient[-1].last_changed) < timedelta(milliseconds=1)


async def test_event_for_delivered_and_failed_in_order(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator, recipients={"Ivan": [IVAN], "Petr": [PETR]})
    emulator.outcomes[PETR] = FAILED_OUTCOME[GatewayId.SMSC]
    events = state_changes(hass, ids(GatewayId.SMSC)["event"])

    await notify(hass)
    await run(hass, freezer, emulator, 60)
    await notify(hass, "notify.petr", "Door closed")
    await run(hass, freezer, emulator, 120)

    assert [(s.attributes["event_type"], s.attributes["number"]) for s in events] == [
        ("delivered", IVAN),
        ("failed", PETR),
    ]
    assert events[0].attributes["raw_code"] == "1"
    assert events[0].attributes["recipient"] == "Ivan"
    assert events[1].attributes["recipient"] == "Petr"


async def test_event_incoming_sms(hass: HomeAssistant, emulators: Any) -> None:
    """Only the account the message came to fires it."""
    stream = await emulators(GatewayId.STREAM)
    smsc = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.STREAM, stream)
    await setup_account(hass, GatewayId.SMSC, smsc)
    received_at = datetime(2026, 11, 2, 10, 0, 5, tzinfo=UTC)

    async_fire_incoming_sms(
        hass,
        entry.entry_id,
        entry.title,
        IncomingMessage(
            message_id="5126", phone=IVAN, text="STOP", to="2420", received_at=received_at
        ),
    )
    await hass.async_block_till_done()

    state = state_of(hass, "event.stream_user_messages")
    assert state.attributes["event_type"] == "incoming"
    assert {
        k: state.attributes[k] for k in ("number", "text", "to", "message_id", "received_at")
    } == {
        "number": IVAN,
        "text": "STOP",
        "to": "2420",
        "message_id": "5126",
        "received_at": received_at.isoformat(),
    }
    assert "raw_code" not in state.attributes
    assert state_of(hass, "event.smsc_alerts_messages").state == STATE_UNKNOWN


# -- across a reload -----------------------------------------------------------------------


async def test_states_survive_reload(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory
) -> None:
    emulator = await emulators(GatewayId.DEVINO)
    entry = await setup_account(
        hass, GatewayId.DEVINO, emulator, recipients={"Ivan": [IVAN], "Petr": [PETR]}
    )
    entity = ids(GatewayId.DEVINO)
    await notify(hass)
    await run(hass, freezer, emulator, 120)
    await notify(hass, "notify.petr", "Door closed")
    watched = (entity["recipient"], entity["account"], entity["event"], "sensor.petr_last_message")
    before = {entity_id: state_of(hass, entity_id) for entity_id in watched}
    assert before[entity["recipient"]].state == "delivered"
    assert before[entity["event"]].attributes["event_type"] == "delivered"
    assert before[entity["account"]].state == "queued"
    assert state_of(hass, entity["in_flight"]).state == "1"

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    for entity_id, state in before.items():
        after = state_of(hass, entity_id)
        assert (after.state, dict(after.attributes)) == (state.state, dict(state.attributes))
    assert state_of(hass, entity["in_flight"]).state == "1"

    # the message in flight goes on being followed after the reload
    await run(hass, freezer, emulator, 180)
    assert state_of(hass, entity["account"]).state == "delivered"
    assert state_of(hass, "sensor.petr_last_message").state == "delivered"
    assert state_of(hass, entity["in_flight"]).state == "0"
    assert state_of(hass, entity["event"]).attributes["number"] == PETR


# -- statistics ----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", STATISTICS_GATEWAYS)
async def test_statistics_disabled_cost_nothing(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    coordinator = entry.runtime_data.statistics
    assert coordinator is not None

    await run(hass, freezer, emulator, 3 * 3600, step=600)

    assert emulator.count(STATISTICS_PATH[provider]) == 0
    assert coordinator.data is None


@pytest.mark.parametrize(
    ("provider", "ratio_before"),
    # Stream says 0 % of nothing; Devino gives no ratio, and none can be computed
    [(GatewayId.STREAM, 0.0), (GatewayId.DEVINO, None)],
)
async def test_statistics_sensors(
    hass: HomeAssistant,
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    provider: GatewayId,
    ratio_before: float | None,
) -> None:
    """Enabled, they show the gateway's figures of the last 24 hours."""
    emulator = await emulators(provider)
    entry = await setup_account(
        hass, provider, emulator, recipients={"Ivan": [IVAN], "Petr": [PETR]}
    )
    entity = ids(provider)
    path = STATISTICS_PATH[provider]

    await enable_statistics(hass, freezer, provider)

    assert emulator.count(path) == 1
    assert float(state_of(hass, entity["sent"]).state) == 0
    ratio = state_of(hass, entity["ratio"])
    if ratio_before is None:
        assert ratio.state == STATE_UNKNOWN
    else:
        assert float(ratio.state) == ratio_before
    assert ratio.attributes["unit_of_measurement"] == "%"
    assert ratio.attributes["state_class"] == "measurement"
    assert state_of(hass, entity["sent"]).attributes["state_class"] == "measurement"

    # two delivered, one failed
    emulator.outcomes[PETR] = Outcome.FAILED
    await notify(hass)
    await notify(hass, "notify.petr", "Door closed")
    await notify(hass, message="Window open")
    freezer.tick(timedelta(minutes=2))  # the emulator's clock follows the frozen one
    coordinator = entry.runtime_data.statistics
    assert coordinator is not None
    await coordinator.async_refresh()
    await hass.async_block_till_done()

    assert emulator.count(path) == 2
    assert float(state_of(hass, entity["sent"]).state) == 3
    assert float(state_of(hass, entity["ratio"]).state) == pytest.approx(200 / 3, abs=0.5)
    # the period asked: the last 24 hours, up to now
    request = [r for r in emulator.requests if r.path.endswith(path)][-1]
    start = datetime.fromisoformat(params(request)["startDateTime"])
    end = datetime.fromisoformat(params(request)["endDateTime"])
    assert end - start == timedelta(hours=24)


@pytest.mark.parametrize("provider", STATISTICS_GATEWAYS)
async def test_statistics_polled_every_30_minutes(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    entity = ids(provider)
    path = STATISTICS_PATH[provider]
    await enable_statistics(hass, freezer, provider)
    assert emulator.count(path) == 1
    await notify(hass)

    await tick(hass, freezer, minutes=29)
    assert emulator.count(path) == 1
    assert state_of(hass, entity["sent"]).state == "0"

    await tick(hass, freezer, minutes=1)
    assert emulator.count(path) == 2
    assert state_of(hass, entity["sent"]).state == "1"
    assert float(state_of(hass, entity["ratio"]).state) == 100

    # disabled again: the coordinator stops asking
    er.async_get(hass).async_update_entity(
        entity["sent"], disabled_by=er.RegistryEntryDisabler.USER
    )
    er.async_get(hass).async_update_entity(
        entity["ratio"], disabled_by=er.RegistryEntryDisabler.USER
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await tick(hass, freezer, minutes=120)
    assert emulator.count(path) == 2
    assert emulator.breaches == []


@pytest.mark.parametrize("provider", STATISTICS_GATEWAYS)
@pytest.mark.usefixtures("no_client_retry_delay")
async def test_statistics_failure_never_fails_setup(
    hass: HomeAssistant,
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    provider: GatewayId,
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    entity = ids(provider)
    path = STATISTICS_PATH[provider]
    # the first statistics request and its retry answered by a proxy's 502
    emulator.inject(Fault.SERVER_ERROR_HTML, path, times=2)

    await enable_statistics(hass, freezer, provider)

    assert entry.state is ConfigEntryState.LOADED
    assert emulator.count(path) == 2
    for key in ("sent", "ratio"):
        assert state_of(hass, entity[key]).state == STATE_UNAVAILABLE
    for key in ("account", "in_flight", "event"):
        assert state_of(hass, entity[key]).state != STATE_UNAVAILABLE
    (logged,) = [
        r.getMessage()
        for r in caplog.records
        if r.name == "custom_components.ru_sms.coordinator" and r.levelno >= logging.WARNING
    ]
    assert logged.startswith(
        f"Error fetching ru_sms statistics of {entry.title} data: "
        "Cannot read the statistics of the last 24 hours (502, a server error or an answer"
    )

    await tick(hass, freezer, minutes=30)
    assert emulator.count(path) == 3
    assert state_of(hass, entity["sent"]).state == "0"


async def test_statistics_unload_while_first_request_hangs(
    hass: HomeAssistant, emulators: Any
) -> None:
    """The first request runs in the background: unloading does not wait for it."""
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator)
    emulator.inject(Fault.TIMEOUT_BEFORE, STATISTICS_PATH[GatewayId.STREAM])
    registry = er.async_get(hass)
    for key in ("sent", "ratio"):
        registry.async_update_entity(ids(GatewayId.STREAM)[key], disabled_by=None)

    # the reload Home Assistant makes after the change; the request then hangs
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=RELOAD_AFTER_UPDATE_DELAY + 1)
    )
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert state_of(hass, ids(GatewayId.STREAM)["sent"]).state == STATE_UNKNOWN
    coordinator = entry.runtime_data.statistics
    assert coordinator is not None

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.NOT_LOADED
    # the request was cancelled with the entry: it never delivered an answer
    assert coordinator.data is None


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float) -> None:
    """Let time pass for Home Assistant (the emulator's clock follows the frozen time)."""
    freezer.tick(timedelta(minutes=minutes))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


# -- names and icons -----------------------------------------------------------------------


async def test_translations_and_icons(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.STREAM)
    await setup_account(hass, GatewayId.STREAM, emulator)
    icons = (await async_get_icons(hass, "entity", [DOMAIN]))[DOMAIN]
    states = STATES
    event_types = ["delivered", "failed", "expired", "incoming", "escalated", "acknowledged"]
    base = f"component.{DOMAIN}.entity"

    for language in ("en", "ru"):
        names = await async_get_translations(hass, language, "entity", [DOMAIN])
        for key in ("last_message", "in_flight", "sent_24h", "delivery_ratio_24h"):
            assert names.get(f"{base}.sensor.{key}.name"), (language, key)
        for state in states:
            assert names.get(f"{base}.sensor.last_message.state.{state}"), (language, state)
        assert names.get(f"{base}.event.messages.name")
        for event_type in event_types:
            key = f"{base}.event.messages.state_attributes.event_type.state.{event_type}"
            assert names.get(key), (language, event_type)
        exceptions = await async_get_translations(hass, language, "exceptions", [DOMAIN])
        assert "{error}" in exceptions[f"component.{DOMAIN}.exceptions.statistics_failed.message"]

    for key in ("last_message", "in_flight", "sent_24h", "delivery_ratio_24h"):
        assert icons["sensor"][key]["default"].startswith("mdi:")
    assert set(icons["sensor"]["last_message"]["state"]) == set(states)
    assert icons["event"]["messages"]["default"].startswith("mdi:")
