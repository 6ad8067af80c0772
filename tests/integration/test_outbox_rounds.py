"""The outbox's later rounds: what it reads back, asks, sends and fires after the first attempt."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest

from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.outbox import QueuedAlert
from custom_components.ru_sms.outbox.store import FIRST_WAIT, WAKE_AT_ONCE, WRITE_GAP, OutboxStore
from custom_components.ru_sms.providers import SendOptions
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.storage import StoreKind, store_key
from tests.conftest import IVAN, make_entry, setup_account
from tests.emulators.base import Fault
from tests.emulators.smsc import SentMessage
from tests.integration.clock import Clock
from tests.integration.test_outbox import (
    account_on_clock,
    events,
    send,
    start_and_wait,
    stored_alert,
    taken,
)

MARIA = "79161234568"
OUR_ID = "rs0123456789abcdef02"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


@pytest.fixture(autouse=True)
def fast_client(no_client_retry_delay: None) -> None:
    """The client's own retry goes at once."""


def already_taken(emulator: Any, phone: str, text: str) -> None:
    """The gateway took `text` to `phone` with our id just before Home Assistant stopped."""
    emulator.messages[(999, phone)] = SentMessage(
        id=999,
        phone=phone,
        text=text,
        sender="HomeAlert",
        client_id=OUR_ID,
        accepted_at=emulator.now(),
        goes_at=emulator.now(),
        segments=1,
        cost=emulator.price,
    )


