"""Delivery tracking against the emulated gateways: states, events, schedules, limits, storage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
import itertools
import logging
import time
from typing import Any

from aiohttp import web
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.providers.models import (
    DeliveryState,
    DeliveryStatus,
    GatewayId,
    RecipientResult,
    SendOptions,
    SendResult,
)
from custom_components.ru_sms.providers.smstele import CHECK_MESSAGE_ID
from custom_components.ru_sms.signals import signal_message_status
from custom_components.ru_sms.storage import StoreKind, store_key
from custom_components.ru_sms.tracker import MessageTracker, TrackedMessage
from tests.conftest import IVAN, make_entry, setup_account
from tests.emulators.base import Fault
from tests.emulators.catalog import by_gateway
from tests.emulators.restapi import Outcome, SentSegment


def describe(message: TrackedMessage) -> dict[str, Any]:
    """A tracked message as a last-message sensor shows it, with its state."""
    return {"state": str(message.state), **message.status().as_attributes()}


EVENT = "ru_sms_message_status"
OTHER = "79031234567"
"""A number no recipient has."""
LONG_TEXT = "Котёл: авария, давление упало " * 3
"""Cyrillic, over 70 characters: two segments."""

STATUS_PATH = by_gateway(lambda account: account.status_path)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


@pytest.fixture
def freezer(freezer: Any, caplog: pytest.LogCaptureFixture) -> Any:
    """Frozen time; the emulators' access log, which cannot read a frozen clock, off.

    The emulators read `time.time()`, which the freezer moves too: ticking it moves the
    gateways' clocks, no `advance()` needed.
    """
    caplog.set_level(logging.WARNING, logger="aiohttp.access")
    return freezer


async def tick(hass: HomeAssistant, freezer: Any, seconds: float, step: float = 5.0) -> None:
    """Let time pass in steps; every poll due runs (in the background) and finishes.

    With no time to pass, what is due now runs.
    """
    left = seconds
    while True:
        delta = min(step, left)
        freezer.tick(timedelta(seconds=delta))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        left -= delta
        if left <= 0:
            return


def status_times(emulator: Any, provider: GatewayId, start: float) -> list[float]:
    """Seconds from `start` of every status request about a message the emulator received.

    SMStele's credentials check (at setup) asks about an id that cannot exist: left out.
    """
    return [
        round(r.at - start, 3)
        for r in emulator.requests
        if r.path == STATUS_PATH[provider] and r.form.get("id") != CHECK_MESSAGE_ID
    ]


async def send(
    hass: HomeAssistant,
    entry: Any,
    message: str = "Котёл: авария",
    *,
    phones: list[str] | None = None,
    recipient: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """`ru_sms.send_message` to Ivan (and/or bare numbers); the action's answer."""
    data: dict[str, Any] = {"config_entry_id": entry.entry_id, "message": message, **fields}
    if recipient:
        data["entity_id"] = "notify.ivan"
    if phones:
        data["phones"] = phones
    response = await hass.services.async_call(
        DOMAIN, "send_message", data, blocking=True, return_response=True
    )
    assert response is not None
    # What follows an accepted send (tracking, events) runs once the caller has its answer.
    await hass.async_block_till_done()
    return response


def states(events: list[Any]) -> list[str]:
    return [event.data["state"] for event in events]


def tracker_of(entry: Any) -> MessageTracker:
    tracker: MessageTracker = entry.runtime_data.tracker
    return tracker


def only_message(entry: Any) -> TrackedMessage:
    (message,) = tracker_of(entry).messages.values()
    return message


def stick(monkeypatch: pytest.MonkeyPatch, emulator: Any, code: int) -> None:
    """Stream/Devino: every segment stays in state `code` (no `Outcome` stays unfinished)."""
    monkeypatch.setattr(emulator, "state_code", lambda segment: (code, segment.starts + 5))


def storage_key(entry: Any) -> str:
    return store_key(StoreKind.TRACKER, entry.entry_id)


def stored_messages(hass_storage: dict[str, Any], entry: Any) -> list[TrackedMessage]:
    """The records an account's store holds (version 3: compact rows)."""
    stored = hass_storage[storage_key(entry)]
    assert stored["version"] == 3
    return [TrackedMessage.from_row(row) for row in stored["data"]["rows"]]


async def account(
    hass: HomeAssistant, provider: GatewayId, emulator: Any, *, entry: Any = None, **kwargs: Any
) -> Any:
    """A loaded account (a new one, or `entry`).

    For a new one the emulator's log starts empty: setup's own requests are left out
    (SMStele checks credentials with a status request).
    """
    if entry is None:
        entry = await setup_account(hass, provider, emulator, **kwargs)
        emulator.reset_counts()
        return entry
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


# -- state progressions ----------------------------------------------------------------

POLL_TIMES = {
    GatewayId.SMSC: ([15.0], [15.0]),
    GatewayId.SMSTELE: ([10.0, 60.0], [10.0, 60.0]),
    GatewayId.STREAM: ([10.0, 60.0], [10.0, 60.0, 60.0]),
    GatewayId.DEVINO: ([10.0, 60.0], [10.0, 60.0, 60.0]),
}
"""When the status requests go out (seconds after the send) with the emulators' default
timings, for a message of one and of two segments. SMSC.ru and SMStele keep one id per
message; Stream and Devino one per segment: the first part is asked until it is final,
then the other is settled at once."""
FIGURES = {provider: tuple(len(t) for t in times) for provider, times in POLL_TIMES.items()}
"""Status HTTP requests a message costs until it is final: (one segment, two segments)."""
DELIVERED = {
    GatewayId.SMSC: ("1", "Delivered", 1.9),
    GatewayId.SMSTELE: ("-99", "DELIVRD", None),
    GatewayId.STREAM: ("0", "Delivered", 1.5),
    GatewayId.DEVINO: ("0", "Delivered", 1.5),
}
"""raw_code, raw_text and the cost of one segment in the final event."""


