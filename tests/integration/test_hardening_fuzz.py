"""Fuzz: every action field and config-flow field over a fixed corpus of 520 inputs each.

No input may end in an unhandled exception, in the vague "unknown" error ("Unexpected
error"), or in an error logged by the integration: each is taken, refused by the schema,
or refused with a translated error (issue 8). The corpus is seeded (tests/fuzz_corpus.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
import ipaddress
import json
import logging
from typing import Any
import zlib

import aiohttp
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.providers import GatewayId
from custom_components.ru_sms.schema import vol
from tests import fuzz_corpus as corpus
from tests.conftest import IVAN, setup_account
from tests.emulators.catalog import ACCOUNTS

_LOGGER = logging.getLogger(__name__)

REPORT: dict[str, Counter[str]] = {}
"""Outcomes per field (printed with -s; the figures of the issue's report)."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


@pytest.fixture(autouse=True)
def fast_retries(no_client_retry_delay: None) -> None: ...


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names do not resolve, as on a machine without DNS: only IP addresses connect."""
    resolve = aiohttp.TCPConnector._resolve_host

    async def resolve_ip_only(self: aiohttp.TCPConnector, host: str, *args: Any, **kw: Any) -> Any:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise OSError(f"no DNS here for {host!r}") from None
        return await resolve(self, host, *args, **kw)

    monkeypatch.setattr(aiohttp.TCPConnector, "_resolve_host", resolve_ip_only)


def sendable(placeholders: Any) -> bool:
    """Whether placeholders can go to the frontend (as JSON in UTF-8)."""
    try:
        json.dumps(placeholders, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def failures(outcomes: Counter[str]) -> dict[str, int]:
    return {k: v for k, v in outcomes.items() if k.startswith(("crash", "unknown", "untranslated"))}


def assert_no_integration_errors(caplog: pytest.LogCaptureFixture) -> None:
    assert "Unexpected error" not in caplog.text
    assert "Traceback" not in caplog.text
    logged = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("custom_components", "homeassistant"))
    ]
    assert logged == []


# -- actions ----------------------------------------------------------------------------

ACTION_FIELDS: dict[str, Callable[[int], list[Any]]] = {
    "message": corpus.texts,
    "title": corpus.texts,
    "sender": corpus.senders,
    "phones": corpus.phones,
    "send_at": corpus.moments,
    "validity": corpus.periods,
    "flash": corpus.flags,
    "transliterate": corpus.flags,
    "recipient_local_time": corpus.flags,
}


async def action_outcome(hass: HomeAssistant, data: dict[str, Any]) -> str:
    try:
        await hass.services.async_call(
            DOMAIN, "send_message", data, blocking=True, return_response=True
        )
    except vol.Invalid:
        return "refused by the schema"
    except HomeAssistantError as err:
        key = err.translation_key
        if key is None:
            return f"untranslated: {type(err).__name__}: {err}"
        if not sendable(err.translation_placeholders):
            return f"crash: placeholders the frontend cannot take: {key}"
        return "unknown" if key == "unknown" else key
    except Exception as err:  # noqa: BLE001 - what the test counts
        return f"crash: {type(err).__name__}: {err!r}"[:300]
    return "sent"


@pytest.mark.parametrize("field", list(ACTION_FIELDS))
async def test_action_fields_fuzz(
    hass: HomeAssistant, start_emulator: Any, caplog: pytest.LogCaptureFixture, field: str
) -> None:
    caplog.set_level(logging.WARNING)
    entries = []
    for provider in GatewayId:
        emulator = await start_emulator(provider)
        entries.append(await setup_account(hass, provider, emulator))
    inputs = ACTION_FIELDS[field](zlib.crc32(field.encode()) % 1000 + 8)
    outcomes: Counter[str] = Counter()

    for n, value in enumerate(inputs):
        entry = entries[n % len(entries)]
        data = {"config_entry_id": entry.entry_id, "phones": [IVAN], "message": "Hi"}
        data[field] = value
        outcomes[await action_outcome(hass, data)] += 1
    await hass.async_block_till_done()

    REPORT[f"action {field}"] = outcomes
    _LOGGER.info("action %s: %d inputs %s", field, len(inputs), dict(outcomes.most_common()))
    assert len(inputs) >= 500
    assert failures(outcomes) == {}
    assert_no_integration_errors(caplog)
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)


# -- config flow ------------------------------------------------------------------------

FLOW_FIELDS: dict[str, tuple[GatewayId, Callable[..., list[Any]]]] = {
    "username": (GatewayId.STREAM, corpus.texts),
    "password": (GatewayId.DEVINO, corpus.texts),
    "api_key": (GatewayId.SMSC, corpus.texts),
    "sender": (GatewayId.SMSC, corpus.senders),
    "url": (GatewayId.SMSTELE, corpus.urls),
    "host": (GatewayId.SMSTELE, corpus.hosts),
    "port": (GatewayId.SMSTELE, corpus.ports),
    "ssl": (GatewayId.SMSTELE, corpus.flags),
}


def flow_input(provider: GatewayId, emulator: Any, field: str, value: Any) -> dict[str, Any]:
    credentials = ACCOUNTS[provider].credentials
    user_input: dict[str, Any] = {
        "username": credentials.login,
        "password": credentials.password,
        "sender": ACCOUNTS[provider].sender,
        "url": emulator.base_url,
    }
    if provider is GatewayId.SMSTELE:
        # Host, port and SSL count only without a URL: a refused loopback port.
        user_input = {
            "username": credentials.login,
            "password": credentials.password,
            "host": "127.0.0.1",
            "port": 1,
            "ssl": False,
        }
        if field == "url":
            user_input["url"] = emulator.base_url
    if field == "api_key":
        del user_input["username"], user_input["password"]
    user_input[field] = value
    return user_input


class Flow:
    """One credentials form, submitted again and again while it shows errors."""

    def __init__(self, hass: HomeAssistant, provider: GatewayId) -> None:
        self.hass = hass
        self.provider = provider
        self.flow_id: str | None = None

    async def form(self) -> str:
        if self.flow_id is None:
            flows = self.hass.config_entries.flow
            result = await flows.async_init(
                DOMAIN, context={"source": SOURCE_USER, "show_advanced_options": True}
            )
            result = await flows.async_configure(
                result["flow_id"], {"provider": self.provider.value}
            )
            self.flow_id = result["flow_id"]
        return self.flow_id

    async def outcome(self, user_input: dict[str, Any]) -> str:
        flow_id = await self.form()
        try:
            result = await self.hass.config_entries.flow.async_configure(flow_id, user_input)
        except vol.Invalid:
            return "refused by the schema"  # the form stays open
        except Exception as err:  # noqa: BLE001 - what the test counts
            self.flow_id = None
            return f"crash: {type(err).__name__}: {err!r}"[:300]
        if result["type"] is FlowResultType.CREATE_ENTRY:
            self.flow_id = None
            await self.hass.config_entries.async_remove(result["result"].entry_id)
            return "created"
        if result["type"] is FlowResultType.ABORT:
            self.flow_id = None
            return f"abort {result['reason']}"
        errors = result.get("errors") or {}
        if not sendable(result.get("description_placeholders")):
            return "crash: placeholders the frontend cannot take"
        if "unknown" in errors.values():
            return f"unknown: {errors}"
        return ", ".join(f"{k}={v}" for k, v in sorted(errors.items())) or "form"


@pytest.mark.parametrize("field", list(FLOW_FIELDS))
async def test_config_flow_fields_fuzz(
    hass: HomeAssistant, start_emulator: Any, caplog: pytest.LogCaptureFixture, field: str
) -> None:
    caplog.set_level(logging.WARNING)
    provider, make = FLOW_FIELDS[field]
    emulator = await start_emulator(provider)
    seed = zlib.crc32(field.encode()) % 1000 + 80
    inputs = make(seed, emulator.base_url) if make is corpus.urls else make(seed)
    outcomes: Counter[str] = Counter()

    flow = Flow(hass, provider)
    for value in inputs:
        outcomes[await flow.outcome(flow_input(provider, emulator, field, value))] += 1
    await hass.async_block_till_done()

    REPORT[f"flow {field}"] = outcomes
    _LOGGER.info("flow %s: %d inputs %s", field, len(inputs), dict(outcomes.most_common()))
    assert len(inputs) >= 500
    assert failures(outcomes) == {}
    assert_no_integration_errors(caplog)
