"""Long work in steps that let the event loop run: a bulk send's records, a big poll's answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

STEP = 100
"""The most records a bulk send or poll handles (and announces) between two turns of
the loop: each fires an event and writes the event entity's state."""
SLICE = 0.005
"""Seconds of work after which a bulk send or poll lets the loop run, however few records
that was (a slow machine, a busy moment)."""
BATCH = 10
"""Records handled between two looks at the time."""


async def batches[T](
    items: Sequence[T], together: Callable[[T, T], bool] | None = None
) -> AsyncIterator[Sequence[T]]:
    """`items` in batches of `BATCH`, letting the event loop run between some of them.

    A turn of the loop every `STEP` items or `SLICE` seconds, whichever comes first.
    Neighbours for which `together` holds stay in one batch (the parts of a message).
    """
    loop = asyncio.get_running_loop()
    size = max(1, min(BATCH, STEP))
    start = done = 0
    until = loop.time() + SLICE
    while start < len(items):
        end = min(start + size, len(items))
        while together and end < len(items) and together(items[end - 1], items[end]):
            end += 1
        if start and (done >= STEP or loop.time() >= until):
            await asyncio.sleep(0)
            done = 0
            until = loop.time() + SLICE
        yield items[start:end]
        done += end - start
        start = end


async def steps[T](items: Sequence[T]) -> AsyncIterator[T]:
    """`items` one by one, in the batches of `batches`."""
    async for batch in batches(items):
        for item in batch:
            yield item