@pytest.mark.parametrize("provider", list(GatewayId))
@pytest.mark.parametrize(
    ("text", "segments"), [("Котёл: авария", 1), (LONG_TEXT, 2)], ids=["one_part", "two_parts"]
)
async def test_progress_until_delivered(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    *,
    provider: GatewayId,
    text: str,
    segments: int,
) -> None:
    emulator = await emulators(provider)
    entry = await account(hass, provider, emulator)
    events = async_capture_events(hass, EVENT)
    signalled: list[dict[str, Any]] = []

    @callback
    def heard(data: dict[str, Any]) -> None:
        signalled.append(data)

    async_dispatcher_connect(hass, signal_message_status(entry.entry_id), heard)
    start = time.time()

    answer = await send(hass, entry, text)
    ids = answer["recipients"][0]["message_ids"]
    assert len(ids) == (segments if provider in (GatewayId.STREAM, GatewayId.DEVINO) else 1)
    message = only_message(entry)
    assert message.expires_at - message.sent_at == timedelta(hours=25)  # 24 h + margin
    assert tracker_of(entry).in_flight == 1
    await tick(hass, freezer, 300)

    times = status_times(emulator, provider, start)
    assert len(times) == FIGURES[provider][segments - 1]
    assert times == POLL_TIMES[provider][segments - 1]
    expected = (
        ["queued", "delivered"] if provider is GatewayId.SMSC else ["queued", "sent", "delivered"]
    )
    assert states(events) == expected
    raw_code, raw_text, cost = DELIVERED[provider]
    assert events[-1].data == {
        "config_entry_id": entry.entry_id,
        "account": entry.title,
        "recipient": "Ivan",
        "number": IVAN,
        "message_id": ids[0],
        "message_ids": ids,
        "state": "delivered",
        "final": True,
        "raw_code": raw_code,
        "raw_text": raw_text,
        "error_code": None,
        "cost": None if cost is None else round(cost * segments, 2),
    }
    assert [e.data["final"] for e in events] == [False] * (len(events) - 1) + [True]
    assert events[0].data["raw_code"] is None
    assert signalled == [e.data for e in events]  # the event entity hears the same
    assert tracker_of(entry).in_flight == 0

    # Nothing is asked any more: an hour later the gateway saw nothing new.
    await tick(hass, freezer, 3600, step=60)
    assert len(status_times(emulator, provider, start)) == FIGURES[provider][segments - 1]
    assert tracker_of(entry)._unsub_timer is None


