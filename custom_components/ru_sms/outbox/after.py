"""What follows an accepted send, after the caller has its answer: in order, never lost.

The caller of a send waits for the gateway's answer only. Following the accepted
numbers (the tracker's records, the `ru_sms_message_status` events, the entities'
states), the balance the answer reported and the events of refused numbers run after,
one job after the other in the order the answers came, on one worker. An unload waits
for what is queued; a job that comes after the unload is kept for the next load.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
import logging

from homeassistant.core import HomeAssistant

from ..const import DOMAIN

_LOGGER = logging.getLogger(__name__)

type Job = Callable[[], Awaitable[None]]

CALLER_TURNS = 2
"""Turns of the loop the worker lets pass before its first job: the answer of a send
passes through a task before it reaches whoever waits (a notify entity's: a turn of the
loop), and one turn more is left for a caller behind a task of its own. Started at once,
the worker ran first: a `notify.send_message` waited for its own tracking and entity
states (0.4 ms of its 1.5 ms against an emulator on this machine). A script's next step
is not held to a number of turns: it may come after the follow-up."""
TURN = 0.005
"""Seconds of jobs after which the worker lets the loop run: a job whose awaits all
complete at once never yields, and 200 answers that came together would otherwise be
followed in one turn of the loop (tens of milliseconds of other callers waiting)."""


class AfterSend:
    """The jobs that follow accepted sends, run one after the other."""

    def __init__(self, hass: HomeAssistant, title: str) -> None:
        """Jobs of the account `title` (named in the log)."""
        self.hass = hass
        self.title = title
        self._jobs: deque[Job] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._starting: asyncio.Handle | None = None
        """The worker's start, at the loop's next turn."""
        self.stopped = False

    def __len__(self) -> int:
        """Jobs waiting (the running one not counted)."""
        return len(self._jobs)

    def add(self, job: Job) -> None:
        """Run `job` after the ones before it; the caller goes on at once.

        The worker is made at the loop's next turn, not in the caller's step (a task costs
        the caller more than the rest of what follows its answer together).
        """
        self._jobs.append(job)
        if self._worker is None and self._starting is None and not self.stopped:
            self._starting = self.hass.loop.call_soon(self._start)

    def resume(self) -> None:
        """The next load: run what came after the stop, and what comes."""
        self.stopped = False
        self._start()

    def _start(self) -> None:
        self._starting = None
        if self._jobs and self._worker is None and not self.stopped:
            self._worker = self.hass.async_create_task(
                self._async_run(), f"{DOMAIN} after sends of {self.title}", eager_start=False
            )

    async def async_drain(self) -> None:
        """Wait until every job queued so far has run."""
        while self._worker is not None or self._starting is not None:
            if self._worker is None:
                await asyncio.sleep(0)  # the worker is made at this turn
                continue
            await asyncio.shield(self._worker)

    async def _async_run(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(CALLER_TURNS - 1):  # one passed before the worker was made
            await asyncio.sleep(0)
        until = loop.time() + TURN
        try:
            while self._jobs and not self.stopped:
                if loop.time() >= until:
                    await asyncio.sleep(0)
                    until = loop.time() + TURN
                    continue  # an unload may have come meanwhile
                job = self._jobs.popleft()
                try:
                    await job()
                except Exception:
                    # The gateway took the message: nothing here may lose what follows.
                    _LOGGER.exception("%s: a sent message cannot be followed", self.title)
        finally:
            self._worker = None
