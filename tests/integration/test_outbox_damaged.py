"""A damaged store never costs the account: the file kept aside, a repair issue, the rest goes on.

Each damage of the outbox's and the tracker's file that a hand (or a disk) makes: a
truncated file, wrong JSON types, a version this code does not know, naive or malformed
dates, records that are not objects, counters of the wrong type. The account loads, the
readable alerts go out, a repair issue says how much was lost and where the file is.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir, storage
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.outbox.alert import _MAY_BE_NONE, ALERT_FIELDS, QueuedAlert
from custom_components.ru_sms.providers import SendOptions
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.storage import StoreKind, store_key
from tests.conftest import make_entry
from tests.integration.clock import Clock
from tests.integration.test_outbox import stored_alert, stored_file, taken

OPTIONS = SendOptions(sender="HomeAlert", client_message_id="rs0123456789abcdef09")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


@pytest.fixture(autouse=True)
def fast_client(no_client_retry_delay: None) -> None:
    """A read the client repeats goes at once."""


def good_and(hass_storage: dict[str, Any], entry: MockConfigEntry, *bad: Any) -> dict[str, Any]:
    """One readable queued alert ("Door open") and `bad` records beside it."""
    alert = stored_alert(hass_storage, entry, "Door open", OPTIONS)
    record = alert.as_record()
    hass_storage[store_key(StoreKind.OUTBOX, entry.entry_id)]["data"]["alerts"] += [
        item(record) if callable(item) else item for item in bad
    ]
    return record


async def load(hass: HomeAssistant, entry: MockConfigEntry, emulator: Any) -> None:
    """Set the account up (it must load) and let a minute pass."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    clock = Clock(hass)
    clock.attach(entry, emulator)
    await clock.tick(60, emulator)


def issue(hass: HomeAssistant, kind: str, entry: MockConfigEntry) -> ir.IssueEntry:
    found = ir.async_get(hass).async_get_issue(DOMAIN, f"{kind}_damaged_{entry.entry_id}")
    assert found is not None
    return found


RECORDS = {
    "not an object": ["a text", 5, None, [1, 2]],
    "naive or malformed dates": [
        lambda r: {**r, "id": "naive", "deadline": "2030-01-01T10:00:00"},
        lambda r: {**r, "id": "malformed", "created_at": "yesterday"},
        lambda r: {**r, "id": "not text", "next_attempt": 1_800_000_000},
        lambda r: {**r, "id": "naive later", "failing_since": "2030-01-01 10:00"},
    ],
    "counters of the wrong type": [
        lambda r: {**r, "id": "text count", "attempts": "3"},
        lambda r: {**r, "id": "bool count", "possibly_sent": True},
        lambda r: {**r, "id": "negative", "attempts": -1},
        lambda r: {**r, "id": "float", "asks": 1.5},
        lambda r: {**r, "id": "flag", "in_doubt": "yes"},
    ],
    "wrong types inside": [
        lambda r: {**r, "id": "numbers", "phones": "79161234567"},
        lambda r: {**r, "id": "no numbers", "phones": []},
        lambda r: {**r, "id": "text", "text": None},
        lambda r: {**r, "id": "options", "options": {"validity": "long"}},
        lambda r: {**r, "id": 12},
    ],
}


@pytest.mark.parametrize("bad", list(RECORDS))
async def test_unreadable_alerts_are_said_the_rest_go_out(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any], bad: str
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    good_and(hass_storage, entry, *RECORDS[bad])

    await load(hass, entry, emulator)

    assert taken(emulator, "Door open") == 1
    found = issue(hass, "outbox", entry)
    assert found.translation_key == "outbox_damaged"
    assert found.translation_placeholders["lost"] == str(len(RECORDS[bad]))
    assert found.severity is ir.IssueSeverity.ERROR
    # What could be read is written back: the next start finds no damage.
    kept = hass_storage[store_key(StoreKind.OUTBOX, entry.entry_id)]["data"]["alerts"]
    assert kept == []


@pytest.mark.parametrize(
    "data",
    [["alerts"], {"alerts": {"0": {}}}, {"alerts": "none"}, "text"],
    ids=["a list", "alerts as an object", "alerts as text", "text"],
)
async def test_wrong_json_types_lose_the_file_not_the_account(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any], data: Any
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = make_entry(GatewayId.STREAM, emulator)
    stored_file(hass_storage, StoreKind.OUTBOX, entry, data)

    await load(hass, entry, emulator)

    found = issue(hass, "outbox", entry)
    assert found.translation_key == "outbox_unreadable"
    # The account works on.
    await hass.services.async_call(
        "notify", "send_message", {"entity_id": "notify.ivan", "message": "Alarm"}, blocking=True
    )
    assert taken(emulator, "Alarm") == 1


