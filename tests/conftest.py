"""Shared fixtures: an aiohttp session for the clients and a port nobody listens on."""

from __future__ import annotations

from collections.abc import AsyncIterator
import socket

import aiohttp
import pytest


@pytest.fixture
async def http_session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A real aiohttp session, as Home Assistant's shared one would be."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def refused_url(socket_enabled: None) -> str:
    """A loopback URL where the connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
