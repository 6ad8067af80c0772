# ruff: noqa: S101, ASYNC240
# A benchmark checks its own setup with asserts and writes its fixtures with plain file calls.
"""`scripts/benchmark`'s load figures: callers at once, outages, start-up, memory.

The sends, outages and start-ups go through the integration's public entry points (the
`ru_sms.send_message` action, config entry setup and unload, the emulated gateway's
faults; the queue's length is the outbox's `queued`), so that the same measurement runs
whatever the outbox does inside:

- concurrency: alerts sent by 1, 4, 64 and 200 callers at once, five windows a level in
  turns, the median window's rate (alerts per second until the last is answered and
  followed: tracked, its event fired, the sensors written; the callers' latency
  percentiles; loop lag), beside a bare aiohttp POST of the same form by as
  many callers on Home Assistant's session, the machine's speed;
- outages of SMSC.ru: its host down (connections refused), then only its send path
  failing (a proxy's 502 page). In each, the caller's time of a send while it fails,
  1,000 alerts queued by 100 callers at once and the drain when the gateway is back
  (time, rate, loop lag, the gateway's limits broken as its emulator recorded them);
  during the second, Home Assistant starts again with the queue and 4 accounts × 12,500
  records (the start-up figures, with the records' and the queue's shares apart);
- the memory of 10,000 tracked messages by `tracemalloc`, after their send and their
  delivery reports through the emulator: what goes when the tracker's records and
  indexes go (the one place that reaches inside the tracker), and the same after the
  next start has loaded them from the file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import gc
import json
from pathlib import Path
import statistics
import time
import tracemalloc
from typing import Any, cast

from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ru_sms.const import CONF_STORM_GUARD
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.storage import StoreKind, store_key
from custom_components.ru_sms.tracker.index import Index
from custom_components.ru_sms.tracker.store import STORAGE_VERSION
from scripts.benchmark_ha import (
    LONG_TEXT,
    LagMonitor,
    SimulatedClock,
    deliver_after,
    history_rows,
    percentile,
    phones,
    send_action,
    set_up,
)
from scripts.benchmark_network import NetworkProcess, RemoteEmulator
from tests.conftest import IVAN, make_entry
from tests.emulators.base import EmulatedGateway, Fault

CONCURRENCY = (1, 4, 64, 200)
ALERTS_PER_LEVEL = 3_000
"""Alerts each concurrency level sends (at least 5 per caller): a window of 1.5-2 s, long
enough that one garbage collection or one write of the stores does not make the level's
figure (with 1,000, a window of 0.4 s, the same code gave 77-95 % at 200 callers)."""
ROUNDS = 5
"""Windows of each level, the levels in turn: one window each gave 72-102 % at 200
callers from run to run of the whole benchmark on this 2-core machine (windows of one
level in one run differ by up to a fifth: 2,430-3,072 alerts/s at 4 callers in one, and
by up to a third on a busier day: 1,728-2,691). The median of three windows still gave
78-92 % on the same code in three runs within an hour; of five, the window that falls on a
slow moment of the machine moves the level's figure less."""
STORM_ALERTS = 1_000
"""Alerts to one number in the storm guard's row."""
OUTAGE_SINGLES = 10
"""Sends timed one at a time while the gateway fails."""
OUTAGE_QUEUED = 1_000
"""Alerts queued during the outage (the singles included)."""
OUTAGE_CALLERS = 100
"""Callers at once that queue the rest (a storm of automations)."""
DOWN_FOR = 50_000
"""Requests the send path fails while down (more than any outage here makes)."""
DRAIN_LIMIT = 600.0
"""Seconds the drain is waited for at most."""
STARTUP_ACCOUNTS = (GatewayId.SMSC, GatewayId.SMSTELE, GatewayId.STREAM, GatewayId.DEVINO)
STARTUP_RECORDS = 12_500
MEMORY_RECORDS = 10_000
SEND_PATH = "send.php"


