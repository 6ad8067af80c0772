# ruff: noqa: S101, ASYNC240
# A benchmark drives the tracker's internals, checks its own setup with asserts and
# writes its fixtures with plain file calls.
"""The Home Assistant half of `scripts/benchmark`: alerts, bulk sends, records, polling.

A real `hass` from pytest-homeassistant-custom-component's `async_test_home_assistant`
(a temporary config folder, real storage on disk) runs the integration against the
emulated gateways. The emulators serve from a process of their own, as a network would
(`scripts.benchmark_network`): the loop's lag and CPU are then Home Assistant's and ours
alone, not the emulator's. CPU is the loop thread's (`time.thread_time`); loop lag is how
late a 2 ms timer fires while something runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import gc
import json
from pathlib import Path
import random
import statistics
import time
from typing import Any, cast

import aiohttp
from homeassistant import loader
from homeassistant.components.notify import DATA_COMPONENT as NOTIFY_ENTITIES, NotifyEntity
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_test_home_assistant

from custom_components.ru_sms.providers.models import DeliveryState, GatewayId
from custom_components.ru_sms.storage import StoreKind, store_key
from custom_components.ru_sms.tracker import TrackedMessage
from custom_components.ru_sms.tracker.store import STORAGE_VERSION
from scripts.benchmark_network import NetworkProcess, RemoteEmulator
from tests.conftest import IVAN, make_entry
from tests.emulators.base import EmulatedGateway

STATUS_PATH = {
    GatewayId.SMSC: "/sys/status.php",
    GatewayId.SMSTELE: "/cgibin/status",
    GatewayId.STREAM: "/rest/State/state.php",
    GatewayId.DEVINO: "/rest/Sms/State",
}
LONG_TEXT = "Котёл: авария, давление упало " * 3
"""Cyrillic over 70 characters: two segments."""


# -- measuring ---------------------------------------------------------------------------


class LagMonitor:
    """The longest the event loop was held while the monitor ran (ms).

    `max_ms` is how late a timer fired (wall time: on a busy machine the system's
    scheduling adds to it); `max_cpu_ms` is the CPU the loop's thread spent meanwhile,
    what our code held it for whatever else the machine does. Over the whole window:
    `cpu_ms`, the loop thread's CPU, and `gc_ms`, the garbage collector's pauses.
    """

    def __init__(
        self, period: float = 0.002, *, fresh_gc: bool = False, promoted: bool = False
    ) -> None:
        """Look every `period` seconds.

        With `fresh_gc`, a full collection first: a full pass in the window is then due
        to what the window did, not to what earlier work left for the collector. With
        `promoted`, the objects promoted are counted: the young generations are listed
        at each collection of the middle one, work of the monitor's own in the window
        (the callers-at-once windows, which do not show the count, leave it off).
        """
        self.period = period
        self.fresh_gc = fresh_gc
        self.count_promoted = promoted
        self.max_ms = 0.0
        self.max_cpu_ms = 0.0
        self.promoted = 0
        """Objects that survived a collection of the middle generation into the oldest:
        about what brings the next full pass nearer (it comes when they reach a quarter
        of the oldest generation; untracked tuples and dicts are counted too)."""
        self._task: asyncio.Task[None] | None = None
        self._candidates = 0
        self.cpu_ms = 0.0
        self.gc_ms = 0.0
        self._cpu_start = 0.0

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before, cpu = loop.time(), time.thread_time()
            await asyncio.sleep(self.period)
            late = (loop.time() - before - self.period) * 1000
            self.max_ms = max(self.max_ms, late)
            self.max_cpu_ms = max(self.max_cpu_ms, (time.thread_time() - cpu) * 1000)

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        """Time the garbage collector's full passes (they stop every thread)."""
        if phase == "start":
            if info["generation"] == 1 and self.count_promoted:
                self._candidates = len(gc.get_objects(0)) + len(gc.get_objects(1))
            self._gc_start = time.perf_counter()
            return
        pause = (time.perf_counter() - self._gc_start) * 1000
        self.gc_ms += pause
        if info["generation"] == 2:
            self.max_gc_ms = max(self.max_gc_ms, pause)
        elif info["generation"] == 1 and self.count_promoted:
            self.promoted += max(0, self._candidates - info["collected"])

    async def __aenter__(self) -> LagMonitor:
        """Start watching."""
        if self.fresh_gc:
            gc.collect()
        self.max_gc_ms = 0.0
        self._gc_start = 0.0
        self._cpu_start = time.thread_time()
        gc.callbacks.append(self._collected)
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *_: object) -> None:
        """Stop watching."""
        await asyncio.sleep(self.period * 2)  # a stall at the very end counts too
        assert self._task is not None
        self._task.cancel()
        gc.callbacks.remove(self._collected)
        self.cpu_ms = (time.thread_time() - self._cpu_start) * 1000


