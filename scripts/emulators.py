"""The four emulated gateways on fixed loopback ports, for trying ru_sms in Home Assistant.

Run from the repository root as `python -m scripts.emulators` (`scripts/develop` does it).
Each gateway of `tests/emulators` listens on 127.0.0.1 at a fixed port, so that what is
entered in the config flow stays valid across restarts:

    SMSC.ru 18801, SMStele 18802, Stream Telecom 18803, Devino Telecom 18804

`RU_SMS_EMULATOR_PORT_BASE` (default 18800) moves them all: the gateways take base + 1..4.
The script prints what to enter for each gateway, then serves until SIGINT or SIGTERM.

A gateway can be made to fail and come back while it runs, through the control port (the
base port itself), to see what Home Assistant makes of it:

    python -m scripts.emulators down stream   # every request answers 502 (a proxy's HTML page)
    python -m scripts.emulators up stream     # it answers again
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal
import os
import signal
import sys

import aiohttp
from aiohttp import web

from custom_components.ru_sms.providers.models import GatewayId
from tests.emulators.base import EmulatedGateway, Fault
from tests.emulators.catalog import ACCOUNTS, EmulatedAccount
from tests.emulators.restapi import RestApiEmulator
from tests.emulators.smsc import SmscEmulator
from tests.emulators.smstele import SmsteleEmulator

HOST = "127.0.0.1"
PORT_BASE_VARIABLE = "RU_SMS_EMULATOR_PORT_BASE"
DEFAULT_PORT_BASE = 18800
MONEY = Decimal("1000000.00")
"""Balance of the gateways that count money (SMSC, Stream, Devino)."""
SEGMENTS = 1_000_000
"""Credit of SMStele, which counts SMS parts."""
PHONES = "+7 916 123-45-67, +7 925 765-43-21, +7 903 111-22-33"
DOWN_FOR = 100_000
"""Requests a gateway that is `down` fails (until `up`): more than any trying-out makes."""


@dataclass(frozen=True, slots=True)
class Gateway:
    """How one emulated gateway is served and shown."""

    provider: GatewayId
    name: str
    offset: int
    """The port is the base port plus this."""
    path: str
    """Where the gateway's API lives; the base URL ends with it."""


GATEWAYS = (
    Gateway(GatewayId.SMSC, "SMSC.ru", 1, "/sys/"),
    Gateway(GatewayId.SMSTELE, "SMStele (REX400)", 2, "/cgibin/"),
    Gateway(GatewayId.STREAM, "Stream Telecom", 3, "/rest/"),
    Gateway(GatewayId.DEVINO, "Devino Telecom", 4, "/rest/"),
)


@dataclass(slots=True)
class Running:
    """A started emulator and what serves it."""

    gateway: Gateway
    account: EmulatedAccount
    emulator: EmulatedGateway
    port: int


