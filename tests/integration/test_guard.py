"""The storm guard on a hand-moved clock: repeats merged, bursts held, critical alerts passing."""

from __future__ import annotations

import asyncio
from dataclasses import MISSING, fields
from datetime import timedelta
from decimal import Decimal
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import pytest

from custom_components.ru_sms.guard import GuardAction, GuardedOutcome
from custom_components.ru_sms.guard.records import REPEAT, Guarded
from custom_components.ru_sms.outbox import SendOutcome
from custom_components.ru_sms.providers.models import GatewayId, RecipientResult, SendResult
from custom_components.ru_sms.signals import EVENT_ALERT_HELD, EVENT_ALERT_RELEASED
from custom_components.ru_sms.storage import StoreKind, ThrottledSave, store_key
from tests.conftest import IVAN, make_entry, setup_account
from tests.emulators.base import Fault
from tests.emulators.catalog import ACCOUNTS
from tests.integration.money import collect, send, sent_texts, tick

PETR = "79167654321"


pytestmark = pytest.mark.usefixtures("enable_custom_integrations")


def sensor(hass: HomeAssistant, name: str = "ivan") -> Any:
    state = hass.states.get(f"sensor.{name}_last_message")
    assert state is not None
    return state


@pytest.mark.parametrize("provider", [GatewayId.SMSC, GatewayId.STREAM])
async def test_a_hundred_identical_alerts_in_a_minute_go_once(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    held = collect(hass, EVENT_ALERT_HELD)

    responses = []
    for _ in range(100):
        responses.append(await send(hass, entry, "Water leak in the kitchen"))
        await tick(hass, freezer, emulator, 0.5)

    assert sent_texts(emulator) == ["Water leak in the kitchen"]
    first, *repeats = responses
    assert (first["accepted"], first["merged"], first["guard"]) == (1, 0, [])
    assert all(r["accepted"] == 0 and r["merged"] == 1 and r["held"] == 0 for r in repeats)
    assert [r["guard"][0]["count"] for r in repeats] == list(range(1, 100))
    assert {(g["action"], g["reason"]) for r in repeats for g in r["guard"]} == {
        ("merged", "repeat")
    }
    # Nothing dropped silently: each repeat is an event, and the sensor counts them.
    assert len(held) == 99
    assert held[-1] | {"release_at": None} == {
        "config_entry_id": entry.entry_id,
        "account": entry.title,
        "numbers": [IVAN],
        "action": "merged",
        "reason": "repeat",
        "message": "Water leak in the kitchen",
        "count": 99,
        "release_at": None,
    }
    assert sensor(hass).attributes["merged"] == 99

    # The first repeat after the window says how many there were.
    await tick(hass, freezer, emulator, 10 * 60)
    response = await send(hass, entry, "Water leak in the kitchen")

    assert sent_texts(emulator)[-1] == "Water leak in the kitchen (+99 more)"
    assert response["guard"] == [
        {"phone": IVAN, "action": "summarised", "reason": "repeat", "count": 99, "release_at": None}
    ]
    await hass.async_block_till_done()  # the sensors are written at the next turn
    assert "merged" not in sensor(hass).attributes
    assert emulator.breaches == []


async def test_the_next_different_alert_tells_the_repeats(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    for _ in range(3):
        await send(hass, entry, "Door open")
    # A refused alert does not count: its repeat goes.
    emulator.inject(Fault.NO_MONEY, "send.php")
    with pytest.raises(HomeAssistantError):
        await send(hass, entry, "Boiler stopped")
    await send(hass, entry, "Boiler stopped")

    assert sent_texts(emulator) == ["Door open", "Boiler stopped (+2 more)"]
    # Another number has its own count.
    await send(hass, entry, "Door open", phones=[PETR])
    assert sent_texts(emulator)[-1] == "Door open"


async def test_a_burst_of_thirty_alerts_sends_ten_and_one_summary(
    hass: HomeAssistant,
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    held = collect(hass, EVENT_ALERT_HELD)
    released = collect(hass, EVENT_ALERT_RELEASED)

    responses = []
    for number in range(1, 31):
        responses.append(await send(hass, entry, f"Motion in zone {number}"))
        await tick(hass, freezer, emulator, 2)

    assert sent_texts(emulator) == [f"Motion in zone {n}" for n in range(1, 11)]
    assert [r["held"] for r in responses] == [0] * 10 + [1] * 20
    assert responses[-1]["guard"][0]["action"] == "held"
    assert responses[-1]["guard"][0]["reason"] == "burst"
    assert responses[-1]["guard"][0]["count"] == 20
    assert responses[-1]["guard"][0]["release_at"] is not None
    assert [e["reason"] for e in held] == ["burst"] * 20
    attributes = sensor(hass).attributes
    assert (attributes["held"], attributes["held_reason"]) == (20, "burst")
    # Held alerts are written before the caller hears of them, and survive a restart.
    stored = hass_storage[store_key(StoreKind.GUARD, entry.entry_id)]["data"]
    assert len(stored["held"]) == 20
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert len(entry.runtime_data.guard.held) == 20

    # The burst ends when the window has room (ten minutes after the first went): one
    # summary, the latest alert.
    await tick(hass, freezer, emulator, 8 * 60)
    assert len(sent_texts(emulator)) == 10
    await tick(hass, freezer, emulator, 2 * 60)

    assert sent_texts(emulator) == [
        *(f"Motion in zone {n}" for n in range(1, 11)),
        "Motion in zone 30 (+19 more)",
    ]
    assert released == [
        {
            "config_entry_id": entry.entry_id,
            "account": entry.title,
            "numbers": [IVAN],
            "reason": "burst",
            "alerts": 20,
            "message": "Motion in zone 30",
            "error": None,
        }
    ]
    assert "held" not in sensor(hass).attributes
    assert list(entry.runtime_data.guard.held) == []
    # Nothing more goes: everything held was told once.
    await tick(hass, freezer, emulator, 30 * 60, step=300)
    assert len(sent_texts(emulator)) == 11
    assert emulator.breaches == []


async def test_a_critical_alert_passes_and_is_counted(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(
        hass, GatewayId.SMSC, emulator, options={"burst_limit": 2, "burst_window": 5}
    )
    await send(hass, entry, "Smoke in the hall")
    repeat = await send(hass, entry, "Smoke in the hall", priority="critical")
    assert repeat["accepted"] == 1
    assert repeat["guard"] == []

    # Two went: the burst limit holds a normal alert, not a critical one.
    normal = await send(hass, entry, "Smoke in the bedroom")
    critical = await send(hass, entry, "Fire in the bedroom", priority="critical")

    assert normal["held"] == 1
    assert critical["accepted"] == 1
    assert sent_texts(emulator) == ["Smoke in the hall", "Smoke in the hall", "Fire in the bedroom"]
    # Counted: the window is full for longer (three went in it: room when the second leaves).
    guard = entry.runtime_data.guard
    state = guard.numbers[IVAN]
    assert state.room_at(guard.settings) == state.sent[-2] + timedelta(minutes=5)
    await tick(hass, freezer, emulator, 5 * 60 + 30)
    assert sent_texts(emulator)[-1] == "Smoke in the bedroom"


async def test_notify_entities_and_the_account_service_go_through_the_guard(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    for _ in range(2):
        await hass.services.async_call(
            "notify", "send_message", {"entity_id": "notify.ivan", "message": "Gate"}, blocking=True
        )
    service = f"{ACCOUNTS[GatewayId.SMSC].slug}"
    await hass.services.async_call(
        "notify", service, {"message": "Gate", "target": [IVAN]}, blocking=True
    )
    await hass.services.async_call(
        "notify",
        service,
        {"message": "Gate", "target": [IVAN], "data": {"priority": "critical"}},
        blocking=True,
    )

    assert sent_texts(emulator) == ["Gate", "Gate (+2 more)"]
    assert entry.runtime_data.guard.numbers[IVAN].merged == 0


async def test_one_alert_to_many_numbers_is_guarded_number_by_number(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    await send(hass, entry, "Power cut")
    await send(hass, entry, "Power cut")

    response = await send(hass, entry, "Power back", phones=[IVAN, PETR])

    assert sorted(sent_texts(emulator)) == sorted(
        ["Power cut", "Power back (+1 more)", "Power back"]
    )
    assert response["accepted"] == 2
    assert [r["phone"] for r in response["recipients"]] == [IVAN, PETR]
    assert response["guard"][0]["action"] == "summarised"


async def test_the_guard_can_be_turned_off(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSTELE)
    entry = await setup_account(hass, GatewayId.SMSTELE, emulator, options={"storm_guard": False})
    for _ in range(12):
        await send(hass, entry, "Same again")
    assert sent_texts(emulator) == ["Same again"] * 12
    assert entry.runtime_data.guard.diagnostics()["enabled"] is False
    # Off, it keeps no count (a storm to one number costs it nothing).
    assert entry.runtime_data.guard.numbers == {}


async def test_what_was_held_goes_at_once_when_the_guard_is_turned_off(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator, options={"burst_limit": 1})
    await send(hass, entry, "First")
    await send(hass, entry, "Second")
    await send(hass, entry, "Third")
    assert len(entry.runtime_data.guard.held) == 2

    hass.config_entries.async_update_entry(entry, options={**entry.options, "storm_guard": False})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert sent_texts(emulator) == ["First", "Third (+1 more)"]


async def test_a_summary_the_gateway_refuses_is_told(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(
        hass, GatewayId.SMSC, emulator, options={"burst_limit": 1, "burst_window": 1}
    )
    released = collect(hass, EVENT_ALERT_RELEASED)
    await send(hass, entry, "First")
    await send(hass, entry, "Second")
    emulator.forbidden_words = {"second"}

    await tick(hass, freezer, emulator, 90)

    assert sent_texts(emulator) == ["First"]
    assert len(released) == 1
    assert released[0]["error"]
    assert list(entry.runtime_data.guard.held) == []


async def test_an_unreadable_stored_record_is_dropped_with_a_warning(
    hass: HomeAssistant,
    emulators: Any,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    key = store_key(StoreKind.GUARD, entry.entry_id)
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {
            "numbers": {IVAN: {"sent": ["not a time"], "texts": [], "merged": 2}, PETR: "x"},
            "held": [{"phones": [IVAN]}, {"text": "x", "options": {}}, "nothing"],
        },
    }
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    guard = entry.runtime_data.guard
    assert list(guard.held) == []
    assert guard.numbers[IVAN].merged == 2
    assert guard.numbers[IVAN].sent == ()
    assert "dropping an unreadable held alert" in caplog.text
    await send(hass, entry, "Hello")
    assert sent_texts(emulator) == ["Hello (+2 more)"]


async def test_a_send_at_time_that_passed_while_held_is_dropped(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(
        hass, GatewayId.SMSC, emulator, options={"burst_limit": 1, "burst_window": 2}
    )
    await send(hass, entry, "First")
    soon = (dt_util.now() + timedelta(minutes=1)).isoformat()
    assert (await send(hass, entry, "Second", send_at=soon))["held"] == 1

    await tick(hass, freezer, emulator, 150)

    assert sent_texts(emulator) == ["First", "Second"]
    assert "time" not in emulator.requests[-1].form


class FakeStore:
    """What a `ThrottledSave` asks of Home Assistant's Store: the delayed and the direct saves."""

    def __init__(self) -> None:
        self.planned: list[Any] = []
        self.written: list[Any] = []

    def async_delay_save(self, data_func: Any, delay: float) -> None:
        self.planned.append(data_func)

    async def async_save(self, data: Any) -> None:
        self.written.append(data)


async def test_a_write_is_planned_once_however_often_it_changes() -> None:
    """One write is planned at a time, within the delay of the first change.

    Home Assistant's delayed save puts its write off at each call: a flood would never
    reach the disk.
    """
    store = FakeStore()
    count = iter(range(100))
    saves = ThrottledSave(store, lambda: {"n": next(count)}, 1.0)  # type: ignore[arg-type]

    for _ in range(5):
        saves.schedule()
    assert len(store.planned) == 1
    assert store.planned[0]() == {"n": 0}  # the planned write, when it runs
    saves.schedule()
    assert len(store.planned) == 2
    await saves.async_now()  # stands for the planned one
    saves.schedule()
    assert len(store.planned) == 3
    saves.stopped = True
    await saves.async_now()
    saves.schedule()
    assert (len(store.planned), store.written) == (3, [{"n": 1}])


class SlowStore(FakeStore):
    """A store whose write takes a few turns of the loop, as a write in a worker thread does."""

    async def async_save(self, data: Any) -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        self.written.append(data)


async def test_writes_asked_for_at_once_share_one() -> None:
    """Everyone asking for a write while one runs is written by the next, and waits for it."""
    store = SlowStore()
    changes: list[int] = []
    saves = ThrottledSave(store, lambda: {"changes": list(changes)}, 1.0)  # type: ignore[arg-type]

    async def change(n: int) -> int:
        changes.append(n)
        await saves.async_now()
        # Returned only once a write holding this change is done.
        assert any(n in written["changes"] for written in store.written)
        return n

    assert await asyncio.gather(*(change(n) for n in range(50))) == list(range(50))
    assert len(store.written) == 2  # the first change's write, then one for the other 49
    assert store.written[-1]["changes"] == list(range(50))


async def test_a_storm_of_two_hundred_alerts_at_once_is_held_in_a_few_writes(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    guard = entry.runtime_data.guard
    store = guard._store
    writes = 0
    save = store.async_save

    async def counted(data: Any) -> None:
        """A write takes a few turns of the loop (a worker thread's), not none as in tests."""
        nonlocal writes
        writes += 1
        for _ in range(3):
            await asyncio.sleep(0)
        await save(data)

    store.async_save = counted  # type: ignore[method-assign]
    responses = await asyncio.gather(
        *(send(hass, entry, f"Протечка в зоне {n}") for n in range(200))
    )

    assert sum(r["held"] for r in responses) == 190  # ten went, the burst limit
    assert len(guard.held) == 190
    assert sensor(hass).attributes["held"] == 190
    stored = hass_storage[store_key(StoreKind.GUARD, entry.entry_id)]["data"]
    assert len(stored["held"]) == 190
    assert writes <= 10


def test_an_outcome_keeps_every_field_the_outbox_gave() -> None:
    """`GuardedOutcome.of` spells the outbox's outcome out: no field is left behind."""
    outcome = SendOutcome(
        result=SendResult(
            recipients=(RecipientResult(phone=IVAN, accepted=True, message_ids=("5",)),),
            balance=Decimal("10.50"),
        ),
        queued=("79167654321",),
        possible_duplicate=True,
        account="backup",
        alert_id="rs0123456789abcdef09",
        error="timeout",
    )
    # Every field differs from its default here: a field added later must be added above.
    assert all(
        f.default is MISSING or getattr(outcome, f.name) != f.default for f in fields(SendOutcome)
    )
    guarded = [Guarded(IVAN, GuardAction.SUMMARISED, REPEAT, 2)]
    of = GuardedOutcome.of(outcome, guarded)
    assert of == GuardedOutcome(
        **{f.name: getattr(outcome, f.name) for f in fields(SendOutcome)}, guarded=tuple(guarded)
    )
