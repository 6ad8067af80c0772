"""SMSC.ru callbacks: the webhook, its signatures, and what each kind of callback feeds.

Callbacks are posted to Home Assistant's real HTTP server as SMSC.ru posts them (JSON for
`fmt=3`, a form otherwise), signed as its callback document says: the md5, sha1 or crc32
of `id:phone:status:<secret>` (statuses, HLR answers) or `phone:mes:to:<secret>` (incoming
SMS). The messages and lookups they answer go through the emulated gateway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
import hashlib
import json
import re
from typing import Any
from unittest.mock import patch
from urllib.parse import urlencode
import zlib

from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.ru_sms import services as services_module
from custom_components.ru_sms.const import CONF_WEBHOOK_SECRET, DOMAIN
from custom_components.ru_sms.lookups import KEPT_ANSWERS, LookupWaiters
from custom_components.ru_sms.providers import DeliveryState, LookupResult, LookupState
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.providers.smsc import (
    callback_kind,
    callback_signature_ok,
    callback_signed_text,
    parse_callback_incoming,
    parse_callback_lookup,
    parse_callback_status,
)
from custom_components.ru_sms.webhook import new_webhook_data
from tests.conftest import (
    GUARD_OPTIONS,
    IVAN,
    gateway_data,
    make_entry,
    patch_description,
    setup_account,
)
from tests.emulators.catalog import ACCOUNTS

PETR = "79031234567"
OUR_NUMBER = "79037654321"
"""The account's incoming number (`to` of an incoming SMS)."""
TEXT = "Котёл: всё в порядке, давление 1,5 бар"
STATUS_EVENT = "ru_sms_message_status"
INCOMING_EVENT = "ru_sms_incoming_sms"
TS = 1779354005
"""A moment of a status change (2026-05-21 09:00:05 UTC)."""
ALGORITHMS = ["md5"]
"""The one signature the URL shown asks for (sha1 and crc32 are refused: test_hardening_webhook)."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


# -- signing and posting as SMSC.ru does ------------------------------------------------


def checksum(text: str, algorithm: str) -> str:
    """What SMSC.ru puts in place of the secret (PHP: md5(), sha1(), crc32())."""
    raw = text.encode()
    if algorithm == "crc32":
        return str(zlib.crc32(raw))  # PHP's crc32() is a (64-bit, positive) decimal
    return hashlib.new(algorithm, raw).hexdigest()


def signed(payload: dict[str, Any], secret: str, algorithm: str = "md5") -> dict[str, Any]:
    """The payload with its signature, computed from the document's formula."""
    if "mes" in payload:
        fields = (payload["phone"], payload["mes"], payload["to"])
    else:
        fields = (payload["id"], payload["phone"], payload["status"])
    text = ":".join([*("" if f is None else str(f) for f in fields), secret])
    return {**payload, algorithm: checksum(text, algorithm)}


def status_payload(message_id: Any, status: Any = 1, **extra: Any) -> dict[str, Any]:
    """A delivery status callback with `fmt=3&charset=utf-8` (numbers as SMSC gives them)."""
    return {
        "id": message_id,
        "phone": IVAN,
        "status": status,
        "time": "21.05.26 12:00:05",
        "ts": TS,
        "err": 0,
        "cnt": 1,
        "type": 0,
        "flag": 0,
        "cost": "1.90",
        "sender": "SMSC.RU",
        "fmt": "3",
        "charset": "utf-8",
        **extra,
    }


def incoming_payload(**extra: Any) -> dict[str, Any]:
    """An incoming SMS callback."""
    return {
        "id": "5501",
        "sms_id": "1001",
        "phone": IVAN,
        "mes": TEXT,
        "to": OUR_NUMBER,
        "smsc": "79168999999",
        "sent": TS - 2,
        "time": TS,
        "fmt": "3",
        "charset": "utf-8",
        **extra,
    }


def hlr_payload(request_id: Any, phone: str = IVAN, status: Any = 1) -> dict[str, Any]:
    """An HLR answer callback (the status callback of a `type` 4 message)."""
    return {
        "id": request_id,
        "phone": phone,
        "status": status,
        "ts": TS,
        "err": 0,
        "type": 4,
        "flag": 4,
        "cost": "0.20",
        "imsi": "250011234567890",
        "msc": "79168999999",
        "mcc": 250,
        "mnc": 1,
        "cn": "Россия",
        "net": "МТС",
        "rcn": "",
        "rnet": "",
    }


def webhook_path(entry: MockConfigEntry) -> str:
    return f"/api/webhook/{entry.data[CONF_WEBHOOK_ID]}"


async def post(
    hass_client_no_auth: Any, entry: MockConfigEntry, payload: Any, body: str = "json"
) -> tuple[int, str]:
    """POST a callback to the account's webhook; the answer's status and text."""
    client = await hass_client_no_auth()
    if body == "form":  # a URL without fmt: form fields, UTF-8 by `charset=utf-8`
        data: Any = urlencode({k: str(v) for k, v in payload.items()})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    elif body == "raw":
        data, headers = payload, {"Content-Type": "text/plain"}
    else:  # fmt=3: JSON in the body, whatever content type it is labelled with
        data = json.dumps(payload, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json"
            if body == "json"
            else "application/x-www-form-urlencoded"
        }
    response = await client.post(webhook_path(entry), data=data, headers=headers)
    return response.status, await response.text()


# -- accounts ---------------------------------------------------------------------------