@dataclass
class Timing:
    """Latency, time to the wire and loop-thread CPU of repeated calls (ms)."""

    wall: list[float]
    cpu: list[float]
    wire: list[float]

    def summary(self) -> dict[str, float]:
        """Medians and 95th percentiles."""
        return {
            "median_ms": statistics.median(self.wall),
            "p95_ms": percentile(self.wall, 0.95),
            "wire_median_ms": statistics.median(self.wire),
            "wire_p95_ms": percentile(self.wire, 0.95),
            "cpu_median_ms": statistics.median(self.cpu),
            "cpu_p95_ms": percentile(self.cpu, 0.95),
        }


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie."""
    ordered = sorted(values)
    return ordered[max(0, round(len(ordered) * share) - 1)]


async def timed(
    times: int,
    calls: dict[str, Callable[[int], Awaitable[Any]]],
    emulator: RemoteEmulator,
    settle: Callable[[], Awaitable[Any]],
) -> dict[str, Timing]:
    """Run each of `calls` `times` times, taking turns (after 20 unmeasured rounds).

    Taking turns, whatever else the machine does weighs on every path alike; in a new
    order each round (the same orders each run), so that no path always follows the
    same one. Between two calls, untimed, `settle` lets what a call left to do run to
    its end (what follows our send: tracking, events, entity states): run in the next
    call's window, it slowed whatever came next, Apprise's thread (which waits for the
    interpreter's lock) as much as ours. Also times how long until the emulator received
    the request (the wire).
    """
    timings = {name: Timing([], [], []) for name in calls}
    order = list(calls.items())
    shuffle = random.Random(0).shuffle
    for i in range(-20, times):
        shuffle(order)
        for name, call in order:
            await settle()
            start, start_cpu, start_clock = time.perf_counter(), time.thread_time(), time.time()
            await call(i)
            if i < 0:
                continue
            timing = timings[name]
            timing.cpu.append((time.thread_time() - start_cpu) * 1000)
            timing.wall.append((time.perf_counter() - start) * 1000)
            first = emulator.first_request_since(start_clock)
            assert first is not None, f"{name} sent no request"
            timing.wire.append((first.at - start_clock) * 1000)
    return timings


# -- the emulated network ------------------------------------------------------------------


def entry_for(provider: GatewayId, emulator: RemoteEmulator) -> MockConfigEntry:
    """A config entry for the emulated account (`make_entry` reads `base_url` only).

    Hundreds of alerts go to one number in a minute: the storm guard would hold all but
    ten. Off, its bookkeeping still runs with every alert (and is timed); it only holds
    nothing.
    """
    return make_entry(provider, cast("EmulatedGateway", emulator), options={"storm_guard": False})


@asynccontextmanager
async def home_assistant(config_dir: str) -> AsyncIterator[HomeAssistant]:
    """A running Home Assistant with custom integrations enabled."""
    async with async_test_home_assistant(config_dir=config_dir) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
        yield hass


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add and load an entry."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def phones(count: int, first: int = 0) -> list[str]:
    """`count` different valid Russian mobile numbers."""
    return [f"+7916{n:07d}" for n in range(first, first + count)]


async def send_action(
    hass: HomeAssistant, entry: MockConfigEntry, to: list[str], text: str
) -> None:
    """`ru_sms.send_message` to `to`."""
    await hass.services.async_call(
        "ru_sms",
        "send_message",
        {"config_entry_id": entry.entry_id, "phones": to, "message": text},
        blocking=True,
    )


# -- alerts: our overhead over a bare POST -----------------------------------------------


class MinimalNotify(NotifyEntity):
    """A notify entity that does nothing but the bare POST: Home Assistant's own share."""

    _attr_name = "minimal"
    _attr_unique_id = "ru_sms_benchmark_minimal"

    def __init__(self, post: Callable[[str], Awaitable[None]]) -> None:
        """Send with `post`."""
        self._post = post

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """POST the message."""
        await self._post(message)


OtherPaths = Callable[[str], dict[str, Callable[[int], Awaitable[Any]]]]
"""More paths to time beside ours, given the emulator's base URL (another notifier)."""


async def alert_overhead(
    hass: HomeAssistant, net: NetworkProcess, sends: int, others: OtherPaths | None = None
) -> dict[str, Any]:
    """One alert through `notify.send_message`, `ru_sms.send_message` and a bare POST.

    Also through an action and a notify entity that do nothing but the same bare POST on
    Home Assistant's session: what Home Assistant's own dispatch costs any integration,
    so that the overhead splits into Home Assistant's share and ours; and through
    `others`, taking turns with ours against the same emulator.
    """
    emulator = await net.start(GatewayId.SMSC)
    entry = entry_for(GatewayId.SMSC, emulator)
    await set_up(hass, entry)
    session = aiohttp.ClientSession()
    try:

        def notify_via(entity_id: str, mark: str) -> Callable[[int], Awaitable[None]]:
            """Alert number `i` through the notify entity `entity_id`."""

            async def notify(i: int) -> None:
                await hass.services.async_call(
                    "notify",
                    "send_message",
                    {"entity_id": entity_id, "message": f"Котёл: авария №{i}{mark}"},
                    blocking=True,
                )

            return notify

        async def action(i: int) -> None:
            await send_action(hass, entry, [IVAN], f"Котёл: авария №{i}!")

        await action(-100)
        sent = emulator.requests[-1]
        form = dict(sent.form)
        text_key = next(k for k, v in form.items() if v == "Котёл: авария №-100!")
        url = emulator.base_url.rstrip("/").rsplit("/", 1)[0] + sent.path

        async def post(text: str, http: aiohttp.ClientSession = session) -> None:
            async with http.post(url, data=form | {text_key: text}) as resp:
                await resp.read()

        async def bare(i: int) -> None:
            await post(f"Котёл: авария №{i}?")

        async def post_on_ha(text: str) -> None:
            await post(text, async_get_clientsession(hass))

        async def handle_minimal(call: ServiceCall) -> None:
            await post_on_ha(call.data["message"])

        hass.services.async_register("ru_sms_benchmark", "minimal", handle_minimal)
        await hass.data[NOTIFY_ENTITIES].async_add_entities([MinimalNotify(post_on_ha)])

        async def minimal_action(i: int) -> None:
            await hass.services.async_call(
                "ru_sms_benchmark", "minimal", {"message": f"Котёл: авария №{i};"}, blocking=True
            )

        timings = await timed(
            sends,
            {
                "notify": notify_via("notify.ivan", "."),
                "action": action,
                "bare_post": bare,
                "minimal_notify": notify_via("notify.minimal", ":"),
                "minimal_action": minimal_action,
                **(others(emulator.base_url) if others else {}),
            },
            emulator,
            hass.async_block_till_done,
        )
        results: dict[str, Any] = {name: t.summary() for name, t in timings.items()}
        bare_post = results["bare_post"]
        for path in ("notify", "action"):
            ours, floor = results[path], results[f"minimal_{path}"]
            results[f"{path}_overhead"] = {
                "wire_ms": ours["wire_median_ms"] - bare_post["wire_median_ms"],
                "round_trip_ms": ours["median_ms"] - bare_post["median_ms"],
                "cpu_ms": ours["cpu_median_ms"] - bare_post["cpu_median_ms"],
                "home_assistant_wire_ms": floor["wire_median_ms"] - bare_post["wire_median_ms"],
                "ours_wire_ms": ours["wire_median_ms"] - floor["wire_median_ms"],
            }
        return results
    finally:
        hass.services.async_remove("ru_sms_benchmark", "minimal")
        await hass.data[NOTIFY_ENTITIES].async_remove_entity("notify.minimal")
        await session.close()
        assert await hass.config_entries.async_unload(entry.entry_id)
        await net.stop(emulator)


# -- one send to many numbers ---------------------------------------------------------


def lag_figures(lag: LagMonitor) -> dict[str, float]:
    """What a window held the loop for, and what it left the garbage collector."""
    return {
        "max_loop_lag_ms": lag.max_ms,
        "max_loop_cpu_ms": lag.max_cpu_ms,
        "max_full_gc_ms": lag.max_gc_ms,
        "promoted": lag.promoted,
    }


async def bulk_send(
    hass: HomeAssistant, net: NetworkProcess, counts: list[int], pending: int
) -> dict[str, Any]:
    """One `ru_sms.send_message` to thousands of numbers: requests, wall, loop lag.

    Then the first status poll of what the sends left in flight, and a poll with
    `pending` messages in flight. Every window starts after a full collection: a full
    pass in it comes of its own work.
    """
    emulator = await net.start(GatewayId.SMSC)
    entry = entry_for(GatewayId.SMSC, emulator)
    await set_up(hass, entry)
    results: dict[str, Any] = {}
    tracker = entry.runtime_data.tracker
    try:
        for count in counts:
            to = phones(count)
            emulator.reset_counts()
            emulator.advance(61)
            async with LagMonitor(fresh_gc=True, promoted=True) as lag:
                start = time.perf_counter()
                await send_action(hass, entry, to, f"Котёл: авария, {count} номеров")
                wall = time.perf_counter() - start
                await hass.async_block_till_done()
            results[str(count)] = {
                "requests": emulator.count(),
                "wall_ms": wall * 1000,
                **lag_figures(lag),
                "tracked": tracker.in_flight,
            }
        # The first status poll of everything the sends left in flight.
        results["poll"] = await timed_poll(hass, tracker, emulator)
        if (more := pending - tracker.in_flight) > 0:
            emulator.advance(61)
            await send_action(hass, entry, phones(more, first=10**6), "Котёл: авария")
            await hass.async_block_till_done()
        results["poll_pending"] = await timed_poll(hass, tracker, emulator)
    finally:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await net.stop(emulator)
    return results


async def smstele_bulk_poll(hass: HomeAssistant, net: NetworkProcess, count: int) -> dict[str, Any]:
    """SMStele: one send to `count` numbers (its numbers share one id), then its first poll."""
    emulator = await net.start(GatewayId.SMSTELE)
    entry = entry_for(GatewayId.SMSTELE, emulator)
    await set_up(hass, entry)
    tracker = entry.runtime_data.tracker
    try:
        await send_action(hass, entry, phones(count), "Котёл: авария")
        await hass.async_block_till_done()
        return await timed_poll(hass, tracker, emulator, GatewayId.SMSTELE)
    finally:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await net.stop(emulator)


async def timed_poll(
    hass: HomeAssistant,
    tracker: Any,
    emulator: RemoteEmulator,
    provider: GatewayId = GatewayId.SMSC,
) -> dict[str, Any]:
    """The next status poll of `tracker`: requests, wall, loop lag."""
    pending = tracker.in_flight
    clock = SimulatedClock(tracker, emulator)
    emulator.reset_counts()
    try:
        async with LagMonitor(fresh_gc=True, promoted=True) as lag:
            start = time.perf_counter()
            await clock.next_poll()
            wall = time.perf_counter() - start
            await hass.async_block_till_done()
    finally:
        clock.release()
    return {
        "pending": pending,
        "requests": emulator.count(STATUS_PATH[provider]),
        "wall_ms": wall * 1000,
        **lag_figures(lag),
        "final_after": pending - tracker.in_flight,
    }


# -- history: per-alert CPU, saves and startup with records kept ---------------------------


def history_rows(count: int, recipient_id: str | None) -> list[str]:
    """`count` finished, delivered messages of the last six days, as stored."""
    now = datetime.now(UTC)
    rows: list[str] = []
    for n in range(count):
        sent = now - timedelta(days=6) + timedelta(seconds=n * 6 * 86400 / max(count, 1))
        message = TrackedMessage(
            phone=f"7925{n:07d}",
            message_ids=[str(10_000_000 + n)],
            sent_at=sent,
            expires_at=sent + timedelta(hours=25),
            recipient_id=recipient_id if n % 10 == 0 else None,
            state=DeliveryState.DELIVERED,
            raw_code="1",
            raw_text="Delivered",
            cost=1.9,
            updated_at=sent + timedelta(seconds=5),
            delivered_at=sent + timedelta(seconds=5),
            finished_at=sent + timedelta(seconds=15),
            polls=1,
        )
        rows.append(message.to_row().decode())
    return rows


@dataclass
class Account:
    """An SMSC account set up with a history of finished messages on file."""

    records: int
    emulator: RemoteEmulator
    entry: MockConfigEntry
    path: Path
    startup: LagMonitor
    cpu: list[float]


async def account_with_history(hass: HomeAssistant, net: NetworkProcess, records: int) -> Account:
    """Write `records` finished messages to a new account's store, then set it up."""
    emulator = await net.start(GatewayId.SMSC)
    entry = entry_for(GatewayId.SMSC, emulator)
    (recipient_id,) = entry.subentries
    path = Path(hass.config.path(".storage", store_key(StoreKind.TRACKER, entry.entry_id)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "version": STORAGE_VERSION,
                "minor_version": 1,
                "key": store_key(StoreKind.TRACKER, entry.entry_id),
                "data": {"rows": history_rows(records, recipient_id), "last_list_poll": None},
            }
        )
    )
    async with LagMonitor() as startup:
        await set_up(hass, entry)
    assert entry.runtime_data.tracker.on_record == records
    return Account(records, emulator, entry, path, startup, [])


