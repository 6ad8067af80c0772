"""Escalation and acknowledgement, against the emulated gateways on a hand-moved clock.

An alert not delivered (or not acknowledged) within its window runs the next step of its
ladder once: another recipient of the integration is texted, the fallback account sends it
again, or any notify entity is called. A delivery, a reply from a texted number (with the
alert's code, where it carries one) or `ru_sms.acknowledge` stops it. Steps resume after a
reload or a restart at the right one, and never run twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.ru_sms.const import CONF_FALLBACK, CONF_WEBHOOK_SECRET, DOMAIN
from custom_components.ru_sms.diagnostics import async_get_config_entry_diagnostics
from custom_components.ru_sms.escalation import EscalationState
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.signals import EVENT_ACKNOWLEDGED, EVENT_ESCALATION
from custom_components.ru_sms.storage import StoreKind, store_key
from tests.conftest import IVAN, make_entry, setup_account
from tests.emulators.catalog import ACCOUNTS
from tests.integration.conftest import PhoneNotify
from tests.integration.test_incoming import receive
from tests.integration.test_tracker import never_delivered, stick, tick
from tests.integration.test_webhook import incoming_payload, post, signed, status_payload

MARIA = "79169876543"
"""The number of the second recipient: the one an escalation texts."""
RECIPIENTS = {"Ivan": [IVAN], "Maria": [MARIA]}
REPLIES = {"incoming_interval": 1}
"""Incoming SMS asked for every minute: replies are heard."""
WINDOW = "00:02:00"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


def texted(emulator: Any) -> list[str]:
    """The numbers the (Stream/Devino) emulator took a message for, in order."""
    return [segment.phone for segment in emulator.segments.values()]


async def send(hass: HomeAssistant, entry: Any, escalate: dict[str, Any], **fields: Any) -> Any:
    data: dict[str, Any] = {
        "config_entry_id": entry.entry_id,
        "message": fields.pop("message", "Котёл: авария"),
        "entity_id": "notify.ivan",
        "escalate": escalate,
        **fields,
    }
    response = await hass.services.async_call(
        DOMAIN, "send_message", data, blocking=True, return_response=True
    )
    await hass.async_block_till_done()
    return response


def ivan_state(hass: HomeAssistant) -> Any:
    state = hass.states.get("sensor.ivan_last_message")
    assert state is not None
    return state


async def stream_account(hass: HomeAssistant, emulator: Any, **options: Any) -> Any:
    return await setup_account(
        hass, GatewayId.STREAM, emulator, recipients=RECIPIENTS, options=options
    )


async def test_not_delivered_escalates_once_per_step_in_order(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    phone: PhoneNotify,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    stick(monkeypatch, emulator, -1)  # sent, never delivered
    entry = await stream_account(hass, emulator)
    events = async_capture_events(hass, EVENT_ESCALATION)
    response = await send(
        hass,
        entry,
        {"not_delivered_within": WINDOW, "steps": ["notify.maria", "notify.phone"]},
    )
    alert_id = response["alert_id"]
    assert response["escalation"] == {"state": "awaiting_delivery", "code": None}
    assert texted(emulator) == [IVAN]

    await tick(hass, freezer, 115)
    assert events == []
    await tick(hass, freezer, 10)
    assert [(e.data["step"], e.data["target"], e.data["reason"]) for e in events] == [
        (1, "notify.maria", "not_delivered")
    ]
    assert events[0].data["alert_id"] == alert_id
    assert events[0].data["error"] is None
    assert texted(emulator) == [IVAN, MARIA]
    assert phone.sent == []
    assert ivan_state(hass).state == "escalated"
    assert ivan_state(hass).attributes["escalated_to"] == ["notify.maria"]
    # Maria, texted by the step, shows the delivery of her own text.
    maria = hass.states.get("sensor.maria_last_message")
    assert maria is not None
    assert maria.state == "queued"  # at the gateway, not yet polled
    assert "escalation" not in maria.attributes

    await tick(hass, freezer, 120)
    assert [e.data["target"] for e in events] == ["notify.maria", "notify.phone"]
    assert phone.sent == ["Котёл: авария"]
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["escalations"] | {"next_due": None} == {
        "active": 1,
        "states": {"escalated": 1},
        "steps_run": 2,
        "listening": True,
        "next_due": None,
    }
    dump = json.dumps(diagnostics["escalations"], ensure_ascii=False)
    assert IVAN not in dump
    assert MARIA not in dump
    assert "Котёл" not in dump

    await tick(hass, freezer, 600)
    assert len(events) == 2  # each step once; the ladder never goes back
    assert texted(emulator) == [IVAN, MARIA]
    record = entry.runtime_data.escalations.of_alert(alert_id)
    assert record.state is EscalationState.ESCALATED
    assert not record.active
    (event_entity,) = hass.states.async_all("event")
    assert event_entity.attributes["event_type"] == "escalated"


async def test_delivered_in_time_never_escalates(
    hass: HomeAssistant, emulators: Any, freezer: Any, phone: PhoneNotify
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await stream_account(hass, emulator)
    events = async_capture_events(hass, EVENT_ESCALATION)
    response = await send(
        hass, entry, {"not_delivered_within": WINDOW, "steps": ["notify.maria", "notify.phone"]}
    )
    await tick(hass, freezer, 900)
    assert events == []
    assert texted(emulator) == [IVAN]
    assert phone.sent == []
    record = entry.runtime_data.escalations.of_alert(response["alert_id"])
    assert record.state is EscalationState.DELIVERED
    assert ivan_state(hass).state == "delivered"
    # Nothing active: nothing listens on the bus any more.
    assert not entry.runtime_data.escalations._unsub_bus


async def test_delivery_of_a_step_stops_the_ladder(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    phone: PhoneNotify,
) -> None:
    """Maria's SMS, sent by step 1, is delivered: the alert reached a person."""
    emulator = await emulators(GatewayId.STREAM)
    stuck = emulator.state_code
    monkeypatch.setattr(
        emulator,
        "state_code",
        lambda segment: (-1, segment.starts + 5) if segment.phone == IVAN else stuck(segment),
    )
    entry = await stream_account(hass, emulator)
    events = async_capture_events(hass, EVENT_ESCALATION)
    response = await send(
        hass, entry, {"not_delivered_within": WINDOW, "steps": ["notify.maria", "notify.phone"]}
    )
    await tick(hass, freezer, 900)
    assert [e.data["target"] for e in events] == ["notify.maria"]
    assert phone.sent == []
    record = entry.runtime_data.escalations.of_alert(response["alert_id"])
    assert record.state is EscalationState.DELIVERED