UNGUARDED = {CONF_STORM_GUARD: False}
"""A thousand alerts to one number are a storm the guard holds (all but ten): the send path
and the outbox are measured without it, the guard's own cost in a row of its own."""


def entry(
    provider: GatewayId,
    emulator: RemoteEmulator,
    title: str,
    options: dict[str, Any] | None = UNGUARDED,
) -> MockConfigEntry:
    """A config entry of its own for the emulated account (`make_entry` reads `base_url`)."""
    return make_entry(
        provider,
        cast("EmulatedGateway", emulator),
        title=title,
        unique_id=f"{provider.value}:{title}",
        options=options,
    )


def spread(times: list[float]) -> dict[str, float]:
    """Median and tail of `times` (ms)."""
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": percentile(times, 0.95),
        "p99_ms": percentile(times, 0.99),
        "max_ms": max(times),
    }


async def callers(
    count: int, concurrency: int, call: Callable[[int], Awaitable[Any]]
) -> tuple[float, list[float]]:
    """`count` calls by `concurrency` callers at once: wall seconds, each call's ms."""
    times: list[float] = []
    numbers = iter(range(count))

    async def caller() -> None:
        for i in numbers:
            start = time.perf_counter()
            await call(i)
            times.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return time.perf_counter() - start, times


# -- callers at once ------------------------------------------------------------------------


def bare_post(hass: HomeAssistant, emulator: RemoteEmulator) -> Callable[[str], Awaitable[None]]:
    """A POST of the form our last send made, on Home Assistant's session, with `text`."""
    sent = emulator.requests[-1]
    form = dict(sent.form)
    text_key = next(k for k, v in form.items() if v.startswith("Котёл"))
    url = emulator.base_url.rstrip("/").rsplit("/", 1)[0] + sent.path
    session = async_get_clientsession(hass)

    async def post(text: str) -> None:
        async with session.post(url, data=form | {text_key: text}) as resp:
            await resp.read()

    return post


async def window(
    hass: HomeAssistant,
    account: MockConfigEntry,
    emulator: RemoteEmulator,
    level: int,
    call: Callable[[int], Awaitable[Any]],
    *,
    followed: bool,
) -> dict[str, Any]:
    """One window of `level` callers at once: its rate, latencies, loop lag, CPU and GC."""
    count = max(ALERTS_PER_LEVEL, level * 5)
    await hass.async_block_till_done()
    emulator.reset_counts()
    async with LagMonitor(fresh_gc=True) as lag:
        start = time.perf_counter()
        _, times = await callers(count, level, call)
        if followed:
            # Every alert followed too (tracked, its event fired, the sensors
            # written): the rate of alerts handled, not only answered.
            await account.runtime_data.outbox.after.async_drain()
        wall = time.perf_counter() - start
    return {
        "alerts": count,
        "per_second": count / wall,
        "times": times,
        "max_loop_lag_ms": lag.max_ms,
        "max_loop_cpu_ms": lag.max_cpu_ms,
        "max_full_gc_ms": lag.max_gc_ms,
        "loop_cpu_ms": lag.cpu_ms,
        "gc_ms": lag.gc_ms,
        "requests": emulator.count(),
    }