async def smsc_account(
    hass: HomeAssistant, emulators: Any, *, callbacks: bool = False
) -> tuple[Any, MockConfigEntry]:
    """An SMSC.ru account on the emulator, with recipient Ivan (webhook data by migration)."""
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(
        hass, GatewayId.SMSC, emulator, options={"callbacks": True} if callbacks else None
    )
    return emulator, entry


async def send_to_ivan(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    """Send through the recipient's notify entity; the tracked message."""
    await hass.services.async_call(
        "notify", "send_message", {"entity_id": "notify.ivan", "message": TEXT}, blocking=True
    )
    await hass.async_block_till_done()  # tracked after the caller has its answer
    (message,) = entry.runtime_data.tracker.messages.values()
    return message


async def tick(hass: HomeAssistant, freezer: Any, seconds: float) -> None:
    """Let time pass for Home Assistant and the emulated gateway alike.

    The emulator's clock reads `time.time()`, which the freezer moves too: advancing it
    as well would run the gateway at twice the speed.
    """
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def until(condition: Callable[[], bool]) -> None:
    """Wait (briefly) until something running in the background got there."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition was never met")


async def lookup(hass: HomeAssistant, entry: MockConfigEntry, *phones: str) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "lookup_number",
        {"config_entry_id": entry.entry_id, "phones": list(phones)},
        blocking=True,
        return_response=True,
    )


# -- signatures -------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["json", "json-as-form", "form"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_signed_status_is_taken(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any, algorithm: str, body: str
) -> None:
    emulator, entry = await smsc_account(hass, emulators)
    message = await send_to_ivan(hass, entry)
    events = async_capture_events(hass, STATUS_EVENT)
    secret = entry.data[CONF_WEBHOOK_SECRET]

    answer = await post(
        hass_client_no_auth,
        entry,
        signed(status_payload(int(message.message_id)), secret, algorithm),
        body,
    )
    await hass.async_block_till_done()

    assert answer == (200, "OK")
    (event,) = events
    assert event.data | {"config_entry_id": None} == {
        "config_entry_id": None,
        "account": entry.title,
        "recipient": "Ivan",
        "number": IVAN,
        "message_id": message.message_id,
        "message_ids": [message.message_id],
        "state": "delivered",
        "final": True,
        "raw_code": "1",
        "raw_text": "Delivered",
        "error_code": None,
        "cost": 1.9,
    }
    assert event.data["config_entry_id"] == entry.entry_id
    assert entry.runtime_data.tracker.in_flight == 0
    assert message.state is DeliveryState.DELIVERED
    assert message.delivered_at == datetime.fromtimestamp(TS, UTC)
    # Nothing was asked of the gateway: the callback said it all.
    assert emulator.count("status.php") == 0


@pytest.mark.parametrize("body", ["json", "json-as-form", "form"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_signed_incoming_sms_is_taken(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any, algorithm: str, body: str
) -> None:
    _, entry = await smsc_account(hass, emulators)
    events = async_capture_events(hass, INCOMING_EVENT)
    secret = entry.data[CONF_WEBHOOK_SECRET]

    answer = await post(
        hass_client_no_auth, entry, signed(incoming_payload(), secret, algorithm), body
    )
    await hass.async_block_till_done()

    assert answer == (200, "OK")
    (event,) = events
    assert event.data == {
        "config_entry_id": entry.entry_id,
        "account": entry.title,
        "message_id": "5501",
        "number": IVAN,
        "text": TEXT,
        "to": OUR_NUMBER,
        "received_at": datetime.fromtimestamp(TS, UTC).isoformat(),
    }


def wrong(payload: dict[str, Any], secret: str) -> dict[str, Any]:
    return signed(payload, "another-secret")


def missing(payload: dict[str, Any], secret: str) -> dict[str, Any]:
    return payload


def tampered(payload: dict[str, Any], secret: str) -> dict[str, Any]:
    """Signed, then changed: the status (or the text) is not what SMSC.ru signed."""
    changed = "mes" if "mes" in payload else "status"
    original = {**payload, changed: "Ложная тревога" if changed == "mes" else 20}
    return {**signed(original, secret), changed: payload[changed]}


def not_ascii(payload: dict[str, Any], secret: str) -> dict[str, Any]:
    return {**payload, "md5": "подпись"}


def empty(payload: dict[str, Any], secret: str) -> dict[str, Any]:
    return {**payload, "md5": ""}


def unsigned_text(payload: dict[str, Any], secret: str) -> dict[str, Any]:
    """The secret itself in place of its hash (as in the URL pasted into SMSC)."""
    return {**payload, "md5": secret}


def first_signature_counts(payload: dict[str, Any], secret: str) -> dict[str, Any]:
    """A wrong md5 is not saved by a right sha1 next to it."""
    return {**signed(payload, secret, "sha1"), "md5": "0" * 32}


@pytest.mark.parametrize(
    "forge",
    [wrong, missing, tampered, not_ascii, empty, unsigned_text, first_signature_counts],
)
@pytest.mark.parametrize("kind", ["status", "incoming"])
async def test_unsigned_or_forged_callbacks_are_refused(
    hass: HomeAssistant,
    *,
    emulators: Any,
    hass_client_no_auth: Any,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    forge: Callable[[dict[str, Any], str], dict[str, Any]],
) -> None:
    _, entry = await smsc_account(hass, emulators)
    message = await send_to_ivan(hass, entry)
    events = async_capture_events(hass, STATUS_EVENT) + async_capture_events(hass, INCOMING_EVENT)
    payload = status_payload(message.message_id) if kind == "status" else incoming_payload()

    answer = await post(hass_client_no_auth, entry, forge(payload, entry.data[CONF_WEBHOOK_SECRET]))
    await hass.async_block_till_done()

    # 404: SMSC.ru does not try again (anything but 200 and 404 it repeats 50 times).
    assert answer[0] == 404
    assert events == []
    assert message.state is DeliveryState.QUEUED
    assert entry.runtime_data.tracker.in_flight == 1
    assert "callback without a valid signature" in caplog.text


@pytest.mark.parametrize(
    ("body", "payload", "status"),
    [
        ("raw", "", 404),
        ("raw", "[1, 2]", 404),
        ("raw", "not json & not=a form", 404),
        ("raw", b"id=1001&phone=79161234567&status=1&md5=\xff\xfe", 400),
        ("json", [status_payload("1001")], 404),
    ],
)
async def test_unreadable_bodies_are_refused(
    hass: HomeAssistant,
    *,
    emulators: Any,
    hass_client_no_auth: Any,
    body: str,
    payload: Any,
    status: int,
) -> None:
    _, entry = await smsc_account(hass, emulators)
    events = async_capture_events(hass, STATUS_EVENT)

    answer = await post(hass_client_no_auth, entry, payload, body)

    assert answer[0] == status
    assert events == []


async def test_only_post_is_taken(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    _, entry = await smsc_account(hass, emulators)
    client = await hass_client_no_auth()

    response = await client.get(webhook_path(entry))

    assert response.status == 405


async def test_callbacks_of_other_kinds_are_acknowledged(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    """A "confirm the number by a call" notice: signed with `phone:ts`, nothing to do."""
    _, entry = await smsc_account(hass, emulators)
    secret = entry.data[CONF_WEBHOOK_SECRET]
    events = async_capture_events(hass, STATUS_EVENT) + async_capture_events(hass, INCOMING_EVENT)
    text = f"{IVAN}:{TS}:{secret}"
    payload = {"waitcall": "1", "phone": IVAN, "ts": TS, "md5": checksum(text, "md5")}

    assert await post(hass_client_no_auth, entry, payload) == (200, "OK")
    assert await post(hass_client_no_auth, entry, {**payload, "ts": TS + 1}) == (404, "")
    assert events == []


async def test_callback_while_the_account_is_not_running_is_retried_later(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    """Between registering the webhook and the end of the setup (or during an unload)."""
    _, entry = await smsc_account(hass, emulators)
    message = await send_to_ivan(hass, entry)
    payload = signed(status_payload(message.message_id), entry.data[CONF_WEBHOOK_SECRET])
    events = async_capture_events(hass, STATUS_EVENT)

    entry.mock_state(hass, ConfigEntryState.SETUP_IN_PROGRESS)
    status, _ = await post(hass_client_no_auth, entry, payload)
    entry.mock_state(hass, ConfigEntryState.LOADED)

    assert status == 503  # SMSC.ru tries again 4 minutes later
    assert events == []
    assert message.state is DeliveryState.QUEUED
    assert await post(hass_client_no_auth, entry, payload) == (200, "OK")
    assert message.state is DeliveryState.DELIVERED


# -- statuses and the tracker -----------------------------------------------------------


async def test_status_callbacks_follow_a_message_to_its_end(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    _, entry = await smsc_account(hass, emulators, callbacks=True)
    message = await send_to_ivan(hass, entry)
    events = async_capture_events(hass, STATUS_EVENT)
    secret = entry.data[CONF_WEBHOOK_SECRET]

    for status in (0, 0, 20, 1):
        assert await post(
            hass_client_no_auth,
            entry,
            signed(status_payload(message.message_id, status, err=1 if status else 0), secret),
        ) == (200, "OK")
    await hass.async_block_till_done()

    # Handed to the operator (once: a repeat changes nothing), then failed for good; the
    # late "delivered" changes nothing either.
    assert [(e.data["state"], e.data["final"], e.data["error_code"]) for e in events] == [
        ("sent", False, None),
        ("failed", True, "1"),
    ]
    assert events[1].data["raw_text"] == "Undeliverable"
    assert message.state is DeliveryState.FAILED


async def test_status_callbacks_of_unknown_messages_change_nothing(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    _, entry = await smsc_account(hass, emulators)
    message = await send_to_ivan(hass, entry)
    events = async_capture_events(hass, STATUS_EVENT)
    secret = entry.data[CONF_WEBHOOK_SECRET]

    payload = status_payload("999999")
    assert await post(hass_client_no_auth, entry, signed(payload, secret)) == (200, "OK")
    # Without an id it is no status SMSC.ru sends: refused like a forgery.
    payload = {"id": None, "phone": IVAN, "status": 1}
    assert await post(hass_client_no_auth, entry, signed(payload, secret)) == (404, "")

    assert events == []
    assert message.state is DeliveryState.QUEUED


async def test_a_status_of_another_number_of_the_send_changes_nothing(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    """Petr was refused in the send (not tracked); his status must not become Ivan's."""
    emulator, entry = await smsc_account(hass, emulators)
    emulator.invalid_numbers = {PETR}
    await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"config_entry_id": entry.entry_id, "phones": [IVAN, PETR], "message": TEXT},
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done()
    (message,) = entry.runtime_data.tracker.messages.values()
    payload = status_payload(message.message_id, 22, phone=PETR, err=1)

    secret = entry.data[CONF_WEBHOOK_SECRET]
    assert await post(hass_client_no_auth, entry, signed(payload, secret)) == (200, "OK")

    assert message.state is DeliveryState.QUEUED