@pytest.mark.parametrize("how", ["reload", "restart"])
async def test_resumes_at_the_right_step_and_never_twice(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    *,
    phone: PhoneNotify,
    hass_storage: dict[str, Any],
    how: str,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    stick(monkeypatch, emulator, -1)
    entry = await stream_account(hass, emulator)
    events = async_capture_events(hass, EVENT_ESCALATION)
    response = await send(
        hass, entry, {"not_delivered_within": WINDOW, "steps": ["notify.maria", "notify.phone"]}
    )
    await tick(hass, freezer, 125)
    assert [e.data["step"] for e in events] == [1]

    if how == "reload":
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
    else:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        stored = hass_storage[store_key(StoreKind.ESCALATIONS, entry.entry_id)]["data"]
        (kept,) = stored["escalations"]
        assert (kept["id"], kept["next_step"]) == (response["alert_id"], 1)
        freezer.tick(timedelta(minutes=5))  # down past step 2's time
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    await tick(hass, freezer, 130)
    assert [e.data["step"] for e in events] == [1, 2]
    await tick(hass, freezer, 600)
    assert [e.data["step"] for e in events] == [1, 2]
    assert texted(emulator) == [IVAN, MARIA]
    assert phone.sent == ["Котёл: авария"]


async def test_a_step_counted_before_it_runs_is_never_run_again(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    hass_storage: dict[str, Any],
) -> None:
    """Home Assistant was killed while step 1 ran: after the restart, step 2 is next."""
    emulator = await emulators(GatewayId.STREAM)
    stick(monkeypatch, emulator, -1)
    entry = await stream_account(hass, emulator)
    events = async_capture_events(hass, EVENT_ESCALATION)
    response = await send(hass, entry, {"not_delivered_within": WINDOW, "steps": ["notify.maria"]})
    assert await hass.config_entries.async_unload(entry.entry_id)
    key = store_key(StoreKind.ESCALATIONS, entry.entry_id)
    (kept,) = hass_storage[key]["data"]["escalations"]
    # As written just before the step's send: counted, not yet run.
    kept |= {"next_step": 1, "state": "escalated", "escalated_to": ["notify.maria"]}
    kept["last_step_at"] = kept["started_at"]
    freezer.tick(timedelta(minutes=10))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await tick(hass, freezer, 600)
    assert events == []
    assert texted(emulator) == [IVAN]
    record = entry.runtime_data.escalations.of_alert(response["alert_id"])
    assert (record.next_step, record.active) == (1, False)


async def test_the_fallback_account_sends_it_again(
    hass: HomeAssistant, emulators: Any, freezer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    other = await emulators(GatewayId.DEVINO)
    stick(monkeypatch, emulator, -1)
    spare = await setup_account(hass, GatewayId.DEVINO, other, recipients={})
    entry = await stream_account(hass, emulator, **{CONF_FALLBACK: spare.entry_id})
    events = async_capture_events(hass, EVENT_ESCALATION)
    response = await send(hass, entry, {"not_delivered_within": WINDOW, "steps": ["fallback"]})
    await tick(hass, freezer, 125)
    assert [(e.data["target"], e.data["error"]) for e in events] == [("fallback", None)]
    assert texted(other) == [IVAN]
    # Delivered through the fallback (Devino delivers): the escalation ends delivered.
    await tick(hass, freezer, 300)
    record = entry.runtime_data.escalations.of_alert(response["alert_id"])
    assert record.state is EscalationState.DELIVERED
    assert len(record.alert_ids) == 2


async def test_a_step_that_cannot_run_says_why_and_the_ladder_goes_on(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    phone: PhoneNotify,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    stick(monkeypatch, emulator, -1)
    entry = await stream_account(hass, emulator, **{CONF_FALLBACK: "gone"})
    events = async_capture_events(hass, EVENT_ESCALATION)
    await send(hass, entry, {"not_delivered_within": WINDOW, "steps": ["fallback", "notify.phone"]})
    await tick(hass, freezer, 250)
    assert [e.data["target"] for e in events] == ["fallback", "notify.phone"]
    assert "fallback account" in events[0].data["error"]
    assert events[1].data["error"] is None
    assert phone.sent == ["Котёл: авария"]


# -- acknowledgement --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "number", "acknowledged"),
    [
        ("ok {code}", IVAN, True),
        ("ok", IVAN, False),  # without the code
        ("ok {code}", "79035550000", False),  # from a number the alert was not sent to
    ],
)
async def test_a_reply_with_the_code_acknowledges(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    phone: PhoneNotify,
    *,
    reply: str,
    number: str,
    acknowledged: bool,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await stream_account(hass, emulator, **REPLIES)
    acks = async_capture_events(hass, EVENT_ACKNOWLEDGED)
    steps = async_capture_events(hass, EVENT_ESCALATION)
    response = await send(
        hass,
        entry,
        {"not_acknowledged_within": "00:05:00", "steps": ["notify.phone"]},
        message="Котёл: авария. Ответьте {code}",
    )
    code = response["escalation"]["code"]
    assert code is not None
    assert len(code) == 4
    (sent,) = emulator.segments.values()
    assert sent.text == f"Котёл: авария. Ответьте {code}"
    await tick(hass, freezer, 60)
    assert ivan_state(hass).state == "awaiting_acknowledgement"  # delivered, not answered

    receive(emulator, reply.format(code=code), phone=number)
    await tick(hass, freezer, 120)
    if acknowledged:
        assert [(e.data["alert_id"], e.data["number"], e.data["by"]) for e in acks] == [
            (response["alert_id"], IVAN, "reply")
        ]
        assert ivan_state(hass).state == "acknowledged"
        assert ivan_state(hass).attributes["acknowledged_by"] == IVAN
    else:
        assert acks == []
    await tick(hass, freezer, 600)
    assert (steps == []) is acknowledged
    assert phone.sent == ([] if acknowledged else [sent.text])


async def test_any_reply_acknowledges_an_alert_without_a_code_but_not_a_late_one(
    hass: HomeAssistant, emulators: Any, freezer: Any
) -> None:
    emulator = await emulators(GatewayId.DEVINO)
    entry = await setup_account(
        hass, GatewayId.DEVINO, emulator, recipients=RECIPIENTS, options=REPLIES
    )
    acks = async_capture_events(hass, EVENT_ACKNOWLEDGED)
    first = await send(hass, entry, {"not_acknowledged_within": "00:02:00"})
    await tick(hass, freezer, 300)  # nobody answered: not acknowledged
    assert ivan_state(hass).state == "not_acknowledged"
    receive(emulator, "да")
    await tick(hass, freezer, 120)
    assert acks == []  # too late for the first

    second = await send(
        hass, entry, {"not_acknowledged_within": "00:05:00"}, message="Котёл: снова авария"
    )
    receive(emulator, "да, вижу")  # stamped by the gateway in the same millisecond
    await tick(hass, freezer, 120)
    assert [e.data["alert_id"] for e in acks] == [second["alert_id"]]
    assert first["alert_id"] != second["alert_id"]


async def test_acknowledge_action(hass: HomeAssistant, emulators: Any, freezer: Any) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await stream_account(hass, emulator, **REPLIES)
    acks = async_capture_events(hass, EVENT_ACKNOWLEDGED)
    response = await send(hass, entry, {"not_acknowledged_within": "00:05:00"})
    await hass.services.async_call(
        DOMAIN, "acknowledge", {"alert_id": response["alert_id"]}, blocking=True
    )
    assert [(e.data["by"], e.data["number"]) for e in acks] == [("action", None)]
    await hass.async_block_till_done()  # the sensors are written at the next turn
    assert ivan_state(hass).state == "acknowledged"
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, "acknowledge", {"alert_id": response["alert_id"]}, blocking=True
        )
    assert caught.value.translation_key == "not_awaiting_acknowledgement"


# -- what is refused --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("escalate", "key"),
    [
        ({"steps": ["notify.maria"]}, "escalate_window_required"),
        (
            {"not_delivered_within": WINDOW, "not_acknowledged_within": WINDOW},
            "escalate_window_required",
        ),
        (
            {"not_delivered_within": "00:00:30", "steps": ["notify.maria"]},
            "escalate_window_out_of_range",
        ),
        (
            {"not_delivered_within": "25:00:00", "steps": ["notify.maria"]},
            "escalate_window_out_of_range",
        ),
        ({"not_delivered_within": WINDOW}, "escalate_no_steps"),
        (
            {
                "not_delivered_within": WINDOW,
                "steps": ["notify.maria", "notify.phone", "notify.x", "notify.y"],
            },
            "escalate_too_many_steps",
        ),
        (
            {"not_delivered_within": WINDOW, "steps": ["notify.maria", "notify.maria"]},
            "escalate_step_repeated",
        ),
        ({"not_delivered_within": WINDOW, "steps": ["notify.ivan"]}, "escalate_to_same_recipient"),
        ({"not_delivered_within": WINDOW, "steps": ["light.kitchen"]}, "escalate_unknown_target"),
        ({"not_delivered_within": WINDOW, "steps": ["notify.nobody"]}, "escalate_unknown_target"),
        ({"not_delivered_within": WINDOW, "steps": ["fallback"]}, "escalate_no_fallback"),
        ({"not_acknowledged_within": WINDOW}, "acknowledgement_needs_incoming"),
    ],
)
async def test_bad_escalations_are_refused_before_anything_is_sent(
    hass: HomeAssistant,
    emulators: Any,
    phone: PhoneNotify,
    escalate: dict[str, Any],
    key: str,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await stream_account(hass, emulator)
    with pytest.raises(ServiceValidationError) as caught:
        await send(hass, entry, escalate)
    assert caught.value.translation_key == key
    assert texted(emulator) == []


async def test_acknowledgement_where_the_gateway_hears_no_sms(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSTELE)
    entry = await setup_account(hass, GatewayId.SMSTELE, emulator, recipients=RECIPIENTS)
    with pytest.raises(ServiceValidationError) as caught:
        await send(hass, entry, {"not_acknowledged_within": WINDOW})
    assert caught.value.translation_key == "acknowledgement_not_supported"
    assert caught.value.translation_placeholders == {"gateway": "SMStele (REX400)"}


async def test_a_damaged_file_is_said_and_the_rest_goes_on(
    hass: HomeAssistant, emulators: Any, hass_storage: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = make_entry(GatewayId.STREAM, emulator, recipients=RECIPIENTS)
    key = store_key(StoreKind.ESCALATIONS, entry.entry_id)
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": {"escalations": [{"id": "broken"}, "nonsense"]},
    }
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"escalations_damaged_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders["lost"] == "2"
    assert entry.runtime_data.escalations.records == {}


# -- a recipient's escalation -----------------------------------------------------------


async def recipient_form(hass: HomeAssistant, entry: Any, escalation: dict[str, Any]) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "recipient"), context={"source": "user"}
    )
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "Boris", "phones": ["+7 903 111-22-33"], "escalation": escalation},
    )


