"""No double send: an answered request is never sent again, on every gateway (issue 8).

Each fault cell makes the emulated gateway receive a send and then answer badly (a 5xx
after taking it, a hang, a cut connection, garbage, nothing). The tests count what the
gateway received: one send request, at most one message, and the caller told that the
message may have gone out. Only a request that never reached the gateway (no connection)
is tried again.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.ru_sms.providers import (
    GatewayId,
    GatewayUnavailableError,
    RateLimitedError,
    SendOptions,
    build_gateway,
)
from custom_components.ru_sms.providers.errors import AlreadySentError
from tests.conftest import IVAN, setup_account
from tests.emulators.base import EmulatedGateway, Fault
from tests.emulators.catalog import ACCOUNTS
from tests.integration.test_services import SEND_PATHS, assert_no_secret, send, sends


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


ANSWERED_FAULTS = [
    Fault.SERVER_ERROR_AFTER,
    Fault.SERVER_ERROR_HTML,
    Fault.TIMEOUT_AFTER,
    Fault.DISCONNECT_AFTER,
    Fault.MALFORMED,
    Fault.EMPTY,
]
"""Faults where the request reached the gateway (processed or not, nobody can tell)."""


def delivered(provider: GatewayId, emulator: Any) -> int:
    """Messages the emulated gateway took (one number, one short text: one each)."""
    if provider in (GatewayId.STREAM, GatewayId.DEVINO):
        return len(emulator.segments)
    return len(emulator.messages)


@pytest.mark.parametrize("fault", ANSWERED_FAULTS)
@pytest.mark.parametrize("provider", list(GatewayId))
async def test_an_answered_send_is_never_sent_again(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, fault: Fault
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    emulator.hang_seconds = 2.0
    entry.runtime_data.gateway._timeout = 0.3
    emulator.inject(fault, SEND_PATHS[provider][0])

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Boiler failure", queue=False)

    assert len(sends(provider, emulator)) == 1  # 0 double sends
    assert delivered(provider, emulator) <= 1
    assert err.value.translation_key == "may_have_been_sent"
    assert_no_secret(err.value, provider)
    assert entry.runtime_data.tracker.in_flight == 0


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_a_send_that_never_reached_the_gateway_is_tried_once_more(
    http_session: aiohttp.ClientSession,
    start_emulator: Any,
    refused_url: str,
    provider: GatewayId,
    no_client_retry_delay: None,
) -> None:
    emulator: EmulatedGateway = await start_emulator(provider)
    account = ACCOUNTS[provider]
    client = build_gateway(provider, http_session, account.credentials, base_url=refused_url)
    client._base_urls = (refused_url, emulator.base_url)
    result = await client.send([IVAN], "Boiler failure", SendOptions(sender=account.sender))
    assert len(result.accepted) == 1
    assert len(sends(provider, emulator)) == 1
    assert delivered(provider, emulator) == 1


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_a_refused_connection_everywhere_sends_nothing(
    http_session: aiohttp.ClientSession,
    refused_url: str,
    provider: GatewayId,
    no_client_retry_delay: None,
) -> None:
    account = ACCOUNTS[provider]
    client = build_gateway(provider, http_session, account.credentials, base_url=refused_url)
    with pytest.raises(GatewayUnavailableError) as err:
        await client.send([IVAN], "Boiler failure", SendOptions(sender=account.sender))
    assert err.value.unsent
    assert not err.value.may_have_been_accepted


async def test_smsc_error_9_after_an_unanswered_send_means_it_went_out(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.hang_seconds = 2.0
    entry.runtime_data.gateway._timeout = 0.3
    emulator.inject(Fault.TIMEOUT_AFTER, "send.php")

    with pytest.raises(HomeAssistantError) as first:
        await send(hass, entry, phones=[IVAN], message="Boiler failure", queue=False)
    assert first.value.translation_key == "may_have_been_sent"
    # The automation (or the user) tries again at once: SMSC.ru refuses the repeat.
    with pytest.raises(HomeAssistantError) as second:
        await send(hass, entry, phones=[IVAN], message="Boiler failure", queue=False)

    assert second.value.translation_key == "already_sent"
    assert isinstance(second.value.__cause__, AlreadySentError)
    assert len(emulator.messages) == 1
    assert emulator.breaches == ["send.php: the same send twice in a minute"]
    emulator.breaches.clear()  # the repeat was the caller's, on purpose


async def test_smsc_error_9_without_an_unanswered_send_is_a_rate_limit(
    http_session: aiohttp.ClientSession, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    client = build_gateway(
        GatewayId.SMSC,
        http_session,
        ACCOUNTS[GatewayId.SMSC].credentials,
        base_url=emulator.base_url,
    )
    emulator.inject(Fault.TIMEOUT_AFTER, "send.php")
    emulator.hang_seconds = 2.0
    client._timeout = 0.3
    with pytest.raises(GatewayUnavailableError):
        await client.send([IVAN], "Boiler failure")
    # Another text: not the unanswered one, so error 9 keeps its meaning.
    emulator.inject(Fault.RATE_LIMIT, "send.php")
    with pytest.raises(RateLimitedError) as err:
        await client.send([IVAN], "Another text")
    assert not isinstance(err.value, AlreadySentError)
    assert len(emulator.messages) == 1