async def test_with_callbacks_polling_is_a_safety_net(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator, entry = await smsc_account(hass, emulators, callbacks=True)
    assert entry.runtime_data.tracker.callbacks is True
    emulator.final_seconds = 20 * 60  # no report reaches us for 20 minutes
    message = await send_to_ivan(hass, entry)
    events = async_capture_events(hass, STATUS_EVENT)

    polls = []
    for _ in range(31):
        await tick(hass, freezer, 60)
        polls.append(emulator.count("status.php"))

    # Minute 15: the first look; minute 30: the second, which finds it delivered.
    assert polls[13] == 0
    assert polls[14] == 1
    assert polls[28] == 1
    assert polls[29] == polls[30] == 2
    assert [e.data["state"] for e in events] == ["sent", "delivered"]
    assert message.state is DeliveryState.DELIVERED


async def test_without_callbacks_polling_starts_at_once(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator, entry = await smsc_account(hass, emulators)
    assert entry.runtime_data.tracker.callbacks is False
    message = await send_to_ivan(hass, entry)

    await tick(hass, freezer, 60)

    assert emulator.count("status.php") == 1
    assert message.state is DeliveryState.DELIVERED


async def test_after_a_status_callback_nothing_is_polled(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any, freezer: Any
) -> None:
    emulator, entry = await smsc_account(hass, emulators, callbacks=True)
    message = await send_to_ivan(hass, entry)
    payload = signed(status_payload(message.message_id), entry.data[CONF_WEBHOOK_SECRET])
    assert await post(hass_client_no_auth, entry, payload) == (200, "OK")

    for _ in range(4):
        await tick(hass, freezer, 10 * 60)

    assert emulator.count("status.php") == 0
    assert message.state is DeliveryState.DELIVERED


# -- HLR answers and lookup_number ------------------------------------------------------


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Bound the lookup's waits so that a broken wait fails fast."""

    def patch_waits(callback_wait: float, poll_delays: tuple[float, ...]) -> None:
        monkeypatch.setattr(services_module, "LOOKUP_CALLBACK_WAIT", callback_wait)
        patch_description(monkeypatch, GatewayId.SMSC, lookup_wait=poll_delays)

    return patch_waits


async def test_hlr_callback_answers_a_waiting_lookup(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any, short_waits: Any
) -> None:
    emulator, entry = await smsc_account(hass, emulators, callbacks=True)
    short_waits(10.0, ())  # no polling: only the callback can answer
    lookups = entry.runtime_data.lookups

    task = hass.async_create_task(lookup(hass, entry, "+7 (916) 123-45-67"))
    await until(lambda: lookups.waiting == 1)
    (request_id,) = [key[0] for key, m in emulator.messages.items() if m.hlr]
    answer = await post(
        hass_client_no_auth,
        entry,
        signed(hlr_payload(request_id), entry.data[CONF_WEBHOOK_SECRET]),
    )
    async with asyncio.timeout(5):
        response = await task

    assert answer == (200, "OK")
    assert response == {
        "results": [
            {
                "phone": IVAN,
                "state": "reachable",
                "reachable": True,
                "operator": "МТС",
                "country": "Россия",
                "region": None,
                "mcc": "250",
                "mnc": "1",
                "imsi": "250011234567890",
                "roaming": False,
                "roaming_country": None,
                "roaming_operator": None,
                "ported": None,
                "error_code": None,
            }
        ]
    }
    assert lookups.waiting == 0
    assert emulator.count("status.php") == 0


async def test_lookup_without_a_callback_falls_back_to_polling(
    hass: HomeAssistant, emulators: Any, short_waits: Any
) -> None:
    emulator, entry = await smsc_account(hass, emulators, callbacks=True)
    short_waits(0.01, (0.0, 0.0))
    emulator.hlr_seconds = 0
    emulator.hlr_outcomes = {IVAN: 20}

    async with asyncio.timeout(5):
        response = await lookup(hass, entry, IVAN)

    (result,) = response["results"]
    assert (result["state"], result["reachable"], result["operator"]) == (
        "unreachable",
        False,
        "МТС",
    )
    assert emulator.count("status.php") == 1
    assert entry.runtime_data.lookups.waiting == 0


async def test_lookup_answer_posted_before_the_wait_is_kept(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any, short_waits: Any
) -> None:
    """An answer may come before the lookup starts waiting; the other number is polled."""
    emulator, entry = await smsc_account(hass, emulators, callbacks=True)
    short_waits(0.01, (0.0,))
    emulator.hlr_seconds = 0
    request_id = emulator.next_id  # the id the emulator gives the HLR request
    secret = entry.data[CONF_WEBHOOK_SECRET]
    early = signed(hlr_payload(str(request_id), status=20), secret)
    assert await post(hass_client_no_auth, entry, early) == (200, "OK")

    async with asyncio.timeout(5):
        response = await lookup(hass, entry, IVAN, PETR)

    assert [(r["phone"], r["state"]) for r in response["results"]] == [
        (IVAN, "unreachable"),
        (PETR, "reachable"),
    ]
    (status_request,) = [r for r in emulator.requests if r.path.endswith("status.php")]
    # One message: the single form (a list, even of one, counts against the list limit).
    assert (status_request.form["id"], status_request.form["phone"]) == (str(request_id), PETR)


async def test_lookup_without_the_callbacks_option_does_not_wait(
    hass: HomeAssistant, emulators: Any, short_waits: Any
) -> None:
    emulator, entry = await smsc_account(hass, emulators)
    short_waits(3600.0, (0.0,))
    emulator.hlr_seconds = 0

    async with asyncio.timeout(5):
        response = await lookup(hass, entry, IVAN)

    assert response["results"][0]["state"] == "reachable"
    assert emulator.count("status.php") == 1


# -- the URL to paste into SMSC.ru ------------------------------------------------------


async def test_options_show_the_callback_url(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    await async_process_ha_core_config(hass, {"external_url": "https://example.com"})
    _, entry = await smsc_account(hass, emulators)
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    secret = entry.data[CONF_WEBHOOK_SECRET]

    result = await hass.config_entries.options.async_init(entry.entry_id)

    assert result["type"] is FlowResultType.FORM
    # A read-only field to copy from, after the switch it explains.
    url = f"https://example.com/api/webhook/{webhook_id}?fmt=3&charset=utf-8&md5={secret}"
    assert shown_url(result) == url
    assert result["description_placeholders"]["callback_url"] == url
    keys = [str(key) for key in result["data_schema"].schema]
    assert keys[keys.index("callbacks") :][:2] == ["callbacks", "callback_url"]

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "transliterate": False,
            "balance_interval": 60,
            "low_balance_threshold": 0,
            "callbacks": True,
            "callback_url": url,  # the frontend sends the read-only field back
        },
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.tracker.callbacks is True
    assert "callback_url" not in entry.options  # shown, never stored
    # The reloaded account still listens on the same webhook.
    assert entry.data[CONF_WEBHOOK_ID] == webhook_id
    payload = signed(incoming_payload(), secret)
    assert await post(hass_client_no_auth, entry, payload) == (200, "OK")


@pytest.mark.parametrize(
    "core_config",
    [{}, {"internal_url": "http://192.168.1.10:8123"}],
    ids=["no_url", "home_network_only"],
)
async def test_options_without_a_url_smsc_can_reach(
    hass: HomeAssistant, emulators: Any, core_config: dict[str, Any]
) -> None:
    await async_process_ha_core_config(hass, core_config)
    _, entry = await smsc_account(hass, emulators)

    result = await hass.config_entries.options.async_init(entry.entry_id)

    # No URL to show: no field, and nothing standing for one ("-" in the text).
    assert shown_url(result) is None
    assert result["description_placeholders"]["callback_url"] == ""
    user_input = {
        "transliterate": False,
        "balance_interval": 60,
        "low_balance_threshold": 0,
        "callbacks": True,
    }
    # Callbacks cannot be turned on: nothing could call back.
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"callbacks": "no_callback_url"}
    assert entry.runtime_data.tracker.callbacks is False

    # Switched back off, the error is gone and the options are saved.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, "callbacks": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert not result.get("errors")
    assert entry.options == {
        **user_input,
        "callbacks": False,
        "give_up_after": 60,
        "max_copies": 3,
        **GUARD_OPTIONS,
    }


async def test_options_show_the_home_assistant_cloud_url(
    hass: HomeAssistant, emulators: Any
) -> None:
    _, entry = await smsc_account(hass, emulators)

    with patch(
        "homeassistant.helpers.network._get_cloud_url",
        return_value="https://abcdef.ui.nabu.casa",
    ):
        result = await hass.config_entries.options.async_init(entry.entry_id)

    assert shown_url(result).startswith(
        f"https://abcdef.ui.nabu.casa/api/webhook/{entry.data[CONF_WEBHOOK_ID]}?fmt=3&"
    )


def shown_url(result: Any) -> str | None:
    """The URL the options form shows to be pasted into SMSC's settings, if any."""
    for key in result["data_schema"].schema:
        if str(key) == "callback_url":
            assert key.description["suggested_value"]
            return str(key.description["suggested_value"])
    return None


# -- migration, reconfiguration, unload -------------------------------------------------


async def test_migration_gives_smsc_accounts_a_webhook(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = make_entry(GatewayId.SMSC, emulator)
    assert (entry.version, entry.minor_version) == (1, 1)
    before = dict(entry.data)
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, 2)
    assert {k: v for k, v in entry.data.items() if k not in before} == {
        CONF_WEBHOOK_ID: entry.data[CONF_WEBHOOK_ID],
        CONF_WEBHOOK_SECRET: entry.data[CONF_WEBHOOK_SECRET],
    }
    assert {k: entry.data[k] for k in before} == before
    assert re.fullmatch(r"[0-9a-f]{64}", entry.data[CONF_WEBHOOK_ID])
    # SMSC.ru takes Latin letters, digits, '-' and '_' in the secret.
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", entry.data[CONF_WEBHOOK_SECRET])


@pytest.mark.parametrize("provider", [GatewayId.SMSTELE, GatewayId.STREAM, GatewayId.DEVINO])
async def test_migration_leaves_other_gateways_alone(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = make_entry(provider, emulator)
    before = dict(entry.data)
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, 2)
    assert dict(entry.data) == before
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "callbacks" not in [str(key) for key in result["data_schema"].schema]


async def test_migration_keeps_an_existing_webhook(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    webhook = {CONF_WEBHOOK_ID: "a" * 64, CONF_WEBHOOK_SECRET: "Our_secret-1"}
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="smsc (alerts)",
        unique_id="smsc:alerts",
        data={**gateway_data(GatewayId.SMSC, emulator), **webhook},
        minor_version=1,
    )
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.minor_version == 2
    assert {k: entry.data[k] for k in webhook} == webhook


async def test_an_entry_of_a_later_minor_version_is_loaded_as_it_is(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    """A downgrade within version 1: a later minor version only added to the data."""
    emulator = await emulators(GatewayId.SMSC)
    data = {**gateway_data(GatewayId.SMSC, emulator), **new_webhook_data(), "later": True}
    entry = MockConfigEntry(domain=DOMAIN, data=data, version=1, minor_version=3)
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.minor_version, dict(entry.data)) == (3, data)
    payload = signed(incoming_payload(), data[CONF_WEBHOOK_SECRET])
    assert await post(hass_client_no_auth, entry, payload) == (200, "OK")


async def test_an_entry_of_a_later_version_is_not_loaded(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = MockConfigEntry(
        domain=DOMAIN, data=gateway_data(GatewayId.SMSC, emulator), version=2, minor_version=1
    )
    entry.add_to_hass(hass)

    assert not await hass.config_entries.async_setup(entry.entry_id)

    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert entry.version == 2


async def test_new_smsc_accounts_get_a_webhook(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "user", "show_advanced_options": True}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"provider": "smsc"})
    credentials = ACCOUNTS[GatewayId.SMSC].credentials
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "username": credentials.login,
            "password": credentials.password,
            "url": emulator.base_url,
        },
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.minor_version == 2
    assert re.fullmatch(r"[0-9a-f]{64}", entry.data[CONF_WEBHOOK_ID])
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", entry.data[CONF_WEBHOOK_SECRET])


