"""The alert's fate in view, the caller answered first, rounds side by side, send-at deadlines.

- An alert keeps one identity (`alert_id`) from the call to its final state, across
  retries and failover; the last-message sensors show it until a newer one (through the
  fallback account too); `waiting` while it waits in our outbox; Messages in flight
  counts what waits there.
- What follows an accepted send runs after the caller has its answer, in order; an
  unload waits for it.
- 100 alerts queued behind a gateway that hangs every request: each tried before its
  deadline (the rounds try them side by side).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest

from custom_components.ru_sms.const import CONF_GIVE_UP_AFTER, DOMAIN
from custom_components.ru_sms.options import options_to_dict
from custom_components.ru_sms.outbox import QueuedAlert
from custom_components.ru_sms.providers import SendOptions
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.storage import StoreKind
from tests.conftest import IVAN, make_entry, setup_account
from tests.emulators.base import Fault
from tests.emulators.catalog import ACCOUNTS
from tests.integration.clock import Clock
from tests.integration.test_outbox import events, primary_and_backup, send, stored_file, taken

MARIA = "79161234568"
MANY = 10_000


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


@pytest.fixture(autouse=True)
def fast_client(no_client_retry_delay: None) -> None:
    """A read the client repeats goes at once."""


def last_message(hass: HomeAssistant, provider: GatewayId, sensor: str | None = None) -> Any:
    """The state of an account's last-message sensor (or of `sensor`)."""
    state = hass.states.get(sensor or f"sensor.{ACCOUNTS[provider].slug}_last_message")
    assert state is not None
    return state


def recipient_sensor(hass: HomeAssistant, entry: Any, name: str = "Ivan") -> str:
    """The entity id of a recipient's last-message sensor of this account."""
    (subentry_id,) = (k for k, s in entry.subentries.items() if s.title == name)
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_{subentry_id}_last_message"
    )
    assert entity_id is not None
    return entity_id


