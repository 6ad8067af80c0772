"""scripts/emulators' control port: a gateway made to fail and answer again; a reply."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from custom_components.ru_sms.providers import GatewayId
from scripts.emulators import GATEWAYS, Running, control_app
from tests.emulators.catalog import ACCOUNTS


async def control_port(emulator: Any) -> tuple[str, web.AppRunner]:
    """The control port of scripts/emulators, for the emulated Stream `emulator`."""
    gateway = next(g for g in GATEWAYS if g.provider is GatewayId.STREAM)
    running = Running(gateway, ACCOUNTS[GatewayId.STREAM], emulator, port=0)
    runner = web.AppRunner(control_app([running]))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}", runner


async def test_a_gateway_goes_down_and_comes_back(start_emulator: Any) -> None:
    emulator = await start_emulator(GatewayId.STREAM)
    control, runner = await control_port(emulator)
    balance = emulator.base_url.rstrip("/") + "/Balance/balance.php"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{control}/stream/down") as response:
                assert (response.status, await response.text()) == (200, "stream is down\n")
            for _ in range(3):
                async with session.post(balance) as response:
                    assert response.status == 502
            async with session.get(control) as response:
                assert await response.text() == "stream: down\n"

            async with session.post(f"{control}/stream/up") as response:
                assert response.status == 200
            async with session.post(balance) as response:
                assert response.status != 502
            async with session.get(control) as response:
                assert await response.text() == "stream: up\n"
            async with session.post(f"{control}/smsc/down") as response:
                assert response.status == 404  # not running here
    finally:
        await runner.cleanup()


async def test_a_subscriber_replies(start_emulator: Any) -> None:
    """`reply stream PHONE TEXT`: the SMS lands in the inbox the incoming polls read."""
    emulator = await start_emulator(GatewayId.STREAM)
    control, runner = await control_port(emulator)
    try:
        async with aiohttp.ClientSession() as session:
            body = {"phone": "79161234567", "text": "ok 1234"}
            async with session.post(f"{control}/stream/reply", json=body) as response:
                assert (response.status, await response.text()) == (200, "stream received it\n")
            async with session.post(f"{control}/smsc/reply", json=body) as response:
                assert response.status == 404
    finally:
        await runner.cleanup()
    (item,) = emulator.inbox
    assert (item["SourceAddress"], item["Data"]) == ("79161234567", "ok 1234")