async def with_history(
    hass: HomeAssistant, net: NetworkProcess, counts: list[int], alerts: int
) -> dict[str, Any]:
    """Startup, per-alert CPU and one save with each count of finished messages on file.

    The accounts take turns alert by alert: whatever else the machine does weighs on
    every count alike.
    """
    accounts = [await account_with_history(hass, net, count) for count in counts]
    for i in range(-20, alerts):  # 20 unmeasured warm-ups each
        for account in accounts:
            start = time.thread_time()
            await send_action(hass, account.entry, [IVAN], f"Котёл: авария №{i}")
            if i >= 0:
                account.cpu.append((time.thread_time() - start) * 1000)
    results: dict[str, Any] = {}
    for account in accounts:
        tracker = account.entry.runtime_data.tracker
        # A save of everything (as after any change), now instead of after its delay.
        async with LagMonitor() as save:
            await tracker.async_save()
        size = account.path.stat().st_size
        async with LagMonitor() as unload:
            assert await hass.config_entries.async_unload(account.entry.entry_id)
        await hass.config_entries.async_remove(account.entry.entry_id)
        await net.stop(account.emulator)
        results[str(account.records)] = {
            "alert_cpu_median_ms": statistics.median(account.cpu),
            "startup_max_loop_lag_ms": account.startup.max_ms,
            "startup_max_loop_cpu_ms": account.startup.max_cpu_ms,
            "startup_max_full_gc_ms": account.startup.max_gc_ms,
            "save_max_loop_lag_ms": save.max_ms,
            "save_max_loop_cpu_ms": save.max_cpu_ms,
            "save_max_full_gc_ms": save.max_gc_ms,
            "unload_max_loop_lag_ms": unload.max_ms,
            "file_mb": size / 1e6,
        }
    base = results[str(counts[0])]["alert_cpu_median_ms"]
    for row in results.values():
        row["alert_cpu_vs_first"] = row["alert_cpu_median_ms"] / base - 1
    return results


