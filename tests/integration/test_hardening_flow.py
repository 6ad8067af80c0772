"""The config flow refuses addresses and texts it cannot use, each with its own message.

A base URL or host with credentials, a query or a fragment, another scheme, no host; a
blank SMStele host; a port out of range; text with a lone surrogate (issue 8); an address
no gateway can have (issue 22).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.ru_sms.config_flow import _out_of_range
from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.providers import GatewayId
from custom_components.ru_sms.validation import host_problem, url_problem
from tests.conftest import setup_account
from tests.integration.test_config_flow import configure, login_input, start_user_flow

TRANSLATIONS = Path(__file__).parents[2] / "custom_components/ru_sms/translations"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


URLS = [
    ("https://alerts:pw@127.0.0.1/sys/", "url_credentials"),
    ("https://alerts@127.0.0.1/sys/", "url_credentials"),
    ("https://127.0.0.1/sys/?psw=secret", "url_query"),
    ("https://127.0.0.1/sys/?", "url_query"),
    ("https://127.0.0.1/sys/#top", "url_fragment"),
    ("ftp://127.0.0.1/sys/", "url_scheme"),
    ("127.0.0.1/sys/", "url_scheme"),
    ("https:///sys/", "url_no_host"),
    ("https://", "url_no_host"),
    ("https://[::1/", "url_invalid"),
    ("https://127.0.0.1:99999/", "url_invalid"),
    ("https://xn--/", "url_invalid"),
    ("https://exa mple.ru/", "url_invalid"),
    ("https://example.ru/\ud800", "invalid_characters"),
    ("http://0.0.0.0:8881/", "url_unusable"),
    ("https://169.254.169.254/latest/meta-data/", "url_unusable"),
    ("http://[::ffff:169.254.169.254]/", "url_unusable"),
    ("http://[fe80::1]/", "url_unusable"),
    ("http://[::]:8881/", "url_unusable"),
    ("http://224.0.0.1/", "url_unusable"),
    ("http://255.255.255.255/", "url_unusable"),
]
HOSTS = [
    ("alerts:pw@rexsmsc.rex400.ru", "host_credentials"),
    ("https://rexsmsc.rex400.ru", "host_invalid"),
    ("rexsmsc.rex400.ru/cgibin", "host_invalid"),
    ("rexsmsc.rex400.ru?x", "host_invalid"),
    ("rexsmsc.rex400.ru#x", "host_invalid"),
    ("rexsmsc.rex400.ru:8882", "host_invalid"),
    ("..", "host_invalid"),
    ("rex\ud800", "invalid_characters"),
    # Addresses no gateway can have: unspecified, link-local, multicast, broadcast, reserved.
    ("0.0.0.0", "host_unusable"),  # noqa: S104 - refused, never bound
    ("[::]", "host_unusable"),
    ("169.254.169.254", "host_unusable"),
    ("[fe80::1%eth0]", "host_unusable"),
    ("[::ffff:169.254.169.254]", "host_unusable"),
    ("224.0.0.1", "host_unusable"),
    ("255.255.255.255", "host_unusable"),
    ("240.0.0.1", "host_unusable"),
]


@pytest.mark.parametrize(("url", "error"), URLS)
async def test_base_url_refused(
    hass: HomeAssistant, start_emulator: Any, url: str, error: str
) -> None:
    emulator = await start_emulator(GatewayId.SMSC)
    result = await start_user_flow(hass, GatewayId.SMSC)
    result = await configure(hass, result, login_input(GatewayId.SMSC, emulator, url=url))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"url": error}
    assert emulator.requests == []  # refused before any request


@pytest.mark.parametrize(
    ("host", "error"), [*HOSTS, ("", "host_required"), ("  ", "host_required")]
)
async def test_smstele_host_refused(
    hass: HomeAssistant, start_emulator: Any, host: str, error: str
) -> None:
    emulator = await start_emulator(GatewayId.SMSTELE)
    result = await start_user_flow(hass, GatewayId.SMSTELE)
    user_input = login_input(GatewayId.SMSTELE, emulator, url=None, host=host)
    result = await configure(hass, result, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"host": error}


async def test_credentials_with_a_lone_surrogate_are_refused(
    hass: HomeAssistant, start_emulator: Any
) -> None:
    emulator = await start_emulator(GatewayId.STREAM)
    result = await start_user_flow(hass, GatewayId.STREAM)
    user_input = login_input(GatewayId.STREAM, emulator, username="us\ud800er", password="\udfff")
    result = await configure(hass, result, user_input)
    assert result["errors"] == {
        "username": "invalid_characters",
        "password": "invalid_characters",
    }
    assert emulator.requests == []


async def test_reconfigure_refuses_credentials_in_the_url(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    url = emulator.base_url.replace("http://", "http://alerts:s3cret-pass@")
    result = await configure(hass, result, login_input(GatewayId.SMSC, emulator, url=url))
    assert result["errors"] == {"url": "url_credentials"}
    assert "alerts:" not in json.dumps(dict(entry.data))


async def test_recipient_name_with_a_lone_surrogate_is_refused(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "recipient"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Iv\ud800n", "phones": ["+79161234567"]}
    )
    assert result["errors"] == {"name": "invalid_characters"}


def test_checks_directly() -> None:
    assert url_problem("https://rexsmsc.rex400.ru:8882/cgibin/") is None
    assert url_problem("https://пример.рф/") is None
    assert host_problem("rexsmsc.rex400.ru") is None
    assert host_problem("203.0.113.7") is None
    assert host_problem("[2001:db8::7]") is None
    # This machine's own: a proxy, a tunnel or a test server (the emulators are on 127.0.0.1).
    assert host_problem("[::1]") is None
    assert host_problem("127.0.0.1") is None
    assert url_problem("http://[::1]:8881/") is None
    for port in (0, 65536, 1.5, float("nan"), float("inf"), "8882", True):
        assert _out_of_range(port, 1, 65535), port
    assert not _out_of_range(8882, 1, 65535)
    assert not _out_of_range(8882.0, 1, 65535)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_new_error_is_translated(language: str) -> None:
    strings = json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    errors = strings["config"]["error"]
    for _, key in [*URLS, *HOSTS]:
        assert errors[key].strip(), key
    for key in ("host_required", "port_range", "gateway_refused"):
        assert errors[key].strip(), key
    exceptions = strings["exceptions"]
    for key in (
        "already_sent",
        "send_at_in_past",
        "send_at_too_late",
        "send_at_year",
        "invalid_text",
        "invalid_title",
    ):
        assert exceptions[key]["message"].strip(), key
