"""`scripts/benchmark --compare-apprise`: Apprise's `smsc://` against the same emulator.

Apprise is installed with pip into a folder of its own under the system's temporary
folder (never into the venv, never a test requirement) the first time it is needed.
It sends with `requests` (blocking), so each alert runs in a worker thread; the SMSC
emulator serves from a process of its own, as for the integration's figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import importlib
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from custom_components.ru_sms.providers.models import GatewayId
from scripts.benchmark_ha import OtherPaths
from scripts.benchmark_network import NetworkProcess
from tests.emulators.catalog import ACCOUNTS

APPRISE_VERSION = "2.3.0"
APPRISE_DIR = Path(tempfile.gettempdir()) / f"ru_sms_apprise-{APPRISE_VERSION}"
PHONE = "79161234567"
THROTTLED_ALERTS = 3
"""Alerts timed with Apprise's default throttle (it waits between requests)."""


def load_apprise() -> Any:
    """Import Apprise `APPRISE_VERSION`, installing it into `APPRISE_DIR` first if needed."""
    if str(APPRISE_DIR) not in sys.path:
        sys.path.append(str(APPRISE_DIR))  # after the venv: its packages win
    try:
        return importlib.import_module("apprise")
    except ImportError:
        subprocess.run(  # noqa: S603 - a fixed command
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--target",
                str(APPRISE_DIR),
                f"apprise=={APPRISE_VERSION}",
            ],
            check=True,
        )
        importlib.invalidate_caches()
        return importlib.import_module("apprise")


def notifier(apprise: Any, url: str, *, throttle: bool) -> Any:
    """Apprise's SMSC plugin for the emulated account, posting to `url`."""
    credentials = ACCOUNTS[GatewayId.SMSC].credentials
    plugin = apprise.Apprise.instantiate(
        f"smsc://{credentials.login}:{credentials.password}@{PHONE}"
    )
    plugin.notify_url = url  # the emulator instead of smsc.ru
    if not throttle:
        plugin.request_rate_per_sec = 0
    return plugin


async def alert_times(plugin: Any, count: int, tag: str) -> list[float]:
    """Wall time (ms) of `count` alerts in a row."""
    times: list[float] = []
    for i in range(count):
        start = time.perf_counter()
        sent = await asyncio.to_thread(plugin.notify, body=f"Котёл: авария {tag}{i}")
        times.append((time.perf_counter() - start) * 1000)
        if not sent:
            raise RuntimeError("Apprise did not send")
    return times


def apprise_path(apprise: Any) -> OtherPaths:
    """Apprise's alert as a path of `alert_overhead`: it takes turns with ours."""

    def paths(base_url: str) -> dict[str, Callable[[int], Awaitable[Any]]]:
        plugin = notifier(apprise, base_url + "send.php", throttle=False)

        async def alert(i: int) -> None:
            if not await asyncio.to_thread(plugin.notify, body=f"Котёл: авария №{i}~"):
                raise RuntimeError("Apprise did not send")

        return {"apprise": alert}

    return paths


async def compare(apprise: Any, ours: dict[str, Any] | None) -> dict[str, Any]:
    """Apprise's round trip per alert (timed in turns with ours), with its throttle on too.

    Apprise's time is the round trip its caller waits for, as is ours
    (`ru_sms.send_message`'s median, taken in the same rounds). The throttled alerts and
    the check of its Cyrillic text go to an emulator of their own.
    """
    net = NetworkProcess()
    emulator = await net.start(GatewayId.SMSC)
    try:
        url = emulator.base_url + "send.php"
        throttled = statistics.median(
            await alert_times(notifier(apprise, url, throttle=True), THROTTLED_ALERTS, "t")
        )
        emulator.advance(61)
        text = "Котёл: авария, давление упало"
        await asyncio.to_thread(notifier(apprise, url, throttle=False).notify, body=text)
        received = [m.text for m in emulator.messages.values()][-1]
    finally:
        await net.stop(emulator)
        net.close()
    intact = received == text
    found: dict[str, Any] = {
        "apprise_version": apprise.__version__,
        "apprise_throttled_median_ms": throttled,
        "cyrillic_intact": intact,
        "received_text": received,
    }
    summary = f"Apprise {apprise.__version__} smsc:// per alert: "
    if ours is not None:
        free, our_median = ours["apprise"]["median_ms"], ours["action"]["median_ms"]
        found |= {
            "apprise_median_ms": free,
            "ours_median_ms": our_median,
            "ratio": free / our_median,
            "ratio_throttled": throttled / our_median,
        }
        summary += (
            f"{free:.2f} ms without its throttle, in turns with ours ({our_median:.2f} ms: "
            f"Apprise takes {free / our_median:.2f}x ours), {throttled:.0f} ms with it"
        )
    else:
        summary += f"{throttled:.0f} ms with its throttle (without it: with --only alert)"
    found["summary"] = (
        summary + "; Cyrillic " + ("arrived intact" if intact else f"arrived garbled: {received!r}")
    )
    return found
