"""`scripts/benchmark --compare-apprise`: Apprise's `smsc://` against the same emulator.

Apprise is installed with pip into a folder of its own under the system's temporary
folder (never into the venv, never a test requirement) the first time it is needed.
It sends with `requests` (blocking), so each alert runs in a worker thread; the SMSC
emulator serves from a process of its own, as for the integration's figures.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from custom_components.ru_sms.providers.models import Provider
from scripts.benchmark_network import NetworkProcess
from tests.emulators.catalog import ACCOUNTS

APPRISE_DIR = Path(tempfile.gettempdir()) / "ru_sms_apprise"
PHONE = "79161234567"
THROTTLED_ALERTS = 3
"""Alerts timed with Apprise's default throttle (it waits between requests)."""


def load_apprise() -> Any:
    """Import Apprise, installing it into `APPRISE_DIR` first if needed."""
    if str(APPRISE_DIR) not in sys.path:
        sys.path.append(str(APPRISE_DIR))  # after the venv: its packages win
    try:
        return importlib.import_module("apprise")
    except ImportError:
        subprocess.run(  # noqa: S603 - a fixed command
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(APPRISE_DIR), "apprise"],
            check=True,
        )
        importlib.invalidate_caches()
        return importlib.import_module("apprise")


def notifier(apprise: Any, url: str, *, throttle: bool) -> Any:
    """Apprise's SMSC plugin for the emulated account, posting to `url`."""
    credentials = ACCOUNTS[Provider.SMSC].credentials
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


async def compare(sends: int, ours: dict[str, Any]) -> dict[str, Any]:
    """Apprise's time per alert with and without its throttle, next to ours."""
    apprise = load_apprise()
    net = NetworkProcess()
    emulator = await net.start(Provider.SMSC)
    try:
        url = emulator.base_url + "send.php"
        plugin = notifier(apprise, url, throttle=False)
        await alert_times(plugin, 5, "w")  # warm-up
        free = statistics.median(await alert_times(plugin, sends, "f"))
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
    our_median = ours["action"]["median_ms"]
    intact = received == text
    return {
        "apprise_version": apprise.__version__,
        "apprise_median_ms": free,
        "apprise_throttled_median_ms": throttled,
        "ours_median_ms": our_median,
        "ratio": free / our_median,
        "ratio_throttled": throttled / our_median,
        "cyrillic_intact": intact,
        "received_text": received,
        "summary": (
            f"Apprise {apprise.__version__} smsc:// per alert: {free:.2f} ms without its "
            f"throttle ({free / our_median:.1f}x ours), {throttled:.0f} ms with it "
            f"({throttled / our_median:.0f}x); Cyrillic "
            + ("arrived intact" if intact else f"arrived garbled: {received!r}")
        ),
    }
