"""An outbox at the ends of its account's life: opened, an account that cannot load, removed.

- An account that loads gets the outbox its last load handed over (a reload keeps the
  outbox itself: its alerts, its file, what follows its sends, a request still under
  way), or one read from its file.
- An account that fails to load (for anything but its gateway, which never stops it):
  when alerts wait in its outbox, a repair issue says so until it loads.
- An account removed: its queued alerts go to its fallback account, or each fails with a
  `ru_sms_message_status` event; the log says which.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import replace
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from ..providers import DeliveryState, SmsGatewayError
from ..signals import async_fire_message_status
from .outbox import HANDOFFS, Outbox
from .reports import cannot_load_issue, status_event
from .store import OutboxStore

_LOGGER = logging.getLogger(__name__)

REMOVAL_WAIT = 60.0
"""Seconds a removal waits for the requests still under way (each has its own timeout)."""
REMOVED = "the account was removed"


async def async_open_outbox(outbox: Outbox) -> Outbox:
    """The account's outbox: `outbox`, read from its file, or the one of the last load.

    A reload keeps the outbox the last load handed over, with `outbox`'s gateway,
    tracker, balance and fallback (`Outbox.resume`).
    """
    previous = outbox.hass.data.get(HANDOFFS, {}).pop(outbox.entry.entry_id, None)
    if previous is not None:
        previous.resume(outbox)
        return previous
    await outbox.async_load()
    return outbox


async def async_remove_outbox(
    hass: HomeAssistant, entry_id: str, account: str, fallback: Outbox | None
) -> None:
    """A removed account: its queued alerts go to `fallback`, or each fails; said in the log.

    Requests still under way end first (a removal follows an unload at once).
    """
    outbox = hass.data.get(HANDOFFS, {}).pop(entry_id, None)
    if outbox is not None:
        with suppress(TimeoutError):
            async with asyncio.timeout(REMOVAL_WAIT):
                await outbox.async_requests_ended()
        await outbox.after.async_drain()
        alerts = list(outbox.alerts.values())
    else:
        alerts, _, _ = await OutboxStore(hass, entry_id).async_load()
    handed = 0
    for alert in alerts:
        if fallback is not None:
            try:
                await fallback.async_take_over(replace(alert, in_flight=False))
            except SmsGatewayError as err:
                _LOGGER.warning(
                    "%s: %s refused a queued alert: %s", account, fallback.entry.title, err
                )
            else:
                handed += 1
                continue
        for phone in alert.phones:
            failed = DeliveryState.FAILED
            data = status_event(entry_id, account, alert, phone, state=failed, reason=REMOVED)
            async_fire_message_status(hass, entry_id, data)
    if alerts:
        _LOGGER.warning(
            "%s was removed with %d queued alert(s): %d handed to %s, %d failed",
            account,
            len(alerts),
            handed,
            fallback.entry.title if fallback is not None else "no fallback account",
            len(alerts) - handed,
        )


async def async_outbox_cannot_load(
    hass: HomeAssistant, entry: ConfigEntry, err: BaseException
) -> None:
    """An account failed to load: when alerts wait in its outbox, a repair issue says so.

    The file is only counted here (a damaged one is dealt with when the account loads).
    """
    previous = hass.data.get(HANDOFFS, {}).get(entry.entry_id)
    if previous is not None:
        waiting = len(previous.alerts)
    else:
        try:
            waiting = await OutboxStore(hass, entry.entry_id).async_count()
        except Exception:  # noqa: BLE001 - the account's own error is the one raised
            waiting = 0
    if waiting:
        cannot_load_issue(hass, entry.entry_id).show(
            account=entry.title, queued=str(waiting), error=str(err) or type(err).__name__
        )