async def test_reconfigure_keeps_the_webhook(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    emulator, entry = await smsc_account(hass, emulators)
    webhook = {k: entry.data[k] for k in (CONF_WEBHOOK_ID, CONF_WEBHOOK_SECRET)}
    emulator.password = "new-pass-2024"
    credentials = ACCOUNTS[GatewayId.SMSC].credentials

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"username": credentials.login, "password": "new-pass-2024", "url": emulator.base_url},
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["password"] == "new-pass-2024"
    assert {k: entry.data[k] for k in webhook} == webhook
    assert entry.state is ConfigEntryState.LOADED
    payload = signed(incoming_payload(), webhook[CONF_WEBHOOK_SECRET])
    assert await post(hass_client_no_auth, entry, payload) == (200, "OK")


async def test_the_webhook_lives_as_long_as_the_account(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    _, entry = await smsc_account(hass, emulators)
    payload = signed(incoming_payload(), entry.data[CONF_WEBHOOK_SECRET])
    events = async_capture_events(hass, INCOMING_EVENT)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    # Home Assistant answers 200 with nothing for a webhook nobody listens on (so as not
    # to tell which exist): SMSC.ru does not try again.
    assert await post(hass_client_no_auth, entry, payload) == (200, "")
    assert events == []

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await post(hass_client_no_auth, entry, payload) == (200, "OK")
    assert len(events) == 1

    # A reload registers it again without complaint (and remembers what it took).
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert await post(hass_client_no_auth, entry, payload) == (200, "OK")
    another = signed(incoming_payload(id="5502", mes="Again"), entry.data[CONF_WEBHOOK_SECRET])
    assert await post(hass_client_no_auth, entry, another) == (200, "OK")
    assert [e.data["message_id"] for e in events] == ["5501", "5502"]


async def test_each_account_answers_on_its_own_webhook(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    other = await setup_account(hass, GatewayId.STREAM, await emulators(GatewayId.STREAM))
    _, entry = await smsc_account(hass, emulators)
    events = async_capture_events(hass, INCOMING_EVENT)

    payload = signed(incoming_payload(), entry.data[CONF_WEBHOOK_SECRET])
    assert await post(hass_client_no_auth, entry, payload) == (200, "OK")

    assert CONF_WEBHOOK_ID not in other.data
    assert [e.data["config_entry_id"] for e in events] == [entry.entry_id]


async def test_new_webhook_data_differs_each_time() -> None:
    first, second = new_webhook_data(), new_webhook_data()

    assert first.keys() == second.keys() == {CONF_WEBHOOK_ID, CONF_WEBHOOK_SECRET}
    assert first[CONF_WEBHOOK_ID] != second[CONF_WEBHOOK_ID]
    assert first[CONF_WEBHOOK_SECRET] != second[CONF_WEBHOOK_SECRET]


# -- the callback helpers of the SMSC.ru client -----------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"mes": "", "phone": IVAN}, "incoming"),
        ({"mes": "Да", "type": 4, "status": 1}, "incoming"),
        ({"waitcall": "1", "phone": IVAN, "ts": TS}, "call"),
        ({"id": 1, "phone": IVAN, "status": 1}, "status"),
        ({"type": 0, "flag": 0}, "status"),
        ({"type": 1, "flag": 1}, "status"),  # flash
        ({"type": "x", "flag": "?"}, "status"),
        ({"flag": 16}, "status"),  # bit 4 alone: type 0
        ({"flag": 32 + 256 + 512}, "status"),  # second balance, template: still an SMS
        ({"type": 4}, "lookup"),
        ({"type": "4"}, "lookup"),
        ({"flag": 4}, "lookup"),
        ({"flag": "36"}, "lookup"),  # HLR paid from the second balance
        ({"flag": 4 + 256 + 1024}, "lookup"),
        ({"flag": 20}, "lookup"),  # bits 0-3 say 4
        ({"imsi": "250011234567890"}, "lookup"),
        ({}, "status"),
    ],
)
def test_callback_kind(data: dict[str, Any], kind: str) -> None:
    assert callback_kind(data) == kind


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"id": 1001, "phone": 79161234567, "status": 1}, "1001:79161234567:1:s"),
        ({"id": "1001", "phone": "+79161234567", "status": "-1"}, "1001:+79161234567:-1:s"),
        ({"phone": IVAN}, f":{IVAN}::s"),
        ({"id": None, "phone": IVAN, "status": 0}, f":{IVAN}:0:s"),
        ({"phone": IVAN, "mes": "Привет: да", "to": None}, f"{IVAN}:Привет: да::s"),
        ({"waitcall": 1, "phone": IVAN, "ts": TS}, f"{IVAN}:{TS}:s"),
        ({"type": 4, "id": 7, "phone": IVAN, "status": 1}, f"7:{IVAN}:1:s"),
    ],
)
def test_callback_signed_text(data: dict[str, Any], text: str) -> None:
    assert callback_signed_text(data, "s") == text


