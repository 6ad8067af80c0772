"""Daily spending limits on a hand-moved clock: 80 %, 100 %, held alerts, a restart, midnight."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest

from custom_components.ru_sms import spending as spending_module
from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.providers.models import GatewayId, SendOptions
from custom_components.ru_sms.signals import (
    EVENT_ALERT_HELD,
    EVENT_ALERT_RELEASED,
    EVENT_SPENDING_LIMIT,
)
from custom_components.ru_sms.storage import StoreKind, store_key
from tests.conftest import IVAN, make_entry, setup_account
from tests.integration.money import collect, send, sent_texts, tick

PETR = "79167654321"


pytestmark = pytest.mark.usefixtures("enable_custom_integrations")


def issue(hass: HomeAssistant, key: str, entry: Any) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{key}_{entry.entry_id}")


async def test_a_parts_limit_warns_holds_survives_a_restart_and_resets_at_midnight(
    hass: HomeAssistant,
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    await hass.config.async_set_time_zone("Europe/Moscow")
    freezer.move_to("2026-11-02T10:00:00+03:00")
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator, options={"daily_parts_limit": 10})
    limits = collect(hass, EVENT_SPENDING_LIMIT)
    held = collect(hass, EVENT_ALERT_HELD)
    released = collect(hass, EVENT_ALERT_RELEASED)

    for number in range(1, 8):
        await send(hass, entry, f"Alert {number}", phones=[IVAN if number % 2 else PETR])
    assert issue(hass, "spending_near_limit", entry) is None
    await send(hass, entry, "Alert 8", phones=[PETR])

    # 80 %: a repair issue, and the event once.
    near = issue(hass, "spending_near_limit", entry)
    assert near is not None
    assert near.translation_placeholders["percent"] == "80"
    assert near.translation_placeholders["resets_at"] == "2026-11-03 00:00"
    assert [e["level"] for e in limits] == ["warning"]
    # A three-part alert would go past the limit: held, with the reason.
    long = await send(hass, entry, "x" * 400)
    assert long["held"] == 1
    assert long["guard"][0]["reason"] == "daily_parts"
    assert long["guard"][0]["release_at"] == "2026-11-02T21:00:00+00:00"
    assert held[-1]["reason"] == "daily_parts"
    assert issue(hass, "spending_limit_reached", entry) is not None
    assert issue(hass, "spending_near_limit", entry) is None
    assert [e["level"] for e in limits] == ["warning", "reached"]
    assert limits[-1] | {"resets_at": None} == {
        "config_entry_id": entry.entry_id,
        "account": entry.title,
        "level": "reached",
        "parts": 8,
        "parts_limit": 10,
        "cost": 15.2,
        "cost_limit": 0.0,
        "currency": "RUB",
        "price_per_part": 1.9,
        "resets_at": None,
    }
    # The last two parts go; then the limit holds even a one-part alert.
    await send(hass, entry, "Alert 9")
    await send(hass, entry, "Alert 10", phones=[PETR])
    eleventh = await send(hass, entry, "Alert 11")
    assert eleventh["held"] == 1
    # A critical alert passes, and is counted.
    critical = await send(hass, entry, "Fire", priority="critical")
    assert critical["accepted"] == 1
    assert entry.runtime_data.spending.parts == 11
    assert hass.states.get("sensor.ivan_last_message").attributes["held_reason"] == "daily_parts"
    assert len(sent_texts(emulator)) == 11

    # A restart keeps the counts and the held alerts.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[store_key(StoreKind.SPENDING, entry.entry_id)]["data"]
    assert (stored["day"], stored["parts"]) == ("2026-11-02", 11)
    spending = entry.runtime_data.spending
    assert (spending.parts, spending.cost) == (11, Decimal("20.90"))
    assert len(entry.runtime_data.guard.held) == 2
    assert issue(hass, "spending_limit_reached", entry) is not None
    assert [e["level"] for e in limits] == ["warning", "reached"]  # told once a day

    # Local midnight: the counts start again and the held alerts go, through the guard.
    await tick(hass, freezer, emulator, 13 * 3600, step=3600)  # 23:00 in Moscow
    assert len(sent_texts(emulator)) == 11
    await tick(hass, freezer, emulator, 3600 + 60, step=600)

    assert sent_texts(emulator)[11:] == ["x" * 400, "Alert 11"]
    assert [e["reason"] for e in released] == ["daily_parts", "daily_parts"]
    assert entry.runtime_data.spending.parts == 4
    assert list(entry.runtime_data.guard.held) == []
    assert issue(hass, "spending_limit_reached", entry) is None
    assert "held" not in hass.states.get("sensor.ivan_last_message").attributes


async def test_a_send_is_counted_after_its_answer_but_before_anything_reads_the_counts(
    hass: HomeAssistant, emulators: Any
) -> None:
    """The count of a send waits for the loop's next turn; an alert's plan cannot miss it."""
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator, options={"daily_parts_limit": 2})
    spending = entry.runtime_data.spending
    guard = entry.runtime_data.guard

    data = {"config_entry_id": entry.entry_id, "phones": [IVAN], "message": "One"}
    await hass.services.async_call(DOMAIN, "send_message", data, blocking=True)
    # Not counted yet (the caller had its answer first), yet read as counted.
    assert spending._parts == 0
    assert guard.plan([PETR], "x" * 100, SendOptions(), critical=False).limit is None
    assert guard.plan([PETR], "x" * 200, SendOptions(), critical=False).limit == "daily_parts"
    assert spending.parts == 1

    await hass.services.async_call(DOMAIN, "send_message", data | {"message": "Two"}, blocking=True)
    await hass.async_block_till_done()
    assert spending._parts == 2  # counted at the next turn, with no one asking
    assert issue(hass, "spending_limit_reached", entry) is not None


async def test_raising_the_limit_lets_held_alerts_go(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator, options={"daily_parts_limit": 1})
    await send(hass, entry, "One")
    assert (await send(hass, entry, "Two"))["held"] == 1

    hass.config_entries.async_update_entry(entry, options={**entry.options, "daily_parts_limit": 5})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.state is ConfigEntryState.LOADED
    assert sent_texts(emulator) == ["One", "Two"]
    assert entry.runtime_data.spending.parts == 2
    assert issue(hass, "spending_limit_reached", entry) is None


async def test_a_money_limit_counts_what_smsc_says_a_send_cost(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator, options={"daily_cost_limit": 4.5})
    await send(hass, entry, "One")
    assert issue(hass, "spending_near_limit", entry) is None
    await send(hass, entry, "Two")
    near = issue(hass, "spending_near_limit", entry)
    assert near is not None
    assert near.translation_placeholders["cost"] == "3.80"
    assert near.translation_placeholders["cost_limit"] == "4.50"

    third = await send(hass, entry, "Three")

    assert third["held"] == 1
    assert third["guard"][0]["reason"] == "daily_cost"
    assert sent_texts(emulator) == ["One", "Two"]


async def test_a_price_a_delivery_report_tells_is_counted(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory
) -> None:
    """Stream tells no cost when it takes a send: its delivery report's price is counted."""
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator, options={"daily_cost_limit": 10})
    spending = entry.runtime_data.spending
    await send(hass, entry, "Я" * 71)  # two parts, no price known yet
    assert (spending.parts, spending.cost, spending.price) == (2, 0, None)

    await tick(hass, freezer, emulator, 180)

    assert spending.cost == Decimal("3.00") == 2 * emulator.price
    assert spending.price == emulator.price
    # Now known, the price counts a send at once (and a report does not count it twice).
    await send(hass, entry, "One part")
    assert spending.cost == Decimal("4.50")
    await tick(hass, freezer, emulator, 180)
    assert spending.cost == Decimal("4.50")


