"""Every client against every documented variant of its gateway's answers.

The emulators can answer each way their documents (or the gateways' known answers) allow:
SMSC.ru's "not found" as an error or a status item, SMStele's envelope counting other
than its items, Devino's and Stream's ids as the documents print them, their expired
sessions, and each gateway's strictest reading of what the client sends (Devino's paths
spelt as documented, for instance). One round trip per variant: credentials, a send to
two numbers, their delivery (a list and a lone message), and what else the gateway does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from custom_components.ru_sms.providers import build_gateway
from custom_components.ru_sms.providers.models import (
    DeliveryState,
    GatewayId,
    LookupState,
    MessageRef,
    SendOptions,
)
from tests.emulators.base import Fault
from tests.emulators.catalog import ACCOUNTS
from tests.emulators.restapi import RestApiEmulator

ALICE = "79161234567"
BOB = "79262345678"

VARIANTS = [
    pytest.param(provider, name, id=f"{provider.value}: {name}")
    for provider, account in ACCOUNTS.items()
    for name in account.variants
]


def test_every_gateway_has_a_strictest_reading() -> None:
    assert all("strictest" in account.variants for account in ACCOUNTS.values())


@pytest.mark.usefixtures("no_client_retry_delay")
@pytest.mark.parametrize(("provider", "variant"), VARIANTS)
async def test_a_round_trip_in_every_variant(
    http_session: aiohttp.ClientSession, provider: GatewayId, variant: str
) -> None:
    account = ACCOUNTS[provider]
    emulator = account.emulator_for(variant)
    await emulator.start()
    try:
        client = build_gateway(
            provider, http_session, account.credentials, base_url=emulator.base_url
        )
        await client.check_credentials()
        result = await client.send([ALICE, BOB], "Water leak", SendOptions(sender=account.sender))
        assert [r.phone for r in result.accepted] == [ALICE, BOB]
        refs = [MessageRef(i, r.phone) for r in result.accepted for i in r.message_ids]
        emulator.advance(120)
        if isinstance(emulator, RestApiEmulator):
            emulator.inject(Fault.EXPIRED_SESSION)  # the next call logs in again

        statuses = await client.delivery_status(refs)
        (lone,) = await client.delivery_status(refs[:1])

        assert {s.state for s in statuses} == {DeliveryState.DELIVERED}
        assert lone.state is DeliveryState.DELIVERED
        caps = client.capabilities
        if caps.balance:
            assert (await client.balance()).amount > 0
        now = datetime.now(UTC) + timedelta(seconds=120)
        if caps.incoming:
            assert isinstance(emulator, RestApiEmulator)
            emulator.add_incoming(ALICE, "Got it")
            (incoming,) = await client.incoming(now - timedelta(hours=1), now + timedelta(hours=1))
            assert (incoming.phone, incoming.text) == (ALICE, "Got it")
        if caps.statistics:
            statistics = await client.statistics(now - timedelta(hours=1), now + timedelta(hours=1))
            assert statistics.delivered == len(refs)
        if caps.lookup:
            looked_up = await client.lookup([ALICE])
            emulator.advance(61)
            if caps.lookup_is_deferred:
                looked_up = await client.lookup_result(looked_up)
            assert [r.state for r in looked_up] == [LookupState.REACHABLE]
        if isinstance(emulator, RestApiEmulator):
            assert emulator.logins == 2  # the expired session was renewed once
        assert emulator.breaches == []
    finally:
        await emulator.stop()
