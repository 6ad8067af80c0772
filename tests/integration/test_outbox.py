"""The outbox across restarts, its caller-facing answers, and what it shows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.diagnostics import async_get_config_entry_diagnostics
from custom_components.ru_sms.options import options_to_dict
from custom_components.ru_sms.outbox import QueuedAlert
from custom_components.ru_sms.outbox.store import FIRST_WAIT
from custom_components.ru_sms.providers import SendOptions
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.signals import EVENT_MESSAGE_STATUS
from custom_components.ru_sms.storage import StoreKind, store_key
from tests.conftest import IVAN, make_entry, setup_account
from tests.emulators.base import Fault
from tests.emulators.catalog import ACCOUNTS
from tests.emulators.smsc import SentMessage
from tests.integration.clock import Clock


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


@pytest.fixture(autouse=True)
def fast_client(no_client_retry_delay: None) -> None:
    """The client's own retry goes at once."""


async def account_on_clock(
    hass: HomeAssistant, emulators: Any, provider: GatewayId
) -> tuple[Any, MockConfigEntry, Clock]:
    """An account set up on an emulated gateway, its outbox on a hand-moved clock."""
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    clock = Clock(hass)
    clock.attach(entry, emulator)
    return emulator, entry, clock


async def primary_and_backup(
    hass: HomeAssistant, emulators: Any
) -> tuple[Any, MockConfigEntry, Any, MockConfigEntry]:
    """An SMSC.ru account whose fallback is a Stream account: emulators and entries."""
    backup_emulator = await emulators(GatewayId.STREAM)
    backup = await setup_account(hass, GatewayId.STREAM, backup_emulator)
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(
        hass, GatewayId.SMSC, emulator, options={"fallback_entry_id": backup.entry_id}
    )
    return emulator, entry, backup_emulator, backup


def stored_file(
    hass_storage: dict[str, Any],
    kind: StoreKind,
    entry: MockConfigEntry,
    data: Any,
    version: int = 1,
) -> None:
    """An account's file of `kind` as Home Assistant's storage holds it."""
    key = store_key(kind, entry.entry_id)
    hass_storage[key] = {"version": version, "minor_version": 1, "key": key, "data": data}


def taken(emulator: Any, text: str) -> int:
    store: Any = getattr(emulator, "segments", None)
    if store is None:
        store = emulator.messages
    items = store.values() if isinstance(store, dict) else store
    return sum(1 for item in items if item.text == text)


async def send(hass: HomeAssistant, entry: MockConfigEntry, text: str, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"config_entry_id": entry.entry_id, "phones": [IVAN], "message": text, **data},
        blocking=True,
        return_response=True,
    )


def events(hass: HomeAssistant) -> list[dict[str, Any]]:
    fired: list[dict[str, Any]] = []

    @callback
    def collect(event: Event) -> None:
        fired.append(dict(event.data))

    hass.bus.async_listen(EVENT_MESSAGE_STATUS, collect)
    return fired