async def test_counts_of_another_day_start_from_nothing(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator, options={"daily_parts_limit": 10})
    key = store_key(StoreKind.SPENDING, entry.entry_id)
    yesterday = (dt_util.now() - timedelta(days=1)).date().isoformat()
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"day": yesterday, "parts": 10, "cost": "19", "price": "1.9", "fired": []},
    }
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    spending = entry.runtime_data.spending
    assert (spending.parts, spending.cost, spending.price) == (0, 0, Decimal("1.9"))
    assert (await send(hass, entry, "Hello"))["accepted"] == 1


@pytest.mark.parametrize(
    "stored",
    [
        {"day": "not a day", "parts": 3},
        {"day": "2026-11-02", "parts": -1, "cost": "NaN", "price": "x", "priced_later": []},
        "garbage",
    ],
)
async def test_unreadable_counts_start_from_nothing(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any], stored: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    key = store_key(StoreKind.SPENDING, entry.entry_id)
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": stored}
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    spending = entry.runtime_data.spending
    assert (spending.parts, spending.cost, spending.price) == (0, 0, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("repeat_window", 0),
        ("repeat_window", 1441),
        ("burst_limit", 0),
        ("burst_limit", 2.5),
        ("burst_window", -1),
        ("daily_parts_limit", -1),
        ("daily_parts_limit", 1.5),
        ("daily_cost_limit", -0.01),
        ("daily_cost_limit", float("inf")),
    ],
)
async def test_options_out_of_range_get_our_error(
    hass: HomeAssistant, emulators: Any, field: str, value: float
) -> None:
    emulator = await emulators(GatewayId.SMSTELE)
    entry = await setup_account(hass, GatewayId.SMSTELE, emulator)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    user_input = {"sender": "ALERTS", "transliterate": False}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, field: value}
    )
    assert result["errors"] == {field: f"{field}_range"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, "daily_cost_limit": 12.5, "daily_parts_limit": 40}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert (entry.options["daily_cost_limit"], entry.options["daily_parts_limit"]) == (12.5, 40)


async def test_prices_a_report_may_still_tell_are_kept_for_the_latest_messages(
    hass: HomeAssistant,
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spending_module, "MAX_PRICED_LATER", 1)
    emulator = await emulators(GatewayId.DEVINO)
    entry = await setup_account(hass, GatewayId.DEVINO, emulator)
    await send(hass, entry, "First")
    await send(hass, entry, "Second")

    await tick(hass, freezer, emulator, 180)

    # The first one's price came too late to be counted; the second one's was.
    assert entry.runtime_data.spending.cost == emulator.price


async def test_an_alert_a_note_makes_too_long_for_the_limit_stays_held(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory
) -> None:
    """One part plain, two with "(+1 more)": released only when the two parts fit."""
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator, options={"daily_parts_limit": 2})
    await send(hass, entry, "Door open")
    await send(hass, entry, "Door open")  # merged: the next SMS says "(+1 more)"

    assert (await send(hass, entry, "b" * 155))["guard"][0]["reason"] == "daily_parts"
    requests = emulator.count("send.php")
    held = collect(hass, EVENT_ALERT_HELD)
    await tick(hass, freezer, emulator, 60, step=5)

    # Not released to be held again at every turn (nor told again).
    assert held == []
    assert emulator.count("send.php") == requests
    assert len(entry.runtime_data.guard.held) == 1
    hass.config_entries.async_update_entry(entry, options={**entry.options, "daily_parts_limit": 3})
    await hass.async_block_till_done()
    await tick(hass, freezer, emulator, 1)  # the frozen clock: the release's timer is "now"
    assert sent_texts(emulator) == ["Door open", "b" * 155 + " (+1 more)"]
