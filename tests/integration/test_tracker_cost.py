"""The tracker's constant cost.

Its indexes agree with a full scan, polls that change nothing cost no save, split
messages are asked about part by part, big sends are tracked in steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import random
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.ru_sms.providers.models import (
    DeliveryState,
    DeliveryStatus,
    GatewayId,
    RecipientResult,
    SendOptions,
    SendResult,
)
from custom_components.ru_sms.providers.phone import normalize_phones
from custom_components.ru_sms.signals import EVENT_MESSAGE_STATUS
from custom_components.ru_sms.tracker import MessageTracker, TrackedMessage
from tests.conftest import IVAN, make_entry
from tests.integration.test_tracker import (
    LONG_TEXT,
    STATUS_PATH,
    account,
    asked_ids,
    list_requests,
    send,
    status_times,
    storage_key,
    stored_record,
    tick,
    tracker_of,
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


def scan_latest(messages: list[TrackedMessage], recipient_id: str | None) -> str | None:
    """The latest message by a full scan (the order they were sent)."""
    mine = [m for m in messages if recipient_id is None or m.recipient_id == recipient_id]
    return mine[-1].key if mine else None


def check_against_a_scan(tracker: MessageTracker, recipients: list[str]) -> None:
    """Every index answers what a pass over every record answers."""
    index = tracker._index
    messages = [TrackedMessage.from_row(row) for row in index.rows.values()]
    assert [m.key for m in messages] == list(index.rows)
    assert [m.key for m in tracker.messages.values()] == list(index.rows)
    for message in messages:
        # Every record in use is what its row says.
        assert tracker.messages[message.key] == message
    pending = {m.key: m for m in messages if not m.is_final}
    assert tracker.in_flight == len(pending)
    assert set(index.pending) == set(pending)
    for key, message in pending.items():
        assert message.next_poll is not None
        assert index.pending[key] == message.next_poll.timestamp()
    if pending:
        earliest = min(m.next_poll.timestamp() for m in pending.values() if m.next_poll)
        due = index.next_due()
        assert due is not None
        assert due <= earliest  # a record may have moved on since: never later
    else:
        assert index.next_due() is None
    finished = {m.key for m in messages if m.is_final}
    assert {TrackedMessage.from_row(row).key for row in index.finished} >= finished
    for recipient_id in [None, *recipients, "nobody"]:
        found = tracker.last_message(recipient_id)
        assert (found.key if found else None) == scan_latest(messages, recipient_id)
    for message in messages:
        for segment in message.message_ids:
            assert index.find(segment, message.phone) == message.key
    by_first: dict[str, list[str]] = {}
    for message in messages:
        by_first.setdefault(message.message_id, []).append(message.key)
    for first, keys in by_first.items():
        assert index.find_by_id(first) == (keys[0] if len(keys) == 1 else None)


async def test_indexes_agree_with_a_full_scan(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await account(hass, GatewayId.STREAM, emulator)
    tracker = tracker_of(entry)
    (ivan,) = entry.subentries
    tracker.polling = True  # this test moves the records by hand: no polls
    rng = random.Random(10)  # noqa: S311 - a repeatable sequence
    numbers = [IVAN, "79031234567", "79251234567", "79161112233"]
    next_id = iter(range(500_000, 10**9))
    sent: list[TrackedMessage] = []
    for step in range(300):
        action = rng.random()
        if action < 0.35 or not sent:
            ids = tuple(str(next(next_id)) for _ in range(rng.choice((1, 1, 2, 3))))
            shared = rng.random() < 0.2  # one id for several numbers (as on SMSC.ru)
            phones = rng.sample(numbers, 2 if shared else 1)
            result = SendResult(
                recipients=[
                    RecipientResult(phone=p, accepted=True, message_ids=ids) for p in phones
                ]
            )
            sent += tracker.async_track(result, SendOptions())
        elif action < 0.8:
            message = rng.choice(sent)
            state = rng.choice(list(DeliveryState))
            phone = "" if rng.random() < 0.1 else rng.choice([message.phone, "+" + message.phone])
            segment = rng.choice(message.message_ids)
            tracker.async_apply(
                [DeliveryStatus(message_id=segment, phone=phone, state=state, raw_code=str(step))]
            )
        elif action < 0.9:
            tracker._give_up(rng.choice(sent).key, dt_util.utcnow())
        else:
            freezer.tick(rng.choice((60, 3600, 2 * 86400)))
            tracker._changed()  # a change prunes
        freezer.tick(1)
        check_against_a_scan(tracker, [ivan])
    assert tracker._index.rows  # the test did keep records
    tracker.polling = False


async def test_a_poll_that_changes_nothing_neither_saves_nor_notifies(
    hass: HomeAssistant, emulators: Any, freezer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = await emulators(GatewayId.SMSTELE)
    emulator.final_after = 10**6
    entry = await account(hass, GatewayId.SMSTELE, emulator)
    tracker = tracker_of(entry)
    await send(hass, entry)
    await tick(hass, freezer, 10)  # queued -> sent: a change
    assert tracker.last_message() is not None
    assert tracker.last_message().state is DeliveryState.SENT  # type: ignore[union-attr]
    saves: list[Any] = []
    heard: list[None] = []
    monkeypatch.setattr(
        tracker._store, "async_delay_save", lambda *args, **kwargs: saves.append(args)
    )
    tracker.async_add_listener(lambda: heard.append(None))
    asked = emulator.count(STATUS_PATH[GatewayId.SMSTELE])

    await tick(hass, freezer, 200)  # polls at 60 and 180 s: still sent
    assert emulator.count(STATUS_PATH[GatewayId.SMSTELE]) == asked + 2
    assert saves == []
    assert heard == []
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", [GatewayId.STREAM, GatewayId.DEVINO])
async def test_split_message_delivered_after_two_minutes_costs_four_requests(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    provider: GatewayId,
) -> None:
    emulator = await emulators(provider)

    def state_code(segment: Any) -> tuple[int, float | None]:
        if emulator.now() >= segment.starts + 120:
            return 0, segment.starts + 120
        return -1, segment.starts

    monkeypatch.setattr(emulator, "state_code", state_code)
    entry = await account(hass, provider, emulator)
    start = emulator.now()
    answer = await send(hass, entry, LONG_TEXT)
    first, second = answer["recipients"][0]["message_ids"]
    await tick(hass, freezer, 3600, step=10)

    assert tracker_of(entry).in_flight == 0
    requests = [r for r in emulator.requests if r.path == STATUS_PATH[provider]]
    assert [
        (round(r.at - start), r.form.get("messageId") or r.form.get("messageid")) for r in requests
    ] == [
        (10, first),
        (60, first),
        (180, first),
        (180, second),
    ]
    assert status_times(emulator, provider, start) == [10, 60, 180, 180]


async def test_bulk_send_is_tracked_in_steps(
    hass: HomeAssistant, emulators: Any, freezer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.balance = type(emulator.balance)(10**6)
    entry = await account(hass, GatewayId.SMSC, emulator)
    tracker = tracker_of(entry)
    changes: list[int] = []
    tracker.async_add_listener(lambda: changes.append(tracker.in_flight))
    monkeypatch.setattr("custom_components.ru_sms.tracker.steps.STEP", 7)
    numbers = [f"+7916{n:07d}" for n in range(30)]

    await send(hass, entry, phones=numbers, recipient=False)
    assert tracker.in_flight == 30
    assert changes == [30]  # one change for the whole send, after the last step
    assert [m.phone for m in tracker.messages.values()] == normalize_phones(numbers)


def test_numbers_checked_once_each_in_order() -> None:
    raw = ["+7 916 000-00-01", "89160000002", "+79160000001", "9160000003", "79160000002"]
    assert normalize_phones(raw) == ["79160000001", "79160000002", "79160000003"]


async def test_smsc_list_request_names_at_most_its_limit(
    hass: HomeAssistant, emulators: Any, freezer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custom_components.ru_sms.tracker.tracker.LIST_POLL_MAX", 2)
    monkeypatch.setattr("custom_components.ru_sms.tracker.steps.STEP", 1)  # every step yields
    emulator = await emulators(GatewayId.SMSC)
    entry = await account(hass, GatewayId.SMSC, emulator)
    start = emulator.now()
    for number in range(3):
        await send(hass, entry, f"Датчик {number}: протечка")
    await tick(hass, freezer, 100)

    requests = list_requests(emulator)
    # Two in the first list; the third waits for the gateway's next minute.
    assert [round(r.at - start) for r in requests] == [15, 75]
    assert [asked_ids(r) for r in requests] == [["1001", "1002"], ["1003"]]
    assert tracker_of(entry).in_flight == 0


async def test_version_1_store_out_of_order_is_loaded_in_the_order_sent(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = make_entry(GatewayId.STREAM, emulator)
    now = datetime.now(UTC)
    later = stored_record(entry, "900002", now - timedelta(minutes=1))
    earlier = stored_record(entry, "900001", now - timedelta(minutes=5))
    hass_storage[storage_key(entry)] = {
        "version": 1,
        "minor_version": 1,
        "key": storage_key(entry),
        "data": {"messages": [later, earlier]},
    }
    entry = await account(hass, GatewayId.STREAM, emulator, entry=entry)

    tracker = tracker_of(entry)
    assert list(tracker.messages) == [f"900001:{IVAN}", f"900002:{IVAN}"]
    latest = tracker.last_message()
    assert latest is not None
    assert latest.message_id == "900002"
    (ivan,) = entry.subentries
    assert tracker.last_message(ivan) is latest
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass_storage[storage_key(entry)]["version"] == 3


async def one_message_a_step(
    hass: HomeAssistant, emulators: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Any]:
    """An SMSC.ru account whose poll applies one message a step, each delivered at once."""
    monkeypatch.setattr("custom_components.ru_sms.tracker.steps.STEP", 1)
    emulator = await emulators(GatewayId.SMSC)
    emulator.queued_seconds = 0
    emulator.final_seconds = 5  # delivered at the first poll
    return emulator, await account(hass, GatewayId.SMSC, emulator)


async def test_a_poll_in_steps_fires_each_event_once_then_saves_and_tells_once(
    hass: HomeAssistant, emulators: Any, freezer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, entry = await one_message_a_step(hass, emulators, monkeypatch)
    tracker = tracker_of(entry)
    numbers = [f"+7916{n:07d}" for n in range(12)]
    await send(hass, entry, phones=numbers, recipient=False)
    assert tracker.in_flight == 12
    fired = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    saves: list[Any] = []
    heard: list[int] = []
    real_delay_save = tracker._store.async_delay_save

    def delay_save(*args: Any, **kwargs: Any) -> None:
        saves.append(tracker.in_flight)
        real_delay_save(*args, **kwargs)

    monkeypatch.setattr(tracker._store, "async_delay_save", delay_save)
    tracker.async_add_listener(lambda: heard.append(tracker.in_flight))

    await tick(hass, freezer, 20)

    assert len(list_requests(emulator)) == 1
    delivered = [e.data["number"] for e in fired if e.data["state"] == "delivered"]
    assert sorted(delivered) == normalize_phones(numbers)  # each once
    assert len(fired) == 12
    assert saves == [0]  # one save, after the last step
    assert heard == [0]  # the listeners told once, after the last step
    assert tracker.in_flight == 0


async def test_a_list_poll_takes_its_limit_and_leaves_the_rest_due(
    hass: HomeAssistant, emulators: Any, freezer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custom_components.ru_sms.tracker.tracker.LIST_POLL_MAX", 4)
    emulator = await emulators(GatewayId.SMSC)
    emulator.final_seconds = 10**6
    entry = await account(hass, GatewayId.SMSC, emulator)
    tracker = tracker_of(entry)
    numbers = [f"+7916{n:07d}" for n in range(10)]
    await send(hass, entry, phones=numbers, recipient=False)
    index = tracker._index
    due_at = index.next_due()
    assert due_at is not None

    taken = index.take_due(due_at, 4)

    assert taken == list(index.pending)[:4]  # the first sent go first
    assert index.next_due() == due_at  # the other six are still due then
    assert index.take_due(due_at, 100) == list(index.pending)[4:]
    assert index.take_due(due_at, 100) == []  # each once


async def test_a_poll_of_many_alerts_to_one_number_is_applied_in_steps(
    hass: HomeAssistant, emulators: Any, freezer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step is one message's reports, not every report to the same number."""
    emulator, entry = await one_message_a_step(hass, emulators, monkeypatch)
    for number in range(6):
        await send(hass, entry, f"Датчик {number}: протечка")
    assert tracker_of(entry).in_flight == 6
    seen: list[str] = []

    @callback
    def heard(_event: Any) -> None:
        seen.append("event")
        hass.loop.call_soon(seen.append, "turn")  # runs once the loop gets a turn

    hass.bus.async_listen(EVENT_MESSAGE_STATUS, heard)

    await tick(hass, freezer, 20)

    assert len(list_requests(emulator)) == 1  # one answer about the six
    assert seen == ["event", "turn"] * 6
    assert tracker_of(entry).in_flight == 0
