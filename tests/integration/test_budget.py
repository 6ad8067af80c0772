"""The request budget: concurrency, sends first, documented windows, and the SMSC.ru scopes."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
import pytest

from custom_components.ru_sms import services as services_module
from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.providers import RateLimit, SmscClient
from custom_components.ru_sms.providers.budget import MAX_KEYS, RequestBudget
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.providers.smsc import (
    BALANCE_SCOPE,
    DESCRIPTION,
    LIST_SCOPE,
    PER_MESSAGE_SCOPE,
)
from tests.conftest import IVAN, setup_account
from tests.emulators.catalog import ACCOUNTS
from tests.emulators.smsc import SmscEmulator


async def test_never_more_at_once_than_the_budget() -> None:
    budget = RequestBudget((), concurrent=3)
    running = 0
    most = 0

    async def request() -> None:
        nonlocal running, most
        async with budget.use():
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.gather(*(request() for _ in range(20)))

    assert most == 3


async def test_sends_go_before_polls() -> None:
    budget = RequestBudget((), concurrent=1)
    order: list[str] = []
    gate = asyncio.Event()

    async def request(name: str, *, send: bool) -> None:
        async with budget.use(send=send):
            order.append(name)
            await gate.wait()

    first = asyncio.create_task(request("first", send=False))
    await asyncio.sleep(0)
    polls = [asyncio.create_task(request(f"poll{i}", send=False)) for i in range(3)]
    await asyncio.sleep(0)
    send = asyncio.create_task(request("send", send=True))
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, send, *polls)

    assert order[:2] == ["first", "send"]


async def test_a_freed_slot_wakes_one_waiter_not_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hundred sends for one slot: each end tells one waiter (all of them: 100 x 100 looks)."""
    budget = RequestBudget((RateLimit(1000, 60.0, "send"),), concurrent=1)
    looks = 0
    window_wait = budget._window_wait

    def counted(*args: Any) -> float:
        nonlocal looks
        looks += 1
        return window_wait(*args)

    monkeypatch.setattr(budget, "_window_wait", counted)
    order: list[int] = []

    async def request(n: int) -> None:
        async with budget.use([("send", str(n))], send=True):
            order.append(n)
            await asyncio.sleep(0)

    await asyncio.gather(*(request(n) for n in range(100)))
    assert sorted(order) == list(range(100))
    assert looks < 300  # about two looks each; telling them all made it about 5,000


async def test_a_slot_one_waiter_cannot_take_goes_to_the_next() -> None:
    """The first in line waits for its window: the one behind it takes the freed slot."""
    budget = RequestBudget((RateLimit(1, 60.0, "list"),), concurrent=1)
    async with budget.use([("list", "")]):
        pass  # the list window is spent for a minute
    gate = asyncio.Event()
    order: list[str] = []

    async def request(name: str, scopes: list[tuple[str, str]]) -> None:
        async with budget.use(scopes):
            order.append(name)
            await gate.wait()

    holder = asyncio.create_task(request("holder", []))
    await asyncio.sleep(0)
    blocked = asyncio.create_task(request("list", [("list", "")]))
    await asyncio.sleep(0)
    free = asyncio.create_task(request("poll", []))
    await asyncio.sleep(0)
    gate.set()
    await asyncio.wait_for(asyncio.gather(holder, free), 1)
    assert order == ["holder", "poll"]
    assert not blocked.done()
    blocked.cancel()


async def test_a_window_is_never_exceeded() -> None:
    budget = RequestBudget((RateLimit(2, 0.2, "list"),), concurrent=10)
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def request() -> None:
        async with budget.use([("list", "")]):
            times.append(loop.time())

    await asyncio.gather(*(request() for _ in range(5)))

    assert len(times) == 5
    for i in range(2, 5):
        assert times[i] - times[i - 2] >= 0.2 - 0.01
    assert budget.waited == 3
    # Scopes of other keys, and requests of no scope, do not wait.
    async with budget.use([("other", "x")]):
        pass
    assert budget.waited == 3


async def test_old_keys_are_forgotten() -> None:
    budget = RequestBudget((RateLimit(5, 0.0, PER_MESSAGE_SCOPE),), concurrent=10)
    for key in range(MAX_KEYS + 5):
        async with budget.use([(PER_MESSAGE_SCOPE, str(key))]):
            pass

    assert len(budget._seen) <= MAX_KEYS + 1


async def test_keys_still_in_their_window_are_not_looked_at_by_every_request() -> None:
    """Thousands of message ids in their minute: looked through when they have doubled.

    Not at every request that waits for a slot (each would walk them all).
    """
    budget = RequestBudget((RateLimit(5, 60.0, PER_MESSAGE_SCOPE),), concurrent=1)
    looked = 0
    prune = budget._prune

    def counted(now: float) -> None:
        nonlocal looked
        looked += len(budget._seen)
        prune(now)

    budget._prune = counted  # type: ignore[method-assign]
    keys = 4 * MAX_KEYS
    for key in range(keys):
        async with budget.use([(PER_MESSAGE_SCOPE, str(key))]):
            pass

    assert len(budget._seen) == keys  # all in their window: none forgotten
    # Looks at 1,001, 2,001 and 4,001 keys: about twice the keys, not keys x keys / 2.
    assert looked <= 2 * keys + 3


