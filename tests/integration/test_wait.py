"""`send_message`'s `wait_for_delivery`, against the emulated gateways on a hand-moved clock.

The action returns once every number's message is final (or the wait runs out, or the
account unloads) with each number's state in `delivery`; waiting costs no request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest

from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.providers.models import DeliveryState, DeliveryStatus, GatewayId
from tests.conftest import IVAN
from tests.emulators.restapi import Outcome
from tests.integration.test_tracker import (
    FAILURES,
    OTHER,
    STATUS_PATH,
    account,
    freezer,  # noqa: F401 (the frozen clock without the emulators' access log)
    list_requests,
    asked_ids,
    never_delivered,
    tick,
    tracker_of,
)

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
    """`ru_sms.send_message` with `wait_for_delivery`, under way (not a task of Home
    Assistant's: `tick` waits for those, and this one waits for the clock)."""
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
    """Let the action send and the tracker take its `count` messages (no clock moves)."""
    for _ in range(2000):
        await hass.async_block_till_done()
        if tracker_of(entry).in_flight >= count or task.done():
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
