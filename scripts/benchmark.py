"""ru_sms's performance record: one run against the emulated gateways.

Run with `scripts/benchmark [--sends N] [--json PATH] [--compare-apprise] [--only ...]`.
It prints a table and writes the figures as JSON (default `benchmark.json`):

- `requests`: HTTP requests of a cold (first) and a warm alert per gateway, from the
  client;
- `alert`: latency, time to the wire and loop CPU of an alert through
  `notify.send_message` and `ru_sms.send_message` inside Home Assistant, and of a bare
  aiohttp POST of the same form to the same emulator: the difference is the
  integration's overhead; also of an action and a notify entity that do nothing but that
  POST, Home Assistant's own share of the overhead (what its service and entity dispatch
  cost any integration);
- `bulk`: one `ru_sms.send_message` to 1,000 and to 10,000 numbers, the first status
  poll after them and a poll with 50,000 messages in flight: requests, wall, loop lag,
  and the objects each left to the garbage collector's oldest generation;
- `status`: status requests until final per gateway, for messages of one and two
  segments delivered two minutes after the send, and within an hour for one never
  delivered;
- `history`: CPU of an alert with 0 / 1,000 / 10,000 / 50,000 records kept, and the
  loop lag of startup and of a save with them;
- `concurrency`, `outage`, `memory`: see `scripts.benchmark_load` (callers at once
  beside a bare POST; a send during an outage, 1,000 queued, a restart with 4 accounts
  of 12,500 records and the queue, the drain; the memory of 10,000 tracked messages by
  `tracemalloc`).

The emulators serve from a process of their own, as a network would: the loop's lag and
CPU are then Home Assistant's and ours alone, not the emulator's (the requests per alert,
counted from a plain client with nothing timed, are served in this process).

With `--compare-apprise`, Apprise 2.3.0's `smsc://` sends the same alert to the same SMSC
emulator in the same run (Apprise goes into a folder of its own, never into the test
requirements). Figures are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import tempfile
from typing import Any

import aiohttp

from custom_components.ru_sms.providers import SendOptions, build_gateway
from custom_components.ru_sms.providers.models import GatewayId
from scripts.benchmark_apprise import apprise_path, compare, load_apprise
from scripts.benchmark_ha import (
    LONG_TEXT,
    alert_overhead,
    bulk_send,
    home_assistant,
    smstele_bulk_poll,
    status_requests,
    with_history,
)
from scripts.benchmark_load import concurrency, memory, outage, refused
from scripts.benchmark_network import NetworkProcess
from tests.emulators.catalog import ACCOUNTS

PHONE = "+7 916 123-45-67"
RECORDS = [0, 1_000, 10_000, 50_000]
BULK = [1_000, 10_000]
PENDING = 50_000
"""Messages in flight at the second status poll."""


async def requests_per_alert() -> dict[str, dict[str, int]]:
    """HTTP requests of the first (cold) and the second (warm) alert per gateway."""
    found: dict[str, dict[str, int]] = {}
    async with aiohttp.ClientSession() as session:
        for provider, account in ACCOUNTS.items():
            emulator = account.emulator()
            await emulator.start()
            try:
                client = build_gateway(
                    provider, session, account.credentials, base_url=emulator.base_url
                )
                options = SendOptions(sender=account.sender)
                await client.send([PHONE], "Котёл: авария (прогрев)", options)
                cold = emulator.count()
                emulator.reset_counts()
                await client.send([PHONE], "Котёл: авария", options)
                found[provider.value] = {"cold": cold, "warm": emulator.count()}
            finally:
                await emulator.stop()
    return found


async def status_requests_all(hass: Any, net: NetworkProcess) -> dict[str, dict[str, int]]:
    """Status requests until final per gateway: one and two parts, delivered or never."""
    polling: dict[str, dict[str, int]] = {}
    for provider in GatewayId:
        polling[provider.value] = {
            f"{segments}_segment{'s' if segments > 1 else ''}_{label}": (
                await status_requests(hass, net, provider, text, seconds)
            )
            for segments, text in ((1, "Котёл: авария"), (2, LONG_TEXT))
            for label, seconds in (("delivered_2min", 120.0), ("never_1h", 10.0**7))
        }
    return polling


def gc_note(row: dict[str, Any], key: str = "max_full_gc_ms") -> str:
    """Where a full garbage collection (of all of Home Assistant) fell in the window."""
    return f"  [full GC {row[key]:.0f} ms]" if row.get(key) else ""


def table(results: dict[str, Any]) -> str:
    """The figures for people (of the sections measured)."""
    ha = results["ha"]
    parts = [
        requests_table(results["requests_per_alert"]) if "requests_per_alert" in results else "",
        alert_table(ha["alert"]) if "alert" in ha else "",
        bulk_table(ha["bulk"]) if "bulk" in ha else "",
        history_table(ha["history"]) if "history" in ha else "",
        status_table(ha["status_requests"]) if "status_requests" in ha else "",
        concurrency_table(ha["concurrency"]) if "concurrency" in ha else "",
        outage_table(ha["refused"], ha["outage"]) if "outage" in ha else "",
        memory_table(ha["memory"]) if "memory" in ha else "",
        results["apprise"]["summary"] if "apprise" in results else "",
    ]
    return "\n\n".join(part for part in parts if part)


def requests_table(requests: dict[str, dict[str, int]]) -> str:
    """HTTP requests of a cold and a warm alert per gateway."""
    lines = ["Requests per alert (cold / warm)"]
    lines += [f"  {name:8} {c['cold']} / {c['warm']}" for name, c in requests.items()]
    return "\n".join(lines)


def alert_table(alert: dict[str, Any]) -> str:
    """One alert at a time: ours beside a bare POST and Home Assistant's minimal paths."""
    lines = ["One alert (ms)            median    p95  to wire  CPU med  CPU p95"]
    add = lines.append
    for name, label in (
        ("notify", "notify.send_message"),
        ("action", "ru_sms.send_message"),
        ("bare_post", "bare aiohttp POST"),
        ("minimal_notify", "minimal notify entity"),
        ("minimal_action", "minimal action"),
        ("apprise", "Apprise smsc://"),
    ):
        if (row := alert.get(name)) is None:
            continue
        add(
            f"  {label:22} {row['median_ms']:7.2f} {row['p95_ms']:6.2f} "
            f"{row['wire_median_ms']:8.2f} {row['cpu_median_ms']:8.2f} {row['cpu_p95_ms']:8.2f}"
        )
    for name, label in (("notify", "notify"), ("action", "action")):
        over = alert[f"{name}_overhead"]
        add(
            f"  overhead of {label:7}: to the wire {over['wire_ms']:.2f} ms, "
            f"round trip {over['round_trip_ms']:.2f} ms, CPU {over['cpu_ms']:.2f} ms"
        )
        add(
            f"    to the wire, Home Assistant's share {over['home_assistant_wire_ms']:.2f} ms"
            f" (a minimal {label} that only POSTs), ours {over['ours_wire_ms']:.2f} ms"
        )
    return "\n".join(lines)


