# ruff: noqa: S101
# A measurement checks its own setup with asserts.
"""What the outbox costs the event loop when many alerts come at once.

Run with `.venv/bin/python -m scripts.outbox_cost [--alerts N]`. A real Home Assistant
(temporary folder, storage on disk) and an SMSC.ru account whose emulator serves from a
process of its own (`scripts.benchmark_network`). Two windows, each `--alerts` calls of
`ru_sms.send_message` at once:

- the gateway up: every alert is taken at its first attempt;
- the gateway down (a 502 page for every send): every alert is queued.

For each: how many times an alert was turned into its stored form (`stored_forms`), how
many times the outbox's file was handed to the writer (`writes`), the wall time until every caller had its answer, the event loop thread's CPU over the window
and the longest the loop was held (`LagMonitor`). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
import json
import tempfile
import time
from typing import Any

from homeassistant.helpers.storage import Store

from custom_components.ru_sms.providers.models import GatewayId
from scripts.benchmark_ha import LagMonitor, entry_for, home_assistant, set_up
from scripts.benchmark_network import NetworkProcess
from tests.emulators.base import Fault

STORED_FORM = ("QueuedAlert.as_record", "QueuedAlert.as_dict")
"""Where an alert becomes what is stored, in this version of the outbox (the first found)."""


def count_calls(target: str) -> tuple[list[int], Callable[[], None]]:
    """Count the calls of `module.Class.method` named by `target`; the counter and an undo."""
    from custom_components.ru_sms import outbox  # noqa: PLC0415 - after the path is set

    cls_name, method = target.split(".")
    cls = getattr(outbox, cls_name)
    original = getattr(cls, method)
    counter = [0]

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter[0] += 1
        return original(self, *args, **kwargs)

    setattr(cls, method, counted)
    return counter, lambda: setattr(cls, method, original)


def stored_form() -> str:
    """The stored-form method this version of the outbox has."""
    from custom_components.ru_sms import outbox  # noqa: PLC0415

    for target in STORED_FORM:
        cls_name, method = target.split(".")
        if hasattr(getattr(outbox, cls_name, None), method):
            return target
    raise RuntimeError("no stored form found")


def count_outbox_writes() -> tuple[list[int], Callable[[], None]]:
    """Count the saves of any account's outbox file; the counter and an undo."""
    original = Store.async_save
    counter = [0]

    async def counted(self: Store[Any], data: Any) -> None:
        if self.key.startswith("ru_sms.outbox."):
            counter[0] += 1
        await original(self, data)

    Store.async_save = counted  # type: ignore[method-assign]
    return counter, lambda: setattr(Store, "async_save", original)


async def window(hass: Any, entry: Any, alerts: int, label: str) -> dict[str, Any]:
    """`alerts` calls of `ru_sms.send_message` at once: calls, time, CPU and lag."""
    target = stored_form()
    counter, undo = count_calls(target)
    writes, undo_writes = count_outbox_writes()
    try:
        async with LagMonitor(fresh_gc=True) as lag:
            start, cpu = time.perf_counter(), time.thread_time()
            await asyncio.gather(
                *(
                    hass.services.async_call(
                        "ru_sms",
                        "send_message",
                        {
                            "config_entry_id": entry.entry_id,
                            "phones": ["+79161234567"],
                            "message": f"Котёл: авария №{n} ({label})",
                        },
                        blocking=True,
                    )
                    for n in range(alerts)
                )
            )
            answered = time.perf_counter() - start
            await hass.async_block_till_done()
            settled = time.perf_counter() - start
            cpu_ms = (time.thread_time() - cpu) * 1000
    finally:
        undo()
        undo_writes()
    return {
        "stored_forms": counter[0],
        "writes": writes[0],
        "counted": target,
        "answered_s": round(answered, 3),
        "settled_s": round(settled, 3),
        "loop_cpu_ms": round(cpu_ms, 1),
        "max_lag_ms": round(lag.max_ms, 1),
        "max_lag_cpu_ms": round(lag.max_cpu_ms, 1),
    }


async def measure(alerts: int) -> dict[str, Any]:
    """Both windows on one account."""
    net = NetworkProcess()
    try:
        with tempfile.TemporaryDirectory() as config_dir:
            async with home_assistant(config_dir) as hass:
                emulator = await net.start(GatewayId.SMSC)
                entry = entry_for(GatewayId.SMSC, emulator)
                await set_up(hass, entry)
                await window(hass, entry, 20, "warm-up")
                figures = {"gateway_up": await window(hass, entry, alerts, "up")}
                emulator.inject(Fault.SERVER_ERROR_HTML, "send.php", alerts * 2)
                figures["gateway_down"] = await window(hass, entry, alerts, "down")
                queued = entry.runtime_data.outbox.queued
                figures["gateway_down"]["queued"] = queued
                assert await hass.config_entries.async_unload(entry.entry_id)
                await net.stop(emulator)
                return figures
    finally:
        net.close()


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.alerts)), indent=2))


if __name__ == "__main__":
    main()
