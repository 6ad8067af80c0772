"""What follows accepted sends: one worker, in order, letting the event loop run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import time

from homeassistant.core import HomeAssistant

from custom_components.ru_sms.outbox.after import TURN, AfterSend


async def test_jobs_run_in_order_and_let_the_loop_run(hass: HomeAssistant) -> None:
    """Jobs whose awaits never suspend still leave turns to the rest of the loop."""
    after = AfterSend(hass, "alerts")
    done: list[int] = []
    seen_between: list[int] = []

    def job(n: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            start = time.perf_counter()
            while time.perf_counter() - start < TURN / 2:  # CPU, as entity writes are
                pass
            done.append(n)

        return run

    for n in range(40):
        after.add(job(n))

    async def other_caller() -> None:
        while len(done) < 40:
            seen_between.append(len(done))
            await asyncio.sleep(0)

    await asyncio.gather(after.async_drain(), other_caller())

    assert done == list(range(40))
    # The other caller ran while the jobs were still being followed, many times.
    assert len({n for n in seen_between if 0 < n < 40}) >= 5
