"""Gateway callbacks: delivery statuses, incoming SMS and HLR answers posted to a webhook.

Each account of a gateway that calls back (its description's `callbacks`) has a webhook
id and a secret, made when the account is added. The URL to paste into the gateway's
settings (`callback_url`) carries what the gateway's description asks for (SMSC.ru: JSON
in UTF-8 and a signature made with the secret). What is unsigned or wrongly signed is
refused with 404, which SMSC does not retry (anything but 200 or 404 makes it try again
every 4 minutes, 50 times).
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
from homeassistant.util import dt as dt_util

from .const import CONF_PROVIDER, CONF_WEBHOOK_SECRET, DOMAIN
from .coordinator import RuSmsConfigEntry
from .providers import CallbackSpec, DeliveryStatus, IncomingMessage, LookupResult, description_of

_LOGGER = logging.getLogger(__name__)


def _spec(entry: RuSmsConfigEntry) -> CallbackSpec | None:
    return description_of(entry.data[CONF_PROVIDER]).callbacks


def new_webhook_data() -> dict[str, str]:
    """A webhook id and a signing secret for a new account of a gateway that calls back."""
    # SMSC takes Latin letters, digits, '-' and '_' in the secret.
    return {
        CONF_WEBHOOK_ID: webhook.async_generate_id(),
        CONF_WEBHOOK_SECRET: secrets.token_hex(16),
    }


def callback_url(hass: HomeAssistant, entry: RuSmsConfigEntry) -> str | None:
    """The exact URL to paste into the gateway's settings; None without one it can reach."""
    spec = _spec(entry)
    if spec is None:  # pragma: no cover - only accounts that call back have a webhook
        return None
    try:
        # The gateway calls from the internet: Home Assistant's external URL or its Home
        # Assistant Cloud (remote UI) address; an address of the home network is useless.
        base = get_url(hass, allow_internal=False, allow_ip=True, prefer_external=True)
    except NoURLAvailableError:
        return None
    path = webhook.async_generate_path(entry.data[CONF_WEBHOOK_ID])
    return f"{base}{path}?{spec.query.format(secret=entry.data[CONF_WEBHOOK_SECRET])}"


@callback
def async_register(hass: HomeAssistant, entry: RuSmsConfigEntry) -> None:
    """Listen on the account's webhook until the account unloads."""
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    webhook.async_register(
        hass,
        DOMAIN,
        f"{description_of(entry.data[CONF_PROVIDER]).name} callbacks of {entry.title}",
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
    """The posted fields: JSON or a form, whichever the gateway sent."""
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
    spec = None if entry is None else _spec(entry)
    if entry is None or spec is None or not spec.verify(data, entry.data[CONF_WEBHOOK_SECRET]):
        _LOGGER.warning(
            "Refused a gateway callback without a valid signature (check the URL in "
            "the gateway's settings against the one in the account's options)"
        )
        return web.Response(status=404)
    if entry.state is not ConfigEntryState.LOADED:
        # Setting up or unloading: SMSC tries again (every 4 minutes) on anything but 200
        # or 404, and by then the account is running.
        return web.Response(status=503)
    runtime = entry.runtime_data
    match spec.parse(data):
        case IncomingMessage() as message:
            # A repeated post (SMSC retries what it did not see answered) fires once.
            runtime.inbox.async_receive([message], dt_util.utcnow())
        case LookupResult() as result:
            runtime.lookups.async_set(result)
        case DeliveryStatus() as status:
            runtime.tracker.async_apply([status])
        case _:
            _LOGGER.debug("Ignoring a callback of another kind")
    return web.Response(text="OK")