def test_callback_signature_forms() -> None:
    data = {"id": 1001, "phone": IVAN, "status": 1}
    text = f"1001:{IVAN}:1:secret".encode()
    crc = zlib.crc32(text)
    md5 = hashlib.md5(text).hexdigest()  # noqa: S324 - SMSC.ru's choice

    assert callback_signature_ok({**data, "md5": md5}, "secret")
    assert callback_signature_ok({**data, "md5": f" {md5.upper()} "}, "secret")
    sha1 = hashlib.sha1(text).hexdigest()  # noqa: S324
    assert callback_signature_ok({**data, "sha1": sha1}, "secret", "sha1")
    for form in (
        str(crc),
        f"{crc:x}",
        f"{crc:08x}",
        str(crc - (1 << 32) if crc >= 1 << 31 else crc),
    ):
        assert callback_signature_ok({**data, "crc32": form}, "secret", "crc32"), form
    assert callback_signature_ok({**data, "crc32": crc}, "secret", "crc32")  # a JSON number
    assert not callback_signature_ok({**data, "md5": md5}, "other")
    assert not callback_signature_ok({**data, "md5": md5, "status": 2}, "secret")
    assert not callback_signature_ok({**data, "crc32": str(crc + 1)}, "secret", "crc32")
    assert not callback_signature_ok({**data, "md5": "ï" * 32}, "secret")
    assert not callback_signature_ok(data, "secret")


