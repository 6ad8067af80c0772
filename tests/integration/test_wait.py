"""`send_message`'s `wait_for_delivery`, against the emulated gateways on a hand-moved clock.

The action returns once every number's message is final (or the wait runs out, or the
account unloads) with each number's state in `delivery`; waiting costs no request.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest

from custom_components.ru_sms.const import CONF_WEBHOOK_SECRET, DOMAIN
from custom_components.ru_sms.providers.models import GatewayId
from tests.conftest import IVAN
from tests.emulators.base import Fault
from tests.emulators.catalog import ACCOUNTS
from tests.emulators.restapi import Outcome
from tests.integration.test_tracker import (
    FAILURES,
    OTHER,
    account,
    asked_ids,
    list_requests,
    never_delivered,
    send,
    tick,
    tracker_of,
)
from tests.integration.test_webhook import post, signed, status_payload

THIRD = "79037654321"
"""A number whose message expires at the gateway."""
EXPIRES = {
    GatewayId.SMSC: (3, "Expired"),
    GatewayId.SMSTELE: ("EXPIRED", "EXPIRED"),
    GatewayId.STREAM: (Outcome.EXPIRED, "Expired"),
    GatewayId.DEVINO: (Outcome.EXPIRED, "Expired"),
}
"""How the emulator is told a number expires, and the raw text reported."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


def start_wait(
    hass: HomeAssistant,
    entry: Any,
    wait: str | None = "00:10:00",
    *,
    phones: list[str] | None = None,
    recipient: bool = True,
    message: str = "Котёл: авария",
    **fields: Any,
) -> asyncio.Task[Any]:
    """`ru_sms.send_message` with `wait_for_delivery`, under way.

    Not a task of Home Assistant's: `tick` waits for those, and this one waits for the clock.
    """
    data: dict[str, Any] = {"config_entry_id": entry.entry_id, "message": message, **fields}
    if wait is not None:
        data["wait_for_delivery"] = wait
    if recipient:
        data["entity_id"] = "notify.ivan"
    if phones:
        data["phones"] = phones
    return asyncio.create_task(
        hass.services.async_call(DOMAIN, "send_message", data, blocking=True, return_response=True)
    )


async def until_sent(hass: HomeAssistant, task: asyncio.Task[Any], entry: Any, count: int) -> None:
    """Let the action send and the tracker take its `count` messages (no clock moves).

    Counted in turns of the loop (`freezer` holds the loop's clock too): a thousand new
    numbers checked in a worker thread took up to 7,700 turns here (2,000 were too few).
    """
    for _ in range(50_000):
        await hass.async_block_till_done()
        if tracker_of(entry).in_flight >= count:
            return
        if task.done():
            # What follows the answer starts at the loop's next turn.
            await asyncio.sleep(0)
            await hass.async_block_till_done()
            return
        await asyncio.sleep(0)
    pytest.fail("the send did not happen")


