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
from dataclasses import dataclass
import json
import logging
import secrets
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util import dt as dt_util

from .const import CONF_PROVIDER, CONF_WEBHOOK_SECRET, DOMAIN
from .incoming import Inbox
from .lookups import LookupWaiters
from .providers import CallbackSpec, DeliveryStatus, IncomingMessage, LookupResult, description_of
from .tracker import MessageTracker

_LOGGER = logging.getLogger(__name__)


def _spec(entry: ConfigEntry) -> CallbackSpec | None:
    return description_of(entry.data[CONF_PROVIDER]).callbacks


MAX_BODY = 64 * 1024
"""Bytes a callback may have: an SMS callback is well under 4 KiB."""
MAX_FIELDS = 100


def new_webhook_data() -> dict[str, str]:
    """A webhook id and a signing secret for a new account of a gateway that calls back."""
    # SMSC takes Latin letters, digits, '-' and '_' in the secret.
    return {
        CONF_WEBHOOK_ID: webhook.async_generate_id(),
        CONF_WEBHOOK_SECRET: secrets.token_hex(16),
    }


def callback_url(hass: HomeAssistant, entry: ConfigEntry) -> str | None:
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
def async_register_webhook(
    hass: HomeAssistant,
    entry: ConfigEntry,
    *,
    inbox: Inbox,
    lookups: LookupWaiters,
    tracker: MessageTracker,
) -> None:
    """Listen on the account's webhook until the account unloads.

    What a callback brings goes to the service it is for: an incoming SMS to `inbox`,
    an HLR answer to `lookups`, a delivery status to `tracker`.
    """
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    receiver = _Receiver(entry, inbox, lookups, tracker)
    webhook.async_register(
        hass,
        DOMAIN,
        f"{description_of(entry.data[CONF_PROVIDER]).name} callbacks of {entry.title}",
        webhook_id,
        receiver.async_handle,
        allowed_methods=["POST"],
    )
    entry.async_on_unload(lambda: webhook.async_unregister(hass, webhook_id))


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


@dataclass(frozen=True, slots=True)
class _Receiver:
    """An account's webhook: checks each callback and hands it to its service."""

    entry: ConfigEntry
    inbox: Inbox
    lookups: LookupWaiters
    tracker: MessageTracker

    async def async_handle(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Verify and take one callback."""
        entry = self.entry
        try:
            data = await _read(request)
        except _UnreadableError as err:
            _LOGGER.debug("Refused an unreadable gateway callback (HTTP %s)", err.status)
            return web.Response(status=err.status)
        spec = _spec(entry)
        if spec is None or not spec.verify(data, entry.data[CONF_WEBHOOK_SECRET]):
            _LOGGER.warning(
                "Refused a gateway callback without a valid signature (check the URL in "
                "the gateway's settings against the one in the account's options)"
            )
            return web.Response(status=404)
        if entry.state is not ConfigEntryState.LOADED:
            # Setting up or unloading: SMSC tries again (every 4 minutes) on anything but
            # 200 or 404, and by then the account is running.
            return web.Response(status=503)
        match spec.parse(data):
            case IncomingMessage() as message:
                # A repeated post (the gateway retries what it did not see answered) or a
                # replay with another (unsigned) id fires once.
                self.inbox.async_receive_pushed(message, dt_util.utcnow())
            case LookupResult() as result:
                self.lookups.async_set(result)
            case DeliveryStatus() as status:
                self.tracker.async_apply([status])
            case _:
                _LOGGER.debug("Ignoring a callback of another kind")
        return web.Response(text="OK")
