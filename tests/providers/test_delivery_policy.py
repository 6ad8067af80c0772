"""Our message ids: unique whatever else seeds `random`, and taken by the gateways that keep them."""

from __future__ import annotations

import random

import aiohttp
import pytest

from custom_components.ru_sms.providers import GATEWAY_TYPES, SendOptions
from custom_components.ru_sms.providers.delivery_policy import keeps_our_id, new_message_id
from tests.emulators.catalog import ACCOUNTS


def test_ids_do_not_repeat_when_someone_seeds_random() -> None:
    random.seed(1)
    first = new_message_id()
    random.seed(1)
    second = new_message_id()

    assert first != second
    assert len({new_message_id() for _ in range(10_000)}) == 10_000


KEEPING_OUR_ID = [p for p, client in GATEWAY_TYPES.items() if client.capabilities.client_message_id]


def test_two_gateways_keep_our_id() -> None:
    assert sorted(KEEPING_OUR_ID) == ["smsc", "smstele"]


@pytest.mark.parametrize("provider", KEEPING_OUR_ID)
async def test_gateways_that_keep_our_id_take_it(provider: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = GATEWAY_TYPES[provider](
            session, ACCOUNTS[provider].credentials, base_url="http://127.0.0.1:9/"
        )
        assert keeps_our_id(client)
        options = SendOptions(client_message_id=new_message_id())

        numbers, _ = client.prepare(["+79161234567"], "Котёл: авария", options)

    assert numbers == ["79161234567"]
