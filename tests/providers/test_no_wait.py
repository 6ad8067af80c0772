"""No send waits in the client: a send that did not go through is raised at once.

The outbox owns every retry of a send. The client only tries the gateway's documented
backup host at once when the first could not be connected to; reads (balance, status)
keep their one retry after `RETRY_DELAY`, unless the gateway named its own wait.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from custom_components.ru_sms.providers import GATEWAY_TYPES, SendOptions, base as base_module
from custom_components.ru_sms.providers.delivery_policy import Verdict, decide
from custom_components.ru_sms.providers.errors import (
    GatewayConnectionError,
    GatewayResponseError,
    RateLimitedError,
    SmsGatewayError,
)
from custom_components.ru_sms.providers.models import GatewayId
from tests.emulators.base import Fault
from tests.emulators.catalog import ACCOUNTS
from tests.emulators.smsc import SmscEmulator

SLOW = 30.0
"""A retry delay no test here may wait for."""
PHONE = "79161234567"


@pytest.fixture(autouse=True)
def slow_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any wait for a retry would outlast the test's own time limit."""
    monkeypatch.setattr(base_module, "RETRY_DELAY", SLOW)


def options_for(provider: GatewayId) -> SendOptions:
    return SendOptions(sender=ACCOUNTS[provider].sender)


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_a_send_that_cannot_connect_is_raised_at_once(
    http_session: aiohttp.ClientSession, refused_url: str, provider: GatewayId
) -> None:
    client = GATEWAY_TYPES[provider](
        http_session, ACCOUNTS[provider].credentials, base_url=refused_url
    )
    async with asyncio.timeout(SLOW / 3):
        with pytest.raises(GatewayConnectionError) as info:
            await client.send([PHONE], "Boiler failure", options_for(provider))
    assert info.value.unsent
    assert decide(provider, info.value).verdict is Verdict.RETRY


@pytest.mark.parametrize("provider", list(GatewayId))
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.SERVICE_UNAVAILABLE, GatewayResponseError),
        (Fault.TOO_MANY_REQUESTS, RateLimitedError),
    ],
)
async def test_a_send_refused_for_now_is_not_taken_and_waits_as_told(
    http_session: aiohttp.ClientSession,
    start_emulator: Any,
    provider: GatewayId,
    fault: Fault,
    error: type[SmsGatewayError],
) -> None:
    """HTTP 503 and 429 take nothing: a retry, after the gateway's `Retry-After`."""
    emulator = await start_emulator(provider)
    client = GATEWAY_TYPES[provider](
        http_session, ACCOUNTS[provider].credentials, base_url=emulator.base_url
    )
    if provider in (GatewayId.STREAM, GatewayId.DEVINO):
        await client.check_credentials()  # the session first: the fault is the send's
    emulator.retry_after_header = "90"
    emulator.inject(fault)
    async with asyncio.timeout(SLOW / 3):
        with pytest.raises(error) as info:
            await client.send([PHONE], "Boiler failure", options_for(provider))
    sends = sum(emulator.count(path) for path in ACCOUNTS[provider].send_paths)
    assert sends == 1
    assert not getattr(info.value, "may_have_been_accepted", False)
    decision = decide(provider, info.value)
    assert (decision.verdict, decision.retry_after) == (Verdict.RETRY, 90)


async def test_the_backup_host_is_tried_at_once(
    http_session: aiohttp.ClientSession, start_emulator: Any, refused_url: str
) -> None:
    emulator: SmscEmulator = await start_emulator(GatewayId.SMSC)
    client = GATEWAY_TYPES[GatewayId.SMSC](http_session, ACCOUNTS[GatewayId.SMSC].credentials)
    client._base_urls = (refused_url, emulator.base_url)
    async with asyncio.timeout(SLOW / 3):
        result = await client.send([PHONE], "Backup host")
    assert result.accepted
    assert emulator.count("send.php") == 1


async def test_a_read_keeps_one_retry(
    http_session: aiohttp.ClientSession, start_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base_module, "RETRY_DELAY", 0)
    emulator: SmscEmulator = await start_emulator(GatewayId.SMSC)
    client = GATEWAY_TYPES[GatewayId.SMSC](
        http_session, ACCOUNTS[GatewayId.SMSC].credentials, base_url=emulator.base_url
    )
    emulator.inject(Fault.SERVER_ERROR_HTML)
    assert (await client.balance()).amount > 0
    assert emulator.count("balance.php") == 2


async def test_a_read_told_to_wait_is_not_retried(
    http_session: aiohttp.ClientSession, start_emulator: Any
) -> None:
    emulator: SmscEmulator = await start_emulator(GatewayId.SMSC)
    client = GATEWAY_TYPES[GatewayId.SMSC](
        http_session, ACCOUNTS[GatewayId.SMSC].credentials, base_url=emulator.base_url
    )
    emulator.inject(Fault.SERVICE_UNAVAILABLE)
    async with asyncio.timeout(SLOW / 3):
        with pytest.raises(GatewayResponseError) as info:
            await client.balance()
    assert info.value.retry_after == 30
    assert emulator.count("balance.php") == 1


@pytest.mark.parametrize("provider", [GatewayId.STREAM, GatewayId.DEVINO])
async def test_a_read_logs_in_again_later_but_a_send_does_not(
    http_session: aiohttp.ClientSession,
    start_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    provider: GatewayId,
) -> None:
    """The session login stands on both ways: a read waits to log in again, a send never."""
    emulator = await start_emulator(provider)
    client = GATEWAY_TYPES[provider](
        http_session, ACCOUNTS[provider].credentials, base_url=emulator.base_url
    )
    login = ACCOUNTS[provider].check_path
    emulator.inject(Fault.SERVER_ERROR_HTML, login)
    async with asyncio.timeout(SLOW / 3):
        with pytest.raises(GatewayResponseError):
            await client.send([PHONE], "Boiler failure", options_for(provider))
    assert emulator.count(login) == 1

    monkeypatch.setattr(base_module, "RETRY_DELAY", 0)
    emulator.inject(Fault.SERVER_ERROR_HTML, login)
    assert (await client.balance()).amount > 0
    assert emulator.count(login) == 3
