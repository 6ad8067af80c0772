"""Incoming SMS: Stream and Devino asked on a schedule, each message reported once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import itertools
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.ru_sms import incoming
from custom_components.ru_sms.incoming import message_key
from custom_components.ru_sms.providers import IncomingMessage
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.signals import EVENT_INCOMING_SMS
from custom_components.ru_sms.storage import StoreKind, store_key
from tests.conftest import IVAN, make_entry, setup_account
from tests.emulators.base import Fault
from tests.emulators.catalog import by_gateway

REST = [GatewayId.STREAM, GatewayId.DEVINO]
INCOMING_PATH = by_gateway(lambda account: account.incoming_path)
OPTIONS = {"incoming_interval": 5}
WIRE = "%Y-%m-%dT%H:%M:%S"
"""How the window's bounds travel (UTC)."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


@pytest.fixture(autouse=True)
def _no_retry_delay(no_client_retry_delay: None) -> None: ...


@pytest.fixture
def freezer(freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture) -> Any:
    """Frozen time; the emulators' access log, which cannot read a frozen clock, off.

    The emulators read `time.time()`, which the freezer moves too: their clock and Home
    Assistant's stay one (the tests never `advance` them apart).
    """
    caplog.set_level(logging.WARNING, logger="aiohttp.access")
    # On a whole second: the gateways' dates have no fractions.
    freezer.move_to(dt_util.utcnow().replace(microsecond=0) + timedelta(seconds=1))
    return freezer


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float) -> None:
    """Let `minutes` pass, timers fire and the polls finish."""
    freezer.tick(timedelta(minutes=minutes))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def setup(hass: HomeAssistant, provider: GatewayId, emulator: Any, **kwargs: Any) -> Any:
    """Set up the account; the first poll (at start) finishes before anything else."""
    entry = await setup_account(hass, provider, emulator, **kwargs)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


def receive(
    emulator: Any,
    text: str,
    *,
    phone: str = IVAN,
    ago: float = 0.0,
    message_id: int | None = None,
) -> float:
    """A subscriber's SMS lands in the gateway's inbox, stamped `ago` seconds back."""
    stamped = emulator.now() - ago
    item: dict[str, object] = {
        "Data": text,
        "SourceAddress": phone,
        "DestinationAddress": "2420",
        "CreatedDateUtc": stamped,
    }
    if message_id is not None:
        item["ID"] = message_id
    emulator.inbox.append(item)
    return stamped


def windows(emulator: Any, provider: GatewayId) -> list[tuple[datetime, datetime]]:
    """The (start, end) of every incoming request, in order."""
    return [
        (
            datetime.strptime(r.form["minDateUTC"], WIRE).replace(tzinfo=UTC),
            datetime.strptime(r.form["maxDateUTC"], WIRE).replace(tzinfo=UTC),
        )
        for r in emulator.requests
        if r.path.endswith(INCOMING_PATH[provider])
    ]


def texts(events: list[Any]) -> list[str]:
    return [e.data["text"] for e in events]


def stored(hass_storage: dict[str, Any], entry: MockConfigEntry) -> dict[str, Any]:
    data: dict[str, Any] = hass_storage[store_key(StoreKind.INCOMING, entry.entry_id)]["data"]
    return data