async def test_the_windows_come_back_from_a_restart_to_the_microsecond() -> None:
    """A restored request opens its window when the first one would have, not a rounding later.

    The tracker paces SMSC's list from its own record of the last list (to the microsecond):
    a window that reopened a fraction of a millisecond later would hold that poll back.
    """
    clock = SimpleNamespace(now=1_000.0)
    wall = 1_796_454_965.127709  # rounds up to .128 at three decimals
    before = RequestBudget((RateLimit(1, 60.0, LIST_SCOPE),), concurrent=2)
    before.clock = lambda: clock.now
    async with before.use([(LIST_SCOPE, "")]):
        pass
    snapshot = before.snapshot(wall)

    after = RequestBudget((RateLimit(1, 60.0, LIST_SCOPE),), concurrent=2)
    clock.now = 5_000.0
    after.clock = lambda: clock.now
    assert after.restore(snapshot, wall + 20) == 1
    clock.now += 40 - 0.000_1  # a tenth of a millisecond before the first list's minute ends
    assert after._window_wait([(LIST_SCOPE, "")], clock.now) == pytest.approx(0.000_1, abs=1e-6)
    clock.now += 0.000_1
    assert after._window_wait([(LIST_SCOPE, "")], clock.now) == 0


def test_smsc_declares_its_limits() -> None:
    limits = {limit.scope: limit for limit in DESCRIPTION.rate_limits}

    assert (limits[LIST_SCOPE].requests, limits[LIST_SCOPE].seconds) == (1, 60.0)
    assert (limits[PER_MESSAGE_SCOPE].requests, limits[PER_MESSAGE_SCOPE].seconds) == (5, 60.0)
    assert (limits[BALANCE_SCOPE].requests, limits[BALANCE_SCOPE].seconds) == (10, 60.0)


async def test_smsc_requests_count_against_their_scopes(
    http_session: aiohttp.ClientSession,
) -> None:
    emulator = SmscEmulator()
    await emulator.start()
    try:
        client = SmscClient(
            http_session,
            ACCOUNTS[SmscClient.description.id].credentials,
            base_url=emulator.base_url,
        )
        assert client.budget is None
        budget = client.use_budget()
        assert client._budget_scopes("status.php", {"id": "1,2", "phone": "7,8"}) == [
            (PER_MESSAGE_SCOPE, "1"),
            (PER_MESSAGE_SCOPE, "2"),
            (LIST_SCOPE, ""),
        ]
        # Per message id, as SMSC.ru counts (a bulk send's numbers share one).
        assert client._budget_scopes("status.php", {"id": "1,1", "phone": "7,8"}) == [
            (PER_MESSAGE_SCOPE, "1"),
            (LIST_SCOPE, ""),
        ]
        # An id written as a list is a list request, even of one message.
        assert client._budget_scopes("status.php", {"id": "1,", "phone": "7,"}) == [
            (PER_MESSAGE_SCOPE, "1"),
            (LIST_SCOPE, ""),
        ]
        assert client._budget_scopes("status.php", {"id": "1", "phone": "7"}) == [
            (PER_MESSAGE_SCOPE, "1")
        ]
        assert client._budget_scopes("send.php", {"phones": "7"}) == []
        # Ten balance requests at once: within the documented ten a minute, a few at a time.
        await asyncio.gather(*(client.balance() for _ in range(10)))
        assert emulator.count("balance.php") == 10
        assert emulator.breaches == []
        assert budget.waited == 10 - SmscClient.max_concurrent_requests
    finally:
        await emulator.stop()


@pytest.mark.usefixtures("enable_custom_integrations")
async def test_fifty_sends_polls_lookups_and_balances_at_once_break_no_limit(
    hass: HomeAssistant, emulators: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = await emulators(GatewayId.SMSC)  # the fixture asserts no breach at the end
    # Fifty alerts to one number: the storm guard would hold all but ten.
    entry = await setup_account(hass, GatewayId.SMSC, emulator, options={"storm_guard": False})
    client = entry.runtime_data.gateway
    assert client.budget is not None
    client.budget.clock = emulator.now  # windows on the gateway's (virtual) clock
    real_sleep = asyncio.sleep

    async def virtual_sleep(delay: float) -> None:
        emulator.advance(delay)
        await real_sleep(0)

    monkeypatch.setattr(services_module, "asyncio", SimpleNamespace(sleep=virtual_sleep))

    async def service(name: str, **data: Any) -> Any:
        return await hass.services.async_call(
            DOMAIN,
            name,
            {"config_entry_id": entry.entry_id, **data},
            blocking=True,
            return_response=True,
        )

    sent = [await service("send_message", phones=[IVAN], message=f"Old {i}") for i in range(2)]
    emulator.advance(61)  # the setup's balance request is out of the gateway's window
    ids = [s["recipients"][0]["message_ids"][0] for s in sent]
    jobs = [service("send_message", phones=[IVAN], message=f"Alert {i}") for i in range(50)]
    jobs += [service("get_status", message_ids=ids, phones=[IVAN]) for _ in range(4)]
    jobs += [service("lookup_number", phones=[f"7916000000{i}"]) for i in range(3)]
    balance = entry.runtime_data.balance
    assert balance is not None
    jobs += [balance.async_refresh() for _ in range(12)]
    everything = asyncio.gather(*jobs)
    while not everything.done():
        # A minute of the gateway's clock passes in about a tenth of a second.
        emulator.advance(5)
        await client.budget.async_wake()
        await real_sleep(0.01)
    results = everything.result()

    assert [r["accepted"] for r in results[:50]] == [1] * 50
    assert all(len(r["statuses"]) == 2 for r in results[50:54])
    assert emulator.count("balance.php") == 1 + 12
    assert emulator.breaches == []
    assert client.budget.waited > 0