async def test_waiting_in_the_outbox_has_a_state_of_its_own(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(
        hass, GatewayId.STREAM, emulator, recipients={"Ivan": [IVAN], "Maria": [MARIA]}
    )
    clock = Clock(hass)
    clock.attach(entry, emulator)
    fired = events(hass)
    emulator.inject(Fault.SERVICE_UNAVAILABLE, "SendBulk/")  # not taken, wait 30 s

    response = await send(hass, entry, "Frost", phones=[IVAN, MARIA])
    await hass.async_block_till_done()

    alert_id = response["alert_id"]
    waiting = [e for e in fired if e["state"] == "waiting"]
    assert {e["number"] for e in waiting} == {IVAN, MARIA}
    assert all(e["alert_id"] == alert_id and not e["final"] for e in waiting)
    sensors = [recipient_sensor(hass, entry, name) for name in ("Ivan", "Maria")]
    for sensor in (None, *sensors):
        state = last_message(hass, GatewayId.STREAM, sensor)
        assert (state.state, state.attributes["alert_id"]) == ("waiting", alert_id)
    in_flight = hass.states.get(f"sensor.{ACCOUNTS[GatewayId.STREAM].slug}_messages_in_flight")
    assert (in_flight.state, in_flight.attributes["waiting"]) == ("2", 2)

    await clock.tick(60, emulator)

    # Taken on a later round: the gateway's first report names the same alert.
    first = [e for e in fired if e.get("queued") and e["state"] not in ("waiting",)]
    assert {e["alert_id"] for e in first} == {alert_id}
    assert last_message(hass, GatewayId.STREAM).state in ("queued", "sent", "delivered")
    in_flight = hass.states.get(f"sensor.{ACCOUNTS[GatewayId.STREAM].slug}_messages_in_flight")
    assert in_flight.attributes["waiting"] == 0


async def test_an_alert_carried_by_the_fallback_stays_in_view(
    hass: HomeAssistant, emulators: Any
) -> None:
    """The primary's sensors follow the alert through the fallback, never an older one."""
    emulator, entry, backup_emulator, backup = await primary_and_backup(hass, emulators)
    clock = Clock(hass)
    clock.attach(entry, emulator)
    clock.attach(backup, backup_emulator)
    await send(hass, entry, "Earlier, delivered")
    await clock.tick(120, emulator)
    assert last_message(hass, GatewayId.SMSC).state == "delivered"

    emulator.inject(Fault.NO_MONEY, "send.php")
    response = await send(hass, entry, "Fire alarm")
    await hass.async_block_till_done()

    assert response["account"] == backup.title
    assert taken(backup_emulator, "Fire alarm") == 1
    ivan = recipient_sensor(hass, entry)
    for sensor in (None, ivan):
        state = last_message(hass, GatewayId.SMSC, sensor)
        assert state.attributes["alert_id"] == response["alert_id"]
        assert state.attributes["account"] == backup.title
        assert state.state in ("queued", "sent")  # not the earlier "delivered"
    for _ in range(24):
        await clock.step(5, (emulator, backup_emulator))
    assert last_message(hass, GatewayId.SMSC).state == "delivered"
    assert last_message(hass, GatewayId.SMSC, ivan).attributes["alert_id"] == response["alert_id"]
    # Kept across a reload of the primary.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    state = last_message(hass, GatewayId.SMSC)
    assert (state.state, state.attributes["alert_id"]) == ("delivered", response["alert_id"])
    assert state.attributes["error"] is None


async def test_an_alert_given_up_shows_failed_not_an_older_delivered_one(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator, options={CONF_GIVE_UP_AFTER: 2})
    clock = Clock(hass)
    clock.attach(entry, emulator)
    await send(hass, entry, "Earlier, delivered")
    await clock.tick(120, emulator)
    emulator.inject(Fault.SERVICE_UNAVAILABLE, "send.php", times=MANY)

    response = await send(hass, entry, "Smoke")
    await clock.tick(180, emulator)

    state = last_message(hass, GatewayId.SMSC)
    assert (state.state, state.attributes["alert_id"]) == ("failed", response["alert_id"])
    assert "503" in state.attributes["error"]


def before_tracking(tracker: Any, each: Callable[[Any], Awaitable[None]]) -> None:
    """Run `each(result)` before the tracker follows each accepted send."""
    track = tracker.async_track_send

    async def tracking(result: Any, options: Any, *, note: Any = None) -> None:
        await each(result)
        await track(result, options, note=note)

    tracker.async_track_send = tracking


async def test_the_caller_is_answered_before_what_follows_which_runs_in_order(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    tracker = entry.runtime_data.tracker
    go_on = asyncio.Event()
    followed: list[str] = []

    async def slowly(result: Any) -> None:
        await go_on.wait()
        followed.append(result.recipients[0].message_ids[0])

    before_tracking(tracker, slowly)
    first = await send(hass, entry, "First")
    second = await send(hass, entry, "Second")

    # Both callers have their answers; nothing is followed yet.
    assert first["accepted"] == second["accepted"] == 1
    assert tracker.in_flight == 0
    unload = hass.async_create_task(hass.config_entries.async_unload(entry.entry_id))
    await asyncio.sleep(0.05)
    assert not unload.done()  # the unload waits for what follows the sends
    go_on.set()
    assert await unload
    # In the order the answers came.
    assert followed == [
        first["recipients"][0]["message_ids"][0],
        second["recipients"][0]["message_ids"][0],
    ]


async def test_a_notify_caller_is_answered_before_its_alert_is_followed(
    hass: HomeAssistant, emulators: Any
) -> None:
    """The answer passes through the notify entity's task: what follows waits for it too."""
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    tracker = entry.runtime_data.tracker
    followed: list[str] = []

    async def counted(result: Any) -> None:
        followed.append(result.recipients[0].phone)

    before_tracking(tracker, counted)
    await hass.services.async_call(
        "notify", "send_message", {"entity_id": "notify.ivan", "message": "Door"}, blocking=True
    )

    assert (followed, len(emulator.messages)) == ([], 1)
    await hass.async_block_till_done()
    assert followed == [IVAN]
    assert tracker.in_flight == 1


async def test_the_deadline_counts_from_send_at(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator, options={CONF_GIVE_UP_AFTER: 60})
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php", times=MANY)
    send_at = dt_util.now() + timedelta(hours=2)

    response = await send(hass, entry, "Morning reminder", send_at=send_at.isoformat())

    alert = entry.runtime_data.outbox.alerts[response["alert_id"]]
    assert alert.deadline == send_at.astimezone(alert.deadline.tzinfo) + timedelta(hours=1)


async def test_a_hanging_gateway_holds_no_alert_past_its_deadline(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    """100 queued alerts, every request hangs: each is tried before its deadline.

    In real time: a request times out after 0.1 s; one after the other, the 100 would
    take 10 s, longer than their 6 s to the deadline.
    """
    emulator = await emulators(GatewayId.SMSC)
    emulator.hang_seconds = 0.3
    entry = make_entry(GatewayId.SMSC, emulator)
    now = dt_util.utcnow()
    deadline = now + timedelta(seconds=6)
    alerts = [
        QueuedAlert(
            id=f"rs{n:018x}",
            phones=[IVAN],
            text=f"Alert {n}",
            options=options_to_dict(
                SendOptions(sender="HomeAlert", client_message_id=f"rs{n:018x}")
            ),
            deadline=deadline,
            created_at=now,
            next_attempt=now,
            attempts=1,
            failing_since=now,
            last_error="502",
        )
        for n in range(100)
    ]
    stored_file(hass_storage, StoreKind.OUTBOX, entry, {"alerts": [a.as_record() for a in alerts]})
    emulator.inject(Fault.TIMEOUT_BEFORE, "send.php", times=MANY)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    entry.runtime_data.gateway._timeout = 0.1

    await asyncio.sleep((deadline - dt_util.utcnow()).total_seconds())

    tried = {r.form["mes"]: r.at for r in emulator.requests if r.path.endswith("send.php")}
    assert len(tried) == 100
    assert max(tried.values()) < deadline.timestamp()


async def test_the_fate_of_an_alert_is_kept_across_a_restart(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    """What the outbox noted (an alert carried elsewhere, or given up) is read back."""
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    created = dt_util.utcnow().isoformat()
    note = {
        "id": "rs0123456789abcdef11",
        "phones": [IVAN],
        "created_at": created,
        "state": "failed",
        "final": True,
        "error": "the account was removed",
        "account": "Backup",
        "carrier": "01JQ8Z5N4W3X2Y1V0T9S8R7Q6P",
    }
    bad = ["not a note", {**note, "id": 5}, {**note, "phones": IVAN}, {**note, "error": 404}]
    bad.append({**note, "created_at": "yesterday"})
    stored_file(hass_storage, StoreKind.OUTBOX, entry, {"alerts": [], "log": [note, *bad]})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    for sensor in (None, recipient_sensor(hass, entry)):
        state = last_message(hass, GatewayId.SMSC, sensor)
        assert (state.state, state.attributes["alert_id"]) == ("failed", note["id"])
        assert state.attributes["account"] == "Backup"
    notes = entry.runtime_data.outbox.reports.log.notes
    assert list(notes) == [note["id"]]