def by_phone(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["phone"]: item for item in response["delivery"]}


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_wait_returns_each_final_state(
    hass: HomeAssistant, emulators: Any, freezer: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    failing, (raw_code, raw_text, error_code) = FAILURES[provider]
    expiring, expired_text = EXPIRES[provider]
    emulator.outcomes[OTHER] = failing
    emulator.outcomes[THIRD] = expiring
    entry = await account(hass, provider, emulator)
    task = start_wait(hass, entry, phones=[OTHER, THIRD])
    await until_sent(hass, task, entry, 3)
    assert not task.done()

    await tick(hass, freezer, 200)
    # Final at the tracker's own polls, long before the ten minutes.
    assert task.done()
    response = task.result()
    delivery = by_phone(response)
    assert delivery[IVAN]["state"] == "delivered"
    assert delivery[IVAN]["final"] is True
    assert delivery[IVAN]["error"] is None
    ids = {r["phone"]: r["message_ids"][0] for r in response["recipients"]}
    assert {phone: item["message_id"] for phone, item in delivery.items()} == ids
    assert delivery[OTHER]["state"] == "failed"
    assert (delivery[OTHER]["raw_code"], delivery[OTHER]["error_code"]) == (raw_code, error_code)
    assert delivery[OTHER]["error"] == raw_text  # the gateway's reason
    assert delivery[THIRD]["state"] == "expired"
    assert delivery[THIRD]["raw_text"] == expired_text
    assert len(response["delivery"]) == 3
    assert tracker_of(entry).in_flight == 0
    assert not tracker_of(entry)._waiters


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_wait_runs_out_pending(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    provider: GatewayId,
) -> None:
    emulator = await emulators(provider)
    never_delivered(monkeypatch, emulator, provider, "sent")
    entry = await account(hass, provider, emulator)
    task = start_wait(hass, entry, "00:02:00")
    await until_sent(hass, task, entry, 1)
    await tick(hass, freezer, 115)
    assert not task.done()
    await tick(hass, freezer, 10)

    assert task.done()
    (item,) = task.result()["delivery"]
    assert item == {
        "phone": IVAN,
        "state": "pending",
        "final": False,
        "message_id": task.result()["recipients"][0]["message_ids"][0],
        "last_state": "sent",
        "error": None,
        "error_code": None,
        "raw_code": item["raw_code"],
        "raw_text": item["raw_text"],
    }
    # The alert goes on being followed.
    assert tracker_of(entry).in_flight == 1
    assert not tracker_of(entry)._waiters


async def test_wait_ends_at_the_smsc_callback_without_a_request(
    hass: HomeAssistant, emulators: Any, freezer: Any, hass_client_no_auth: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.final_seconds = 1000
    entry = await account(hass, GatewayId.SMSC, emulator, options={"callbacks": True})
    task = start_wait(hass, entry, phones=[OTHER])
    await until_sent(hass, task, entry, 2)
    await tick(hass, freezer, 30)
    ids = {m.phone: m.message_id for m in tracker_of(entry).messages.values()}
    secret = entry.data[CONF_WEBHOOK_SECRET]

    delivered = status_payload(ids[IVAN], 1)
    assert (await post(hass_client_no_auth, entry, signed(delivered, secret)))[0] == 200
    await hass.async_block_till_done()
    assert not task.done()  # one number is final, the other is not yet
    failed = status_payload(ids[OTHER], 20, phone=OTHER, err=255)
    assert (await post(hass_client_no_auth, entry, signed(failed, secret)))[0] == 200
    await hass.async_block_till_done()
    await asyncio.sleep(0)

    assert task.done()
    delivery = by_phone(task.result())
    assert (delivery[IVAN]["state"], delivery[IVAN]["raw_code"]) == ("delivered", "1")
    assert (delivery[OTHER]["state"], delivery[OTHER]["error_code"]) == ("failed", "255")
    assert delivery[OTHER]["error"]
    # The callbacks answered: the gateway was asked nothing (its first list is at 15 min).
    assert list_requests(emulator) == []


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"wait_for_delivery": "00:30:01"}, "wait_out_of_range"),
        ({"wait_for_delivery": {"hours": 1}}, "wait_out_of_range"),
        ({"wait_for_delivery": "00:00:00"}, "wait_out_of_range"),
        ({"wait_for_delivery": "00:05:00", "dry_run": True}, "wait_with_dry_run"),
        (
            {"wait_for_delivery": "00:05:00", "send_at": "2099-01-01T10:00:00+03:00"},
            "wait_with_send_at",
        ),
    ],
)
async def test_wait_that_cannot_be_is_refused(
    hass: HomeAssistant, emulators: Any, fields: dict[str, Any], key: str
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await account(hass, GatewayId.SMSC, emulator)
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"config_entry_id": entry.entry_id, "entity_id": "notify.ivan", "message": "Тест"}
            | fields,
            blocking=True,
            return_response=True,
        )
    assert caught.value.translation_key == key
    assert caught.value.translation_domain == DOMAIN
    assert str(caught.value) != key  # translated
    assert emulator.count(ACCOUNTS[GatewayId.SMSC].send_paths[0]) == 0


async def test_wait_without_a_response_is_refused(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await account(hass, GatewayId.SMSC, emulator)
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {
                "config_entry_id": entry.entry_id,
                "entity_id": "notify.ivan",
                "message": "Тест",
                "wait_for_delivery": "00:05:00",
            },
            blocking=True,
        )
    assert caught.value.translation_key == "wait_without_response"
    assert "response" in str(caught.value)
    assert emulator.count(ACCOUNTS[GatewayId.SMSC].send_paths[0]) == 0


