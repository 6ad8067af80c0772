"""What an account keeps in Home Assistant's storage: one file per service, one rule for times.

The delivery tracker, the outbox and the inbox each keep a file of their own per account
(`ru_sms.<kind>.<entry id>`), removed together with the account. Times in them carry their
zone: every comparison is made in UTC, and a time without one cannot be placed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN


class StoreKind(StrEnum):
    """The files an account keeps."""

    TRACKER = "tracker"
    """Delivery records."""
    OUTBOX = "outbox"
    """Alerts waiting for another attempt."""
    INCOMING = "incoming"
    """Incoming SMS reported (so that none is reported twice)."""
    GUARD = "guard"
    """The storm guard's counts and the alerts it holds."""
    SPENDING = "spending"
    """The day's parts and money spent, and the price per part last told."""


def store_key(kind: StoreKind, entry_id: str) -> str:
    """The storage key of an account's file of `kind`."""
    return f"{DOMAIN}.{kind}.{entry_id}"


def account_store(
    hass: HomeAssistant, kind: StoreKind, entry_id: str, version: int
) -> Store[dict[str, Any]]:
    """The account's file of `kind`, at `version`."""
    return Store(hass, version, store_key(kind, entry_id))


async def async_remove_stores(hass: HomeAssistant, entry_id: str) -> None:
    """Forget every file a removed account kept."""
    for kind in StoreKind:
        await account_store(hass, kind, entry_id, 1).async_remove()


class ThrottledSave:
    """Writes an account's file within `delay` seconds of a change, however often it changes.

    Not Home Assistant's delayed save alone, which each change puts off again: a flood of
    alerts would keep the counts from the disk for as long as it lasts. One write is
    planned at a time; `async_now` writes at once (and stands for the planned one).
    """

    def __init__(
        self, store: Store[dict[str, Any]], data: Callable[[], dict[str, Any]], delay: float
    ) -> None:
        """Write what `data` returns to `store`."""
        self._store = store
        self._data = data
        self._delay = delay
        self._planned = False
        self.stopped = False
        """Unloaded: nothing more is written (the unload wrote the last)."""

    def schedule(self) -> None:
        """Write within the delay, unless a write is planned already."""
        if self._planned or self.stopped:
            return
        self._planned = True
        self._store.async_delay_save(self._planned_data, self._delay)

    async def async_now(self) -> None:
        """Write now (a planned write is taken over by this one)."""
        if not self.stopped:
            self._planned = False
            await self._store.async_save(self._data())

    def _planned_data(self) -> dict[str, Any]:
        self._planned = False
        return self._data()


def read_time(value: Any) -> datetime:
    """A stored ISO time with its zone; `TypeError` or `ValueError` when it is not one."""
    if not isinstance(value, str):
        raise TypeError("not a time")
    moment = dt_util.parse_datetime(value)
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"not a time: {value}")
    return moment


def parse_time(value: Any) -> datetime | None:
    """A stored ISO time with its zone; None when it is missing or unreadable."""
    try:
        return read_time(value)
    except TypeError, ValueError:
        return None