# -- events ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", REST)
async def test_incoming_sms_fires_event(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    assert emulator.now() == dt_util.utcnow().timestamp()  # one clock
    events = async_capture_events(hass, EVENT_INCOMING_SMS)
    entry = await setup(hass, provider, emulator, options=OPTIONS)
    start = dt_util.utcnow()
    # Asked once at start, an hour back (nothing on record yet): nothing there.
    assert windows(emulator, provider) == [((start - timedelta(hours=1)), (start))]
    assert events == []

    freezer.tick(timedelta(minutes=2))
    stamped = receive(emulator, "Котёл: статус?", message_id=5126)
    await tick(hass, freezer, 3)

    assert [e.data for e in events] == [
        {
            "config_entry_id": entry.entry_id,
            "account": entry.title,
            "message_id": "5126",
            "number": IVAN,
            "text": "Котёл: статус?",
            "to": "2420",
            "received_at": dt_util.utc_from_timestamp(stamped).isoformat(),
        }
    ]
    # The second window starts 5 minutes before the first one ended.
    assert windows(emulator, provider)[1] == (
        (start - timedelta(minutes=5)),
        (start + timedelta(minutes=5)),
    )


@pytest.mark.parametrize("provider", REST)
async def test_one_request_per_interval_and_no_repeats(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    provider: GatewayId,
) -> None:
    """A minute apart, every window overlaps the five before it: still one event each."""
    emulator = await emulators(provider)
    events = async_capture_events(hass, EVENT_INCOMING_SMS)
    entry = await setup(hass, provider, emulator, options={"incoming_interval": 1})
    expected: list[str] = []
    for minute in range(1, 31):
        if minute % 3 == 0:
            receive(emulator, f"on time {minute}", message_id=1000 + minute)
            expected.append(f"on time {minute}")
        if minute % 7 == 0:
            # Listed now, stamped four minutes back: only the overlap catches it.
            receive(emulator, f"stamped late {minute}", message_id=2000 + minute, ago=240)
            expected.append(f"stamped late {minute}")
        await tick(hass, freezer, 1)
        assert emulator.count(INCOMING_PATH[provider]) == minute + 1  # one per minute

    assert sorted(texts(events)) == sorted(expected)
    asked = windows(emulator, provider)
    for (_, end), (start, _) in itertools.pairwise(asked):
        assert start == end - timedelta(minutes=5)
    # Only what a later window can still return is kept.
    # Only what a later window can still return is kept (10 minutes: overlap and margin).
    assert sorted(stored(hass_storage, entry)["seen"]) == [
        "id:1021",
        "id:1024",
        "id:1027",
        "id:1030",
        "id:2028",
    ]


@pytest.mark.parametrize("provider", REST)
async def test_messages_without_id(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory, provider: GatewayId
) -> None:
    """Told apart by number, text and time; one id listed twice is one message."""
    emulator = await emulators(provider)
    events = async_capture_events(hass, EVENT_INCOMING_SMS)
    await setup(hass, provider, emulator, options=OPTIONS)
    receive(emulator, "no id", ago=60)
    receive(emulator, "no id")
    receive(emulator, "no id", phone="79160000000")
    receive(emulator, "twice", message_id=42)
    receive(emulator, "twice", message_id=42)
    for _ in range(3):
        await tick(hass, freezer, 5)

    assert sorted((e.data["message_id"], e.data["number"], e.data["text"]) for e in events) == [
        ("", "79160000000", "no id"),
        ("", IVAN, "no id"),
        ("", IVAN, "no id"),
        ("42", IVAN, "twice"),
    ]
    # Reported oldest first.
    assert [e.data["received_at"] for e in events] == sorted(e.data["received_at"] for e in events)


def test_message_key() -> None:
    at = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    by_id = message_key(IncomingMessage("7", IVAN, "a", received_at=at))
    assert by_id == message_key(IncomingMessage("7", "79160000000", "b"))
    without = [
        message_key(IncomingMessage("", IVAN, "a")),
        message_key(IncomingMessage("", IVAN, "a", received_at=at)),
        message_key(IncomingMessage("", IVAN, "b", received_at=at)),
        message_key(IncomingMessage("", "79160000000", "a", received_at=at)),
    ]
    assert len({by_id, *without}) == 5
    assert without[1] == message_key(IncomingMessage("", IVAN, "a", received_at=at))


# -- restarts -------------------------------------------------------------------------


@pytest.mark.parametrize("provider", REST)
async def test_no_repeat_after_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    provider: GatewayId,
) -> None:
    emulator = await emulators(provider)
    path = INCOMING_PATH[provider]
    events = async_capture_events(hass, EVENT_INCOMING_SMS)
    entry = await setup(hass, provider, emulator, options=OPTIONS)
    freezer.tick(timedelta(minutes=1))
    before = receive(emulator, "before", message_id=1)
    await tick(hass, freezer, 4)
    assert texts(events) == ["before"]

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert stored(hass_storage, entry) == {
        "window_end": dt_util.utcnow().isoformat(),
        "seen": {"id:1": dt_util.utc_from_timestamp(before).isoformat()},
        "pushed": {},
    }
    freezer.tick(timedelta(minutes=1))
    receive(emulator, "while down", message_id=2)
    asked = emulator.count(path)
    await tick(hass, freezer, 5)
    assert emulator.count(path) == asked  # nothing asked while unloaded

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # Asked at once, from 5 minutes before the last window's end: "before" is listed again.
    start, _ = windows(emulator, provider)[-1]
    assert start.timestamp() < before
    assert texts(events) == ["before", "while down"]

    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    for _ in range(3):
        await tick(hass, freezer, 5)
    assert texts(events) == ["before", "while down"]


