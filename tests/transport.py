"""Transport failures for tests: connections that never come, and what an error could show."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
import traceback
from typing import Any

import aiohttp
import pytest

from custom_components.ru_sms.providers import http as http_module


@contextmanager
def connections_never_come(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No new connection is ever made: aiohttp's own connect timeout fires, naming the URL.

    Its text holds the whole URL, query and all (`Connection timeout to host <url>`).
    """

    async def never(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(3600)

    with monkeypatch.context() as patch:
        patch.setattr(aiohttp.connector.aiohappyeyeballs, "start_connection", never)
        patch.setattr(http_module, "CONNECT_TIMEOUT", 0.05)
        yield


def chain_text(err: BaseException) -> str:
    """Everything an error and those it was raised from or during could show."""
    parts = ["".join(traceback.format_exception(err))]
    current: BaseException | None = err
    while current is not None:
        parts += [str(current), repr(current), repr(current.args)]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)
