"""The tracker's stored rows: compact, read back as they were, older stores rewritten.

A part's report in the message's own state and words stores only its cost; a delivery
time that is the last report's stores only its zone. Whatever is left out is read back
equal to what was there. A big store is indexed in steps.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
import threading
from typing import Any

from homeassistant.core import HomeAssistant
import orjson
import pytest

from custom_components.ru_sms.providers.models import DeliveryState, DeliveryStatus, GatewayId
from custom_components.ru_sms.tracker import SegmentReport, TrackedMessage
from custom_components.ru_sms.tracker.index import Index, Loader, load_index
from custom_components.ru_sms.tracker.record import ROW_FIELDS
from custom_components.ru_sms.tracker.steps import STEP
from custom_components.ru_sms.tracker.store import migrate_v2
from tests.conftest import IVAN, make_entry
from tests.integration.test_tracker import account, storage_key, tracker_of

SENT = datetime(2026, 5, 1, 9, 0, 0, 123456, tzinfo=UTC)
MOSCOW = timezone(timedelta(hours=3))


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


def message(ids: tuple[str, ...] = ("900001",), cost: float | None = 1.9) -> TrackedMessage:
    return TrackedMessage(
        phone=IVAN.lstrip("+"),
        message_ids=list(ids),
        sent_at=SENT,
        expires_at=SENT + timedelta(hours=25),
        cost=cost,
        updated_at=SENT,
        next_poll=SENT + timedelta(seconds=10),
    )


def report(
    segment: str,
    state: DeliveryState,
    at: datetime,
    cost: float | None = None,
    words: tuple[str, str] = ("1", "Доставлено"),
) -> DeliveryStatus:
    return DeliveryStatus(
        message_id=segment,
        phone=IVAN,
        state=state,
        raw_code=words[0],
        raw_text=words[1],
        updated_at=at,
        cost=cost,
    )


def stored(row: bytes) -> dict[str, Any]:
    return dict(zip(ROW_FIELDS, orjson.loads(row), strict=True))


def stored_rows(hass_storage: dict[str, Any], entry: Any, version: int, rows: list[Any]) -> None:
    """The account's tracker file, at `version`, with `rows`."""
    hass_storage[storage_key(entry)] = {
        "version": version,
        "minor_version": 1,
        "key": storage_key(entry),
        "data": {"rows": rows, "last_list_poll": None},
    }


def read_back(original: TrackedMessage) -> TrackedMessage:
    """The message read from its row, checked equal to the original and shown alike."""
    row = original.to_row()
    assert isinstance(row, bytes)
    again = TrackedMessage.from_row(row)
    assert again == original
    assert again.status() == original.status()
    if original.delivered_at is not None:
        assert again.delivered_at is not None
        assert again.delivered_at.isoformat() == original.delivered_at.isoformat()
    return again


@pytest.mark.parametrize(("cost", "kept"), [(None, [[]]), (2.5, [[2.5]])])
def test_one_part_delivered_writes_its_words_once(cost: float | None, kept: list[Any]) -> None:
    tracked = message()
    delivered = (SENT + timedelta(seconds=30)).astimezone(MOSCOW)
    tracked.apply(report("900001", DeliveryState.DELIVERED, delivered, cost), SENT)

    row = stored(tracked.to_row())
    assert row["segments"] == kept
    assert row["delivered_at"] == 3 * 3600  # the zone alone: the moment is updated_at's
    again = read_back(tracked)
    assert again.segments == {
        "900001": SegmentReport(DeliveryState.DELIVERED, "1", "Доставлено", None, cost)
    }
    assert again.delivered_at == delivered
    assert again.delivered_at is not None
    assert again.delivered_at.isoformat() == "2026-05-01T12:00:30.123456+03:00"


