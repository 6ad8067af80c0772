"""The blueprint `alarm_with_escalation`: valid for Home Assistant, and it escalates.

Checked with Home Assistant's own blueprint schema, then run: an automation made from it,
a binary sensor turning on, and an account against an emulated gateway that never delivers
(or hears a reply) on a hand-moved clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import re
import shutil
from typing import Any

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_util
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.ru_sms.const import CONF_FALLBACK
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.signals import EVENT_ACKNOWLEDGED, EVENT_ESCALATION
from tests.conftest import IVAN, setup_account
from tests.integration.conftest import PhoneNotify
from tests.integration.test_escalation import MARIA, RECIPIENTS, REPLIES, texted
from tests.integration.test_incoming import receive
from tests.integration.test_tracker import stick, tick

PATH = "ru_sms/alarm_with_escalation.yaml"
"""Where Home Assistant finds it under `blueprints/automation`, as imported from GitHub."""
BLUEPRINT = Path(__file__).parents[2] / "blueprints" / "automation" / PATH
REPOSITORY = "https://github.com/ru-sms/ru_sms"
SENSOR = "binary_sensor.leak"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


def texts(emulator: Any) -> list[str]:
    return [segment.text for segment in emulator.segments.values()]


def copy_blueprint(blueprints: Path) -> None:
    target = blueprints / "automation" / PATH
    target.parent.mkdir(parents=True)
    shutil.copy(BLUEPRINT, target)


async def use_blueprint(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **inputs: Any
) -> None:
    """An automation from the blueprint, found where Home Assistant looks for it."""
    monkeypatch.setattr(hass.config, "config_dir", str(tmp_path))
    await hass.async_add_executor_job(copy_blueprint, Path(hass.config.path("blueprints")))
    hass.states.async_set(SENSOR, "off", {"friendly_name": "Leak"})
    config = {
        "automation": {
            "id": "alarm",
            "alias": "Leak alarm",
            "use_blueprint": {
                "path": PATH,
                "input": {"trigger_sensor": [SENSOR], **inputs},
            },
        }
    }
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()
    state = hass.states.get("automation.leak_alarm")
    assert state is not None
    assert state.state == "on"


async def leak(hass: HomeAssistant) -> None:
    hass.states.async_set(SENSOR, "on", {"friendly_name": "Leak"})
    await hass.async_block_till_done()


def test_the_blueprint_is_valid_for_home_assistant() -> None:
    data = yaml_util.load_yaml_dict(BLUEPRINT)
    blueprint = models.Blueprint(
        data,
        path=str(BLUEPRINT),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert blueprint.validate() is None  # this Home Assistant is recent enough
    assert blueprint.metadata["homeassistant"] == {"min_version": "2026.3.0"}
    assert blueprint.metadata["source_url"] == (
        f"{REPOSITORY}/blob/main/blueprints/automation/ru_sms/alarm_with_escalation.yaml"
    )
    assert set(blueprint.inputs) == {
        "trigger_sensor",
        "account",
        "recipients",
        "message",
        "wait_for",
        "reply_request",
        "window",
        "fallback_first",
        "escalation_targets",
    }
    # Every input the alert needs no more than the sensor, the account and the recipients.
    assert {key for key, value in blueprint.inputs.items() if "default" not in value} == {
        "trigger_sensor",
        "account",
        "recipients",
    }


async def test_not_delivered_escalates_fallback_then_targets_in_order(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    *,
    tmp_path: Path,
    phone: PhoneNotify,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    other = await emulators(GatewayId.DEVINO)
    stick(monkeypatch, emulator, -1)  # sent, never delivered
    stick(monkeypatch, other, -1)
    spare = await setup_account(hass, GatewayId.DEVINO, other, recipients={})
    entry = await setup_account(
        hass,
        GatewayId.STREAM,
        emulator,
        recipients=RECIPIENTS,
        options={CONF_FALLBACK: spare.entry_id},
    )
    await use_blueprint(
        hass,
        monkeypatch,
        tmp_path,
        account=entry.entry_id,
        recipients=["notify.ivan"],
        fallback_first=True,
        escalation_targets=["notify.maria", "notify.phone"],
    )
    events = async_capture_events(hass, EVENT_ESCALATION)

    await leak(hass)
    # Waiting for delivery: the reply request (and its `{code}`) is not added.
    assert texts(emulator) == ["Alarm: Leak is on."]
    assert texted(emulator) == [IVAN]
    (record,) = entry.runtime_data.escalations.records.values()
    assert record.window == timedelta(minutes=2)  # the default
    assert record.steps == ["fallback", "notify.maria", "notify.phone"]
    assert record.critical

    await tick(hass, freezer, 115)
    assert events == []
    await tick(hass, freezer, 10)
    assert [e.data["target"] for e in events] == ["fallback"]
    assert texted(other) == [IVAN]
    await tick(hass, freezer, 120)
    assert [e.data["target"] for e in events] == ["fallback", "notify.maria"]
    assert texted(emulator) == [IVAN, MARIA]
    await tick(hass, freezer, 120)
    assert [(e.data["step"], e.data["target"], e.data["reason"]) for e in events] == [
        (1, "fallback", "not_delivered"),
        (2, "notify.maria", "not_delivered"),
        (3, "notify.phone", "not_delivered"),
    ]
    assert all(e.data["error"] is None for e in events)
    assert phone.sent == ["Alarm: Leak is on."]
    await tick(hass, freezer, 600)
    assert len(events) == 3

    # The sensor turns on again while it is still on: no second alert.
    hass.states.async_set(SENSOR, "on", {"friendly_name": "Leak", "changed": True})
    await hass.async_block_till_done()
    assert texted(emulator) == [IVAN, MARIA]


async def test_acknowledged_by_a_reply_with_the_code(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    *,
    tmp_path: Path,
    phone: PhoneNotify,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(
        hass, GatewayId.STREAM, emulator, recipients=RECIPIENTS, options=REPLIES
    )
    await use_blueprint(
        hass,
        monkeypatch,
        tmp_path,
        account=entry.entry_id,
        recipients=["notify.ivan"],
        message="Протечка: {{ sensor }}",
        wait_for="acknowledged",
        reply_request="Ответьте {code}",
        window={"hours": 0, "minutes": 5, "seconds": 30},
        escalation_targets=["notify.phone"],
    )
    steps = async_capture_events(hass, EVENT_ESCALATION)
    acks = async_capture_events(hass, EVENT_ACKNOWLEDGED)

    await leak(hass)
    (text,) = texts(emulator)
    found = re.fullmatch(r"Протечка: Leak Ответьте (\d{4})", text)
    assert found is not None, text
    (record,) = entry.runtime_data.escalations.records.values()
    assert record.code == found[1]
    assert record.window == timedelta(minutes=5, seconds=30)
    assert record.steps == ["notify.phone"]

    await tick(hass, freezer, 60)
    receive(emulator, f"ok {found[1]}")
    await tick(hass, freezer, 120)
    assert [(e.data["alert_id"], e.data["by"]) for e in acks] == [(record.id, "reply")]
    await tick(hass, freezer, 600)
    assert steps == []
    assert phone.sent == []


async def test_without_a_step_the_alert_goes_without_escalation(
    hass: HomeAssistant,
    emulators: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Waiting for delivery with nowhere to escalate: the alarm is sent all the same."""
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator, recipients=RECIPIENTS)
    await use_blueprint(
        hass,
        monkeypatch,
        tmp_path,
        account=entry.entry_id,
        recipients=["notify.ivan", "notify.maria"],
    )
    await leak(hass)
    assert sorted(texted(emulator)) == sorted([IVAN, MARIA])
    assert entry.runtime_data.escalations.records == {}


async def test_steps_past_three_are_left_out(
    hass: HomeAssistant,
    emulators: Any,
    monkeypatch: pytest.MonkeyPatch,
    *,
    tmp_path: Path,
    phone: PhoneNotify,
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    other = await emulators(GatewayId.DEVINO)
    spare = await setup_account(hass, GatewayId.DEVINO, other, recipients={})
    recipients = {**RECIPIENTS, "Boris": ["79031112233"], "Olga": ["79035550000"]}
    entry = await setup_account(
        hass,
        GatewayId.STREAM,
        emulator,
        recipients=recipients,
        options={CONF_FALLBACK: spare.entry_id},
    )
    await use_blueprint(
        hass,
        monkeypatch,
        tmp_path,
        account=entry.entry_id,
        recipients=["notify.ivan"],
        fallback_first=True,
        window={"hours": 1, "minutes": 0, "seconds": 0},
        escalation_targets=["notify.maria", "notify.boris", "notify.phone"],
    )
    await leak(hass)
    (record,) = entry.runtime_data.escalations.records.values()
    assert record.steps == ["fallback", "notify.maria", "notify.boris"]
    assert record.window == timedelta(hours=1)