def test_a_negative_crc32_as_php_on_32_bits_gives_it() -> None:
    """Find a text whose crc32 has the top bit set: PHP on 32 bits shows it negative."""
    for n in range(1000):
        data = {"id": n, "phone": IVAN, "status": 1}
        crc = zlib.crc32(f"{n}:{IVAN}:1:secret".encode())
        if crc >= 1 << 31:
            break
    assert callback_signature_ok({**data, "crc32": str(crc - (1 << 32))}, "secret", "crc32")


def test_parse_callback_status() -> None:
    status = parse_callback_status(
        {
            "id": 1001,
            "phone": "+7 (916) 123-45-67",
            "status": 20,
            "err": 1,
            "ts": str(TS),
            "time": "21.05.26 15:00:05",
            "cost": "1.90",
        }
    )

    assert status.message_id == "1001"
    assert status.phone == IVAN
    assert status.state is DeliveryState.FAILED
    assert (status.raw_code, status.raw_text, status.error_code) == ("20", "Undeliverable", "1")
    assert status.updated_at == datetime.fromtimestamp(TS, UTC)
    assert status.cost == Decimal("1.90")


@pytest.mark.parametrize(
    ("data", "state", "raw_code", "error_code"),
    [
        ({"status": "1", "err": "0"}, DeliveryState.DELIVERED, "1", None),
        ({"status": 0}, DeliveryState.SENT, "0", None),
        ({"status": -1}, DeliveryState.QUEUED, "-1", None),
        ({"status": 99}, DeliveryState.UNKNOWN, "99", None),
        ({"status": "?"}, DeliveryState.UNKNOWN, "?", None),
        ({}, DeliveryState.UNKNOWN, None, None),
        ({"status": 22, "err": 255}, DeliveryState.FAILED, "22", "255"),
    ],
)
def test_parse_callback_status_fields(
    data: dict[str, Any], state: DeliveryState, raw_code: str | None, error_code: str | None
) -> None:
    status = parse_callback_status(data)

    assert (status.state, status.raw_code, status.error_code) == (state, raw_code, error_code)
    assert (status.message_id, status.phone) == ("", "")


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"ts": "not a time"},
        {"ts": 0},
        {"ts": -5},
        {"ts": 10**20},
        # `time` is in the account's time zone, which we do not know: not read.
        {"time": "21.05.26 15:00:05"},
        # Fields of the status.php answer are not taken from a callback.
        {"last_timestamp": TS, "last_date": "21.05.2026 12:00:05"},
    ],
)
def test_parse_callback_status_time(extra: dict[str, Any]) -> None:
    status = parse_callback_status({"id": None, "phone": None, "status": 1, **extra})

    assert status.updated_at is None
    assert (status.message_id, status.phone) == ("", "")


