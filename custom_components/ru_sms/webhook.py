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
import hashlib
import json
import logging
import secrets
import time
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

SEEN_INCOMING: HassKey[dict[str, dict[str, float]]] = HassKey(f"{DOMAIN}_seen_incoming")
"""Per account, digests of the signed fields of the incoming SMS taken lately, with when
(monotonic seconds, oldest first)."""
MAX_SEEN_INCOMING = 500
INCOMING_REPEAT_WINDOW = 20 * 60.0
"""Seconds during which the same signed SMS (number, text, our number) fires once: SMSC
repeats an unanswered post every 4 minutes, and a replay changes only unsigned fields."""
MAX_BODY = 64 * 1024
"""Bytes a callback may have: an SMS callback is well under 4 KiB."""
MAX_FIELDS = 100
CALLBACK_QUERY = "fmt=3&charset=utf-8"
"""JSON in UTF-8 (SMSC's default is windows-1251 form fields)."""
CALLBACK_ALGORITHM = "md5"
"""The signature the URL asks for: no other is taken."""


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
    secret = entry.data[CONF_WEBHOOK_SECRET]
    return f"{base}{path}?{CALLBACK_QUERY}&{CALLBACK_ALGORITHM}={secret}"


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


class _UnreadableError(Exception):
    """A body that cannot be a callback: the HTTP status to answer."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


async def _body(request: web.Request) -> bytes:
    """The posted bytes, at most `MAX_BODY` of them (413 past that)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _UnreadableError(413)
    body = bytearray()
    async for chunk in request.content.iter_chunked(16 * 1024):
        body += chunk
        if len(body) > MAX_BODY:
            raise _UnreadableError(413)
    return bytes(body)


async def _read(request: web.Request) -> Mapping[str, Any]:
    """The posted fields: JSON (`fmt=3`) or a form, whichever SMSC sent.

    The URL asks for UTF-8: a body that is not UTF-8, or JSON that is too deep or holds
    a lone surrogate, cannot carry a signature SMSC.ru made, and is refused with 400.
    """
    try:
        body = (await _body(request)).decode("utf-8")
    except UnicodeDecodeError as err:
        raise _UnreadableError(400) from err
    try:
        data = json.loads(body)
    except RecursionError as err:
        raise _UnreadableError(400) from err
    except ValueError:
        try:
            data = dict(
                parse_qsl(body, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
            )
        except ValueError as err:  # not UTF-8 escapes, or too many fields
            raise _UnreadableError(400) from err
    if not isinstance(data, dict):
        return {}
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError, ValueError) as err:
        raise _UnreadableError(400) from err
    return data


def _first_time(hass: HomeAssistant, entry: RuSmsConfigEntry, data: Mapping[str, Any]) -> bool:
    """Whether an incoming SMS with these signed fields was not taken lately.

    The SMS id is not signed (a replay may change it): the signed fields are what count.
    """
    signed = "\0".join(str(data.get(name, "")) for name in ("phone", "mes", "to"))
    digest = hashlib.sha256(signed.encode()).hexdigest()
    seen = hass.data.setdefault(SEEN_INCOMING, {}).setdefault(entry.entry_id, {})
    now = time.monotonic()
    while seen and (
        len(seen) >= MAX_SEEN_INCOMING or now - next(iter(seen.values())) > INCOMING_REPEAT_WINDOW
    ):
        del seen[next(iter(seen))]
    if digest in seen:
        return False
    seen[digest] = now
    return True


async def _async_handle(hass: HomeAssistant, webhook_id: str, request: web.Request) -> web.Response:
    """Verify and take one callback."""
    entry = _entry_for(hass, webhook_id)
    try:
        data = await _read(request)
    except _UnreadableError as err:
        _LOGGER.debug("Refused an unreadable SMSC.ru callback (HTTP %s)", err.status)
        return web.Response(status=err.status)
    if entry is None or not callback_signature_ok(
        data, entry.data[CONF_WEBHOOK_SECRET], CALLBACK_ALGORITHM
    ):
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
            # A repeated post (SMSC retries what it did not see answered) or a replay
            # fires once.
            if _first_time(hass, entry, data):
                async_fire_incoming_sms(hass, entry, parse_callback_incoming(data))
        case "lookup":
            runtime.lookups.async_set(parse_callback_lookup(data))
        case "status":
            runtime.tracker.async_apply([parse_callback_status(data)])
        case _:
            _LOGGER.debug("Ignoring an SMSC.ru callback of another kind")
    return web.Response(text="OK")