def disk(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Home Assistant's storage folder on disk in `tmp_path` (for `load_from_disk`)."""
    hass.config.config_dir = str(tmp_path)
    folder = tmp_path / ".storage"
    folder.mkdir()
    return folder


async def load_from_disk(hass: HomeAssistant, entry: MockConfigEntry, emulator: Any) -> None:
    """`load`, the files read from disk (the tests keep storage in memory)."""

    async def from_disk(store: storage.Store[Any]) -> Any:
        storage.get_internal_store_manager(hass).async_invalidate(store.key)
        return await store._async_load_data()

    with patch.object(storage.Store, "_async_load", from_disk):
        await load(hass, entry, emulator)


def read(path: str | Path) -> str:
    return Path(path).read_text("utf-8")


ON_DISK = {
    # Broken JSON: Home Assistant moves the file aside itself (`.corrupt.<time>`).
    "truncated": (
        '{"version": 1, "minor_version": 1, "key": "x", "data": {"alerts": [{"id": "rs',
        ".corrupt.",
    ),
    "an unknown version": (
        json.dumps({"version": 99, "minor_version": 1, "key": "x", "data": {"alerts": []}}),
        ".damaged.",
    ),
}


@pytest.mark.parametrize("kind", [StoreKind.OUTBOX, StoreKind.TRACKER])
@pytest.mark.parametrize("damage", list(ON_DISK))
async def test_a_file_that_cannot_be_read_is_kept_aside_and_said(
    hass: HomeAssistant, emulators: Any, tmp_path: Path, kind: StoreKind, damage: str
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    written, kept_as = ON_DISK[damage]
    path = disk(hass, tmp_path) / store_key(kind, entry.entry_id)
    path.write_text(written, "utf-8")

    await load_from_disk(hass, entry, emulator)

    found = issue(hass, kind, entry)
    assert found.translation_key == f"{kind}_unreadable"
    kept = found.translation_placeholders["kept_as"]
    assert kept_as in kept
    assert await hass.async_add_executor_job(read, kept) == written


async def test_damaged_delivery_records_are_said_the_rest_followed(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    rows = ["[1, 2", 7, {"phone": "7916"}, None]
    stored_file(hass_storage, StoreKind.TRACKER, entry, {"rows": rows, "last_list_poll": 5}, 2)

    await load(hass, entry, emulator)

    found = issue(hass, "tracker", entry)
    assert found.translation_key == "tracker_damaged"
    assert found.translation_placeholders["lost"] == "4"
    assert found.severity is ir.IssueSeverity.WARNING


async def test_a_damaged_record_of_incoming_sms_is_said(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    seen = {"id:1": "2026-01-01T00:00:00+00:00", "id:2": 5}
    stored_file(hass_storage, StoreKind.INCOMING, entry, {"seen": seen, "pushed": []})

    await load(hass, entry, emulator)

    assert issue(hass, "incoming", entry).translation_key == "incoming_unreadable"


def test_a_record_keeps_every_field() -> None:
    """An alert with every field set comes back whole from its record; None fields stay out."""
    when = [datetime(2026, 12, 6, 4, minute, tzinfo=UTC) for minute in range(8)]
    full = QueuedAlert(
        id="rs0123456789abcdef09",
        phones=["79161234567", "79161234568"],
        text="Door open",
        options={"sender": "HomeAlert"},
        deadline=when[0],
        created_at=when[1],
        next_attempt=when[2],
        attempts=3,
        in_flight=True,
        in_doubt=True,
        possibly_sent=2,
        possible_duplicate=True,
        last_error="timeout",
        failing_since=when[3],
        failover=False,
        attempt_at=when[4],
        doubt_since=when[5],
        answer_lost_at=when[6],
        not_taken_at=when[7],
        asks=4,
        origin="other-entry",
    )
    record = full.as_record()
    assert set(record) == set(ALERT_FIELDS)
    assert json.loads(json.dumps(record)) == record  # plain JSON values
    assert QueuedAlert.from_record(record) == full
    record["phones"].append("79160000000")
    record["options"]["sender"] = "Other"
    assert full.phones == ["79161234567", "79161234568"]  # nothing shared
    assert full.options == {"sender": "HomeAlert"}
    bare = replace(
        full,
        last_error=None,
        failing_since=None,
        attempt_at=None,
        doubt_since=None,
        answer_lost_at=None,
        not_taken_at=None,
        origin=None,
    )
    assert set(bare.as_record()) == set(ALERT_FIELDS) - set(_MAY_BE_NONE)
    assert QueuedAlert.from_record(bare.as_record()) == bare