def test_two_parts_delivered_write_their_words_once() -> None:
    split = message(("900001", "900002"))
    for segment in split.message_ids:
        split.apply(report(segment, DeliveryState.DELIVERED, SENT, 1.5), SENT)
    assert split.cost == 3.0
    assert stored(split.to_row())["segments"] == [[1.5], [1.5]]
    read_back(split)


def test_what_differs_from_the_message_keeps_its_own_words_and_time() -> None:
    # Given up after its validity: the message's state is not its one report's.
    expired = message()
    expired.apply(report("900001", DeliveryState.SENT, SENT, words=("0", "Sent")), SENT)
    expired.state = DeliveryState.EXPIRED
    expired.finished_at = SENT + timedelta(hours=25)
    assert stored(expired.to_row())["segments"] == [["sent", "0", "Sent", None, None]]
    read_back(expired)

    # Two parts, the first delivered, the second not asked yet.
    split = message(("900001", "900002"))
    split.apply(report("900001", DeliveryState.DELIVERED, SENT, 1.0), SENT)
    assert split.state is not DeliveryState.DELIVERED
    assert stored(split.to_row())["segments"] == [
        ["delivered", "1", "Доставлено", None, 1.0],
        None,
    ]
    read_back(split)

    # Reports under ids that are not the message's, or ids that repeat: by id, as before.
    for odd in (message(), message(("900001", "900001"))):
        odd.apply(report("900001", DeliveryState.SENT, SENT), SENT)
        odd.segments["elsewhere"] = SegmentReport(DeliveryState.SENT, "0", None, None, None)
        assert set(stored(odd.to_row())["segments"]) == {"900001", "elsewhere"}
        read_back(odd)

    # Delivered earlier than the last report: the time itself, in the gateway's zone.
    late = message()
    late.apply(report("900001", DeliveryState.DELIVERED, SENT.astimezone(MOSCOW)), SENT)
    late.updated_at = SENT + timedelta(minutes=5)
    assert stored(late.to_row())["delivered_at"] == "2026-05-01T12:00:00.123456+03:00"
    read_back(late)

    # Nothing reported yet.
    fresh = message()
    assert stored(fresh.to_row())["segments"] is None
    read_back(fresh)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("segments", 3),
        ("segments", True),
        ("segments", "own"),
        ("segments", [[], []]),  # two parts' reports for one id
        ("segments", [["1.5"]]),  # a cost that is no number
        ("segments", [[True]]),
        ("segments", [["delivered", "1"]]),  # neither the message's nor a report
        ("delivered_at", 86400 * 2),  # no zone is two days off
    ],
)
def test_bad_forms_make_the_row_unreadable(field: str, value: Any) -> None:
    tracked = message()
    tracked.apply(report("900001", DeliveryState.DELIVERED, SENT), SENT)
    values = orjson.loads(tracked.to_row())
    values[ROW_FIELDS.index(field)] = value
    with pytest.raises((TypeError, ValueError)):
        TrackedMessage.from_row(orjson.dumps(values))


def test_a_reused_id_outlives_the_prune_of_the_record_it_replaced() -> None:
    """The prune order holds rows: a key that a newer send took is not pruned with the old."""
    index = Index()
    old = message()
    old.apply(report("900001", DeliveryState.DELIVERED, SENT), SENT)
    old.finished_at = SENT
    index.add(old)
    newer = message()
    newer.sent_at = newer.updated_at = SENT + timedelta(days=8)
    index.remove(newer.key)  # as the tracker does: the new send wins
    key = index.add(newer)

    assert index.prune((SENT + timedelta(days=7)).timestamp()) == 0
    assert key in index.rows
    assert TrackedMessage.from_row(index.rows[key]).sent_at == newer.sent_at