def bulk_table(bulk: dict[str, Any]) -> str:
    """One action to many numbers, and the polls after."""
    lines = [
        "Max loop lag: wall ms (CPU ms of the loop's thread); promoted: objects moved to the",
        "garbage collector's oldest generation (each window starts after a full collection)",
        "One action to many numbers   requests   wall ms  max loop lag  promoted",
    ]
    add = lines.append
    bulk = dict(bulk)
    polls = [bulk.pop("poll"), bulk.pop("poll_pending")]
    smstele = bulk.pop("smstele_poll", None)
    for count, row in bulk.items():
        add(
            f"  {int(count):>6} numbers {row['requests']:>14} {row['wall_ms']:>9.0f} "
            f"{row['max_loop_lag_ms']:>8.1f} ({row['max_loop_cpu_ms']:4.1f}) {row['promoted']:>9,}"
            + gc_note(row)
        )
    for poll in polls:
        add(
            f"  poll, {poll['pending']:>6,} in flight {poll['requests']:>7} "
            f"{poll['wall_ms']:>9.0f} {poll['max_loop_lag_ms']:>8.1f} "
            f"({poll['max_loop_cpu_ms']:4.1f}) {poll['promoted']:>9,}  "
            f"({poll['final_after']:,} final after it)" + gc_note(poll)
        )
    if smstele is not None:
        add(
            f"  SMStele poll, {smstele['pending']:,} numbers under one id: "
            f"{smstele['requests']} requests, {smstele['wall_ms']:.0f} ms, max loop lag "
            f"{smstele['max_loop_lag_ms']:.1f} ms ({smstele['max_loop_cpu_ms']:.1f})"
        )
    return "\n".join(lines)


