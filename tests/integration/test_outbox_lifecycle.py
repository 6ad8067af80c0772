"""No alert lost to the account's lifecycle.

A reload, a gateway down at start-up, a removal, an account that cannot load; and what
the gateway counts (or what we saw) kept across reloads.
"""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.ru_sms.const import CONF_WEBHOOK_SECRET, DOMAIN
from custom_components.ru_sms.providers import MessageRef, SendOptions
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.storage import StoreKind, store_key
from tests.conftest import IVAN, make_entry, setup_account
from tests.emulators.base import Fault
from tests.emulators.catalog import ACCOUNTS
from tests.integration.clock import Clock
from tests.integration.test_outbox import (
    account_on_clock,
    events,
    primary_and_backup,
    send,
    stored_alert,
    taken,
)
from tests.integration.test_webhook import (
    INCOMING_EVENT,
    incoming_payload,
    post,
    signed,
    smsc_account,
)

MANY = 10_000


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


@pytest.fixture(autouse=True)
def fast_client(no_client_retry_delay: None) -> None:
    """A read the client repeats goes at once."""


async def reload(hass: HomeAssistant, entry: MockConfigEntry, clock: Clock, emulator: Any) -> None:
    """An options change: the account starts anew (and its new gateway joins the clock)."""
    hass.config_entries.async_update_entry(entry, options={**entry.options, "transliterate": True})
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    clock.attach(entry, emulator)


@pytest.mark.parametrize("provider", [GatewayId.SMSC, GatewayId.STREAM])
async def test_a_reload_loses_nothing_queued_or_under_way(
    hass: HomeAssistant, emulators: Any, provider: GatewayId
) -> None:
    """Three queued alerts, a first attempt and a retry under way: each arrives once."""
    emulator, entry, clock = await account_on_clock(hass, emulators, provider)
    path = ACCOUNTS[provider].send_paths[0]
    emulator.inject(Fault.SERVER_ERROR_HTML, path, times=4)
    for n in range(4):
        assert (await send(hass, entry, f"Queued {n}"))["queued"] == 1
    # A first attempt whose answer never comes while the account reloads (taken).
    entry.runtime_data.gateway._timeout = 0.5
    emulator.inject(Fault.TIMEOUT_AFTER, path)
    first = asyncio.create_task(send(hass, entry, "Under way"))
    await asyncio.sleep(0.1)
    # And the round of "Queued 3" hangs too (not taken) when the reload cuts it.
    emulator.inject(Fault.TIMEOUT_BEFORE, path)
    entry.runtime_data.outbox.alerts[
        next(a.id for a in entry.runtime_data.outbox.alerts.values() if a.text == "Queued 3")
    ].next_attempt = clock.now
    await clock.step(0)
    await reload(hass, entry, clock, emulator)
    assert (await first)["queued"] == 1  # the caller heard: queued, in doubt

    await clock.tick(300, emulator)

    for text in ("Queued 0", "Queued 1", "Queued 2", "Queued 3", "Under way"):
        assert taken(emulator, text) == 1, text
    assert entry.runtime_data.outbox.queued == 0


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_a_gateway_down_at_start_up_still_takes_alerts(
    hass: HomeAssistant, start_emulator: Any, provider: GatewayId
) -> None:
    emulator = await start_emulator(provider)
    emulator.inject(Fault.SERVER_ERROR_HTML, times=MANY)
    entry = await setup_account(hass, provider, emulator)
    clock = Clock(hass)
    clock.attach(entry, emulator)
    balance = hass.states.get(f"sensor.{ACCOUNTS[provider].slug}_balance")
    assert balance is None or balance.state == STATE_UNAVAILABLE

    response = await send(hass, entry, "Boiler failed")
    assert response["queued"] == 1
    await clock.tick(60, emulator)
    emulator.faults.clear()
    await clock.tick(300, emulator)

    assert taken(emulator, "Boiler failed") == 1
    assert entry.runtime_data.outbox.queued == 0
    balance = hass.states.get(f"sensor.{ACCOUNTS[provider].slug}_balance")
    assert balance is None or balance.state != STATE_UNAVAILABLE