@pytest.mark.parametrize("provider", [GatewayId.SMSC, GatewayId.STREAM])
async def test_queued_alert_goes_out_after_a_restart(
    hass: HomeAssistant, emulators: Any, provider: GatewayId
) -> None:
    emulator, entry, clock = await account_on_clock(hass, emulators, provider)
    emulator.inject(Fault.SERVER_ERROR_HTML, ACCOUNTS[provider].send_paths[0], times=100)

    response = await send(hass, entry, "Boiler failed")

    assert response["queued"] == 1
    assert response["accepted"] == 0
    assert response["recipients"][0]["queued"] is True
    # Why it waits: the HTTP status and what it means, the same on the sensor (written
    # once the caller has its answer).
    why = response["recipients"][0]["error"]
    assert why
    assert "Error" not in why
    await hass.async_block_till_done()
    last = hass.states.get(f"sensor.{ACCOUNTS[provider].slug}_last_message")
    assert (last.state, last.attributes["error"]) == ("waiting", why)
    assert last.attributes["alert_id"] == response["alert_id"]
    in_flight = hass.states.get(f"sensor.{ACCOUNTS[provider].slug}_messages_in_flight")
    assert (in_flight.state, in_flight.attributes["waiting"]) == ("1", 1)
    # Home Assistant stops while the gateway is down; it comes back with the gateway.
    assert await hass.config_entries.async_unload(entry.entry_id)
    emulator.faults.clear()
    fired = events(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    clock.attach(entry, emulator)
    assert entry.runtime_data.outbox.queued == 1
    # The answer was a 502 page: the gateway is asked (twice, a settle time apart)
    # before the alert goes again.
    await clock.tick(150, emulator)

    assert taken(emulator, "Boiler failed") == 1
    assert entry.runtime_data.outbox.queued == 0
    assert [(e["state"], e["queued"]) for e in fired if "queued" in e] == [("queued", True)]
    # Restarted again: nothing is sent twice.
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    clock.attach(entry, emulator)
    await clock.tick(60, emulator)
    assert taken(emulator, "Boiler failed") == 1


def stored_alert(
    hass_storage: dict[str, Any],
    entry: MockConfigEntry,
    text: str,
    options: SendOptions,
    phones: tuple[str, ...] = (IVAN,),
) -> QueuedAlert:
    """An alert whose request was under way when Home Assistant stopped."""
    now = dt_util.utcnow()
    alert = QueuedAlert(
        id=options.client_message_id or "rs-unsent",
        phones=list(phones),
        text=text,
        options=options_to_dict(options),
        deadline=now + timedelta(hours=1),
        created_at=now,
        next_attempt=now,
        attempts=1,
        in_flight=True,
    )
    stored_file(hass_storage, StoreKind.OUTBOX, entry, {"alerts": [alert.as_record()]})
    return alert


async def start_and_wait(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Any, seconds: float
) -> list[dict[str, Any]]:
    """Start Home Assistant's account on what was stored, let `seconds` pass: the events."""
    entry.add_to_hass(hass)
    fired = events(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    clock = Clock(hass)
    clock.attach(entry, emulator)
    await clock.tick(seconds, emulator)
    return fired


@pytest.mark.parametrize("went_out", [True, False])
async def test_alert_in_flight_at_a_restart_is_asked_about_first(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any], went_out: bool
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    options = SendOptions(sender="HomeAlert", client_message_id="rs0123456789abcdef01")
    if went_out:
        # The gateway took it just before Home Assistant stopped.
        emulator.messages.clear()
        emulator.messages[(999, IVAN)] = SentMessage(
            id=999,
            phone=IVAN,
            text="Door open",
            sender="HomeAlert",
            client_id=options.client_message_id,
            accepted_at=emulator.now(),
            goes_at=emulator.now(),
            segments=1,
            cost=emulator.price,
        )
    stored_alert(hass_storage, entry, "Door open", options)
    # Asked after SMSC.ru's settle time; a "not there" again half a minute later.
    fired = await start_and_wait(hass, entry, emulator, 60)

    assert taken(emulator, "Door open") == 1
    assert emulator.count("status.php") >= 1
    assert entry.runtime_data.outbox.queued == 0
    assert [e["state"] for e in fired if e.get("queued")] == ["queued"]


async def test_in_flight_at_a_restart_without_our_id_is_asked_about_by_the_report(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = make_entry(GatewayId.STREAM, emulator)
    stored_alert(hass_storage, entry, "Water leak", SendOptions(sender="ALERTS"))
    fired = await start_and_wait(hass, entry, emulator, 150)

    assert taken(emulator, "Water leak") == 1
    # Stream's detailed report shows nothing to the number since: no duplicate.
    assert emulator.count("all_stat.php") >= 2
    (event,) = [e for e in fired if e.get("queued")]
    assert event["possible_duplicate"] is False


async def test_queue_false_fails_at_once(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php", times=2)

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, "Smoke", queue=False)

    assert (
        err.value.translation_key == "may_have_been_sent"
    )  # a 5xx came after the request: it may have gone out
    assert entry.runtime_data.outbox.queued == 0


async def test_past_the_deadline_fails_with_the_reason(hass: HomeAssistant, emulators: Any) -> None:
    emulator, entry, clock = await account_on_clock(hass, emulators, GatewayId.SMSC)
    fired = events(hass)
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php", times=10_000)

    response = await send(hass, entry, "Frost", validity={"minutes": 2})
    assert response["queued"] == 1
    await clock.tick(180, emulator)
    emulator.faults.clear()
    await clock.tick(60, emulator)

    assert taken(emulator, "Frost") == 0
    (waiting, failed) = [e for e in fired if e.get("queued")]
    assert (waiting["state"], waiting["final"]) == ("waiting", False)
    assert failed["alert_id"] == waiting["alert_id"]
    assert failed["state"] == "failed"
    assert failed["final"] is True
    assert "502" in failed["error"]


async def test_a_second_alert_waits_for_no_one(hass: HomeAssistant, emulators: Any) -> None:
    """An alert whose first attempt meets a fault does not hold up the next one."""
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    # Issue 8: the client no longer repeats a send that got a 5xx answer (it may have
    # gone out), so one fault is the first alert's only attempt.
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php", times=1)

    first = await send(hass, entry, "First")
    second = await send(hass, entry, "Second")

    assert first["queued"] == 1
    assert second["accepted"] == 1
    assert isinstance(entry.runtime_data.outbox.alerts, dict)
    assert all(isinstance(a.deadline, datetime) for a in entry.runtime_data.outbox.alerts.values())


@pytest.mark.parametrize("fault", ["no_money", "wrong_credentials"])
async def test_failover_carries_what_the_account_cannot(
    hass: HomeAssistant, emulators: Any, fault: str
) -> None:
    emulator, entry, backup_emulator, backup = await primary_and_backup(hass, emulators)
    # The backup names this account as its own fallback: no loop for all that.
    hass.config_entries.async_update_entry(
        backup, options={**backup.options, "fallback_entry_id": entry.entry_id}
    )
    await hass.async_block_till_done()
    entry = hass.config_entries.async_get_entry(entry.entry_id)
    backup = hass.config_entries.async_get_entry(backup.entry_id)
    fired = events(hass)
    if fault == "no_money":
        emulator.inject(Fault.NO_MONEY, "send.php")
    else:
        emulator.password = "changed-pass"

    response = await send(hass, entry, "Fire alarm")
    await hass.async_block_till_done()

    assert response["accepted"] == 1
    assert response["account"] == backup.title
    assert taken(emulator, "Fire alarm") == 0
    assert taken(backup_emulator, "Fire alarm") == 1
    # The backup's default sender, not the primary's.
    (request,) = [r for r in backup_emulator.requests if r.path.endswith("SendSms/")]
    assert request.form["sourceAddress"] == ACCOUNTS[GatewayId.STREAM].sender
    (event,) = [e for e in fired if e["state"] == "queued"]
    assert event["account"] == backup.title

    # Both refuse: the caller hears it, and nothing loops.
    backup_emulator.inject(Fault.NO_MONEY, "SendSms/")
    emulator.inject(Fault.NO_MONEY, "send.php")
    emulator.password = ACCOUNTS[GatewayId.SMSC].credentials.password
    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, "Second alarm")
    assert err.value.translation_key == "gateway_insufficient_funds"
    assert taken(backup_emulator, "Second alarm") == 0
    assert len([r for r in backup_emulator.requests if r.path.endswith("SendSms/")]) == 2


async def test_failover_after_the_gateway_is_down_for_minutes(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator, entry, backup_emulator, _ = await primary_and_backup(hass, emulators)
    clock = Clock(hass)
    clock.attach(entry, emulator)
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php", times=10_000)

    response = await send(hass, entry, "Gas leak")
    assert response["queued"] == 1
    await clock.tick(60, emulator)
    assert taken(backup_emulator, "Gas leak") == 0
    await clock.tick(150, emulator)

    assert taken(backup_emulator, "Gas leak") == 1
    assert taken(emulator, "Gas leak") == 0
    assert entry.runtime_data.outbox.queued == 0


async def test_repair_issue_and_diagnostics_while_failing(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator, entry, clock = await account_on_clock(hass, emulators, GatewayId.SMSC)
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php", times=10_000)
    await send(hass, entry, "Heating off")
    registry = ir.async_get(hass)
    issue_id = f"outbox_failing_{entry.entry_id}"

    await clock.tick(5 * 60, emulator)
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    await clock.tick(6 * 60, emulator)

    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "outbox_failing"
    assert "502" in issue.translation_placeholders["error"]
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["outbox"]["queued"] == 1
    assert diagnostics["outbox"]["attempts"] >= 5

    emulator.faults.clear()
    await clock.tick(5 * 60, emulator)
    assert taken(emulator, "Heating off") == 1
    assert registry.async_get_issue(DOMAIN, issue_id) is None


async def test_options_offer_the_other_accounts_as_fallback(
    hass: HomeAssistant, emulators: Any
) -> None:
    primary = await setup_account(hass, GatewayId.SMSC, await emulators(GatewayId.SMSC))
    backup = await setup_account(hass, GatewayId.STREAM, await emulators(GatewayId.STREAM))

    result = await hass.config_entries.options.async_init(primary.entry_id)
    schema = result["data_schema"].schema
    field = next(key for key in schema if str(key) == "fallback_entry_id")
    # Every other account, never this one.
    assert [o["value"] for o in schema[field].config["options"]] == [backup.entry_id]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "transliterate": False,
            "balance_interval": 60,
            "low_balance_threshold": 0,
            "give_up_after": 30,
            "fallback_entry_id": backup.entry_id,
        },
    )
    await hass.async_block_till_done()

    primary = hass.config_entries.async_get_entry(primary.entry_id)
    assert primary.options["fallback_entry_id"] == backup.entry_id
    assert primary.runtime_data.outbox.give_up_after() == timedelta(minutes=30)


async def test_alert_and_acceptance_are_written_before_anything_else(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    outbox = entry.runtime_data.outbox
    heard: list[int] = []
    outbox.async_add_listener(lambda: heard.append(outbox.queued))
    tracked = entry.runtime_data.tracker.in_flight
    # (texts and in-flight marks written, sends the gateway had, messages tracked)
    written: list[tuple[list[tuple[str, bool]], int, int]] = []
    real_save = outbox.store._store.async_save

    async def save(data: dict[str, Any]) -> None:
        written.append(
            (
                [(a["text"], a["in_flight"]) for a in data["alerts"]],
                emulator.count("send.php"),
                entry.runtime_data.tracker.in_flight,
            )
        )
        await real_save(data)

    outbox.store._store.async_save = save  # type: ignore[method-assign]

    emulator.answer_delay = FIRST_WAIT * 10  # a gateway far away
    await send(hass, entry, "Boiler failed")
    await hass.async_block_till_done()
    # Written while its request was under way, before the gateway's answer was read (the
    # emulator had not even read the request); its acceptance before the tracker took it.
    assert written == [
        ([("Boiler failed", True)], 0, tracked),
        ([], 1, tracked),
    ]
    assert heard == []  # a first attempt taken at once is never shown queued
    await hass.async_block_till_done()
    assert hass_storage[store_key(StoreKind.OUTBOX, entry.entry_id)]["data"] == {"alerts": []}

    # Answered before its record was due to be written: the record came and went.
    emulator.answer_delay = 0
    await send(hass, entry, "Door open")
    await hass.async_block_till_done()
    assert written == [([("Boiler failed", True)], 0, tracked), ([], 1, tracked)]
    assert entry.runtime_data.tracker.in_flight == tracked + 2

    await send(hass, entry, "Window open")
    assert await hass.config_entries.async_unload(entry.entry_id)
    # Nothing left unwritten at unload.
    assert hass_storage[store_key(StoreKind.OUTBOX, entry.entry_id)]["data"] == {"alerts": []}
    assert taken(emulator, "Boiler failed") == taken(emulator, "Window open") == 1
    assert taken(emulator, "Door open") == 1
