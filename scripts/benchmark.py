"""Figures for the gateway clients: requests per warm alert, overhead per send.

Run with `scripts/benchmark [--sends N]`. Each gateway's emulator runs on 127.0.0.1; the
first send warms the client (a login where the gateway has sessions), then one alert is
counted, then N more are timed end to end over loopback HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiohttp

from custom_components.ru_sms.providers import SendOptions, create_client
from tests.emulators.catalog import ACCOUNTS

PHONE = "+7 916 123-45-67"


async def measure(sends: int) -> None:
    """Print one line per gateway."""
    print(f"{'gateway':10} {'cold':>5} {'warm':>5} {'median ms':>10} {'p95 ms':>8}")
    async with aiohttp.ClientSession() as session:
        for provider, account in ACCOUNTS.items():
            emulator = account.emulator()
            await emulator.start()
            # Enough money for every timed send, whatever the gateway counts in.
            for funds in ("balance", "credits"):
                if hasattr(emulator, funds):
                    setattr(emulator, funds, type(getattr(emulator, funds))(10**9))
            try:
                client = create_client(
                    provider, session, account.credentials, base_url=emulator.base_url
                )
                options = SendOptions(sender=account.sender)
                await client.send([PHONE], "Котёл: авария (прогрев)", options)
                cold = emulator.count()
                emulator.reset_counts()
                await client.send([PHONE], "Котёл: авария", options)
                warm = emulator.count()
                times: list[float] = []
                for i in range(sends):
                    emulator.advance(61)  # SMSC refuses identical sends within a minute
                    start = time.perf_counter()
                    await client.send([PHONE], f"Котёл: авария №{i}", options)
                    times.append((time.perf_counter() - start) * 1000)
                times.sort()
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                print(
                    f"{provider.value:10} {cold:>5} {warm:>5} "
                    f"{statistics.median(times):>10.2f} {p95:>8.2f}"
                )
            finally:
                await emulator.stop()
    print(f"cold/warm: HTTP requests of the first and the second alert; times over {sends} sends")


def main() -> None:
    """Parse the arguments and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sends", type=int, default=200)
    asyncio.run(measure(parser.parse_args().sends))


if __name__ == "__main__":
    main()
