"""What the gateway counts across our restarts: the request budget's windows, kept on file.

SMSC.ru counts its limits (one status list a minute, five status requests per message a
minute, one identical send a minute) whatever happens to Home Assistant: after a restart
or a reload the budget starts from what it had counted, not from empty windows. The
windows are written a few seconds after a counted request, at unload and at shutdown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .providers.budget import RequestBudget
from .storage import StoreKind, account_store, async_read

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
SAVE_DELAY = 5.0
"""Seconds to gather counted requests before they are written (and at shutdown)."""


class BudgetWindows:
    """Keeps an account's request budget's windows across restarts and reloads."""

    def __init__(self, hass: HomeAssistant, entry_id: str, budget: RequestBudget) -> None:
        """The windows of the account `entry_id`'s `budget`."""
        self.budget = budget
        self._store = account_store(hass, StoreKind.BUDGET, entry_id, STORAGE_VERSION)
        self.hass = hass
        self.now: Callable[[], datetime] = dt_util.utcnow
        """The wall clock the budget's times are matched with (tests move their own)."""

    async def async_load(self) -> None:
        """Count again what was counted before; keep counting from now on."""
        data, damage = await async_read(self.hass, self._store, StoreKind.BUDGET)
        if damage is not None:
            # Lost windows only risk one refused request: nothing more to say.
            _LOGGER.warning("The request windows of %s were not read", self._store.key)
        if isinstance(data, dict):
            counted = self.budget.restore(data.get("windows"), self.now().timestamp())
            _LOGGER.debug("%s: %d requests still in their windows", self._store.key, counted)
        self.budget.on_count = self._counted

    async def async_unload(self) -> None:
        """Write the windows now."""
        self.budget.on_count = None
        await self._store.async_save(self._data())

    def _counted(self) -> None:
        self._store.async_delay_save(self._data, SAVE_DELAY)

    def _data(self) -> dict[str, Any]:
        return {"windows": self.budget.snapshot(self.now().timestamp())}