async def test_a_recipient_escalates_its_notify_entitys_alerts(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    phone: PhoneNotify,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    stick(monkeypatch, emulator, -1)
    entry = await stream_account(hass, emulator)
    result = await recipient_form(
        hass,
        entry,
        {
            "when": "not_delivered",
            "after": {"hours": 0, "minutes": 3, "seconds": 0},
            "to": ["notify.maria", "notify.phone"],
        },
    )
    assert result["type"] == "create_entry"
    assert result["data"]["escalation"] == {
        "when": "not_delivered",
        "after": 180.0,
        "fallback": False,
        "to": ["notify.maria", "notify.phone"],
    }
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_ESCALATION)

    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": "notify.boris", "message": "Протечка в ванной"},
        blocking=True,
    )
    await hass.async_block_till_done()
    await tick(hass, freezer, 175)
    assert events == []
    await tick(hass, freezer, 10)
    assert [e.data["target"] for e in events] == ["notify.maria"]
    await tick(hass, freezer, 180)
    assert [e.data["target"] for e in events] == ["notify.maria", "notify.phone"]
    assert phone.sent == ["Протечка в ванной"]
    assert texted(emulator) == ["79031112233", MARIA]
    state = hass.states.get("sensor.boris_last_message")
    assert state is not None
    assert state.state == "escalated"


