"""SMSC.ru callbacks an attacker can make from one observed callback are refused (issue 8).

Replays with a new (unsigned) id, signatures by an algorithm the URL did not ask for, a
signature of one kind presented as another, and bodies too big or undecodable: none is
taken, none fires an event, none logs a traceback.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.ru_sms import incoming as incoming_module
from custom_components.ru_sms.const import CONF_WEBHOOK_SECRET
from custom_components.ru_sms.providers.smsc import callback_fields_ok
from tests.conftest import IVAN
from tests.integration.test_webhook import (
    INCOMING_EVENT,
    OUR_NUMBER,
    STATUS_EVENT,
    checksum,
    incoming_payload,
    post,
    send_to_ivan,
    signed,
    smsc_account,
    status_payload,
    webhook_path,
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


def events_of(hass: HomeAssistant) -> list[Any]:
    return async_capture_events(hass, STATUS_EVENT) + async_capture_events(hass, INCOMING_EVENT)


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_replayed_incoming_sms_with_new_ids_fires_once(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, entry = await smsc_account(hass, emulators)
    events = async_capture_events(hass, INCOMING_EVENT)
    captured = signed(incoming_payload(), entry.data[CONF_WEBHOOK_SECRET])

    assert await post(hass_client_no_auth, entry, captured) == (200, "OK")
    accepted = 0
    for n in range(60):
        # Only the unsigned fields change: the id, the times, the replied-to id.
        replay = {**captured, "id": str(9000 + n), "time": 1 + n, "sent": n, "sms_id": str(n)}
        assert await post(hass_client_no_auth, entry, replay, "form" if n % 2 else "json") == (
            200,
            "OK",
        )
    await hass.async_block_till_done()
    accepted = len(events) - 1

    assert accepted == 0  # 0 of 60 replays fired
    no_traceback(caplog)


async def test_the_same_sms_after_the_window_fires_again(
    hass: HomeAssistant,
    emulators: Any,
    hass_client_no_auth: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The de-duplication forgets after its window (a person may text the same twice)."""
    _, entry = await smsc_account(hass, emulators)
    events = async_capture_events(hass, INCOMING_EVENT)
    payload = signed(incoming_payload(), entry.data[CONF_WEBHOOK_SECRET])
    now = [1000.0]
    entry.runtime_data.inbox.clock = lambda: now[0]

    await post(hass_client_no_auth, entry, payload)
    now[0] += incoming_module.PUSH_REPEAT_WINDOW - 1
    await post(hass_client_no_auth, entry, payload)
    now[0] += 2
    # The same text again, later: SMSC.ru gives it an id of its own.
    again = signed(incoming_payload(id="5502"), entry.data[CONF_WEBHOOK_SECRET])
    await post(hass_client_no_auth, entry, again)
    await hass.async_block_till_done()

    assert len(events) == 2


@pytest.mark.parametrize("algorithm", ["crc32", "sha1"])
@pytest.mark.parametrize("kind", ["incoming", "status"])
async def test_only_the_algorithm_of_the_url_is_taken(
    hass: HomeAssistant,
    emulators: Any,
    hass_client_no_auth: Any,
    algorithm: str,
    kind: str,
) -> None:
    """The URL shown asks for md5: a right crc32 (easy to forge) or sha1 is refused."""
    _, entry = await smsc_account(hass, emulators)
    message = await send_to_ivan(hass, entry)
    events = events_of(hass)
    secret = entry.data[CONF_WEBHOOK_SECRET]

    refused = 0
    for n in range(20):
        payload = (
            incoming_payload(mes=f"Тревога {n:02d}")
            if kind == "incoming"
            else status_payload(message.message_id, status=1)
        )
        forged = signed(payload, secret, algorithm)
        status, _ = await post(hass_client_no_auth, entry, forged)
        # Next to a wrong md5 too: the md5 is the one that counts.
        both = {**forged, "md5": "0" * 32}
        status_both, _ = await post(hass_client_no_auth, entry, both)
        refused += (status == 404) + (status_both == 404)
    await hass.async_block_till_done()

    assert refused == 40
    assert events == []


def as_incoming(status: dict[str, Any]) -> dict[str, Any]:
    """A status's signed `id:phone:status` read as an SMS's `phone:mes:to`."""
    return {"id": "1", "phone": status["id"], "mes": str(status["phone"]), "to": status["status"]}


def as_status(incoming: dict[str, Any]) -> dict[str, Any]:
    """An SMS's signed `phone:mes:to` read as a status's `id:phone:status`."""
    return {"id": incoming["phone"], "phone": incoming["mes"], "status": incoming["to"]}


