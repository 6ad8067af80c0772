"""A hand-moved clock for the accounts of a test.

Their outboxes, their gateways' budgets and evidence, and Home Assistant's timers
(`async_fire_time_changed`) follow it.

A round of the outbox may wait for room in the request budget, which comes back with the
clock's time, not the test's: `settle` lets the background work run until it is done or
waits for the budget only, so that the next step of the clock can move on.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from tests.emulators.base import EmulatedGateway

REAL_WAIT = 0.05
"""Seconds (real) a background task is waited for between two looks at the budgets."""


class Clock:
    """The time of the accounts attached, moved by hand."""

    def __init__(self, hass: HomeAssistant, now: datetime | None = None) -> None:
        self.hass = hass
        self.now = now or dt_util.utcnow()
        self.budgets: list[Any] = []

    def attach(self, entry: MockConfigEntry, emulator: Any = None) -> None:
        """Put an account (and its emulator, for Stream's reports) on this clock."""
        entry.runtime_data.outbox.now = lambda: self.now
        entry.runtime_data.tracker.now = lambda: self.now
        # The request budget's windows too (the gateway's minutes, not the test's), and
        # the gateway's settle times for evidence.
        gateway = entry.runtime_data.gateway
        gateway._wall_clock = lambda: self.now
        if hasattr(gateway, "report_wait"):
            # Stream's detailed report: ready at once, fetched without a real wait.
            gateway.report_wait = (0.0,)
            if emulator is not None:
                emulator.report_ready_after = 0
        budget = gateway.budget
        budget.clock = self._timestamp
        self.budgets = [b for b in self.budgets if b is not budget] + [budget]

    def _timestamp(self) -> float:
        return self.now.timestamp()

    async def step(self, seconds: float, emulators: tuple[EmulatedGateway, ...] = ()) -> None:
        """Move on by `seconds`, fire what is due, and let it run."""
        self.now += timedelta(seconds=seconds)
        for emulator in emulators:
            emulator.advance(seconds)
            # The gateway's clock runs on in real time too: never behind it (its records
            # and the periods asked about must agree).
            self.now = max(self.now, datetime.fromtimestamp(emulator.now(), UTC))
        for budget in self.budgets:
            await budget.async_wake()
        async_fire_time_changed(self.hass, self.now)
        await self.settle()

    async def tick(self, seconds: float, emulator: EmulatedGateway | None = None) -> None:
        """Move on by `seconds`, five at a time."""
        for _ in range(int(seconds // 5)):
            await self.step(5, () if emulator is None else (emulator,))

    async def settle(self) -> None:
        """Run until nothing is left to do but wait for the clock (or the budget)."""
        while True:
            await self.hass.async_block_till_done()
            pending = [t for t in self.hass._background_tasks if not t.done()]
            if not pending:
                return
            _, still = await asyncio.wait(pending, timeout=REAL_WAIT)
            if still and any(b._waiting for b in self.budgets):
                return  # room comes back with the clock's next step