async def test_a_recipient_cannot_ask_for_replies_nobody_hears(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await stream_account(hass, emulator)
    result = await recipient_form(
        hass,
        entry,
        {"when": "not_acknowledged", "after": {"hours": 0, "minutes": 5, "seconds": 0}},
    )
    assert result["type"] == "form"
    assert result["errors"] == {"base": "acknowledgement_needs_incoming"}
    assert result["description_placeholders"]["account"] == entry.title
    result = await recipient_form(
        hass,
        entry,
        {
            "when": "not_delivered",
            "after": {"hours": 0, "minutes": 0, "seconds": 20},
            "to": ["notify.maria"],
        },
    )
    assert result["errors"] == {"base": "escalate_window_out_of_range"}
    result = await recipient_form(hass, entry, {"when": "off"})
    assert result["type"] == "create_entry"
    assert "escalation" not in result["data"]


TWO_STEP_REQUESTS = {
    GatewayId.SMSC: 8,
    GatewayId.SMSTELE: 10,
    GatewayId.STREAM: 10,
    GatewayId.DEVINO: 10,
}
"""Requests in ten minutes for an alert escalated through two steps, one of them an SMS:
two sends, and the status polls the tracker makes for the two messages anyway."""


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_requests_of_an_alert_escalated_through_two_steps(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    *,
    phone: PhoneNotify,
    provider: GatewayId,
) -> None:
    """Escalating asks the gateway nothing of its own: one send per SMS step, and the polls."""
    emulator = await emulators(provider)
    never_delivered(monkeypatch, emulator, provider, "sent")
    entry = await setup_account(hass, provider, emulator, recipients=RECIPIENTS)
    emulator.reset_counts()
    events = async_capture_events(hass, EVENT_ESCALATION)
    await send(
        hass, entry, {"not_delivered_within": WINDOW, "steps": ["notify.maria", "notify.phone"]}
    )
    await tick(hass, freezer, 600)
    assert [e.data["target"] for e in events] == ["notify.maria", "notify.phone"]
    account = ACCOUNTS[provider]
    paths = Counter(
        "send" if request.path.endswith(account.send_paths) else request.path
        for request in emulator.requests
    )
    assert paths["send"] == 2  # the alert, and Maria's SMS
    status = sum(n for path, n in paths.items() if path.endswith(account.status_path))
    assert (paths["send"], status) == (2, TWO_STEP_REQUESTS[provider] - 2)
    assert sum(paths.values()) == TWO_STEP_REQUESTS[provider]
    assert phone.sent == ["Котёл: авария"]


# -- SMSC.ru: replies and delivery by callback -------------------------------------------


async def test_smsc_reply_by_callback_acknowledges(
    hass: HomeAssistant, emulators: Any, freezer: Any, hass_client_no_auth: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(
        hass, GatewayId.SMSC, emulator, recipients=RECIPIENTS, options={"callbacks": True}
    )
    acks = async_capture_events(hass, EVENT_ACKNOWLEDGED)
    response = await send(
        hass, entry, {"not_acknowledged_within": "00:05:00"}, message="Котёл: авария, код {code}"
    )
    code = response["escalation"]["code"]
    secret = entry.data[CONF_WEBHOOK_SECRET]
    now = int(dt_util.utcnow().timestamp())
    for text in ("принято 0000", f"принято {code}"):  # a code is never 0000
        payload = incoming_payload(mes=text, sent=now, time=now, id=text)
        assert await post(hass_client_no_auth, entry, signed(payload, secret)) == (200, "OK")
        await hass.async_block_till_done()
    assert [(e.data["alert_id"], e.data["text"]) for e in acks] == [
        (response["alert_id"], f"принято {code}")
    ]


async def test_smsc_delivery_by_callback_ends_the_escalation(
    hass: HomeAssistant, emulators: Any, freezer: Any, hass_client_no_auth: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.final_seconds = 10**7  # the gateway's own answer would never be final
    entry = await setup_account(
        hass, GatewayId.SMSC, emulator, recipients=RECIPIENTS, options={"callbacks": True}
    )
    events = async_capture_events(hass, EVENT_ESCALATION)
    response = await send(hass, entry, {"not_delivered_within": WINDOW, "steps": ["notify.maria"]})
    (ivan,) = response["recipients"]
    secret = entry.data[CONF_WEBHOOK_SECRET]
    payload = status_payload(ivan["message_ids"][0], 1)
    assert await post(hass_client_no_auth, entry, signed(payload, secret)) == (200, "OK")
    await hass.async_block_till_done()
    await tick(hass, freezer, 300)
    assert events == []
    record = entry.runtime_data.escalations.of_alert(response["alert_id"])
    assert record.state is EscalationState.DELIVERED


@pytest.mark.parametrize(
    "escalate", [None, {"not_delivered_within": WINDOW, "steps": ["notify.maria"]}]
)
async def test_a_code_without_acknowledgement_is_refused(
    hass: HomeAssistant, emulators: Any, escalate: dict[str, Any] | None
) -> None:
    """`{code}` would go out as it is, and no reply could use it: said before sending."""
    emulator = await emulators(GatewayId.STREAM)
    entry = await stream_account(hass, emulator)
    fields: dict[str, Any] = {"escalate": escalate} if escalate else {}
    data = {"config_entry_id": entry.entry_id, "entity_id": "notify.ivan", **fields}
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, "send_message", data | {"message": "Ответьте {code}"}, blocking=True
        )
    assert caught.value.translation_key == "code_without_acknowledgement"
    assert texted(emulator) == []


async def test_acknowledge_stops_an_escalation_waiting_for_delivery(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Someone saw to the alarm: the ladder stops, though no SMS was delivered."""
    emulator = await emulators(GatewayId.STREAM)
    stick(monkeypatch, emulator, -1)
    entry = await stream_account(hass, emulator)
    events = async_capture_events(hass, EVENT_ESCALATION)
    acks = async_capture_events(hass, EVENT_ACKNOWLEDGED)
    response = await send(hass, entry, {"not_delivered_within": WINDOW, "steps": ["notify.maria"]})
    await hass.services.async_call(
        DOMAIN,
        "acknowledge",
        {"alert_id": response["alert_id"], "config_entry_id": entry.entry_id},
        blocking=True,
    )
    await tick(hass, freezer, 600)
    assert events == []
    assert [e.data["by"] for e in acks] == ["action"]
    assert texted(emulator) == [IVAN]
    assert ivan_state(hass).state == "acknowledged"