async def test_unreadable_stored_alerts_are_dropped_the_rest_sent(
    hass: HomeAssistant,
    emulators: Any,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = make_entry(GatewayId.STREAM, emulator)
    good = stored_alert(hass_storage, entry, "Door open", SendOptions(sender="ALERTS"))
    broken = [
        "not a record",
        {**good.as_record(), "id": "no-numbers", "phones": "79161234567"},
        {**good.as_record(), "id": "no-text", "text": None},
        {**good.as_record(), "id": "bad-time", "deadline": "tomorrow"},
        {**good.as_record(), "id": "no-time", "created_at": 5},
    ]
    hass_storage[store_key(StoreKind.OUTBOX, entry.entry_id)]["data"]["alerts"] += broken

    await start_and_wait(hass, entry, emulator, 120)

    assert taken(emulator, "Door open") == 1
    assert entry.runtime_data.outbox.queued == 0
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"outbox_damaged_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders["lost"] == str(len(broken))


async def test_found_for_some_numbers_sends_only_to_the_others(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    already_taken(emulator, IVAN, "Gas leak")
    options = SendOptions(sender="HomeAlert", client_message_id=OUR_ID)
    stored_alert(hass_storage, entry, "Gas leak", options, phones=(IVAN, MARIA))

    fired = await start_and_wait(hass, entry, emulator, 60)

    sent = [m.phone for m in emulator.messages.values() if m.text == "Gas leak"]
    assert sorted(sent) == sorted([IVAN, MARIA])
    assert entry.runtime_data.outbox.queued == 0
    # Both followed from now on, each reported once by the outbox.
    assert sorted(e["number"] for e in fired if e.get("queued")) == sorted([IVAN, MARIA])


async def test_no_answer_about_our_id_sends_nothing_until_there_is_one(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    # Two asks (the client repeats a failed read once): both without an answer.
    emulator.inject(Fault.SERVER_ERROR_HTML, "status.php", times=4)
    options = SendOptions(sender="HomeAlert", client_message_id=OUR_ID)
    stored_alert(hass_storage, entry, "Water leak", options)

    await start_and_wait(hass, entry, emulator, 5)
    assert emulator.count("send.php") == 0
    clock = Clock(hass)
    clock.attach(entry, emulator)
    await clock.tick(120, emulator)

    assert emulator.count("status.php") >= 5
    assert taken(emulator, "Water leak") == 1


async def test_refused_for_good_on_a_later_round_fails_with_the_gateways_code(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator, entry, clock = await account_on_clock(hass, emulators, GatewayId.STREAM)
    fired = events(hass)
    emulator.inject(Fault.RATE_LIMIT, "SendSms/")

    response = await send(hass, entry, "Boiler failed")
    assert response["queued"] == 1
    emulator.inject(Fault.NO_MONEY, "SendSms/")
    await clock.tick(120, emulator)

    assert taken(emulator, "Boiler failed") == 0
    assert entry.runtime_data.outbox.queued == 0
    (failed,) = [e for e in fired if e.get("queued") and e["state"] != "waiting"]
    assert failed["state"] == "failed"
    assert failed["error_code"] is not None


async def test_a_number_refused_on_a_later_round_fires_failed(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator, entry, clock = await account_on_clock(hass, emulators, GatewayId.SMSC)
    fired = events(hass)
    emulator.invalid_numbers.add(MARIA)
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php")

    response = await send(hass, entry, "Frost", phones=[IVAN, MARIA])
    assert response["queued"] == 2
    # Asked by our id (a list: one a minute), "not there" confirmed, then sent again.
    await clock.tick(120, emulator)

    assert taken(emulator, "Frost") == 1
    states = {e["number"]: e["state"] for e in fired if e.get("queued")}
    assert states == {IVAN: "queued", MARIA: "failed"}


async def test_a_round_that_breaks_is_logged_and_tried_again(
    hass: HomeAssistant,
    emulators: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator, entry, clock = await account_on_clock(hass, emulators, GatewayId.STREAM)
    emulator.inject(Fault.RATE_LIMIT, "SendSms/")
    response = await send(hass, entry, "Smoke")
    assert response["queued"] == 1
    outbox = entry.runtime_data.outbox
    retry = outbox._async_retry
    broken = [True]

    async def breaks_once(alert: Any) -> None:
        if broken.pop() if broken else False:
            raise RuntimeError("a bug of ours")
        await retry(alert)

    monkeypatch.setattr(outbox, "_async_retry", breaks_once)
    await clock.tick(300, emulator)

    assert "error sending a queued alert" in caplog.text
    assert taken(emulator, "Smoke") == 1
    assert outbox.queued == 0


async def test_when_the_gateway_is_back_what_waits_out_a_backoff_goes_at_once(
    hass: HomeAssistant, emulators: Any, refused_url: str
) -> None:
    """Alerts queued while the host refused connections (certainly not sent) go together.

    Each waits out its own backoff (the later ones, queued after more failures, longer):
    once the first one's retry is taken, the rest are due at once, paced by the budget.
    """
    emulator, entry, clock = await account_on_clock(hass, emulators, GatewayId.SMSC)
    gateway = entry.runtime_data.gateway
    working = gateway._base_urls
    gateway._base_url, gateway._base_urls = refused_url, (refused_url,)
    outbox = entry.runtime_data.outbox

    for n in range(5):
        response = await send(hass, entry, f"Протечка {n}")
        assert response["queued"] == 1
        await clock.tick(5)
    waits = sorted(a.next_attempt for a in outbox.alerts.values())
    assert waits[-1] - waits[0] >= timedelta(seconds=5)  # their own backoffs, apart
    gateway._base_url, gateway._base_urls = working[0], working

    # Up to the first alert's retry: it is taken, and the others follow in that round.
    await clock.step((waits[0] - clock.now).total_seconds(), (emulator,))
    assert outbox.queued == 4
    await clock.step(1, (emulator,))  # the timer the others are now due at

    assert clock.now < waits[-1] - timedelta(seconds=5)
    assert outbox.queued == 0
    assert [taken(emulator, f"Протечка {n}") for n in range(5)] == [1] * 5
    assert emulator.breaches == []


async def test_the_waiters_of_a_write_go_on_a_few_a_turn(hass: HomeAssistant) -> None:
    """A round of many alerts waits for one write: they go on in order, a few each turn.

    Woken all at once, a thousand requests would start in one turn of the loop (the drain
    after an outage held the loop for up to 50 ms).
    """
    store = OutboxStore(hass, "waiters")
    turn = 0
    counting = True

    def count() -> None:
        nonlocal turn
        turn += 1
        if counting:
            hass.loop.call_soon(count)

    resumed: list[tuple[int, int]] = []

    async def wait(n: int) -> None:
        await store.async_written()
        resumed.append((n, turn))

    store.set_extra("mark", 1)
    tasks = [hass.async_create_task(wait(n)) for n in range(100)]
    hass.loop.call_soon(count)
    await asyncio.gather(*tasks)
    counting = False
    assert [n for n, _ in resumed] == list(range(100))
    per_turn = Counter(at for _, at in resumed)
    assert max(per_turn.values()) <= WAKE_AT_ONCE
    assert len(per_turn) >= 100 // WAKE_AT_ONCE


async def test_writes_back_to_back_are_a_gap_apart(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst's changes gather into few writes; a change after a quiet moment goes soon.

    Started again the moment it ended, the writer held the interpreter's lock against the
    loop for most of a burst (200 callers at once: a write every 6 ms).
    """
    store = OutboxStore(hass, "gap")
    saves: list[tuple[float, float, dict[str, Any]]] = []
    started = asyncio.Event()
    save = store._store.async_save

    async def slow_save(data: dict[str, Any]) -> None:
        start = hass.loop.time()
        started.set()
        for _ in range(10):  # a write of a few turns of the loop
            await asyncio.sleep(0)
        await save(data)
        saves.append((start, hass.loop.time(), dict(data)))

    monkeypatch.setattr(store._store, "async_save", slow_save)
    changed_at = hass.loop.time()
    store.set_extra("n", 1)
    await started.wait()
    for n in range(2, 6):  # each change in a turn of its own, while the first is written
        store.set_extra("n", n)
        await asyncio.sleep(0)
    await store.async_written()
    quiet = hass.loop.time()
    store.set_extra("n", 6)
    await store.async_written()

    first, burst, alone = saves
    # After a quiet moment: a few milliseconds for a quick answer to come first.
    assert FIRST_WAIT * 0.9 <= first[0] - changed_at < WRITE_GAP
    assert first[2]["n"] == 1
    assert burst[0] - first[1] >= WRITE_GAP * 0.9  # the rest a gap after it, in one write
    assert burst[2]["n"] == 5
    assert alone[0] - quiet < FIRST_WAIT  # waited for: at once
    assert alone[2]["n"] == 6


async def test_an_alert_that_came_and_went_before_its_write_is_never_written(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = OutboxStore(hass, "came-and-went")
    await store.async_load()  # no file: as good as an empty one
    saves: list[dict[str, Any]] = []
    save = store._store.async_save

    async def counted_save(data: dict[str, Any]) -> None:
        saves.append(data)
        await save(data)

    monkeypatch.setattr(store._store, "async_save", counted_save)
    alert = QueuedAlert(
        id="a1",
        phones=[IVAN],
        text="Door open",
        options={},
        deadline=dt_util.utcnow(),
        created_at=dt_util.utcnow(),
        next_attempt=dt_util.utcnow(),
    )
    store.put(alert)
    gone = store.drop(alert.id)
    await store.async_written(gone)  # at once: nothing to write
    await asyncio.sleep(FIRST_WAIT * 2)
    assert saves == []

    # Kept past the first wait, it is written, and so is its going.
    store.put(alert)
    await asyncio.sleep(FIRST_WAIT * 2)
    await store.async_written(store.drop(alert.id))
    assert [[a["id"] for a in data["alerts"]] for data in saves] == [["a1"], []]


async def test_an_alerts_record_is_made_once_for_the_write_after_its_changes(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change only marks the alert: its record is made when a write takes it."""
    store = OutboxStore(hass, "made-once")
    await store.async_load()
    made: list[str] = []
    as_record = QueuedAlert.as_record

    def counted(alert: QueuedAlert) -> dict[str, Any]:
        made.append(alert.id)
        return as_record(alert)

    monkeypatch.setattr(QueuedAlert, "as_record", counted)
    now = dt_util.utcnow()
    alert = QueuedAlert(
        id="a1",
        phones=[IVAN],
        text="Door",
        options={},
        deadline=now,
        created_at=now,
        next_attempt=now,
    )
    store.put(alert)
    store.drop(alert.id)
    assert made == []  # came and went: never made

    store.put(alert)
    alert.attempts = 2
    await store.async_written(store.put(alert))
    assert made == ["a1"]
    assert store.records["a1"]["attempts"] == 2


async def test_what_follows_a_send_waits_for_its_own_write_only(
    hass: HomeAssistant, emulators: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a stream of changes the sends are followed a write after their answers.

    Each job after an accepted send waited for "everything changed so far": another
    alert's change made during every write, it waited for one more write each (one
    send followed a write, 40 a second while 2,000 a second were sent).
    """
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    outbox = entry.runtime_data.outbox
    fired = events(hass)
    store = outbox.store
    save = store._store.async_save
    saves = 0
    stream = True

    async def save_in_a_stream(data: dict[str, Any]) -> None:
        nonlocal saves
        saves += 1
        if stream:
            store.set_extra("other", saves)  # another alert's change, made meanwhile
        await save(data)

    monkeypatch.setattr(store._store, "async_save", save_in_a_stream)
    await asyncio.gather(*(send(hass, entry, f"Alert {n}") for n in range(8)))
    before = saves
    for _ in range(500):
        if len(fired) == 8:  # each accepted number's first event
            break
        await asyncio.sleep(0.001)
    stream = False
    await hass.async_block_till_done()

    assert [e["state"] for e in fired] == ["queued"] * 8
    # Followed with the write of their answers (or the one after): not a write each.
    assert saves - before <= 2