async def test_smsc_reports_queued_then_sent(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.queued_seconds = 30
    emulator.final_seconds = 100
    entry = await account(hass, GatewayId.SMSC, emulator)
    events = async_capture_events(hass, EVENT)
    start = time.time()
    await send(hass, entry)
    await tick(hass, freezer, 300)

    assert status_times(emulator, GatewayId.SMSC, start) == [15.0, 75.0, 195.0]
    assert [(e.data["state"], e.data["raw_code"]) for e in events] == [
        ("queued", None),
        ("queued", "-1"),  # the gateway's own word for it
        ("sent", "0"),
        ("delivered", "1"),
    ]
    assert events[2].data["raw_text"] == "Handed to the operator"


async def test_smstele_stays_sent_until_final(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.SMSTELE)
    emulator.final_after = 100
    entry = await account(hass, GatewayId.SMSTELE, emulator)
    events = async_capture_events(hass, EVENT)
    start = time.time()
    await send(hass, entry)
    await tick(hass, freezer, 300)

    # A poll that finds nothing new fires nothing.
    assert status_times(emulator, GatewayId.SMSTELE, start) == [10.0, 60.0, 180.0]
    assert states(events) == ["queued", "sent", "delivered"]


# -- partial failures --------------------------------------------------------------------

FAILURES = {
    GatewayId.SMSC: (20, ("20", "Undeliverable", "255")),
    GatewayId.SMSTELE: ("UNDELIV", ("-99", "UNDELIV", None)),
    GatewayId.STREAM: (Outcome.FAILED, ("42", "NotDelivered", None)),
    GatewayId.DEVINO: (Outcome.FAILED, ("42", "Rejected by SMSC", None)),
}
"""How the emulator is told a number fails, and the raw code, text, error code reported."""


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_one_number_fails_the_other_is_delivered(
    hass: HomeAssistant, emulators: Any, freezer: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    outcome, (raw_code, raw_text, error_code) = FAILURES[provider]
    emulator.outcomes[OTHER] = outcome
    entry = await account(hass, provider, emulator)
    events = async_capture_events(hass, EVENT)
    start = time.time()
    await send(hass, entry, phones=[OTHER])
    assert tracker_of(entry).in_flight == 2
    await tick(hass, freezer, 300)

    by_number: dict[str, list[Any]] = {}
    for event in events:
        by_number.setdefault(event.data["number"], []).append(event.data)
    assert by_number[IVAN][-1]["state"] == "delivered"
    assert by_number[IVAN][-1]["recipient"] == "Ivan"
    failed = by_number[OTHER][-1]
    assert failed["state"] == "failed"
    assert failed["final"] is True
    assert (failed["raw_code"], failed["raw_text"], failed["error_code"]) == (
        raw_code,
        raw_text,
        error_code,
    )
    # A bare number is nobody's.
    assert {e["recipient"] for e in by_number[OTHER]} == {None}
    assert tracker_of(entry).in_flight == 0
    # SMSC.ru and SMStele answer both numbers of one send in one request per poll.
    per_poll = 2 if provider in (GatewayId.STREAM, GatewayId.DEVINO) else 1
    assert len(status_times(emulator, provider, start)) == per_poll * len(POLL_TIMES[provider][0])


@pytest.mark.parametrize("provider", [GatewayId.STREAM, GatewayId.DEVINO])
@pytest.mark.parametrize("failing", [0, 1])
async def test_one_failed_segment_fails_the_message(
    hass: HomeAssistant, emulators: Any, freezer: Any, provider: GatewayId, failing: int
) -> None:
    emulator = await emulators(provider)
    entry = await account(hass, provider, emulator)
    events = async_capture_events(hass, EVENT)
    answer = await send(hass, entry, LONG_TEXT)
    ids = answer["recipients"][0]["message_ids"]
    emulator.segments[ids[failing]].outcome = Outcome.FAILED
    await tick(hass, freezer, 300)

    assert states(events) == ["queued", "sent", "failed"]
    # The failed part speaks for the message, whichever was read last.
    assert events[-1].data["raw_code"] == "42"
    assert events[-1].data["raw_text"] == FAILURES[provider][1][1]
    assert events[-1].data["cost"] == 3.0  # both parts are paid for
    assert describe(only_message(entry))["error"] == FAILURES[provider][1][1]


@pytest.mark.parametrize("provider", [GatewayId.STREAM, GatewayId.DEVINO])
async def test_delivered_only_when_every_segment_is(
    hass: HomeAssistant, emulators: Any, freezer: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await account(hass, provider, emulator)
    events = async_capture_events(hass, EVENT)
    start = time.time()
    answer = await send(hass, entry, LONG_TEXT)
    first, second = answer["recipients"][0]["message_ids"]
    emulator.segments[second].starts += 200  # the second part leaves late
    await tick(hass, freezer, 100)

    # Devino says "queued" of a part not gone yet, Stream "sent".
    late = DeliveryState.QUEUED if provider is GatewayId.DEVINO else DeliveryState.SENT
    assert only_message(entry).segment_states == {first: DeliveryState.DELIVERED, second: late}
    assert only_message(entry).state is late
    await tick(hass, freezer, 500)
    # Devino says the late part is queued: the message steps back to queued.
    assert states(events) == (
        ["queued", "sent", "queued", "delivered"]
        if provider is GatewayId.DEVINO
        else ["queued", "sent", "delivered"]
    )
    # The first part is asked until it is final, then the second is settled at once;
    # a delivered segment is not asked about again.
    requests = [r for r in emulator.requests if r.path == STATUS_PATH[provider]]
    assert [
        (round(r.at - start), r.form.get("messageId") or r.form.get("messageid")) for r in requests
    ] == [
        (10, first),
        (60, first),
        (60, second),
        (180, second),
        (480, second),
    ]


# -- the gateways' limits ----------------------------------------------------------------


def list_requests(emulator: Any) -> list[Any]:
    return [r for r in emulator.requests if r.path == STATUS_PATH[GatewayId.SMSC]]


def asked_ids(request: Any) -> list[str]:
    return [i for i in request.form["id"].split(",") if i]


async def test_smsc_one_list_request_a_minute_for_everything_in_flight(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.final_seconds = 600
    entry = await account(hass, GatewayId.SMSC, emulator)
    events = async_capture_events(hass, EVENT)
    start = time.time()
    for number in range(10):
        await send(hass, entry, f"Датчик {number}: протечка")
    assert tracker_of(entry).in_flight == 10
    await tick(hass, freezer, 20 * 60)

    requests = list_requests(emulator)
    # One request a poll about all ten, backing off (never sooner than a minute apart),
    # until all are delivered.
    assert [round(r.at - start) for r in requests] == [15, 75, 195, 495, 1095]
    assert all(len(asked_ids(r)) == 10 for r in requests)
    assert tracker_of(entry).in_flight == 0
    assert states(events).count("delivered") == 10
    assert emulator.breaches == []


async def test_smsc_staggered_sends_share_the_list_request(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.final_seconds = 150
    entry = await account(hass, GatewayId.SMSC, emulator)
    start = time.time()
    for number in range(10):
        await send(hass, entry, f"Датчик {number}: протечка")
        await tick(hass, freezer, 20)
    await tick(hass, freezer, 15 * 60 - 200)

    # Sent every 20 s, each delivered 150 s later: each poll asks about all in flight.
    requests = list_requests(emulator)
    assert [round(r.at - start) for r in requests] == [15 + 60 * k for k in range(7)]
    assert [len(asked_ids(r)) for r in requests] == [1, 4, 7, 10, 7, 4, 1]
    assert tracker_of(entry).in_flight == 0
    assert emulator.breaches == []


@pytest.mark.parametrize("provider", [GatewayId.SMSTELE, GatewayId.STREAM, GatewayId.DEVINO])
async def test_backoff_of_a_message_that_stays_sent(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    provider: GatewayId,
) -> None:
    emulator = await emulators(provider)
    if provider is GatewayId.SMSTELE:
        emulator.final_after = 10**6
    else:
        stick(monkeypatch, emulator, -1)
    entry = await account(hass, provider, emulator)
    events = async_capture_events(hass, EVENT)
    start = time.time()
    await send(hass, entry)
    await tick(hass, freezer, 2400, step=10)

    times = status_times(emulator, provider, start)
    assert times == [10, 60, 180, 480, 1080, 1980]
    # 10 s, 50 s, 2 min, 5 min, 10 min, then every 15 min.
    assert [b - a for a, b in itertools.pairwise(times)] == [50, 120, 300, 600, 900]
    assert states(events) == ["queued", "sent"]
    assert only_message(entry).polls == 6
    assert await hass.config_entries.async_unload(entry.entry_id)


RATE_LIMITS = {
    # How the gateway says "too many requests", and when the poll after it goes out.
    GatewayId.SMSC: ("blocked", [15.0, 615.0]),  # error 4: blocked for ten minutes
    GatewayId.SMSTELE: ("fault", [10.0, 70.0]),  # HTTP 429
    GatewayId.STREAM: ("fault", [10.0, 70.0]),  # Code 10 "Flood SMS"
}


@pytest.mark.parametrize("provider", list(RATE_LIMITS))
async def test_rate_limit_postpones_the_next_poll(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    caplog: pytest.LogCaptureFixture,
    provider: GatewayId,
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.ru_sms.tracker")
    emulator = await emulators(provider)
    how, expected = RATE_LIMITS[provider]
    entry = await account(hass, provider, emulator)
    events = async_capture_events(hass, EVENT)
    start = time.time()
    await send(hass, entry)
    if how == "blocked":
        emulator.blocked = True
    else:
        emulator.inject(Fault.RATE_LIMIT, STATUS_PATH[provider])
    await tick(hass, freezer, expected[0])
    emulator.blocked = False
    assert status_times(emulator, provider, start) == expected[:1]
    assert only_message(entry).next_poll is not None
    assert (only_message(entry).next_poll.timestamp() - start) == expected[1]

    await tick(hass, freezer, 700)
    assert status_times(emulator, provider, start) == expected
    assert states(events) == ["queued", "delivered"]
    warnings = [r for r in caplog.records if "cannot get delivery reports" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert any("delivery reports are back" in r.getMessage() for r in caplog.records)


async def test_rate_limit_holds_every_message_of_the_account(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await account(hass, GatewayId.STREAM, emulator)
    start = time.time()
    await send(hass, entry, "Первое")
    await tick(hass, freezer, 5)
    await send(hass, entry, "Второе")  # due at 15, inside the wait
    later = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    answer = await send(hass, entry, "Третье", send_at=later.isoformat())
    (third,) = answer["recipients"][0]["message_ids"]
    emulator.inject(Fault.RATE_LIMIT, STATUS_PATH[GatewayId.STREAM])
    await tick(hass, freezer, 200)

    assert status_times(emulator, GatewayId.STREAM, start) == [10.0, 70.0, 70.0]
    # A message due after the wait keeps its time.
    assert tracker_of(entry).messages[f"{third}:{IVAN}"].next_poll == later + timedelta(seconds=10)
    assert tracker_of(entry).in_flight == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_no_requests_while_nothing_is_pending(
    hass: HomeAssistant, emulators: Any, freezer: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await account(hass, provider, emulator)
    await tick(hass, freezer, 3600, step=60)
    assert emulator.count(STATUS_PATH[provider]) == 0
    assert tracker_of(entry)._unsub_timer is None
    assert tracker_of(entry).in_flight == 0
    assert tracker_of(entry).last_message() is None


# -- giving up -----------------------------------------------------------------------------

VALIDITY = 61 * 60
"""Seconds from the send to giving up with a one-minute validity (plus the hour's margin)."""


def never_delivered(
    monkeypatch: pytest.MonkeyPatch, emulator: Any, provider: GatewayId, state: str
) -> None:
    """Keep every message queued or sent for good."""
    if provider is GatewayId.SMSC:
        emulator.queued_seconds = 10**7 if state == "queued" else 1
        emulator.final_seconds = 10**7
    elif provider is GatewayId.SMSTELE:
        emulator.final_after = 10**7
    else:
        codes = {"queued": -2, "sent": -1}
        stick(monkeypatch, emulator, codes[state])


@pytest.mark.parametrize(
    ("provider", "last_state", "final_state"),
    [
        (GatewayId.SMSC, "sent", "expired"),
        (GatewayId.SMSC, "queued", "unknown"),
        (GatewayId.SMSTELE, "sent", "expired"),
        (GatewayId.STREAM, "sent", "expired"),
        (GatewayId.DEVINO, "queued", "unknown"),
        (GatewayId.DEVINO, "sent", "expired"),
    ],
)
async def test_given_up_after_validity_and_margin(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    *,
    provider: GatewayId,
    last_state: str,
    final_state: str,
) -> None:
    emulator = await emulators(provider)
    never_delivered(monkeypatch, emulator, provider, last_state)
    entry = await account(hass, provider, emulator)
    events = async_capture_events(hass, EVENT)
    start = time.time()
    await send(hass, entry, validity="00:01:00")
    assert only_message(entry).expires_at - only_message(entry).sent_at == timedelta(
        seconds=VALIDITY
    )
    await tick(hass, freezer, VALIDITY - 60, step=20)
    assert tracker_of(entry).in_flight == 1
    assert events[-1].data["state"] == last_state
    await tick(hass, freezer, 60, step=20)

    # Given up on time (not at the next poll), with an event, and never asked again.
    assert events[-1].data["state"] == final_state
    assert events[-1].data["final"] is True
    assert events[-1].time_fired.timestamp() - start == VALIDITY
    assert tracker_of(entry).in_flight == 0
    # The sensor's own word for "the gateway does not know", never Home Assistant's unknown.
    sensor = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_last_message"
    )
    assert sensor is not None
    expected = {"unknown": "status_unknown"}.get(final_state, final_state)
    assert hass.states.get(sensor).state == expected
    asked = len(status_times(emulator, provider, start))
    await tick(hass, freezer, 3600, step=60)
    assert len(status_times(emulator, provider, start)) == asked
    assert tracker_of(entry)._unsub_timer is None


# -- restarts and storage ------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_reload_with_messages_in_flight(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    hass_storage: dict[str, Any],
    provider: GatewayId,
) -> None:
    emulator = await emulators(provider)
    if provider is GatewayId.SMSC:
        emulator.final_seconds = 100
    entry = await account(hass, provider, emulator)
    events = async_capture_events(hass, EVENT)
    start = time.time()
    await send(hass, entry)
    await tick(hass, freezer, 20)
    before = tracker_of(entry)
    assert states(events) == ["queued", "sent"]

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    (stored,) = stored_messages(hass_storage, entry)
    assert stored.state is DeliveryState.SENT
    assert stored.polls == 1
    assert tracker_of(entry) is not before
    assert only_message(entry).state is DeliveryState.SENT

    await tick(hass, freezer, 300)
    # The schedule goes on where it was: no extra poll for the restart, no repeated event.
    expected = [15.0, 75.0, 195.0] if provider is GatewayId.SMSC else POLL_TIMES[provider][0]
    assert status_times(emulator, provider, start) == expected
    assert states(events) == ["queued", "sent", "delivered"]
    assert events[-1].data["recipient"] == "Ivan"


async def test_smsc_reload_keeps_the_list_pace(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.final_seconds = 300
    entry = await account(hass, GatewayId.SMSC, emulator)
    start = time.time()
    await send(hass, entry, "Первое")
    await send(hass, entry, "Второе")
    await tick(hass, freezer, 20)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await tick(hass, freezer, 5)
    await send(hass, entry, "Третье")  # due 15 s later, but the last list was at 15
    await tick(hass, freezer, 60)

    requests = list_requests(emulator)
    assert [round(r.at - start) for r in requests] == [15, 75]
    assert [len(asked_ids(r)) for r in requests] == [2, 3]
    assert emulator.breaches == []
    assert await hass.config_entries.async_unload(entry.entry_id)


def stored_record(entry: Any, message_id: str, sent: datetime, **changes: Any) -> dict[str, Any]:
    """A record as the tracker writes it: Ivan's one-segment message, sent, polled once."""
    (subentry_id,) = entry.subentries
    record = {
        "phone": IVAN,
        "message_ids": [message_id],
        "sent_at": sent.isoformat(),
        "expires_at": (sent + timedelta(hours=25)).isoformat(),
        "recipient_id": subentry_id,
        "state": "sent",
        "segment_states": {message_id: "sent"},
        "segment_costs": {message_id: 1.5},
        "segment_reports": {message_id: ["-1", "Sent", None]},
        "raw_code": "-1",
        "raw_text": "Sent",
        "error_code": None,
        "cost": 1.5,
        "updated_at": sent.isoformat(),
        "delivered_at": None,
        "finished_at": None,
        "polls": 1,
        "next_poll": (sent + timedelta(seconds=40)).isoformat(),
    }
    return record | changes


def on_stream(emulator: Any, message_id: str, sent: float) -> None:
    """The emulated Stream knows a message sent before the restart."""
    emulator.segments[message_id] = SentSegment(
        message_id=message_id,
        phone=IVAN,
        text="Котёл: авария",
        sender="ALERTS",
        created=sent,
        starts=sent,
        price=Decimal("1.50"),
        outcome=Outcome.DELIVERED,
    )


async def test_follows_what_the_store_holds(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = make_entry(GatewayId.STREAM, emulator)
    now = datetime.now(UTC)
    sent = now - timedelta(seconds=30)
    on_stream(emulator, "900001", sent.timestamp())
    on_stream(emulator, "900002", sent.timestamp())
    good = stored_record(entry, "900001", sent)
    unplanned = stored_record(entry, "900002", sent, next_poll=None)  # asked at once
    bad = [
        "not a record",
        {"phone": IVAN},
        stored_record(entry, "1", sent, message_ids=[]),
        stored_record(entry, "2", sent, sent_at="yesterday"),
        stored_record(entry, "3", sent, sent_at="2026-05-01T09:00:00"),  # no zone
        stored_record(entry, "4", sent, state="lost"),
        stored_record(entry, "5", sent, polls="one"),
        stored_record(entry, "6", sent, phone=None),
        stored_record(entry, "7", sent, expires_at=12),
    ]
    hass_storage[storage_key(entry)] = {
        "version": 1,
        "minor_version": 1,
        "key": storage_key(entry),
        "data": {"messages": [good, *bad, unplanned], "last_list_poll": "garbage"},
    }
    events = async_capture_events(hass, EVENT)
    start = time.time()
    entry = await account(hass, GatewayId.STREAM, emulator, entry=entry)

    tracker = tracker_of(entry)
    assert sorted(m.message_id for m in tracker.messages.values()) == ["900001", "900002"]
    # What could not be read is said once: in the log and in a repair issue.
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"tracker_damaged_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders["lost"] == str(len(bad))
    assert tracker.messages[f"900001:{IVAN}"].next_poll == sent + timedelta(seconds=40)

    await tick(hass, freezer, 0)  # what is due now runs
    await tick(hass, freezer, 140)
    requests = [r for r in emulator.requests if r.path == STATUS_PATH[GatewayId.STREAM]]
    # The unplanned one at once, the planned one at its time; both go on with their
    # backoff from the poll count on record.
    assert [(round(r.at - start), r.form["messageId"]) for r in requests] == [
        (0, "900002"),
        (10, "900001"),
        (120, "900002"),
        (130, "900001"),
    ]
    assert [(e.data["message_id"], e.data["state"]) for e in events] == [
        ("900002", "delivered"),
        ("900001", "delivered"),
    ]
    assert events[0].data["recipient"] == "Ivan"
    assert events[0].data["cost"] == 1.5


@pytest.mark.parametrize("data", [None, [], {"messages": "none"}, "garbage"])
async def test_unreadable_store_is_ignored(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any], data: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    hass_storage[storage_key(entry)] = {
        "version": 1,
        "minor_version": 1,
        "key": storage_key(entry),
        "data": data,
    }
    entry = await account(hass, GatewayId.SMSC, emulator, entry=entry)
    assert tracker_of(entry).messages == {}


async def test_restored_message_past_its_validity_is_given_up(
    hass: HomeAssistant, emulators: Any, freezer: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = make_entry(GatewayId.STREAM, emulator)
    sent = datetime.now(UTC) - timedelta(hours=30)
    hass_storage[storage_key(entry)] = {
        "version": 1,
        "minor_version": 1,
        "key": storage_key(entry),
        "data": {"messages": [stored_record(entry, "900001", sent)]},
    }
    events = async_capture_events(hass, EVENT)
    entry = await account(hass, GatewayId.STREAM, emulator, entry=entry)
    await tick(hass, freezer, 0)

    assert states(events) == ["expired"]
    assert emulator.count(STATUS_PATH[GatewayId.STREAM]) == 0
    assert tracker_of(entry).in_flight == 0


async def test_finished_messages_pruned_after_seven_days(
    hass: HomeAssistant, emulators: Any, freezer: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await account(hass, GatewayId.SMSC, emulator)
    await send(hass, entry, "Первое")
    await tick(hass, freezer, 20)
    first = only_message(entry)
    assert first.is_final

    # Kept for a week (the last-message sensors show it), through a restart too.
    await tick(hass, freezer, 7 * 24 * 3600 - 30, step=24 * 3600)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert only_message(entry).key == first.key
    assert only_message(entry).state is DeliveryState.DELIVERED

    await tick(hass, freezer, 60)
    await send(hass, entry, "Второе")  # a change prunes
    assert [m.message_id for m in tracker_of(entry).messages.values()] == ["1002"]
    await tick(hass, freezer, 20)
    await tick(hass, freezer, 7 * 24 * 3600, step=24 * 3600)
    assert await hass.config_entries.async_reload(entry.entry_id)  # and so does loading
    await hass.async_block_till_done()
    assert tracker_of(entry).messages == {}
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert stored_messages(hass_storage, entry) == []


async def test_in_flight_and_last_message(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.final_seconds = 100
    emulator.outcomes[OTHER] = 20
    entry = await account(hass, GatewayId.SMSC, emulator)
    (ivan,) = entry.subentries
    tracker = tracker_of(entry)
    assert tracker.last_message() is None
    assert tracker.last_message(ivan) is None

    await send(hass, entry, "Первое")
    await tick(hass, freezer, 5)
    await send(hass, entry, "Второе")
    await tick(hass, freezer, 5)
    await send(hass, entry, "Третье", phones=[OTHER], recipient=False)
    assert tracker.in_flight == 3
    second = tracker.last_message(ivan)
    last = tracker.last_message()
    assert second is not None
    assert last is not None
    assert (second.message_id, second.recipient_id) == ("1002", ivan)
    assert (last.message_id, last.phone, last.recipient_id) == ("1003", OTHER, None)
    assert tracker.last_message("no such recipient") is None
    assert describe(second) == {
        "number": IVAN,
        "message_id": "1002",
        "state": "queued",
        "sent_at": second.sent_at.isoformat(),
        "delivered_at": None,
        "error": None,
        "error_code": None,
        "cost": 1.9,
    }

    await tick(hass, freezer, 300)
    assert tracker.in_flight == 0
    assert describe(second)["state"] == "delivered"
    assert describe(second)["delivered_at"] == second.delivered_at.isoformat()  # type: ignore[union-attr]
    assert describe(last) | {"sent_at": None} == {
        "number": OTHER,
        "message_id": "1003",
        "state": "failed",
        "sent_at": None,
        "delivered_at": None,
        "error": "Undeliverable",
        "error_code": "255",
        "cost": 1.9,
    }


async def test_store_removed_with_the_entry(
    hass: HomeAssistant, emulators: Any, freezer: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await account(hass, GatewayId.STREAM, emulator)
    answer = await send(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    (stored,) = stored_messages(hass_storage, entry)
    assert stored.message_ids == answer["recipients"][0]["message_ids"]
    assert stored.state is DeliveryState.QUEUED

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert storage_key(entry) not in hass_storage


async def test_direct_tracking_skips_numbers_without_ids(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await account(hass, GatewayId.STREAM, emulator)
    result = SendResult(
        recipients=(
            RecipientResult(phone=IVAN, accepted=True),
            RecipientResult(phone=OTHER, accepted=False),
        )
    )
    assert tracker_of(entry).async_track(result, SendOptions()) == []
    assert tracker_of(entry).messages == {}
    assert tracker_of(entry)._unsub_timer is None


# -- gateway failures while polling ----------------------------------------------------------


async def refuse_connections(emulator: Any) -> int:
    """Stop listening (connections are refused); returns the port to listen on again."""
    port = int(emulator.base_url.split(":")[2].split("/")[0])
    await emulator.stop()
    return port


async def listen_again(emulator: Any, port: int) -> None:
    """Answer on the same port again, with everything the emulator knew."""
    runner = web.AppRunner(emulator.app, handler_cancellation=True, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    emulator._runner = runner


FAILED_POLLS = {
    # Two failed polls, then the one that finds the message delivered.
    GatewayId.SMSC: [15.0, 75.0, 195.0],
    GatewayId.SMSTELE: [10.0, 60.0, 180.0],
    GatewayId.STREAM: [10.0, 60.0, 180.0],
    GatewayId.DEVINO: [10.0, 60.0, 180.0],
}


@pytest.mark.parametrize("provider", list(GatewayId))
@pytest.mark.parametrize("failure", ["server_error", "refused"])
async def test_failed_polls_are_retried_and_logged_once(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    caplog: pytest.LogCaptureFixture,
    no_client_retry_delay: None,
    *,
    provider: GatewayId,
    failure: str,
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.ru_sms.tracker")
    emulator = await emulators(provider)
    entry = await account(hass, provider, emulator)
    events = async_capture_events(hass, EVENT)
    start = time.time()
    await send(hass, entry)
    first, second, third = FAILED_POLLS[provider]
    if failure == "server_error":
        # A 502 page from a proxy, twice a poll (the client tries twice).
        emulator.inject(Fault.SERVER_ERROR_HTML, STATUS_PATH[provider], times=4)
    else:
        port = await refuse_connections(emulator)
    await tick(hass, freezer, second)
    assert tracker_of(entry).in_flight == 1
    assert states(events) == ["queued"]
    if failure == "refused":
        await listen_again(emulator, port)
    await tick(hass, freezer, third - second)

    expected = [first, first, second, second, third] if failure == "server_error" else [third]
    assert status_times(emulator, provider, start) == expected
    assert states(events) == ["queued", "delivered"]
    messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name.endswith("tracker")]
    failures = [m for m in messages if "cannot get delivery reports" in m[1]]
    assert len(failures) == 1
    assert failures[0][0] == logging.WARNING
    assert [m for m in messages if "reports are back" in m[1]] == [
        (logging.INFO, f"{entry.title}: delivery reports are back")
    ]


def asked_at(emulator: Any, start: float) -> list[float]:
    """When the emulator was asked anything after the send."""
    return sorted({round(r.at - start, 3) for r in emulator.requests if r.at > start})


@pytest.mark.parametrize("provider", [GatewayId.SMSC, GatewayId.SMSTELE, GatewayId.STREAM])
async def test_refused_credentials_start_reauthentication(
    hass: HomeAssistant, emulators: Any, freezer: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await account(hass, provider, emulator)
    start = time.time()
    await send(hass, entry)
    if provider in (GatewayId.SMSC, GatewayId.SMSTELE):
        emulator.password = "changed"
    else:
        emulator.accounts = {}
        emulator.sessions.clear()
    first = POLL_TIMES[provider][0][0]
    await tick(hass, freezer, first)

    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [(f["context"]["source"], f["context"]["entry_id"]) for f in flows] == [
        (SOURCE_REAUTH, entry.entry_id)
    ]
    assert tracker_of(entry).in_flight == 1
    # Asked again five minutes later, not sooner (Stream fails at its login already).
    await tick(hass, freezer, 295)
    assert asked_at(emulator, start) == [first]
    await tick(hass, freezer, 5)
    assert asked_at(emulator, start) == [first, first + 300]
    assert len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unknown_answer_keeps_a_known_state(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.SMSTELE)
    emulator.final_after = 100
    entry = await account(hass, GatewayId.SMSTELE, emulator)
    events = async_capture_events(hass, EVENT)
    await send(hass, entry, "Первое")
    await send(hass, entry, "Второе")
    await tick(hass, freezer, 10)
    assert states(events) == ["queued", "queued", "sent", "sent"]
    # At the next poll the gateway refuses one of the two requests: that message is
    # unknown for this answer only, not a step back from "sent".
    emulator.fail_next("-34", "Missing attribute: 'id'", path="status")
    await tick(hass, freezer, 50)
    assert states(events) == ["queued", "queued", "sent", "sent"]
    assert {m.state for m in tracker_of(entry).messages.values()} == {DeliveryState.SENT}

    await tick(hass, freezer, 130)
    assert states(events)[4:] == ["delivered", "delivered"]


async def test_unknown_first_answer_is_reported(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await account(hass, GatewayId.STREAM, emulator)
    events = async_capture_events(hass, EVENT)
    answer = await send(hass, entry)
    (message_id,) = answer["recipients"][0]["message_ids"]
    del emulator.segments[message_id]  # the gateway lost it: "Invalid argument messageId"
    await tick(hass, freezer, 10)

    assert states(events) == ["queued", "unknown"]
    assert events[-1].data["final"] is False
    assert events[-1].data["error_code"] == "2"
    assert tracker_of(entry).in_flight == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_smsc_later_message_keeps_its_own_pace(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    freezer.move_to("2026-05-01T09:00:00+00:00")
    emulator = await emulators(GatewayId.SMSC)
    entry = await account(hass, GatewayId.SMSC, emulator)
    events = async_capture_events(hass, EVENT)
    start = time.time()
    await send(hass, entry, "Сейчас")
    await send(hass, entry, "Через два часа", send_at="2026-05-01T11:00:00+00:00")
    await tick(hass, freezer, 2 * 3600 + 30, step=15)

    # The first list request asks about both; the later one is not asked about again
    # before it leaves, although the first took a minute's list slot.
    requests = list_requests(emulator)
    assert [(round(r.at - start), len(asked_ids(r))) for r in requests] == [(15, 2), (7215, 1)]
    assert [(e.data["message_id"], e.data["state"]) for e in events] == [
        ("1001", "queued"),
        ("1002", "queued"),
        ("1001", "delivered"),
        ("1002", "queued"),  # the gateway's "waiting" (-1)
        ("1002", "delivered"),
    ]


async def test_status_callbacks_leave_polling_a_safety_net(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.final_seconds = 1000
    entry = await account(hass, GatewayId.SMSC, emulator, options={"callbacks": True})
    tracker = tracker_of(entry)
    assert tracker.callbacks is True
    events = async_capture_events(hass, EVENT)
    start = time.time()
    await send(hass, entry, "Первое")
    await send(hass, entry, "Второе")
    await tick(hass, freezer, 30)
    # The callback of the first one (its number written another way: matched by id).
    tracker.async_apply(
        [
            DeliveryStatus(message_id="1001", phone="", state=DeliveryState.DELIVERED),
            DeliveryStatus(message_id="999", phone=IVAN, state=DeliveryState.FAILED),
        ]
    )
    tracker.async_apply(
        [DeliveryStatus(message_id="1001", phone=IVAN, state=DeliveryState.FAILED, raw_code="20")]
    )
    assert [(e.data["message_id"], e.data["state"]) for e in events] == [
        ("1001", "queued"),
        ("1002", "queued"),
        ("1001", "delivered"),  # a final state stays
    ]

    # The other one's callback is lost: polling asks every 15 minutes.
    await tick(hass, freezer, 1800 - 30, step=30)
    requests = list_requests(emulator)
    assert [(round(r.at - start), asked_ids(r)) for r in requests] == [
        (900, ["1002"]),
        (1800, ["1002"]),
    ]
    assert events[-1].data["state"] == "delivered"
    assert tracker.in_flight == 0


async def test_unload_during_a_poll_stops_the_poll(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await account(hass, GatewayId.STREAM, emulator)
    events = async_capture_events(hass, EVENT)
    await send(hass, entry)
    tracker = tracker_of(entry)
    emulator.inject(Fault.TIMEOUT_BEFORE, STATUS_PATH[GatewayId.STREAM])  # hangs
    freezer.tick(timedelta(seconds=10))
    async_fire_time_changed(hass)
    for _ in range(1000):
        if emulator.count(STATUS_PATH[GatewayId.STREAM]):
            break
        await asyncio.sleep(0)
    assert emulator.count(STATUS_PATH[GatewayId.STREAM]) == 1

    assert await hass.config_entries.async_unload(entry.entry_id)
    await tick(hass, freezer, 600, step=10)
    # The poll under way ended with the entry: no answer taken, no new timer, no request.
    assert emulator.count(STATUS_PATH[GatewayId.STREAM]) == 1
    assert tracker._unsub_timer is None
    assert states(events) == ["queued"]


async def test_broken_listener_neither_fails_sends_nor_stops_polling(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await account(hass, GatewayId.STREAM, emulator)
    tracker = tracker_of(entry)
    calls: list[int] = []

    def broken() -> None:
        raise RuntimeError("listener bug")

    tracker.async_add_listener(broken)
    remove = tracker.async_add_listener(lambda: calls.append(tracker.in_flight))
    events = async_capture_events(hass, EVENT)
    start = time.time()
    await send(hass, entry)
    await tick(hass, freezer, 200)

    assert states(events) == ["queued", "sent", "delivered"]
    assert status_times(emulator, GatewayId.STREAM, start) == POLL_TIMES[GatewayId.STREAM][0]
    assert calls[0] == 1
    assert calls[-1] == 0
    assert "error in a listener" in caplog.text
    remove()
    seen = len(calls)
    await send(hass, entry, "Второе")
    assert len(calls) == seen