async def test_wait_answers_at_once_for_a_send_the_outbox_queued(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await account(hass, GatewayId.SMSC, emulator)
    emulator.inject(Fault.SERVER_ERROR_HTML, ACCOUNTS[GatewayId.SMSC].send_paths[0], times=100)
    response = await start_wait(hass, entry, "00:30:00")

    assert response["queued"] == 1
    (item,) = response["delivery"]
    assert (item["phone"], item["state"], item["final"]) == (IVAN, "waiting", False)
    assert item["error"]  # why it waits
    assert not tracker_of(entry)._waiters


async def test_wait_answers_at_once_for_numbers_the_guard_merged_or_held(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await account(hass, GatewayId.SMSC, emulator, options={"burst_limit": 1})
    await send(hass, entry, "Котёл: авария")

    repeat = await start_wait(hass, entry, "00:30:00", message="Котёл: авария")
    (merged,) = repeat["delivery"]
    assert (merged["phone"], merged["state"], merged["final"]) == (IVAN, "merged", False)
    assert merged["error"] == "repeat"
    burst = await start_wait(hass, entry, "00:30:00", message="Котёл: пожар")
    (held,) = burst["delivery"]
    assert (held["phone"], held["state"], held["final"]) == (IVAN, "held", False)
    assert held["error"] == "burst"
    assert not tracker_of(entry)._waiters


@pytest.mark.parametrize("how", ["reload", "unload"])
async def test_unload_ends_the_wait_pending(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    *,
    how: str,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    never_delivered(monkeypatch, emulator, GatewayId.STREAM, "sent")
    entry = await account(hass, GatewayId.STREAM, emulator)
    task = start_wait(hass, entry, "00:30:00")
    await until_sent(hass, task, entry, 1)
    await tick(hass, freezer, 20)
    tracker = tracker_of(entry)
    assert not task.done()

    if how == "reload":
        assert await hass.config_entries.async_reload(entry.entry_id)
    else:
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await asyncio.sleep(0)

    assert task.done()
    (item,) = task.result()["delivery"]
    assert (item["state"], item["last_state"]) == ("pending", "sent")
    assert not tracker._waiters
    assert "Traceback" not in caplog.text
    if how == "reload":
        # The alert goes on with the new load's tracker.
        assert entry.state is ConfigEntryState.LOADED
        assert tracker_of(entry).in_flight == 1


BULK = 1000


@pytest.mark.parametrize("waiting", [False, True], ids=["no_waiter", "one_waiter"])
async def test_a_waiter_adds_no_request_to_a_poll_of_a_thousand(
    hass: HomeAssistant, emulators: Any, freezer: Any, waiting: bool
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.balance = type(emulator.balance)(10**6)
    emulator.final_seconds = 600
    entry = await account(hass, GatewayId.SMSC, emulator)
    numbers = [f"+7916{n:07d}" for n in range(BULK - 1)]
    start = time.time()
    task = start_wait(hass, entry, "00:30:00" if waiting else None, phones=numbers)
    await until_sent(hass, task, entry, BULK)
    assert tracker_of(entry).in_flight == BULK
    assert bool(tracker_of(entry)._waiters) is waiting

    await tick(hass, freezer, 1200, step=15)
    assert task.done()
    response = task.result()
    requests = list_requests(emulator)
    # Five list polls about all thousand, the same with a waiter as without one.
    assert [round(r.at - start) for r in requests] == [15, 75, 195, 495, 1095]
    assert all(len(asked_ids(r)) == BULK for r in requests)
    assert len(emulator.requests) == 1 + len(requests)  # the send, the polls: nothing else
    if waiting:
        assert len(response["delivery"]) == BULK
        assert {item["state"] for item in response["delivery"]} == {"delivered"}
    else:
        assert "delivery" not in response
    assert tracker_of(entry).in_flight == 0


async def test_wait_follows_an_alert_the_fallback_account_carried(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    backup_emulator = await emulators(GatewayId.STREAM)
    backup = await account(hass, GatewayId.STREAM, backup_emulator)
    emulator = await emulators(GatewayId.SMSC)
    entry = await account(
        hass, GatewayId.SMSC, emulator, options={"fallback_entry_id": backup.entry_id}
    )
    emulator.inject(Fault.NO_MONEY, ACCOUNTS[GatewayId.SMSC].send_paths[0])
    task = start_wait(hass, entry, phones=[IVAN], recipient=False)
    await until_sent(hass, task, backup, 1)
    await tick(hass, freezer, 100)

    assert task.done()
    response = task.result()
    assert response["account"] == backup.title
    (item,) = response["delivery"]
    assert (item["phone"], item["state"]) == (IVAN, "delivered")
    assert tracker_of(entry).in_flight == 0
    assert not tracker_of(backup)._waiters


async def test_stop_ends_the_wait_pending(
    hass: HomeAssistant, emulators: Any, freezer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = await emulators(GatewayId.SMSTELE)
    never_delivered(monkeypatch, emulator, GatewayId.SMSTELE, "sent")
    entry = await account(hass, GatewayId.SMSTELE, emulator)
    task = start_wait(hass, entry, "00:30:00")
    await until_sent(hass, task, entry, 1)
    await tick(hass, freezer, 20)
    assert not task.done()

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    await asyncio.sleep(0)

    assert task.done()
    (item,) = task.result()["delivery"]
    assert (item["state"], item["last_state"]) == ("pending", "sent")
    assert tracker_of(entry).in_flight == 1  # followed again after the start


async def test_a_refused_number_is_rejected_the_others_waited_for(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.undeliverable_numbers = {OTHER}
    entry = await account(hass, GatewayId.SMSC, emulator)
    task = start_wait(hass, entry, phones=[OTHER])
    await until_sent(hass, task, entry, 1)
    assert not task.done()  # Ivan's message is in flight
    await tick(hass, freezer, 20)

    assert task.done()
    delivery = by_phone(task.result())
    assert (delivery[IVAN]["state"], delivery[IVAN]["final"]) == ("delivered", True)
    assert (delivery[OTHER]["state"], delivery[OTHER]["final"]) == ("rejected", True)
    assert delivery[OTHER]["message_id"] is None
