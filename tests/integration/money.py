"""What the storm guard, spending and dry-run tests share: sends, events, a hand-moved clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant, callback
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.ru_sms.const import DOMAIN
from tests.conftest import IVAN
from tests.emulators.base import EmulatedGateway


async def send(hass: HomeAssistant, entry: MockConfigEntry, message: str, **data: Any) -> Any:
    """`ru_sms.send_message` to Ivan (unless `phones` says otherwise), with its response.

    What follows the answer (the day's counts, their issue and events) has run on return.
    """
    response = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"config_entry_id": entry.entry_id, "phones": [IVAN], "message": message, **data},
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done()
    return response


def collect(hass: HomeAssistant, event_type: str) -> list[dict[str, Any]]:
    """The data of every `event_type` fired from now on."""
    fired: list[dict[str, Any]] = []

    @callback
    def record(event: Event) -> None:
        fired.append(dict(event.data))

    hass.bus.async_listen(event_type, record)
    return fired


async def tick(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: EmulatedGateway,
    seconds: float,
    step: float = 30,
) -> None:
    """Let `seconds` pass for Home Assistant and the emulator alike, in steps."""
    left = seconds
    while left > 0:
        moved = min(step, left)
        left -= moved
        freezer.tick(timedelta(seconds=moved))
        emulator.advance(moved)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


def sent_texts(emulator: Any) -> list[str]:
    """The texts an emulator took, one per message to a number, in order."""
    if hasattr(emulator, "segments"):  # Stream, Devino: one entry per segment
        found: dict[tuple[str, float, str], str] = {}
        for segment in emulator.segments.values():
            found.setdefault((segment.phone, segment.created, segment.text), segment.text)
        return list(found.values())
    messages = emulator.messages
    items = messages.values() if isinstance(messages, dict) else messages
    return [m.text for m in items if not getattr(m, "hlr", False)]