def history_table(history: dict[str, Any]) -> str:
    """Per-alert CPU, start-up and a save with records kept."""
    lines = ["Records kept   alert CPU ms (vs 0)   startup lag    save lag  file MB"]
    for count, row in history.items():
        lines.append(
            f"  {int(count):>10} {row['alert_cpu_median_ms']:>13.3f} "
            f"({row['alert_cpu_vs_first']:+4.0%}) "
            f"{row['startup_max_loop_lag_ms']:>6.1f} ({row['startup_max_loop_cpu_ms']:4.1f}) "
            f"{row['save_max_loop_lag_ms']:>5.1f} ({row['save_max_loop_cpu_ms']:4.1f}) "
            f"{row['file_mb']:>8.2f}"
            + gc_note(row, "startup_max_full_gc_ms")
            + gc_note(row, "save_max_full_gc_ms")
        )
    return "\n".join(lines)


def status_table(status: dict[str, Any]) -> str:
    """Status requests until final per gateway."""
    lines = [
        "Status requests until final   1 seg 2 min  2 seg 2 min  1 seg never (1 h)  2 seg never"
    ]
    for gateway, row in status.items():
        lines.append(
            f"  {gateway:26} {row['1_segment_delivered_2min']:>11} "
            f"{row['2_segments_delivered_2min']:>12} {row['1_segment_never_1h']:>18} "
            f"{row['2_segments_never_1h']:>12}"
        )
    return "\n".join(lines)


def concurrency_table(found: dict[str, Any]) -> str:
    """Callers at once: ours beside a bare POST (a level's median window, and each)."""
    lines = [
        "Callers at once (SMSC.ru)   alerts/s    p50    p95    p99 (ms)  max loop lag (CPU)"
        "  full GC pass  loop CPU µs/alert  GC ms  alerts/s of each window",
    ]
    for level in (k for k in found if k.isdigit()):
        for name, label in (("ours", "ru_sms.send_message"), ("bare_post", "bare POST")):
            row = found[level][name]
            lines.append(
                f"  {level:>4} {label:20} {row['per_second']:>8.0f} {row['p50_ms']:>6.1f} "
                f"{row['p95_ms']:>6.1f} {row['p99_ms']:>6.1f}  "
                f"{row['max_loop_lag_ms']:>10.1f} ({row['max_loop_cpu_ms']:5.1f})"
                f"  {row.get('max_full_gc_ms', 0.0):>12.1f}"
                f"  {row.get('loop_cpu_us_per_alert', 0.0):>17.0f}  {row.get('gc_ms', 0.0):>5.0f}"
                f"  {' '.join(f'{r:.0f}' for r in row.get('per_second_windows', ()))}"
            )
    lines.append(
        f"  throughput at 200 callers (median window): {found['at_200_vs_4']:.0%} of the figure "
        f"at 4 callers, {found['at_200_vs_peak']:.0%} of the best level ({found['best_level']}); "
        f"gateway limits broken: {len(found['breaches'])} (storm guard off)"
    )
    if (storm := found.get("storm")) is not None:
        lines.append(
            f"  storm guard on, {storm['alerts']:,} alerts to one number by {storm['callers']} "
            f"callers: {storm['per_second']:.0f} alerts/s, p50 {storm['p50_ms']:.1f} ms, "
            f"p99 {storm['p99_ms']:.1f} ms, max loop lag {storm['max_loop_lag_ms']:.1f} ms "
            f"({storm['max_loop_cpu_ms']:.1f}); {storm['held']:,} held, "
            f"{storm['requests']} requests"
        )
    return "\n".join(lines)


def outage_lines(found: dict[str, Any]) -> list[str]:
    """A send while the gateway fails, and 1,000 queued."""
    single, burst = found["send_while_down"], found["queue_at_once"]
    return [
        f"  a send while down, one at a time: p50 {single['p50_ms']:.1f} ms, "
        f"max {single['max_ms']:.1f} ms",
        f"  {burst['alerts']:,} sends by {burst['callers']} callers at once: "
        f"{burst['wall_ms'] / 1000:.1f} s until all returned, p50 {burst['p50_ms']:.0f} ms, "
        f"p99 {burst['p99_ms']:.0f} ms, max loop lag {burst['max_loop_lag_ms']:.1f} ms "
        f"({burst['max_loop_cpu_ms']:.1f}); {burst['queued']:,} queued",
    ]


