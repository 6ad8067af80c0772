"""ru_sms's performance record: one run against the emulated gateways.

Run with `scripts/benchmark [--sends N] [--json PATH] [--compare-apprise]`. It prints a
table and writes the figures as JSON (default `benchmark.json`):

- HTTP requests of a cold (first) and a warm alert per gateway, from the client;
- latency, time to the wire and loop CPU of an alert through `notify.send_message` and
  `ru_sms.send_message` inside Home Assistant, and of a bare aiohttp POST of the same
  form to the same emulator: the difference is the integration's overhead; also of an
  action and a notify entity that do nothing but that POST, Home Assistant's own share
  of the overhead (what its service and entity dispatch cost any integration);
- one `ru_sms.send_message` to 1,000 and to 10,000 numbers, the first status poll after
  them and a poll with 50,000 messages in flight: requests, wall, loop lag, and the
  objects each left to the garbage collector's oldest generation;
- CPU of an alert with 0 / 1,000 / 10,000 / 50,000 records kept, and the loop lag of
  startup and of a save with them; the memory of 10,000 tracked messages;
- status requests until final per gateway, for messages of one and two segments
  delivered two minutes after the send, and within an hour for one never delivered.

The emulators serve from a process of their own, as a network would: the loop's lag and
CPU are then Home Assistant's and ours alone, not the emulator's (the requests per alert,
counted from a plain client with nothing timed, are served in this process).

With `--compare-apprise`, Apprise's `smsc://` sends the same alert to the same SMSC
emulator (Apprise goes into a folder of its own, never into the test requirements).
Figures are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from custom_components.ru_sms.providers import SendOptions, create_client
from scripts.benchmark_ha import measure_ha
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
                client = create_client(
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


def gc_note(row: dict[str, Any], key: str = "max_full_gc_ms") -> str:
    """Where a full garbage collection (of all of Home Assistant) fell in the window."""
    return f"  [full GC {row[key]:.0f} ms]" if row.get(key) else ""


def table(results: dict[str, Any]) -> str:
    """The figures for people."""
    lines: list[str] = []
    add = lines.append
    add("Requests per alert (cold / warm)")
    for gateway, counts in results["requests_per_alert"].items():
        add(f"  {gateway:8} {counts['cold']} / {counts['warm']}")
    alert = results["ha"]["alert"]
    add("")
    add("One alert (ms)            median    p95  to wire  CPU med  CPU p95")
    for name, label in (
        ("notify", "notify.send_message"),
        ("action", "ru_sms.send_message"),
        ("bare_post", "bare aiohttp POST"),
        ("minimal_notify", "minimal notify entity"),
        ("minimal_action", "minimal action"),
    ):
        row = alert[name]
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
    add("")
    add("Max loop lag: wall ms (CPU ms of the loop's thread); promoted: objects moved to the")
    add("garbage collector's oldest generation (each window starts after a full collection)")
    add("One action to many numbers   requests   wall ms  max loop lag  promoted")
    bulk = dict(results["ha"]["bulk"])
    polls = [bulk.pop("poll"), bulk.pop("poll_pending")]
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
    add("")
    add("Records kept   alert CPU ms (vs 0)   startup lag    save lag  file MB")
    for count, row in results["ha"]["history"].items():
        add(
            f"  {int(count):>10} {row['alert_cpu_median_ms']:>13.3f} "
            f"({row['alert_cpu_vs_first']:+4.0%}) "
            f"{row['startup_max_loop_lag_ms']:>6.1f} ({row['startup_max_loop_cpu_ms']:4.1f}) "
            f"{row['save_max_loop_lag_ms']:>5.1f} ({row['save_max_loop_cpu_ms']:4.1f}) "
            f"{row['file_mb']:>8.2f}"
            + gc_note(row, "startup_max_full_gc_ms")
            + gc_note(row, "save_max_full_gc_ms")
        )
    memory = results["ha"]["memory"]
    add(
        f"Memory of {memory['records']:,} tracked messages: {memory['mb']:.2f} MB "
        f"({memory['bytes_per_record']:.0f} bytes each)"
    )
    add("")
    add("Status requests until final   1 seg 2 min  2 seg 2 min  1 seg never (1 h)  2 seg never")
    for gateway, row in results["ha"]["status_requests"].items():
        add(
            f"  {gateway:26} {row['1_segment_delivered_2min']:>11} "
            f"{row['2_segments_delivered_2min']:>12} {row['1_segment_never_1h']:>18} "
            f"{row['2_segments_never_1h']:>12}"
        )
    if apprise := results.get("apprise"):
        add("")
        add(apprise["summary"])
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of the run."""
    results: dict[str, Any] = {"requests_per_alert": await requests_per_alert()}
    results["ha"] = await measure_ha(args.sends, RECORDS, BULK, PENDING)
    if args.compare_apprise:
        from scripts.benchmark_apprise import compare  # noqa: PLC0415 - optional

        results["apprise"] = await compare(args.sends, results["ha"]["alert"])
    return results


def main() -> None:
    """Parse the arguments, measure, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sends", type=int, default=200, help="alerts timed per path")
    parser.add_argument("--json", type=Path, default=Path("benchmark.json"))
    parser.add_argument("--compare-apprise", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(table(results))
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