def as_call(payload: dict[str, Any]) -> dict[str, Any]:
    """Three signed fields squeezed into a call's `phone:ts`."""
    if "mes" in payload:
        first, rest = payload["phone"], f"{payload['mes']}:{payload['to']}"
    else:
        first, rest = payload["id"], f"{payload['phone']}:{payload['status']}"
    return {"waitcall": "1", "phone": first, "ts": rest}


async def test_a_signature_of_one_kind_is_not_taken_as_another(
    hass: HomeAssistant,
    emulators: Any,
    hass_client_no_auth: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, entry = await smsc_account(hass, emulators)
    events = events_of(hass)
    secret = entry.data[CONF_WEBHOOK_SECRET]
    forged: list[dict[str, Any]] = []
    for n in range(10):
        status = signed(status_payload(str(79160000000 + n), status=n % 5), secret)
        forged.append({**as_incoming(status), "md5": status["md5"]})
        forged.append({**as_call(status), "md5": status["md5"]})
        # An SMS whose text is a number, signed by SMSC.ru, read as a status.
        incoming = signed(incoming_payload(mes=str(n), to=OUR_NUMBER), secret)
        forged.append({**as_status(incoming), "md5": incoming["md5"]})
        forged.append({**as_call(incoming), "md5": incoming["md5"]})

    answers = [await post(hass_client_no_auth, entry, payload) for payload in forged]
    await hass.async_block_till_done()

    assert len(forged) == 40
    assert [a for a in answers if a[0] != 404] == []  # 0 of 40 cross-kind forgeries taken
    assert events == []
    no_traceback(caplog)


def test_callback_field_shapes() -> None:
    assert callback_fields_ok({"id": 1001, "phone": IVAN, "status": -1})
    assert callback_fields_ok({"phone": IVAN, "mes": "Да: 1", "to": OUR_NUMBER})
    assert callback_fields_ok({"waitcall": "1", "phone": IVAN, "ts": 1779354005})
    assert not callback_fields_ok({"id": 1001, "phone": IVAN, "status": OUR_NUMBER})
    assert not callback_fields_ok({"phone": IVAN, "mes": "x", "to": "1"})
    assert not callback_fields_ok({"phone": f"1:{IVAN}", "ts": 1})
    assert not callback_fields_ok({"id": True, "phone": IVAN, "status": 1})
    assert not callback_fields_ok({"id": [1], "phone": IVAN, "status": 1})


BAD_BODIES: list[tuple[str, bytes, int]] = [
    ("over 64 KiB", b'{"mes": "' + b"a" * (64 * 1024) + b'"}', 413),
    ("17 MB", b"x" * (17 * 1024 * 1024), 413),
    (
        "lone surrogate in JSON",
        b'{"phone": "79161234567", "mes": "\\ud800", "to": "1", "md5": "0"}',
        400,
    ),
    ("lone surrogate as a key", b'{"\\udfff": 1}', 400),
    ("not UTF-8", b'{"mes": "\xff\xfe"}', 400),
    ("deep JSON", b"[" * 20000 + b"]" * 20000, 404),
    ("deep JSON object", b'{"a":' * 5000 + b"1" + b"}" * 5000, 404),
    ("bad escape in a form", b"phone=79161234567&mes=%ff%fe&to=1&md5=0", 400),
    ("too many fields", b"&".join(b"f%d=1" % n for n in range(1000)), 400),
]


@pytest.mark.parametrize(
    ("body", "status"), [(b, s) for _, b, s in BAD_BODIES], ids=[n for n, _, _ in BAD_BODIES]
)
async def test_bodies_too_big_or_undecodable_are_refused_quietly(
    hass: HomeAssistant,
    *,
    emulators: Any,
    hass_client_no_auth: Any,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    status: int,
) -> None:
    _, entry = await smsc_account(hass, emulators)
    events = events_of(hass)
    client = await hass_client_no_auth()

    response = await client.post(
        webhook_path(entry), data=body, headers={"Content-Type": "application/json"}
    )
    await hass.async_block_till_done()

    assert response.status == status
    assert events == []
    no_traceback(caplog)


async def test_a_signed_callback_is_still_taken_after_refusals(
    hass: HomeAssistant, emulators: Any, hass_client_no_auth: Any
) -> None:
    _, entry = await smsc_account(hass, emulators)
    events = async_capture_events(hass, INCOMING_EVENT)
    client = await hass_client_no_auth()
    await client.post(webhook_path(entry), data=b"x" * (65 * 1024))
    payload = signed(incoming_payload(), entry.data[CONF_WEBHOOK_SECRET])
    assert await post(hass_client_no_auth, entry, payload) == (200, "OK")
    assert checksum("a", "md5") == json.loads(json.dumps(checksum("a", "md5")))
    assert len(events) == 1