@pytest.mark.parametrize("provider", REST)
async def test_reported_before_restart_in_storage(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    provider: GatewayId,
) -> None:
    emulator = await emulators(provider)
    events = async_capture_events(hass, EVENT_INCOMING_SMS)
    entry = make_entry(provider, emulator, options=OPTIONS)
    now = dt_util.utcnow()
    old = receive(emulator, "reported", message_id=77, ago=240)
    no_id = receive(emulator, "reported, no id", ago=200)
    receive(emulator, "new", message_id=78, ago=60)
    receive(emulator, "new, no id", ago=30)
    no_id_key = message_key(
        IncomingMessage("", IVAN, "reported, no id", received_at=dt_util.utc_from_timestamp(no_id))
    )
    hass_storage[store_key(StoreKind.INCOMING, entry.entry_id)] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(StoreKind.INCOMING, entry.entry_id),
        "data": {
            "window_end": (now - timedelta(minutes=2)).isoformat(),
            "seen": {
                "id:77": dt_util.utc_from_timestamp(old).isoformat(),
                no_id_key: dt_util.utc_from_timestamp(no_id).isoformat(),
            },
        },
    }
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert windows(emulator, provider) == [(now - timedelta(minutes=7), now)]
    assert texts(events) == ["new", "new, no id"]


@pytest.mark.parametrize(
    ("window_end", "reach"),
    [
        pytest.param(None, timedelta(hours=1), id="first-poll"),
        pytest.param(timedelta(minutes=-30), timedelta(minutes=35), id="after-downtime"),
        pytest.param(timedelta(days=-3), timedelta(hours=24), id="catch-up-capped"),
        pytest.param(timedelta(hours=1), timedelta(minutes=5), id="clock-set-back"),
    ],
)
async def test_first_window(
    hass: HomeAssistant,
    *,
    hass_storage: dict[str, Any],
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    window_end: timedelta | None,
    reach: timedelta,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = make_entry(GatewayId.STREAM, emulator, options=OPTIONS)
    now = dt_util.utcnow()
    if window_end is not None:
        hass_storage[store_key(StoreKind.INCOMING, entry.entry_id)] = {
            "version": 1,
            "minor_version": 1,
            "key": store_key(StoreKind.INCOMING, entry.entry_id),
            "data": {"window_end": (now + window_end).isoformat(), "seen": {}},
        }
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert windows(emulator, GatewayId.STREAM) == [(now - reach, now)]


@pytest.mark.parametrize(
    "data",
    [
        {"window_end": "2026-02-30T10:00:00+00:00", "seen": ["id:5"]},
        {"window_end": "2026-05-04T10:00:00", "seen": None},
        {"window_end": 1778000000, "seen": {"id:5": "soon", "id:6": 12, "id:7": "2026-05-04"}},
        {},
    ],
)
async def test_unreadable_storage(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    data: dict[str, Any],
) -> None:
    """Whatever cannot be read counts as never reported: the first poll's hour."""
    emulator = await emulators(GatewayId.STREAM)
    events = async_capture_events(hass, EVENT_INCOMING_SMS)
    entry = make_entry(GatewayId.STREAM, emulator, options=OPTIONS)
    for message_id in (5, 6, 7):
        receive(emulator, f"message {message_id}", message_id=message_id, ago=600)
    hass_storage[store_key(StoreKind.INCOMING, entry.entry_id)] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(StoreKind.INCOMING, entry.entry_id),
        "data": data,
    }
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    now = dt_util.utcnow()
    assert windows(emulator, GatewayId.STREAM) == [(now - timedelta(hours=1), now)]
    assert texts(events) == ["message 5", "message 6", "message 7"]