def port_base() -> int:
    """The base port from the environment (the gateways take base + 1..4)."""
    raw = os.environ.get(PORT_BASE_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_PORT_BASE
    try:
        base = int(raw)
    except ValueError:
        raise SystemExit(f"{PORT_BASE_VARIABLE} must be a port number, not {raw!r}") from None
    if not 0 < base <= 65535 - len(GATEWAYS):
        raise SystemExit(f"{PORT_BASE_VARIABLE}={base} leaves no room for {len(GATEWAYS)} ports")
    return base


def fund(emulator: EmulatedGateway) -> None:
    """Give the account more money than any trying-out can spend."""
    if isinstance(emulator, SmscEmulator | RestApiEmulator):
        emulator.balance = MONEY
    elif isinstance(emulator, SmsteleEmulator):
        emulator.credits = SEGMENTS


async def serve(stack: AsyncExitStack, gateway: Gateway, port: int) -> Running:
    """Start one gateway's emulator on `port` of the loopback address; `stack` stops it."""
    account = ACCOUNTS[gateway.provider]
    emulator = account.emulator()
    fund(emulator)
    # No access log: a GET request line carries credentials in its query (Devino's login).
    runner = web.AppRunner(
        emulator.app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
    )
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    try:
        await web.TCPSite(runner, HOST, port).start()
    except OSError as err:
        raise SystemExit(
            f"{gateway.name}: cannot listen on {HOST}:{port} ({err.strerror}); "
            f"is another scripts/develop running? Set {PORT_BASE_VARIABLE} to move the ports."
        ) from None
    emulator.base_url = f"http://{HOST}:{port}{gateway.path}"
    return Running(gateway, account, emulator, port)


def describe(running: Running) -> list[str]:
    """The lines that tell what to enter in the config flow for one gateway."""
    gateway, credentials = running.gateway, running.account.credentials
    lines = [f"== {gateway.name} (emulated) =="]
    if gateway.provider is GatewayId.SMSTELE:
        lines += [
            f"  Host:                 {HOST}",
            f"  Port:                 {running.port}",
            "  Use HTTPS:            off (the emulator speaks plain HTTP)",
            f"  (base URL:            {running.emulator.base_url})",
        ]
    else:
        lines.append(f"  API base URL:         {running.emulator.base_url}")
    lines += [
        f"  Login:                {credentials.login}",
        f"  Password:             {credentials.password}",
    ]
    if isinstance(running.emulator, SmscEmulator):
        lines.append(
            f"  API key:              {running.emulator.api_key}   (instead of login and password)"
        )
    lines.append(f"  Default sender name:  {running.account.sender}")
    return lines


def control_app(servers: list[Running]) -> web.Application:
    """The control port: `POST /<gateway>/down` and `/<gateway>/up`; `GET /` tells which is down."""
    by_name = {running.gateway.provider.value: running.emulator for running in servers}

    async def switch(request: web.Request) -> web.Response:
        name, action = request.match_info["gateway"], request.match_info["action"]
        if (emulator := by_name.get(name)) is None:
            raise web.HTTPNotFound(text=f"no gateway {name!r}: one of {', '.join(by_name)}\n")
        emulator.faults.clear()
        if action == "down":
            emulator.inject(Fault.SERVER_ERROR_HTML, times=DOWN_FOR)
        print(f"ru_sms: emulated {name} is {action}", flush=True)
        return web.Response(text=f"{name} is {action}\n")

    async def reply(request: web.Request) -> web.Response:
        """A subscriber's SMS lands in the gateway's inbox (Stream, Devino: read by polls)."""
        name = request.match_info["gateway"]
        emulator = by_name.get(name)
        inbox = getattr(emulator, "inbox", None)
        if emulator is None or inbox is None:
            raise web.HTTPNotFound(text=f"{name!r} keeps no inbox: stream or devino\n")
        body = await request.json()
        inbox.append(
            {
                "Data": str(body["text"]),
                "SourceAddress": str(body["phone"]),
                "DestinationAddress": "2420",
                "CreatedDateUtc": emulator.now(),
            }
        )
        print(f"ru_sms: emulated {name} received an SMS from {body['phone']}", flush=True)
        return web.Response(text=f"{name} received it\n")

    async def status(_request: web.Request) -> web.Response:
        lines = [f"{name}: {'down' if e.faults else 'up'}" for name, e in by_name.items()]
        return web.Response(text="\n".join(lines) + "\n")

    app = web.Application()
    app.router.add_post(r"/{gateway}/{action:down|up}", switch)
    app.router.add_post(r"/{gateway}/reply", reply)
    app.router.add_get("/", status)
    return app


async def serve_control(stack: AsyncExitStack, servers: list[Running], port: int) -> None:
    """Serve the control port on loopback; `stack` stops it."""
    runner = web.AppRunner(control_app(servers), shutdown_timeout=1.0)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    try:
        await web.TCPSite(runner, HOST, port).start()
    except OSError as err:
        raise SystemExit(f"control: cannot listen on {HOST}:{port} ({err.strerror})") from None


async def command(action: str, name: str, body: dict[str, str] | None = None) -> int:
    """`down NAME`, `up NAME` or `reply NAME PHONE TEXT`: ask the running emulators' control port."""
    url = f"http://{HOST}:{port_base()}/{name}/{action}"
    try:
        async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
            print((await response.text()).strip())
            return 0 if response.ok else 1
    except aiohttp.ClientError as err:
        print(f"no emulators answer at {url} ({err}): is scripts/develop running?")
        return 1


def banner(servers: list[Running]) -> str:
    """Everything the user needs to configure ru_sms against the emulators."""
    lines = ["", "ru_sms: emulated SMS gateways are running on loopback", ""]
    for running in servers:
        lines += [*describe(running), ""]
    lines += [
        "Paste the API base URL into the config flow's optional URL field (Home Assistant",
        'before 2026.6 shows it only with "Advanced mode" on in your user profile).',
        "SMStele is reached through its host and port (with HTTPS off) in the normal mode.",
        f"Valid test phone numbers: {PHONES}",
        "Nothing leaves this machine: the emulators only pretend to deliver.",
        "Make one fail and come back: python -m scripts.emulators down stream (then: up stream)",
        "Reply as a subscriber (Stream, Devino): python -m scripts.emulators reply stream"
        " 79161234567 'ok 1234'",
        "",
    ]
    return "\n".join(lines)


async def run() -> None:
    """Serve every gateway until SIGINT or SIGTERM, then shut them down."""
    base = port_base()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        servers = [await serve(stack, gateway, base + gateway.offset) for gateway in GATEWAYS]
        await serve_control(stack, servers, base)
        print(banner(servers), flush=True)
        await stop.wait()
    print("ru_sms: emulated gateways stopped", flush=True)


def main() -> None:
    """Entry point of `python -m scripts.emulators` (serve), `... down NAME`, `... up NAME`."""
    match sys.argv[1:]:
        case []:
            asyncio.run(run())
        case ["down" | "up" as action, name]:
            raise SystemExit(asyncio.run(command(action, name)))
        case ["reply", name, phone, text]:
            body = {"phone": phone, "text": text}
            raise SystemExit(asyncio.run(command("reply", name, body)))
        case _:
            raise SystemExit(
                "usage: python -m scripts.emulators [down|up GATEWAY | reply GATEWAY PHONE TEXT]"
            )


if __name__ == "__main__":
    main()
