"""Callers waiting for messages to reach a final state (`send_message`'s `wait_for_delivery`).

A waiter names the messages of one send by their record keys. The tracker tells the
waiters of every change it fires an event for (a poll's answer, a status callback, an
expiry), so that a wait asks the gateway nothing of its own and costs one dictionary
look-up per change while anyone waits (none while nobody does). An unload ends every wait:
what is not final yet stays unresolved (`pending`); the alert itself goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from ..status import MessageStatus
from .record import TrackedMessage


class DeliveryWaiter:
    """The messages of one send someone waits for, and the final state of each."""

    def __init__(self, keys: Iterable[str]) -> None:
        """Wait for every message of `keys` (record keys: first id and number)."""
        self.left: set[str] = set(keys)
        self.final: dict[str, MessageStatus] = {}
        """The final status of each message that reached one, by key."""
        self.last: dict[str, MessageStatus] = {}
        """The latest status seen of each message still in flight, by key."""
        self._done = asyncio.Event()
        if not self.left:
            self._done.set()

    @property
    def done(self) -> bool:
        """Every message is final, or the wait was ended."""
        return self._done.is_set()

    async def async_wait(self) -> None:
        """Until every message is final or the wait is ended (no timeout of its own)."""
        await self._done.wait()

    def seen(self, key: str, message: TrackedMessage) -> None:
        """A message of this wait changed (or was found as it stands)."""
        if key not in self.left:
            return
        status = message.status()
        if not message.is_final:
            self.last[key] = status
            return
        self.final[key] = status
        self.last.pop(key, None)
        self.left.discard(key)
        if not self.left:
            self._done.set()

    def end(self) -> None:
        """Stop waiting: what is not final stays unresolved."""
        self._done.set()


class DeliveryWaiters:
    """Every wait on one tracker, indexed by the keys waited for."""

    def __init__(self) -> None:
        """No one waits yet."""
        self._by_key: dict[str, list[DeliveryWaiter]] = {}
        self._waiters: set[DeliveryWaiter] = set()

    def __bool__(self) -> bool:
        """Whether anyone waits."""
        return bool(self._waiters)

    def add(
        self, keys: Iterable[str], lookup: Callable[[str], TrackedMessage | None]
    ) -> DeliveryWaiter:
        """A waiter for `keys`; the records already there (`lookup`) are taken as they stand."""
        waiter = DeliveryWaiter(keys)
        for key in list(waiter.left):
            if (message := lookup(key)) is not None:
                waiter.seen(key, message)
        if not waiter.done:
            self._waiters.add(waiter)
            for key in waiter.left:
                self._by_key.setdefault(key, []).append(waiter)
        return waiter

    def remove(self, waiter: DeliveryWaiter) -> None:
        """`waiter` waits no more (its wait ran out, or it was answered)."""
        if waiter not in self._waiters:
            return
        self._waiters.discard(waiter)
        for key in waiter.left:
            if (waiting := self._by_key.get(key)) is not None:
                if waiter in waiting:
                    waiting.remove(waiter)
                if not waiting:
                    del self._by_key[key]

    def changed(self, message: TrackedMessage) -> None:
        """The tracker fired a change of `message`: tell whoever waits for it."""
        if not self._by_key:
            return
        key = message.key
        waiting = self._by_key.get(key)
        if not waiting:
            return
        for waiter in list(waiting):
            waiter.seen(key, message)
            if key not in waiter.left:
                waiting.remove(waiter)
                if waiter.done:
                    self._waiters.discard(waiter)
        if not waiting:
            del self._by_key[key]

    def end_all(self) -> None:
        """An unload (or a stop): every wait ends now, unfinished messages unresolved."""
        waiters = list(self._waiters)
        self._waiters.clear()
        self._by_key.clear()
        for waiter in waiters:
            waiter.end()
