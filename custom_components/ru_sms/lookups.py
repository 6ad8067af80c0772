"""HLR answers that arrive later by callback, for `lookup_number` to wait on."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from homeassistant.core import callback

from .providers import LookupResult

KEPT_ANSWERS = 100
"""Answers nobody waits for (yet) that are kept: one may come before its lookup's wait
starts; the others (lookups made elsewhere, waits that gave up) must not pile up."""

type _Key = tuple[str, str]
"""A lookup as the gateway names it: (request id, phone digits)."""


def _key(result: LookupResult) -> _Key:
    return (result.request_id or "", result.phone)


class LookupWaiters:
    """HLR answers that arrive by callback, for `lookup_number` to wait on."""

    def __init__(self) -> None:
        """Nobody waits yet."""
        self._answers: dict[_Key, LookupResult] = {}
        self._waiters: dict[_Key, asyncio.Future[LookupResult]] = {}

    @property
    def waiting(self) -> int:
        """Lookups waiting for their answer now."""
        return len(self._waiters)

    @callback
    def async_set(self, result: LookupResult) -> None:
        """An answer came; one that is still pending tells nothing new."""
        if not result.is_final:
            return
        key = _key(result)
        future = self._waiters.get(key)
        if future is not None and not future.done():
            future.set_result(result)
            return
        self._answers.pop(key, None)
        self._answers[key] = result
        while len(self._answers) > KEPT_ANSWERS:
            del self._answers[next(iter(self._answers))]

    async def async_wait(
        self, pending: Sequence[LookupResult], seconds: float
    ) -> list[LookupResult]:
        """The answers of `pending`, waiting at most `seconds` for them."""
        results = list(pending)
        waits: dict[int, tuple[_Key, asyncio.Future[LookupResult]]] = {}
        loop = asyncio.get_running_loop()
        for index, result in enumerate(results):
            if result.is_final:
                continue
            key = _key(result)
            if (answer := self._answers.pop(key, None)) is not None:
                results[index] = answer
                continue
            if (future := self._waiters.get(key)) is None:
                future = self._waiters[key] = loop.create_future()
            waits[index] = (key, future)
        try:
            if waits and seconds > 0:
                await asyncio.wait([future for _, future in waits.values()], timeout=seconds)
        finally:
            for index, (key, future) in waits.items():
                self._waiters.pop(key, None)
                if future.done() and not future.cancelled():
                    results[index] = future.result()
                else:
                    future.cancel()
        return results