# -- where nothing is asked -----------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "options"),
    [
        (GatewayId.STREAM, {}),
        (GatewayId.DEVINO, {"incoming_interval": 0}),
        (GatewayId.SMSC, OPTIONS),
        (GatewayId.SMSTELE, OPTIONS),
    ],
)
async def test_nothing_asked(
    hass: HomeAssistant,
    *,
    hass_storage: dict[str, Any],
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    provider: GatewayId,
    options: dict[str, Any],
) -> None:
    """Option off, or a gateway without incoming messages: no request, no storage."""
    emulator = await emulators(provider)
    if provider in INCOMING_PATH:
        receive(emulator, "unheard", message_id=1)
    events = async_capture_events(hass, EVENT_INCOMING_SMS)
    entry = await setup(hass, provider, emulator, options=options)
    asked = emulator.count()
    for _ in range(6):
        await tick(hass, freezer, 5)

    assert emulator.count() == asked  # the balance is asked hourly: not yet
    assert events == []
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert store_key(StoreKind.INCOMING, entry.entry_id) not in hass_storage


# -- failures -------------------------------------------------------------------------


def poller_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == incoming.__name__ and r.levelno == level
    ]


@pytest.mark.parametrize("provider", REST)
async def test_outage_logged_once_and_nothing_lost(
    hass: HomeAssistant,
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    provider: GatewayId,
) -> None:
    caplog.set_level(logging.INFO, logger=incoming.__name__)
    emulator = await emulators(provider)
    path = INCOMING_PATH[provider]
    events = async_capture_events(hass, EVENT_INCOMING_SMS)
    entry = await setup(hass, provider, emulator, options=OPTIONS)
    (_, good_end) = windows(emulator, provider)[0]

    emulator.inject(Fault.SERVER_ERROR_HTML, path, times=100)
    await tick(hass, freezer, 5)
    receive(emulator, "during the outage", message_id=9)
    for _ in range(3):
        await tick(hass, freezer, 5)

    assert events == []
    assert entry.state is ConfigEntryState.LOADED
    warnings = poller_records(caplog, logging.WARNING)
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{entry.title}: cannot read incoming SMS: ")
    assert poller_records(caplog, logging.INFO) == []
    # Every failed poll asked from the same start: the window did not move.
    failed = windows(emulator, provider)[1:]
    assert len(failed) == 8  # four polls, each retried once by the client
    assert {start for start, _ in failed} == {good_end - timedelta(minutes=5)}

    emulator.faults.clear()
    await tick(hass, freezer, 5)
    assert texts(events) == ["during the outage"]
    assert windows(emulator, provider)[-1][0] == good_end - timedelta(minutes=5)
    assert poller_records(caplog, logging.INFO) == [
        f"{entry.title}: incoming SMS can be read again"
    ]
    await tick(hass, freezer, 5)
    assert texts(events) == ["during the outage"]

    # A new streak is told again.
    emulator.inject(Fault.SERVER_ERROR_HTML, path, times=4)
    await tick(hass, freezer, 5)
    await tick(hass, freezer, 5)
    assert len(poller_records(caplog, logging.WARNING)) == 2


@pytest.mark.parametrize("provider", REST)
async def test_refused_credentials_start_reauth(
    hass: HomeAssistant,
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    provider: GatewayId,
) -> None:
    emulator = await emulators(provider)
    entry = await setup(hass, provider, emulator, options=OPTIONS)
    emulator.accounts["user"] = "changed"
    emulator.inject(Fault.EXPIRED_SESSION, INCOMING_PATH[provider])
    await tick(hass, freezer, 5)

    flows = hass.config_entries.flow.async_progress_by_handler(entry.domain)
    assert [(f["context"]["source"], f["context"]["entry_id"]) for f in flows] == [
        (SOURCE_REAUTH, entry.entry_id)
    ]
    assert len(poller_records(caplog, logging.WARNING)) == 1
    assert entry.state is ConfigEntryState.LOADED


# -- the poller's own life ------------------------------------------------------------


