"""SMSC.ru callbacks: delivery statuses, incoming SMS and HLR answers posted to a webhook.

Each SMSC account has a webhook id and a secret, made when the account is added. The URL
to paste into SMSC's settings (`callback_url`) asks for JSON in UTF-8 and a signature:
with `md5=<secret>` in the URL, SMSC replaces the secret by the md5 of
`id:phone:status:<secret>` (statuses) or `phone:mes:to:<secret>` (incoming SMS). What is
unsigned or wrongly signed is refused with 404, which SMSC does not retry (anything but
200 or 404 makes it try again every 4 minutes, 50 times).
"""

from __future__ import annotations

from collections.abc import Mapping
import json
import logging
import secrets
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util.hass_dict import HassKey

from .const import CONF_WEBHOOK_SECRET, DOMAIN
from .coordinator import RuSmsConfigEntry
from .events import async_fire_incoming_sms
from .providers.smsc import (
    callback_kind,
    callback_signature_ok,
    parse_callback_incoming,
    parse_callback_lookup,
    parse_callback_status,
)

_LOGGER = logging.getLogger(__name__)

SEEN_INCOMING: HassKey[dict[str, dict[str, None]]] = HassKey(f"{DOMAIN}_seen_incoming")
"""Ids of the incoming SMS each account's webhook took lately (oldest first)."""
MAX_SEEN_INCOMING = 500
CALLBACK_QUERY = "fmt=3&charset=utf-8"
"""JSON in UTF-8 (SMSC's default is windows-1251 form fields)."""


def new_webhook_data() -> dict[str, str]:
    """A webhook id and a signing secret for a new SMSC account."""
    # SMSC takes Latin letters, digits, '-' and '_' in the secret.
    return {
        CONF_WEBHOOK_ID: webhook.async_generate_id(),
        CONF_WEBHOOK_SECRET: secrets.token_hex(16),
    }


def callback_url(hass: HomeAssistant, entry: RuSmsConfigEntry) -> str | None:
    """The exact URL to paste into SMSC's settings; None without a URL SMSC can reach."""
    try:
        # SMSC calls from the internet: Home Assistant's external URL or its Home
        # Assistant Cloud (remote UI) address; an address of the home network is useless.
        base = get_url(hass, allow_internal=False, allow_ip=True, prefer_external=True)
    except NoURLAvailableError:
        return None
    path = webhook.async_generate_path(entry.data[CONF_WEBHOOK_ID])
    return f"{base}{path}?{CALLBACK_QUERY}&md5={entry.data[CONF_WEBHOOK_SECRET]}"


@callback
def async_register(hass: HomeAssistant, entry: RuSmsConfigEntry) -> None:
    """Listen on the account's webhook until the account unloads."""
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    webhook.async_register(
        hass,
        DOMAIN,
        f"SMSC.ru callbacks of {entry.title}",
        webhook_id,
        _async_handle,
        allowed_methods=["POST"],
    )
    entry.async_on_unload(lambda: webhook.async_unregister(hass, webhook_id))


def _entry_for(hass: HomeAssistant, webhook_id: str) -> RuSmsConfigEntry | None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.data.get(CONF_WEBHOOK_ID) == webhook_id:
            return entry
    return None  # pragma: no cover - unregistered on unload


async def _read(request: web.Request) -> Mapping[str, Any]:
    """The posted fields: JSON (`fmt=3`) or a form, whichever SMSC sent."""
    # The URL asks for UTF-8; anything else cannot carry a valid signature of its text.
    body = (await request.read()).decode("utf-8", errors="replace")
    try:
        data = json.loads(body)
    except ValueError:
        data = dict(parse_qsl(body, keep_blank_values=True))
    return data if isinstance(data, dict) else {}


async def _async_handle(hass: HomeAssistant, webhook_id: str, request: web.Request) -> web.Response:
    """Verify and take one callback."""
    entry = _entry_for(hass, webhook_id)
    data = await _read(request)
    if entry is None or not callback_signature_ok(data, entry.data[CONF_WEBHOOK_SECRET]):
        _LOGGER.warning(
            "Refused an SMSC.ru callback without a valid signature (check the URL in "
            "SMSC's settings against the one in the account's options)"
        )
        return web.Response(status=404)
    if entry.state is not ConfigEntryState.LOADED:
        # Setting up or unloading: SMSC tries again (every 4 minutes) on anything but 200
        # or 404, and by then the account is running.
        return web.Response(status=503)
    runtime = entry.runtime_data
    match callback_kind(data):
        case "incoming":
            message = parse_callback_incoming(data)
            # A repeated post (SMSC retries what it did not see answered) fires once.
            seen = hass.data.setdefault(SEEN_INCOMING, {}).setdefault(entry.entry_id, {})
            if not message.message_id or message.message_id not in seen:
                seen[message.message_id] = None
                while len(seen) > MAX_SEEN_INCOMING:
                    del seen[next(iter(seen))]
                async_fire_incoming_sms(hass, entry, message)
        case "lookup":
            runtime.lookups.async_set(parse_callback_lookup(data))
        case "status":
            runtime.tracker.async_apply([parse_callback_status(data)])
        case _:
            _LOGGER.debug("Ignoring an SMSC.ru callback of another kind")
    return web.Response(text="OK")