async def queue_two(hass: HomeAssistant, entry: MockConfigEntry, emulator: Any) -> None:
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php", times=MANY)
    for text in ("Smoke", "Frost"):
        assert (await send(hass, entry, text))["queued"] == 1


async def test_removal_hands_the_queue_to_the_fallback_account(
    hass: HomeAssistant, emulators: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator, entry, backup_emulator, _ = await primary_and_backup(hass, emulators)
    await queue_two(hass, entry, emulator)

    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    assert taken(backup_emulator, "Smoke") == taken(backup_emulator, "Frost") == 1
    assert taken(emulator, "Smoke") == 0
    assert "2 queued alert(s): 2 handed to" in caplog.text


async def test_removal_without_a_fallback_fails_each_alert_and_says_so(
    hass: HomeAssistant,
    emulators: Any,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    await queue_two(hass, entry, emulator)
    fired = events(hass)

    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    failed = [e for e in fired if e["state"] == "failed"]
    assert sorted(e["alert_id"] for e in failed) == sorted(
        {e["alert_id"] for e in failed}
    )  # one per alert (one number each)
    assert len(failed) == 2
    assert all(e["error"] == "the account was removed" and e["final"] for e in failed)
    assert "2 queued alert(s): 0 handed to no fallback account, 2 failed" in caplog.text
    assert store_key(StoreKind.OUTBOX, entry.entry_id) not in hass_storage


async def test_an_account_that_cannot_load_says_its_alerts_wait(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    stored_alert(
        hass_storage,
        entry,
        "Gas leak",
        SendOptions(sender="HomeAlert", client_message_id="rs0123456789abcdef03"),
    )
    entry.add_to_hass(hass)
    issue_id = f"outbox_cannot_load_{entry.entry_id}"
    with patch(
        "custom_components.ru_sms.account.MessageTracker.async_load",
        side_effect=OSError("disk full"),
    ):
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders["queued"] == "1"
    assert "disk full" in issue.translation_placeholders["error"]

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    clock = Clock(hass)
    clock.attach(entry, emulator)
    await clock.tick(60, emulator)

    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert taken(emulator, "Gas leak") == 1


async def test_the_gateways_windows_are_kept_across_a_reload(
    hass: HomeAssistant, emulators: Any
) -> None:
    """SMSC.ru counts one status list a minute whatever happens to Home Assistant."""
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    refs = [MessageRef("1", IVAN), MessageRef("2", IVAN)]
    await entry.runtime_data.gateway.delivery_status(refs)  # a list: counted for a minute
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    budget = entry.runtime_data.gateway.budget

    asked = asyncio.create_task(entry.runtime_data.gateway.delivery_status(refs))
    await asyncio.sleep(0.2)
    # The minute is not over: the next list waits (real time, not worth waiting for).
    assert budget._waiting == 1
    assert emulator.count("status.php") == 1
    asked.cancel()
    # `emulators` checks at teardown that no limit was broken.


async def test_a_replayed_sms_is_still_known_after_a_reload(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    _, entry = await smsc_account(hass, emulators)
    fired = async_capture_events(hass, INCOMING_EVENT)
    payload = signed(incoming_payload(), entry.data[CONF_WEBHOOK_SECRET])
    assert await post(hass_client_no_auth, entry, payload) == (200, "OK")

    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    # The same signed SMS with another (unsigned) id, as a replay would send it.
    replay = signed(
        incoming_payload(id="9001", sms_id="9002", time=1, sent=0),
        entry.data[CONF_WEBHOOK_SECRET],
    )
    assert await post(hass_client_no_auth, entry, replay) == (200, "OK")
    await hass.async_block_till_done()

    assert len(fired) == 1