def test_the_prune_order_is_the_order_they_finished_whatever_the_file_says() -> None:
    first, second = message(("1",)), message(("2",))
    for tracked, minutes in ((first, 50), (second, 10)):
        tracked.apply(report(tracked.message_id, DeliveryState.DELIVERED, SENT), SENT)
        tracked.finished_at = SENT + timedelta(minutes=minutes)
    rows = [first.to_row().decode(), second.to_row().decode()]
    index, dropped = load_index({"rows": rows}, SENT.timestamp(), SENT)
    assert dropped == 0
    assert [TrackedMessage.from_row(r).message_id for r in index.finished] == ["2", "1"]
    assert index.prune((SENT + timedelta(minutes=30)).timestamp()) == 1
    assert list(index.rows) == [first.key]


async def test_version_2_store_is_rewritten_compact(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    now = datetime.now(UTC)
    delivered = message(("900001",))
    delivered.sent_at = delivered.updated_at = now - timedelta(minutes=5)
    delivered.apply(report("900001", DeliveryState.DELIVERED, now - timedelta(minutes=4)), now)
    version_2 = orjson.loads(delivered.to_row())
    version_2[ROW_FIELDS.index("segments")] = {
        "900001": ["delivered", "1", "Доставлено", None, None]
    }
    assert delivered.delivered_at is not None
    version_2[ROW_FIELDS.index("delivered_at")] = delivered.delivered_at.isoformat()
    stored_rows(hass_storage, entry, 2, [orjson.dumps(version_2).decode(), "not a row"])
    entry = await account(hass, GatewayId.SMSC, emulator, entry=entry)

    tracker = tracker_of(entry)
    assert tracker.messages == {delivered.key: delivered}
    (row,) = tracker._index.rows.values()
    assert stored(row)["segments"] == [[]]
    assert stored(row)["delivered_at"] == 0
    assert await hass.config_entries.async_unload(entry.entry_id)
    saved = hass_storage[storage_key(entry)]
    assert saved["version"] == 3
    assert saved["data"]["rows"] == [row.decode()]


async def test_a_big_store_is_indexed_on_the_loop_in_steps(
    hass: HomeAssistant,
    emulators: Any,
    hass_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows decoded in worker threads would hold the interpreter's lock against the loop."""
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    now = datetime.now(UTC)
    rows = []
    for n in range(1000):
        tracked = message((str(100_000 + n),))
        tracked.sent_at = tracked.updated_at = now - timedelta(hours=1) + timedelta(seconds=n)
        tracked.apply(report(tracked.message_id, DeliveryState.DELIVERED, now), now)
        tracked.finished_at = now - timedelta(seconds=n % 10)  # not in the order sent
        rows.append(tracked.to_row().decode())
    stored_rows(hass_storage, entry, 3, rows)
    entry = await account(hass, GatewayId.SMSC, emulator, entry=entry)
    tracker = tracker_of(entry)
    assert tracker.on_record == 1000

    seen: list[str] = []
    add = Loader.add

    def watched(loader: Loader, row: Any) -> None:
        seen.append("row" if threading.current_thread() is threading.main_thread() else "thread")
        add(loader, row)

    monkeypatch.setattr(Loader, "add", watched)
    monkeypatch.setattr(Loader, "finish", None)  # a worker thread's: not for these rows
    loading = hass.async_create_task(tracker.async_load())
    while not loading.done():
        seen.append("turn")
        await asyncio.sleep(0)
    assert "thread" not in seen
    first, last = seen.index("row"), len(seen) - seen[::-1].index("row")
    assert seen[first:last].count("turn") >= 1000 // STEP - 1
    assert tracker.on_record == 1000
    finished = [TrackedMessage.from_row(row).finished_at for row in tracker._index.finished]
    assert len(finished) == 1000
    assert finished == sorted(finished)
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("old", ["garbage", None, {"rows": "none"}, {"last_list_poll": None}])
def test_an_unreadable_version_2_store_is_left_to_the_loader(old: Any) -> None:
    assert migrate_v2(old) == old
    index, dropped = load_index(migrate_v2(old), SENT.timestamp(), SENT)
    assert (index.rows, dropped) == ({}, 0)