@pytest.fixture
def pollers(monkeypatch: pytest.MonkeyPatch) -> list[incoming.IncomingPoller]:
    """The pollers the integration starts."""
    made: list[incoming.IncomingPoller] = []
    start = incoming.IncomingPoller.async_start

    async def recording_start(self: incoming.IncomingPoller) -> None:
        made.append(self)
        await start(self)

    monkeypatch.setattr(incoming.IncomingPoller, "async_start", recording_start)
    return made


async def test_one_poll_at_a_time_and_unload_drops_it(
    hass: HomeAssistant,
    *,
    hass_storage: dict[str, Any],
    emulators: Any,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    pollers: list[incoming.IncomingPoller],
) -> None:
    caplog.set_level(logging.DEBUG, logger=incoming.__name__)
    emulator = await emulators(GatewayId.STREAM)
    path = INCOMING_PATH[GatewayId.STREAM]
    events = async_capture_events(hass, EVENT_INCOMING_SMS)
    entry = await setup(hass, GatewayId.STREAM, emulator, options=OPTIONS)
    window_end = stored(hass_storage, entry)["window_end"]
    receive(emulator, "hello", message_id=3)

    # The gateway holds the answer (frozen time never lets it go).
    emulator.inject(Fault.TIMEOUT_BEFORE, path)
    (poller,) = pollers
    poller._async_tick(dt_util.utcnow())
    for _ in range(1000):  # until the gateway holds the request
        if emulator.count(path) == 2:
            break
        await asyncio.sleep(0)
    poller._async_tick(dt_util.utcnow())
    await hass.async_block_till_done()
    assert emulator.count(path) == 2
    assert "still running" in caplog.text

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert events == []
    assert stored(hass_storage, entry)["window_end"] == window_end

    # Set up again, the message comes once.
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert texts(events) == ["hello"]


async def test_waits_for_home_assistant_to_start(
    hass: HomeAssistant,
    emulators: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Events before automations are loaded would be lost: the first ask waits."""
    emulator = await emulators(GatewayId.STREAM)
    path = INCOMING_PATH[GatewayId.STREAM]
    receive(emulator, "hello", message_id=3)
    events = async_capture_events(hass, EVENT_INCOMING_SMS)
    hass.set_state(CoreState.starting)
    entry = make_entry(GatewayId.STREAM, emulator, options=OPTIONS)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await tick(hass, freezer, 5)
    assert emulator.count(path) == 0

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert emulator.count(path) == 1
    assert texts(events) == ["hello"]
    await tick(hass, freezer, 5)
    assert emulator.count(path) == 2


async def test_unloaded_before_start(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    emulators: Any,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    hass.set_state(CoreState.starting)
    entry = make_entry(GatewayId.STREAM, emulator, options=OPTIONS)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert emulator.count(INCOMING_PATH[GatewayId.STREAM]) == 0
    assert stored(hass_storage, entry) == {"window_end": None, "seen": {}, "pushed": {}}


async def test_removed_account_forgets(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    emulators: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    emulator = await emulators(GatewayId.DEVINO)
    receive(emulator, "hello", message_id=3)
    entry = await setup(hass, GatewayId.DEVINO, emulator, options=OPTIONS)
    assert stored(hass_storage, entry)["seen"]
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert store_key(StoreKind.INCOMING, entry.entry_id) not in hass_storage


async def test_inbox_keeps_a_bounded_number_of_keys(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Callbacks alone never prune by window: the oldest keys go past the bound."""
    monkeypatch.setattr(incoming, "MAX_SEEN", 2)
    entry = MockConfigEntry(domain="ru_sms")
    entry.add_to_hass(hass)
    inbox = incoming.Inbox(hass, entry)
    events = async_capture_events(hass, EVENT_INCOMING_SMS)
    now = dt_util.utcnow()
    messages = [IncomingMessage(str(i), IVAN, "boiler") for i in range(3)]

    assert inbox.async_receive(messages, now) == 3
    assert inbox.async_receive(messages[1:], now) == 0
    assert inbox.async_receive(messages[:1], now) == 1  # the oldest key was let go
    await hass.async_block_till_done()
    assert [e.data["message_id"] for e in events] == ["0", "1", "2", "0"]