def test_parse_callback_lookup() -> None:
    result = parse_callback_lookup(
        {**hlr_payload("77", phone="+79161234567"), "rcn": "Турция", "rnet": "Turkcell"}
    )

    assert result == LookupResult(
        phone=IVAN,
        state=LookupState.REACHABLE,
        request_id="77",
        operator="МТС",
        country="Россия",
        mcc="250",
        mnc="1",
        imsi="250011234567890",
        msc="79168999999",
        roaming_country="Турция",
        roaming_operator="Turkcell",
        raw_code="1",
    )


@pytest.mark.parametrize(
    ("data", "state", "error_code"),
    [
        ({"status": "20", "err": "1"}, LookupState.UNREACHABLE, "1"),
        ({"status": 0}, LookupState.PENDING, None),
        ({"status": 99}, LookupState.FAILED, None),
        ({}, LookupState.PENDING, None),
    ],
)
def test_parse_callback_lookup_fields(
    data: dict[str, Any], state: LookupState, error_code: str | None
) -> None:
    result = parse_callback_lookup({"type": 4, **data})

    assert (result.state, result.error_code) == (state, error_code)
    assert (result.phone, result.request_id, result.operator) == ("", "", None)


@pytest.mark.parametrize(
    ("stamps", "received_at"),
    [
        ({"time": TS, "sent": TS - 2}, datetime.fromtimestamp(TS, UTC)),
        ({"time": str(TS)}, datetime.fromtimestamp(TS, UTC)),
        ({"sent": TS - 2}, datetime.fromtimestamp(TS - 2, UTC)),
        ({"time": "", "sent": "x"}, None),
        ({"time": 10**20}, None),
        ({}, None),
    ],
)
def test_parse_callback_incoming(stamps: dict[str, Any], received_at: datetime | None) -> None:
    message = parse_callback_incoming(
        {"id": 5501, "phone": 79161234567, "mes": " Да, приеду ", "to": OUR_NUMBER, **stamps}
    )

    assert message.message_id == "5501"
    assert message.phone == IVAN
    assert message.text == " Да, приеду "  # as written, spaces and all
    assert message.to == OUR_NUMBER
    assert message.received_at == received_at