# -- status requests until final ----------------------------------------------------------


def deliver_after(emulator: Any, provider: GatewayId, seconds: float) -> None:
    """Every message is handed on at once and delivered `seconds` after the send.

    Runs in the network's process (`RemoteEmulator.apply`): the closure set for Stream
    and Devino does not go over the pipe.
    """
    if provider is GatewayId.SMSC:
        emulator.queued_seconds = 0
        emulator.final_seconds = seconds
    elif provider is GatewayId.SMSTELE:
        emulator.final_after = seconds
    else:

        def state_code(segment: Any) -> tuple[int, float | None]:
            if emulator.now() >= segment.starts + seconds:
                return 0, segment.starts + seconds
            return -1, segment.starts

        emulator.state_code = state_code


class SimulatedClock:
    """Runs a tracker's polls by hand on a clock moved with its gateway's."""

    def __init__(self, tracker: Any, emulator: RemoteEmulator) -> None:
        """Take over `tracker`'s clock (until `release`)."""
        self.tracker = tracker
        self.emulator = emulator
        self.offset = 0.0
        # The tracker's timers follow the moved clock: set ahead of real time by the
        # offset, none is due while the polls run here.
        tracker.now = self.utcnow
        # The client's request budget reads the same moved clock.
        self.budget = tracker.gateway.budget
        if self.budget is not None:
            loop = asyncio.get_running_loop()
            self.budget.clock = lambda: loop.time() + self.offset

    def utcnow(self) -> datetime:
        """The simulated time."""
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    async def next_poll(self) -> None:
        """Move the clocks to the tracker's next wake-up and run what is due."""
        wake = self.tracker.wake_at
        assert wake is not None
        step = max(0.0, wake - self.utcnow().timestamp()) + 0.001
        self.offset += step
        # A blocking round trip to the network's process inside the measured window:
        # well under a millisecond, next to the poll it lets run.
        self.emulator.advance(step)
        await self.tracker.async_poll()

    def release(self) -> None:
        """Give the tracker its clock back."""
        self.tracker.now = dt_util.utcnow
        if self.budget is not None:
            self.budget.clock = None


async def status_requests(
    hass: HomeAssistant, net: NetworkProcess, provider: GatewayId, text: str, seconds: float
) -> int:
    """Status requests the tracker makes for one message until it is final.

    Delivered `seconds` after it went out (or counted for an hour when it never is),
    on a simulated clock.
    """
    emulator = await net.start(provider)
    emulator.apply(deliver_after, provider, seconds)
    entry = entry_for(provider, emulator)
    await set_up(hass, entry)
    tracker = entry.runtime_data.tracker
    clock = SimulatedClock(tracker, emulator)
    try:
        emulator.reset_counts()
        await send_action(hass, entry, [IVAN], text)
        # The tracker takes the message after the caller has its answer.
        await hass.async_block_till_done()
        if not tracker.in_flight:
            raise RuntimeError(f"{provider}: the message was not tracked")
        emulator.reset_counts()
        while tracker.in_flight and clock.offset < 3600:
            await clock.next_poll()
        return emulator.count(STATUS_PATH[provider])
    finally:
        clock.release()
        assert await hass.config_entries.async_unload(entry.entry_id)
        await net.stop(emulator)