def level_row(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """A level's windows in one row.

    The median rate (each window's beside it), the latencies of all its alerts, the
    worst lag, the loop's CPU per alert, the GC pauses per window.
    """
    alerts = sum(w["alerts"] for w in windows)
    rates = [w["per_second"] for w in windows]
    return {
        "alerts": alerts,
        "per_second": statistics.median(rates),
        "per_second_windows": rates,
        **spread([t for w in windows for t in w["times"]]),
        "max_loop_lag_ms": max(w["max_loop_lag_ms"] for w in windows),
        "max_loop_cpu_ms": max(w["max_loop_cpu_ms"] for w in windows),
        "max_full_gc_ms": max(w["max_full_gc_ms"] for w in windows),
        "loop_cpu_us_per_alert": sum(w["loop_cpu_ms"] for w in windows) * 1000 / alerts,
        "gc_ms": sum(w["gc_ms"] for w in windows) / len(windows),
        "requests": sum(w["requests"] for w in windows),
    }


async def concurrency(hass: HomeAssistant, net: NetworkProcess) -> dict[str, Any]:
    """Alerts by 1, 4, 64 and 200 callers at once, each beside a bare POST as many times.

    The levels take turns, `ROUNDS` times over: each level's rate is the median of its
    windows, so that a moment when the machine is slower (the emulator's process and
    the writer threads share its cores) falls on one window of one level, not on the
    comparison of two levels measured once each.
    """
    emulator = await net.start(GatewayId.SMSC)
    account = entry(GatewayId.SMSC, emulator, "concurrency")
    await set_up(hass, account)
    windows: dict[tuple[int, str], list[dict[str, Any]]] = {}
    results: dict[str, Any] = {}
    try:
        await send_action(hass, account, [IVAN], "Котёл: авария, прогрев")
        post = bare_post(hass, emulator)
        for turn in range(ROUNDS):
            for level in CONCURRENCY:
                for name, call in (
                    (
                        "ours",
                        lambda i, n=level, r=turn: send_action(
                            hass, account, [IVAN], f"Котёл {r}.{n}:{i}"
                        ),
                    ),
                    ("bare_post", lambda i, n=level, r=turn: post(f"Котёл {r}.{n}:{i}?")),
                ):
                    windows.setdefault((level, name), []).append(
                        await window(hass, account, emulator, level, call, followed=name == "ours")
                    )
        for level in CONCURRENCY:
            results[str(level)] = {
                name: level_row(windows[level, name]) for name in ("ours", "bare_post")
            }
        rates = {level: results[str(level)]["ours"]["per_second"] for level in CONCURRENCY}
        # The goal's figure: 200 callers against 4. Against the best level too, which
        # reads lower than it is: the best of four noisy medians stands above its level.
        results["at_200_vs_4"] = rates[200] / rates[4]
        results["best_level"] = max(rates, key=rates.__getitem__)
        results["at_200_vs_peak"] = rates[200] / rates[results["best_level"]]
        results["breaches"] = list(emulator.breaches)
    finally:
        assert await hass.config_entries.async_unload(account.entry_id)
        await hass.config_entries.async_remove(account.entry_id)
        await net.stop(emulator)
    results["storm"] = await storm(hass, net)
    return results


async def storm(hass: HomeAssistant, net: NetworkProcess) -> dict[str, Any]:
    """The storm guard's own cost: 1,000 alerts to one number by 200 callers at once."""
    emulator = await net.start(GatewayId.SMSC)
    account = entry(GatewayId.SMSC, emulator, "storm", options=None)
    await set_up(hass, account)
    try:
        count = STORM_ALERTS
        emulator.reset_counts()
        async with LagMonitor(fresh_gc=True) as lag:
            wall, times = await callers(
                count,
                CONCURRENCY[-1],
                lambda i: send_action(hass, account, [IVAN], f"Котёл {i}: авария"),
            )
        await hass.async_block_till_done()
        return {
            "alerts": count,
            "callers": CONCURRENCY[-1],
            "per_second": count / wall,
            **spread(times),
            "max_loop_lag_ms": lag.max_ms,
            "max_loop_cpu_ms": lag.max_cpu_ms,
            "held": len(account.runtime_data.guard.held),
            "requests": emulator.count(),
        }
    finally:
        assert await hass.config_entries.async_unload(account.entry_id)
        await hass.config_entries.async_remove(account.entry_id)
        await net.stop(emulator)


# -- an outage, a restart during it, the drain ----------------------------------------------


def write_history(hass: HomeAssistant, account: MockConfigEntry, records: int) -> None:
    """`records` finished messages in the account's tracker file."""
    (recipient_id,) = account.subentries
    key = store_key(StoreKind.TRACKER, account.entry_id)
    path = Path(hass.config.path(".storage", key))
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = history_rows(records, recipient_id)
    path.write_text(
        json.dumps(
            {
                "version": STORAGE_VERSION,
                "minor_version": 1,
                "key": key,
                "data": {"rows": rows, "last_list_poll": None},
            }
        )
    )


class Files:
    """An account's files moved aside and back (to set it up without them)."""

    def __init__(self, hass: HomeAssistant, account: MockConfigEntry, kind: StoreKind) -> None:
        """The `kind` file of `account`."""
        self.path = Path(hass.config.path(".storage", store_key(kind, account.entry_id)))
        self.aside = self.path.with_suffix(".aside")

    def hide(self) -> None:
        """Move the file aside."""
        self.path.rename(self.aside)

    def restore(self) -> None:
        """Put it back (what the account wrote meanwhile goes)."""
        self.aside.replace(self.path)


async def start_up(hass: HomeAssistant, accounts: list[MockConfigEntry]) -> dict[str, Any]:
    """Set `accounts` up at once, as Home Assistant starts: loop lag and wall; then unload."""
    async with LagMonitor(fresh_gc=True) as lag:
        start = time.perf_counter()
        done = await asyncio.gather(
            *(hass.config_entries.async_setup(account.entry_id) for account in accounts)
        )
        wall = time.perf_counter() - start
        await hass.async_block_till_done()
    assert all(done), "an account did not set up"
    figures = {
        "setup_ms": wall * 1000,
        "max_loop_lag_ms": lag.max_ms,
        "max_loop_cpu_ms": lag.max_cpu_ms,
        "max_full_gc_ms": lag.max_gc_ms,
        "records": sum(a.runtime_data.tracker.on_record for a in accounts),
        "queued": sum(a.runtime_data.outbox.queued for a in accounts),
    }
    for account in accounts:
        assert await hass.config_entries.async_unload(account.entry_id)
    return figures


async def unreachable(emulator: EmulatedGateway) -> int:
    """The gateway's host goes down: connections refused (run in the network's process).

    The listening socket closes and so does every kept-alive connection; the port is
    returned for `reachable`.
    """
    runner = emulator._runner  # noqa: SLF001 - the emulator's own server
    assert runner is not None
    assert runner.server is not None
    (site,) = runner.sites
    port = int(emulator.base_url.split(":")[2].split("/")[0])
    await site.stop()
    for connection in list(runner.server.connections):
        connection.force_close()
    return port


async def reachable(emulator: EmulatedGateway, port: int) -> None:
    """The gateway's host is back on `port` (run in the network's process)."""
    runner = emulator._runner  # noqa: SLF001 - the emulator's own server
    assert runner is not None
    await web.TCPSite(runner, "127.0.0.1", port).start()


async def queue_while_down(hass: HomeAssistant, down: MockConfigEntry) -> dict[str, Any]:
    """Sends while the gateway fails: one at a time, then by a hundred callers at once."""
    _, singles = await callers(
        OUTAGE_SINGLES, 1, lambda i: send_action(hass, down, [IVAN], f"Котёл: {i}")
    )
    async with LagMonitor(fresh_gc=True) as lag:
        wall, times = await callers(
            OUTAGE_QUEUED - OUTAGE_SINGLES,
            OUTAGE_CALLERS,
            lambda i: send_action(hass, down, [IVAN], f"Котёл: {i + OUTAGE_SINGLES}"),
        )
    return {
        "send_while_down": spread(singles),
        "queue_at_once": {
            "alerts": OUTAGE_QUEUED - OUTAGE_SINGLES,
            "callers": OUTAGE_CALLERS,
            "wall_ms": wall * 1000,
            **spread(times),
            "max_loop_lag_ms": lag.max_ms,
            "max_loop_cpu_ms": lag.max_cpu_ms,
            "queued": down.runtime_data.outbox.queued,
        },
    }


async def refused(hass: HomeAssistant, net: NetworkProcess) -> dict[str, Any]:
    """The gateway's host down (connections refused): sends, 1,000 queued, the drain."""
    smsc = await net.start(GatewayId.SMSC)
    down = entry(GatewayId.SMSC, smsc, "refused")
    try:
        await set_up(hass, down)
        await send_action(hass, down, [IVAN], "Котёл: авария, прогрев")
        port = smsc.apply(unreachable)
        results = await queue_while_down(hass, down)
        smsc.apply(reachable, port)
        results["drain"] = await drain(hass, down, smsc)
    finally:
        assert await hass.config_entries.async_unload(down.entry_id)
        await hass.config_entries.async_remove(down.entry_id)
        await net.stop(smsc)
    return results


async def outage(hass: HomeAssistant, net: NetworkProcess) -> dict[str, Any]:
    """Sends while the send path fails, a restart with 1,000 queued, then the drain.

    The send path answers a proxy's 502 page (the rest of the gateway answers, so that
    the accounts set up again during the outage).
    """
    emulators = {p: await net.start(p) for p in STARTUP_ACCOUNTS}
    smsc = emulators[GatewayId.SMSC]
    accounts = [entry(p, e, f"startup {p.value}") for p, e in emulators.items()]
    down = accounts[0]
    results: dict[str, Any] = {}
    try:
        await set_up(hass, down)
        await send_action(hass, down, [IVAN], "Котёл: авария, прогрев")
        smsc.inject(Fault.SERVER_ERROR_HTML, SEND_PATH, DOWN_FOR)
        results |= await queue_while_down(hass, down)
        assert await hass.config_entries.async_unload(down.entry_id)

        # Home Assistant starts again during the outage: 4 accounts with a week of
        # records each, the first with the queue. Its parts alone, then together.
        for account in accounts[1:]:
            account.add_to_hass(hass)  # after the integration's setup: not set up with it
        for account in accounts:
            write_history(hass, account, STARTUP_RECORDS)
        outbox = Files(hass, down, StoreKind.OUTBOX)
        tracker = Files(hass, down, StoreKind.TRACKER)
        outbox.hide()
        results["startup_records_only"] = await start_up(hass, accounts)
        outbox.restore()
        tracker.hide()
        results["startup_queue_only"] = await start_up(hass, [down])
        tracker.restore()
        results["startup"] = await start_up(hass, accounts)

        # Up again, set up again: the drain.
        assert await hass.config_entries.async_setup(down.entry_id)
        await hass.async_block_till_done()
        results["drain"] = await drain(hass, down, smsc)
    finally:
        for account in accounts:
            if hass.config_entries.async_get_entry(account.entry_id) is not None:
                await hass.config_entries.async_remove(account.entry_id)
        for emulator in emulators.values():
            await net.stop(emulator)
    return results


async def drain(hass: HomeAssistant, down: MockConfigEntry, smsc: RemoteEmulator) -> dict[str, Any]:
    """The gateway takes sends again: until the queue is empty (or `DRAIN_LIMIT`)."""
    outbox = down.runtime_data.outbox
    waiting = outbox.queued
    # An alert whose request may have gone (in doubt) waits for the gateway's evidence
    # (its settle and confirm times): the rest drain at the gateway's pace.
    certain = {a.id for a in outbox.alerts.values() if not a.in_doubt}
    certain_end = None
    smsc.faults = []
    smsc.reset_counts()
    breaches_before = len(smsc.breaches)
    start = time.perf_counter()
    first = None
    async with LagMonitor(fresh_gc=True) as lag:
        while outbox.queued and time.perf_counter() - start < DRAIN_LIMIT:
            if first is None and outbox.queued < waiting:
                first = time.perf_counter()
            if certain_end is None and certain.isdisjoint(outbox.alerts):
                certain_end = time.perf_counter()
            await asyncio.sleep(0.05)
    end = time.perf_counter()
    drained = waiting - outbox.queued
    taking = end - (first or start)
    return {
        "waiting": waiting,
        "drained": drained,
        "wall_ms": (end - start) * 1000,
        "until_first_ms": ((first or end) - start) * 1000,
        "draining_ms": taking * 1000,
        "per_second": drained / taking if taking else 0.0,
        "certain": len(certain),
        "certain_ms": ((certain_end or end) - start) * 1000,
        "requests": smsc.count(),
        "send_requests": smsc.count("/sys/send.php"),
        "max_loop_lag_ms": lag.max_ms,
        "max_loop_cpu_ms": lag.max_cpu_ms,
        "breaches": smsc.breaches[breaches_before:],
    }


# -- memory ---------------------------------------------------------------------------------


def held(tracker: Any) -> tuple[int, list[dict[str, Any]]]:
    """Bytes the tracker's records and indexes hold, by what goes when they go.

    Needs `tracemalloc` on since before they were made. The tracker is left empty; the
    lines that held the most come along.
    """
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    holding = tracemalloc.take_snapshot()
    tracker._index = Index()  # noqa: SLF001 - what the tracker holds, let go
    tracker._views.clear()  # noqa: SLF001
    tracker._recent.clear()  # noqa: SLF001
    gc.collect()
    let_go = before - tracemalloc.get_traced_memory()[0]
    top = holding.compare_to(tracemalloc.take_snapshot(), "lineno")[:6]
    return let_go, [
        {
            "line": f"{Path(s.traceback[0].filename).name}:{s.traceback[0].lineno}",
            "kb": s.size_diff / 1e3,
        }
        for s in top
    ]


async def tracked_memory(
    hass: HomeAssistant, net: NetworkProcess, provider: GatewayId, text: str
) -> dict[str, Any]:
    """What the tracker holds for 10,000 messages after their send and delivery reports.

    `tracemalloc` traces from before the send; after the last report (and a full
    collection), the tracker's records and indexes are let go: the memory that goes
    with them is what they held. Then the same records as loaded from the file at the
    next start.
    """
    emulator = await net.start(provider)
    emulator.apply(deliver_after, provider, 30.0)
    account = entry(provider, emulator, f"memory {provider.value}")
    await set_up(hass, account)
    tracker = account.runtime_data.tracker
    try:
        gc.collect()
        tracemalloc.start()
        try:
            emulator.advance(61)
            await send_action(hass, account, phones(MEMORY_RECORDS), text)
            await hass.async_block_till_done()
            clock = SimulatedClock(tracker, emulator)
            try:
                while tracker.in_flight and clock.offset < 3600:
                    await clock.next_poll()
            finally:
                clock.release()
            await hass.async_block_till_done()
            delivered = tracker.on_record - tracker.in_flight
            await tracker.async_save()  # the file the next start reads
            file = Path(
                hass.config.path(".storage", store_key(StoreKind.TRACKER, account.entry_id))
            )
            saved = file.read_bytes()
            after_reports, top = held(tracker)
            # The next start: the account set up again, from the file.
            assert await hass.config_entries.async_unload(account.entry_id)
            file.write_bytes(saved)
            assert await hass.config_entries.async_setup(account.entry_id)
            await hass.async_block_till_done()
            assert account.runtime_data.tracker.on_record == MEMORY_RECORDS
            from_disk, _ = held(account.runtime_data.tracker)
        finally:
            tracemalloc.stop()
    finally:
        assert await hass.config_entries.async_unload(account.entry_id)
        await hass.config_entries.async_remove(account.entry_id)
        await net.stop(emulator)
    return {
        "records": MEMORY_RECORDS,
        "final": delivered,
        "mb": after_reports / 1e6,
        "bytes_per_record": after_reports / MEMORY_RECORDS,
        "loaded_mb": from_disk / 1e6,
        "top_lines": top,
    }


async def memory(hass: HomeAssistant, net: NetworkProcess) -> dict[str, Any]:
    """One part each on SMSC.ru, and two parts each on Devino (an id per part)."""
    return {
        "one_part": await tracked_memory(hass, net, GatewayId.SMSC, "Котёл: авария"),
        "two_parts": await tracked_memory(hass, net, GatewayId.DEVINO, LONG_TEXT),
    }
