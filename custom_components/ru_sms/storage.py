"""What an account keeps in Home Assistant's storage: one file per service, one rule for times.

The delivery tracker, the outbox, the inbox and the request budget each keep a file of their own per account
(`ru_sms.<kind>.<entry id>`), removed together with the account. Times in them carry their
zone: every comparison is made in UTC, and a time without one cannot be placed.

A damaged file never costs the account: `async_read` answers no data for a file that
cannot be read at all (it is moved aside under a dated name), and `async_keep_aside`
copies a file whose records could be read only in part before the readable ones are
written back. Either way a `Damage` says what was lost, for a repair issue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import glob
import logging
import os
import shutil
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)


class StoreKind(StrEnum):
    """The files an account keeps."""

    TRACKER = "tracker"
    """Delivery records."""
    OUTBOX = "outbox"
    """Alerts waiting for another attempt."""
    INCOMING = "incoming"
    """Incoming SMS reported (so that none is reported twice)."""
    BUDGET = "budget"
    """The requests the gateway still counts in its rate windows."""
    GUARD = "guard"
    """The storm guard's counts and the alerts it holds."""
    SPENDING = "spending"
    """The day's parts and money spent, and the price per part last told."""
    ESCALATIONS = "escalations"
    """The alerts that escalate when not delivered or acknowledged in time, and their steps."""


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


@dataclass(frozen=True, slots=True)
class Damage:
    """What could not be read of an account's file."""

    kind: StoreKind
    lost: int | None
    """Records that could not be read (None: the whole file)."""
    kept_as: str | None
    """Where the file as it was is kept (None: there was no file on disk to keep)."""
    error: str
    """Why, in a few words (for the log and the repair issue)."""


async def async_read(
    hass: HomeAssistant, store: Store[Any], kind: StoreKind
) -> tuple[Any, Damage | None]:
    """What `store` holds (None: nothing), and the damage when it could not be read.

    A file that cannot be read at all (broken JSON, a version this code does not know,
    a migration that fails on what it finds) is moved aside under a dated name; Home
    Assistant itself moves a file of broken JSON aside (`.corrupt.<time>`), which is
    found and named.
    """
    started = dt_util.utcnow()
    try:
        data = await store.async_load()
    except Exception as err:  # noqa: BLE001 - whatever the file holds, the account loads
        kept = await async_keep_aside(hass, store, move=True)
        _LOGGER.error("Cannot read %s (kept as %s): %s", store.key, kept or "-", err)
        return None, Damage(kind, None, kept, str(err) or type(err).__name__)
    if data is not None:
        return data, None
    corrupt = await hass.async_add_executor_job(_moved_by_home_assistant, store.path, started)
    if corrupt is None:
        return None, None
    return None, Damage(kind, None, corrupt, "not JSON")


def _moved_by_home_assistant(path: str, since: datetime) -> str | None:
    """The file Home Assistant moved aside as corrupt while it was loaded, if any."""
    for candidate in sorted(glob.glob(glob.escape(path) + ".corrupt.*"), reverse=True):
        moment = dt_util.parse_datetime(candidate.rpartition(".corrupt.")[2])
        if moment is not None and moment >= since.replace(microsecond=0):
            return candidate
    return None


async def async_keep_aside(
    hass: HomeAssistant, store: Store[Any], *, move: bool = False
) -> str | None:
    """Keep the file of `store` as it is now under a dated name (moved, or copied).

    None when there is no file on disk (nothing was ever written, or tests keep storage
    in memory).
    """
    stamp = dt_util.utcnow().strftime("%Y%m%dT%H%M%S")
    return await hass.async_add_executor_job(_keep_aside, store.path, stamp, move)


def _keep_aside(path: str, stamp: str, move: bool) -> str | None:
    if not os.path.exists(path):
        return None
    target = f"{path}.damaged.{stamp}"
    if move:
        os.replace(path, target)
    else:
        shutil.copy2(path, target)
    return target


class ThrottledSave:
    """Writes an account's file within `delay` seconds of a change, however often it changes.

    Not Home Assistant's delayed save alone, which each change puts off again: a flood of
    alerts would keep the counts from the disk for as long as it lasts. One write is
    planned at a time; `async_now` writes at once (and stands for the planned one).

    Callers of `async_now` that come while a write runs share the next one: a storm of a
    thousand held alerts is a few writes of the whole file, not a thousand.
    """

    def __init__(
        self, store: Store[dict[str, Any]], data: Callable[[], dict[str, Any]], delay: float
    ) -> None:
        """Write what `data` returns to `store`."""
        self._store = store
        self._data = data
        self._delay = delay
        self._planned = False
        self._changes = 0
        """Changes asked to be written now, counted."""
        self._written = 0
        """The count the last write of `async_now` took in."""
        self._writing = asyncio.Lock()
        self.stopped = False
        """Unloaded: nothing more is written (the unload wrote the last)."""

    def schedule(self) -> None:
        """Write within the delay, unless a write is planned already."""
        if self._planned or self.stopped:
            return
        self._planned = True
        self._store.async_delay_save(self._planned_data, self._delay)

    async def async_now(self) -> None:
        """Write now, or with the write that follows the one under way; return when written.

        A planned write is taken over by this one.
        """
        if self.stopped:
            return
        self._changes += 1
        mine = self._changes
        async with self._writing:
            if self._written >= mine or self.stopped:
                return  # a write that began after this change took it in
            self._planned = False
            self._written = self._changes
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
