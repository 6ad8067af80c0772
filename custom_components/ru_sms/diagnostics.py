"""Diagnostics: the account, its options and recipients, and the last balance, redacted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal
import re
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    CONF_API_KEY,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_WEBHOOK_ID,
)
from homeassistant.core import HomeAssistant

from .account import RuSmsConfigEntry
from .const import CONF_PHONES, CONF_PROVIDER, CONF_WEBHOOK_SECRET
from .providers import description_of

TO_REDACT = {
    CONF_API_KEY,
    CONF_PASSWORD,
    CONF_USERNAME,
    CONF_PHONES,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_SECRET,
    "title",
    "unique_id",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: RuSmsConfigEntry
) -> dict[str, Any]:
    """What support needs to see, without credentials or phone numbers.

    An account that did not load (gateway down, credentials refused) has no runtime
    data, or stale data from an earlier load: that is when diagnostics matter most.
    """
    runtime = entry.runtime_data if entry.state is ConfigEntryState.LOADED else None
    balance = None if runtime is None else runtime.balance
    # Whatever the gateway declares secret, besides the usual names.
    secret = {f.key for f in description_of(entry.data[CONF_PROVIDER]).fields if f.secret}
    return {
        "entry": async_redact_data(
            {
                "title": entry.title,
                "unique_id": entry.unique_id,
                "version": entry.version,
                "data": _addresses_redacted(entry.data),
            },
            TO_REDACT | secret,
        ),
        "options": dict(entry.options),
        "subentries": [
            async_redact_data(
                {
                    "subentry_type": subentry.subentry_type,
                    "title": subentry.title,
                    "data": dict(subentry.data),
                },
                TO_REDACT,
            )
            for subentry in entry.subentries.values()
        ],
        "state": entry.state.value,
        "gateway": {
            "provider": entry.data[CONF_PROVIDER],
            "capabilities": None
            if runtime is None
            else _plain(asdict(runtime.gateway.capabilities)),
        },
        "tracker": None
        if runtime is None
        else {
            "callbacks": runtime.tracker.callbacks,
            "in_flight": runtime.tracker.in_flight,
            "on_record": len(runtime.tracker.messages),
            "states": dict(Counter(str(m.state) for m in runtime.tracker.messages.values())),
        },
        "outbox": None if runtime is None else runtime.outbox.diagnostics(),
        "guard": None if runtime is None else runtime.guard.diagnostics(),
        "spending": None if runtime is None else runtime.spending.diagnostics(),
        "escalations": None if runtime is None else runtime.escalations.diagnostics(),
        "balance": None
        if balance is None
        else {
            "last_update_success": balance.last_update_success,
            # an account that loaded while its gateway was down has read none yet
            "data": None if balance.data is None else _plain(asdict(balance.data)),
        },
    }


def _addresses_redacted(data: Mapping[str, Any]) -> dict[str, Any]:
    """The entry data with any user name, password or query inside `url` and `host` hidden.

    The flow refuses them now, but an address typed before may still carry them.
    """
    redacted = dict(data)
    for key in (CONF_URL, CONF_HOST):
        if isinstance(value := redacted.get(key), str):
            redacted[key] = redact_address(value)
    return redacted


def redact_address(address: str) -> str:
    """A URL or host without credentials (`user:password@`), query or fragment."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "", address
    if "@" in rest:
        # Up to the last `@`: a password may hold `/`, `?` or `#` typed as they are.
        rest = f"{REDACTED}@{rest.rpartition('@')[2]}"
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    return f"{scheme}{sep}{rest}"


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Amounts and durations as text, for JSON."""
    return {
        key: str(value) if isinstance(value, Decimal | timedelta) else value
        for key, value in data.items()
    }
