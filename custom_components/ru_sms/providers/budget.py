"""One request budget per account, shared by everything that asks its gateway.

Every caller of an account (sends, delivery polling, lookups, balance, statistics,
incoming) uses the same client, and every request of the client passes through its
`RequestBudget`: at most `concurrent` requests at once, and no more requests of a scope
than the gateway's documented `RateLimit`s allow in their window. A request that would
break a limit waits for room rather than being refused; sends go before everything else
waiting for a free slot.

The gateway counts its windows whatever happens to us: `snapshot` gives the requests
still in a window as wall-clock times, and `restore` takes them back after a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from typing import Any

from .description import RateLimit

MAX_KEYS = 1000
"""Scopes remembered before the ones whose window has passed are forgotten (and again each
time the scopes have doubled since: keys still in their window cannot go)."""

type Scope = tuple[str, str]
"""A limit's scope (`RateLimit.scope`) and what it counts per (a message id, or "")."""


class RequestBudget:
    """The requests an account may make now; waits for room where it has none."""

    def __init__(self, limits: Sequence[RateLimit], concurrent: int) -> None:
        """Budget `concurrent` requests at once and the documented `limits`."""
        self._limits = {limit.scope: limit for limit in limits}
        self._concurrent = max(1, concurrent)
        self._running = 0
        self._sends_waiting = 0
        self._waiting = 0
        """Requests in the loop of `_acquire` (waiting for room, or about to take it)."""
        self._changed = asyncio.Condition()
        self._releases = 0
        """Slots freed so far (a waiter passes the news of each on at most once)."""
        self._seen: dict[Scope, list[list[float]]] = {}
        """Per scope, when each counted request went (then ended: the later counts)."""
        self._prune_above = MAX_KEYS
        """Scopes in `_seen` beyond which the passed ones are looked for."""
        self.waited = 0
        """Requests that had to wait for room (for diagnostics and tests)."""
        self.clock: Callable[[], float] | None = None
        """Seconds the windows are read from (default: the event loop's clock)."""
        self.on_count: Callable[[], None] | None = None
        """Called after a request was counted in a window (to keep the windows)."""

    async def async_wake(self) -> None:
        """Look again at the windows now (the clock was moved: tests)."""
        async with self._changed:
            self._changed.notify_all()

    @property
    def limits(self) -> dict[str, RateLimit]:
        """The limits by scope."""
        return dict(self._limits)

    def use(self, scopes: Iterable[Scope] = (), *, send: bool = False) -> Room:
        """Hold one request's room in the budget while it runs (`async with`)."""
        return Room(self, [s for s in scopes if s[0] in self._limits], send=send)

    def _now(self) -> float:
        return (self.clock or asyncio.get_running_loop().time)()

    def _take_at_once(self, scopes: list[Scope]) -> bool:
        """Take a slot without a wait or the lock, where `_acquire` would come to it at once.

        Nothing counted, a slot free and no one waiting for one: every alert passes here.
        """
        if scopes or self._waiting or self._running >= self._concurrent:
            return False
        self._running += 1
        return True

    async def _release(self, marks: list[list[float]]) -> None:
        if not marks and not self._waiting:
            self._running -= 1  # nothing counted, no one to tell
            return
        async with self._changed:
            self._running -= 1
            # The gateway counts the request when it gets it, at the latest now.
            end = self._now()
            for mark in marks:
                mark[0] = max(mark[0], end)
            # A slot is free: one waiter is told (the first in line). Waking them all
            # made each end cost as many turns as there were waiters (200 callers: 200
            # wake-ups per request). A marked end only moves a window later, so no one
            # else can go on because of it.
            self._releases += 1
            self._changed.notify(1)

    async def _acquire(self, scopes: list[Scope], *, send: bool) -> list[list[float]]:
        waited = False
        passed_on = -1
        async with self._changed:
            self._waiting += 1
            if send:
                self._sends_waiting += 1
            try:
                while True:
                    free = self._running < self._concurrent
                    slot = free and (send or not self._sends_waiting)
                    wait = self._window_wait(scopes, self._now())
                    if slot and wait <= 0:
                        break
                    if free and passed_on != self._releases:
                        # Told of a free slot this one cannot take (a window, or a send
                        # goes first): the next in line is told, once per slot freed, so
                        # the news goes round every waiter at most once.
                        passed_on = self._releases
                        self._changed.notify(1)
                    waited = True
                    if wait > 0 and slot:
                        # Room comes back with time, not with another request's end.
                        with suppress(TimeoutError):
                            await asyncio.wait_for(self._changed.wait(), wait)
                    else:
                        await self._changed.wait()
            finally:
                self._waiting -= 1
                if send:
                    self._sends_waiting -= 1
            self._running += 1
            now = self._now()
            if len(self._seen) > self._prune_above:
                self._prune(now)
            marks = [[now] for _ in scopes]
            for scope, mark in zip(scopes, marks, strict=True):
                self._seen.setdefault(scope, []).append(mark)
            if waited:
                self.waited += 1
        if marks and self.on_count is not None:
            self.on_count()
        return marks

    def snapshot(self, wall_now: float) -> list[list[Any]]:
        """The counted requests still in their windows: `[scope, key, [wall times]]`.

        `wall_now` is the wall clock's now (POSIX seconds) at the budget's now.
        """
        now = self._now()
        found: list[list[Any]] = []
        for (scope, key), seen in self._seen.items():
            window = self._limits[scope].seconds
            times = [wall_now - (now - m[0]) for m in seen if now - m[0] < window]
            if times:
                found.append([scope, key, times])
        return found

    def restore(self, snapshot: Any, wall_now: float) -> int:
        """Count again the requests of a `snapshot` still in their windows; how many.

        What is not a snapshot's item, or names a limit this gateway does not have, is
        left out; a time ahead of `wall_now` (a clock set back) counts as now.
        """
        now = self._now()
        counted = 0
        for item in snapshot if isinstance(snapshot, list) else []:
            if not (isinstance(item, list) and len(item) == 3 and isinstance(item[2], list)):
                continue
            scope, key, times = item
            limit = self._limits.get(scope) if isinstance(scope, str) else None
            if limit is None or not isinstance(key, str):
                continue
            marks = [
                [now - max(0.0, wall_now - float(t))]
                for t in times
                if isinstance(t, int | float)
                and not isinstance(t, bool)
                and wall_now - float(t) < limit.seconds
            ]
            if marks:
                self._seen.setdefault((scope, key), []).extend(marks)
                counted += len(marks)
        return counted

    def _prune(self, now: float) -> None:
        """Forget the scopes whose window has passed (per-message keys come and go).

        The next look comes when the scopes left have doubled: with a minute's thousands
        of message ids still in their windows, a look at every request that waited for a
        slot walked them all (200 callers at once: 1.5 million steps for 9,000 alerts).
        """
        for scope, seen in list(self._seen.items()):
            if not seen or all(now - m[0] >= self._limits[scope[0]].seconds for m in seen):
                del self._seen[scope]
        self._prune_above = max(MAX_KEYS, 2 * len(self._seen))

    def _window_wait(self, scopes: list[Scope], now: float) -> float:
        """Seconds until every scope has room (0: now)."""
        wait = 0.0
        for scope in scopes:
            limit = self._limits[scope[0]]
            seen = self._seen.get(scope)
            if seen is None:
                continue
            seen[:] = [m for m in seen if now - m[0] < limit.seconds]
            if len(seen) >= limit.requests:
                # Room when enough of the counted requests have left the window.
                times = sorted(m[0] for m in seen)
                wait = max(wait, times[len(seen) - limit.requests] + limit.seconds - now)
        return wait


class Room:
    """One request's room in a `RequestBudget`, held inside `async with`.

    A class of its own, not a generator's context: every request enters one, and the
    generator's machinery cost more than the usual room itself (no wait, no lock).
    """

    __slots__ = ("_budget", "_marks", "_scopes", "_send")

    def __init__(self, budget: RequestBudget, scopes: list[Scope], *, send: bool) -> None:
        """Room for a request counted against `scopes` (a send goes first in line)."""
        self._budget = budget
        self._scopes = scopes
        self._send = send
        self._marks: list[list[float]] = []

    async def __aenter__(self) -> None:
        """Wait for the room (none where a slot is free and nothing is counted)."""
        if not self._budget._take_at_once(self._scopes):  # noqa: SLF001 - its budget's own
            self._marks = await self._budget._acquire(self._scopes, send=self._send)  # noqa: SLF001

    async def __aexit__(self, *_: object) -> None:
        """Give the room back."""
        await self._budget._release(self._marks)  # noqa: SLF001