def drain_line(drain: dict[str, Any], when: str) -> str:
    """The queue sent when the gateway is back."""
    return (
        f"  drain when the gateway is back{when}: {drain['drained']:,} of "
        f"{drain['waiting']:,} in {drain['draining_ms'] / 1000:.1f} s "
        f"({drain['per_second']:.0f}/s; first after {drain['until_first_ms'] / 1000:.1f} s), "
        f"{drain['requests']:,} requests, max loop lag {drain['max_loop_lag_ms']:.1f} ms "
        f"({drain['max_loop_cpu_ms']:.1f}), gateway limits broken: {len(drain['breaches'])}; "
        f"the {drain['certain']:,} certainly not sent in {drain['certain_ms'] / 1000:.1f} s, "
        f"the {drain['waiting'] - drain['certain']:,} in doubt after the gateway's evidence"
    )


def outage_table(refused: dict[str, Any], found: dict[str, Any]) -> str:
    """Outages: the host down, then the send path failing with a restart during it."""
    lines = ["Outage of SMSC.ru: its host down (connections refused)"]
    lines += outage_lines(refused)
    lines.append(drain_line(refused["drain"], ""))
    lines.append("Outage of SMSC.ru's send path (502 pages), Home Assistant restarted during it")
    lines += outage_lines(found)
    lines.append(
        "  Start-up (accounts at once)          setup ms  max loop lag (CPU)  records  queued"
    )
    for key, label in (
        ("startup_records_only", "4 x 12,500 records"),
        ("startup_queue_only", "1 account, the queue alone"),
        ("startup", "4 x 12,500 records + the queue"),
    ):
        row = found[key]
        lines.append(
            f"    {label:32} {row['setup_ms']:>8.0f} {row['max_loop_lag_ms']:>8.1f} "
            f"({row['max_loop_cpu_ms']:5.1f}) {row['records']:>9,} {row['queued']:>6,}"
            + gc_note(row)
        )
    lines.append(drain_line(found["drain"], " (after the restart)"))
    return "\n".join(lines)


def memory_table(found: dict[str, Any]) -> str:
    """What the tracker holds after a send and its delivery reports."""
    lines = ["Memory the tracker holds (tracemalloc), after the send and the delivery reports"]
    for key, label in (
        ("one_part", "one part each (SMSC.ru)"),
        ("two_parts", "two parts each (Devino)"),
    ):
        row = found[key]
        lines.append(
            f"  {row['records']:,} messages, {label}: {row['mb']:.2f} MB "
            f"({row['bytes_per_record']:.0f} bytes each; {row['final']:,} final); "
            f"loaded from the file: {row['loaded_mb']:.2f} MB"
        )
    return "\n".join(lines)


SECTIONS = (
    "requests",
    "alert",
    "bulk",
    "status",
    "history",
    "concurrency",
    "outage",
    "memory",
)
"""What `--only` can pick (everything by default; `--compare-apprise` adds Apprise)."""


async def measure_ha(args: argparse.Namespace, sections: set[str], apprise: Any) -> dict[str, Any]:
    """Every Home Assistant figure of the run (one `hass`, one config folder)."""
    net = NetworkProcess()
    results: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as config_dir:
            async with home_assistant(config_dir) as hass:
                if "alert" in sections:
                    others = apprise_path(apprise) if apprise else None
                    results["alert"] = await alert_overhead(hass, net, args.sends, others)
                if "bulk" in sections:
                    results["bulk"] = await bulk_send(hass, net, BULK, PENDING)
                    results["bulk"]["smstele_poll"] = await smstele_bulk_poll(hass, net, BULK[-1])
                if "status" in sections:
                    results["status_requests"] = await status_requests_all(hass, net)
                if "history" in sections:
                    results["history"] = await with_history(hass, net, RECORDS, args.sends)
                if "concurrency" in sections:
                    results["concurrency"] = await concurrency(hass, net)
                if "outage" in sections:
                    results["refused"] = await refused(hass, net)
                    results["outage"] = await outage(hass, net)
                if "memory" in sections:
                    results["memory"] = await memory(hass, net)
    finally:
        net.close()
    return results


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of the run."""
    sections = set(args.only or SECTIONS)
    results: dict[str, Any] = {}
    if "requests" in sections:
        results["requests_per_alert"] = await requests_per_alert()
    apprise = load_apprise() if args.compare_apprise else None
    results["ha"] = await measure_ha(args, sections, apprise)
    if apprise:
        results["apprise"] = await compare(apprise, results["ha"].get("alert"))
    return results


def main() -> None:
    """Parse the arguments, measure, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sends", type=int, default=200, help="alerts timed per path")
    parser.add_argument("--json", type=Path, default=Path("benchmark.json"))
    parser.add_argument("--compare-apprise", action="store_true")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="measure these sections only")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(table(results))
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
