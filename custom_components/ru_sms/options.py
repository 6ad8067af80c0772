"""Send options on the Home Assistant side: from an action's fields, and as the outbox stores them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
import math
from typing import Any

from homeassistant.util import dt as dt_util

from .const import (
    ATTR_FLASH,
    ATTR_RECIPIENT_LOCAL_TIME,
    ATTR_REPLACE_TYPOGRAPHY,
    ATTR_SEND_AT,
    ATTR_SENDER,
    ATTR_TRANSLITERATE,
    ATTR_VALIDITY,
    CONF_REPLACE_TYPOGRAPHY,
    CONF_SENDER,
    CONF_TRANSLITERATE,
)
from .providers import SendOptions
from .storage import read_time


def send_options(defaults: Mapping[str, Any], fields: Mapping[str, Any]) -> SendOptions:
    """Send options from an action's fields over the account's defaults (its options).

    A send-at time without a zone is taken in Home Assistant's time zone.
    """
    send_at: datetime | None = fields.get(ATTR_SEND_AT)
    if send_at is not None and send_at.tzinfo is None:
        send_at = send_at.replace(tzinfo=dt_util.get_default_time_zone())
    return SendOptions(
        sender=fields.get(ATTR_SENDER) or defaults.get(CONF_SENDER) or None,
        send_at=send_at,
        recipient_local_time=bool(fields.get(ATTR_RECIPIENT_LOCAL_TIME, False)),
        validity=fields.get(ATTR_VALIDITY),
        flash=bool(fields.get(ATTR_FLASH, False)),
        transliterate=bool(fields.get(ATTR_TRANSLITERATE, defaults.get(CONF_TRANSLITERATE, False))),
        replace_typography=bool(
            fields.get(ATTR_REPLACE_TYPOGRAPHY, defaults.get(CONF_REPLACE_TYPOGRAPHY, False))
        ),
    )


def options_to_dict(options: SendOptions) -> dict[str, Any]:
    """Send options as the store keeps them."""
    return {
        "sender": options.sender,
        "client_message_id": options.client_message_id,
        "send_at": options.send_at.isoformat() if options.send_at else None,
        "recipient_local_time": options.recipient_local_time,
        "validity": options.validity.total_seconds() if options.validity else None,
        "flash": options.flash,
        "transliterate": options.transliterate,
    }


def options_from_dict(data: Mapping[str, Any]) -> SendOptions:
    """Send options from the store; `TypeError`/`ValueError` for what cannot be them."""
    for name in ("sender", "client_message_id"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise TypeError(name)
    for name in ("recipient_local_time", "flash"):
        if not isinstance(data.get(name, False), bool):
            raise TypeError(name)
    send_at = data.get("send_at")
    validity = data.get("validity")
    if validity is not None and (
        not isinstance(validity, int | float)
        or isinstance(validity, bool)
        or not math.isfinite(validity)
        or validity < 0
    ):
        raise ValueError("validity")
    return SendOptions(
        sender=data.get("sender"),
        client_message_id=data.get("client_message_id"),
        send_at=None if send_at is None else read_time(send_at),
        recipient_local_time=bool(data.get("recipient_local_time")),
        validity=timedelta(seconds=validity) if validity else None,
        flash=bool(data.get("flash")),
        # Transliterated (or not) before it was queued: never twice.
        transliterate=False,
    )