def test_parse_callback_incoming_without_fields() -> None:
    message = parse_callback_incoming({"mes": None, "to": "", "id": None, "phone": None})

    assert (message.message_id, message.phone, message.text, message.to) == ("", "", "", None)


# -- LookupWaiters ----------------------------------------------------------------------


def pending(phone: str = IVAN, request_id: str = "1001") -> LookupResult:
    return LookupResult(phone=phone, state=LookupState.PENDING, request_id=request_id)


def answered(phone: str = IVAN, request_id: str = "1001") -> LookupResult:
    return LookupResult(
        phone=phone, state=LookupState.REACHABLE, request_id=request_id, operator="МТС"
    )


async def test_waiters_take_an_answer_that_came_first() -> None:
    waiters = LookupWaiters()
    waiters.async_set(answered())

    assert await waiters.async_wait([pending()], 0) == [answered()]
    # Taken once: a second wait finds nothing.
    assert await waiters.async_wait([pending()], 0) == [pending()]


async def test_waiters_wait_for_answers() -> None:
    waiters = LookupWaiters()
    final = LookupResult(phone=PETR, state=LookupState.FAILED, request_id="1001")
    task = asyncio.ensure_future(waiters.async_wait([pending(), final, pending(PETR, "9")], 5))
    await until(lambda: waiters.waiting == 2)

    waiters.async_set(pending())  # still pending: nothing new
    waiters.async_set(answered(PETR, "other id"))
    await asyncio.sleep(0)
    assert not task.done()
    waiters.async_set(answered())
    waiters.async_set(answered(PETR, "9"))
    async with asyncio.timeout(5):
        results = await task

    assert results == [answered(), final, answered(PETR, "9")]
    assert waiters.waiting == 0


async def test_waiters_give_up_after_the_wait() -> None:
    waiters = LookupWaiters()

    results = await waiters.async_wait([pending(), pending(PETR)], 0.01)

    assert results == [pending(), pending(PETR)]
    assert waiters.waiting == 0
    # A late answer is kept for a while, not given to anyone.
    waiters.async_set(answered())
    assert waiters.waiting == 0


async def test_waiters_without_anything_pending_return_at_once() -> None:
    waiters = LookupWaiters()
    final = [answered(), answered(PETR)]

    async with asyncio.timeout(1):
        assert await waiters.async_wait(final, 3600) == final


async def test_waiters_share_an_answer_between_repeats() -> None:
    waiters = LookupWaiters()
    task = asyncio.ensure_future(waiters.async_wait([pending(), pending()], 5))
    await until(lambda: waiters.waiting == 1)

    waiters.async_set(answered())

    async with asyncio.timeout(5):
        assert await task == [answered(), answered()]


async def test_waiters_of_a_cancelled_lookup_are_dropped() -> None:
    waiters = LookupWaiters()
    task = asyncio.ensure_future(waiters.async_wait([pending()], 5))
    await until(lambda: waiters.waiting == 1)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert waiters.waiting == 0
    waiters.async_set(answered())  # nobody waits: kept, no error
    assert await waiters.async_wait([pending()], 0) == [answered()]


async def test_waiters_keep_only_recent_answers() -> None:
    waiters = LookupWaiters()
    for n in range(KEPT_ANSWERS + 1):
        waiters.async_set(answered(request_id=str(n)))
    # An answer repeated moves to the newest.
    waiters.async_set(answered(request_id="1"))
    waiters.async_set(answered(request_id="extra"))

    oldest, repeated, second_oldest = await waiters.async_wait(
        [pending(request_id="0"), pending(request_id="1"), pending(request_id="2")], 0
    )

    assert oldest == pending(request_id="0")
    assert repeated == answered(request_id="1")
    assert second_oldest == pending(request_id="2")
    assert await waiters.async_wait([pending(request_id="3")], 0) == [answered(request_id="3")]


async def test_a_repeated_incoming_sms_fires_once(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    """SMSC posts again what it did not see answered: the same SMS is one event."""
    _, entry = await smsc_account(hass, emulators)
    events = async_capture_events(hass, "ru_sms_incoming_sms")
    secret = entry.data[CONF_WEBHOOK_SECRET]

    for _ in range(2):
        assert await post(hass_client_no_auth, entry, signed(incoming_payload(), secret)) == (
            200,
            "OK",
        )
    another = signed(incoming_payload(id="5502", mes="Another text"), secret)
    assert await post(hass_client_no_auth, entry, another) == (200, "OK")
    await hass.async_block_till_done()

    assert [e.data["message_id"] for e in events] == ["5501", "5502"]
