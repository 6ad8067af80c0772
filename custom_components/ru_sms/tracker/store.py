"""Where an account's delivery records are kept, and how an older store is read."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
import orjson

from ..storage import StoreKind, store_key
from .record import TrackedMessage

STORAGE_VERSION = 3
"""1: a list of records as dicts; 2: compact rows (`ROW_FIELDS`), each as JSON text; 3:
the same rows with the parts' reports in the order of the ids, a report in the message's
own state and words and a delivery time that is the last report's not written twice."""


class TrackerStore(Store[dict[str, Any]]):
    """The account's records; written from a worker thread (the rows never change)."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """The records of the account `entry_id`."""
        super().__init__(
            hass,
            STORAGE_VERSION,
            store_key(StoreKind.TRACKER, entry_id),
            serialize_in_event_loop=False,
        )

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: Any
    ) -> Any:
        """Older versions turned into version 3 rows off the loop (there may be many)."""
        if old_major_version == 1:
            return await self.hass.async_add_executor_job(migrate_v1, old_data)
        if old_major_version == 2:
            return await self.hass.async_add_executor_job(migrate_v2, old_data)
        return old_data


def migrate_v1(old: Any) -> dict[str, Any]:
    """Version 1 data as version 2; an unreadable record stays for the loader to drop."""
    if not isinstance(old, dict):
        return {}
    items = old.get("messages")
    rows: list[Any] = []
    for item in items if isinstance(items, list) else []:
        try:
            rows.append(TrackedMessage.from_dict(item).to_row().decode())
        except TypeError, ValueError:
            rows.append(None)
    return {"rows": rows, "last_list_poll": old.get("last_list_poll")}


def migrate_v2(old: Any) -> Any:
    """Version 2 rows written again in the compact form; an unreadable one stays as it is."""
    if not isinstance(old, dict) or not isinstance(rows := old.get("rows"), list):
        return old
    again: list[Any] = []
    for row in rows:
        try:
            again.append(TrackedMessage.from_row(row).to_row().decode())
        except TypeError, ValueError, orjson.JSONDecodeError:
            again.append(row)
    return old | {"rows": again}
