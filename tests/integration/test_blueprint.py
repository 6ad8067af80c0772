"""The blueprint `alarm_with_escalation`: valid for Home Assistant, and it works.

A binary sensor turns on: the recipients get a critical SMS through the account, and an
alert that is not delivered in time goes up the ladder the blueprint's inputs build.
"""

from __future__ import annotations

from pathlib import Path
import shutil
from typing import Any

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.signals import EVENT_ESCALATION
from tests.conftest import IVAN, setup_account
from tests.integration.conftest import PhoneNotify
from tests.integration.test_escalation import MARIA, RECIPIENTS, texted
from tests.integration.test_tracker import stick, tick


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


BLUEPRINT = Path(__file__).parents[2] / "blueprints" / "automation" / "ru_sms"
NAME = "alarm_with_escalation.yaml"


def test_the_blueprint_is_valid_for_home_assistant() -> None:
    blueprint = Blueprint(
        load_yaml_dict(str(BLUEPRINT / NAME)),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert blueprint.domain == "automation"
    assert set(blueprint.inputs) == {
        "sensor",
        "account",
        "recipients",
        "message",
        "until",
        "window",
        "use_fallback",
        "escalate_to",
    }
    assert blueprint.metadata["homeassistant"]["min_version"] == "2026.3.0"
    assert blueprint.metadata["source_url"].endswith(f"blueprints/automation/ru_sms/{NAME}")


@pytest.mark.parametrize(
    ("inputs", "first_steps"),
    [
        ({"escalate_to": ["notify.maria", "notify.phone"]}, ["notify.maria", "notify.phone"]),
        (
            {"escalate_to": ["notify.maria", "notify.phone", "notify.ivan"], "use_fallback": True},
            ["fallback", "notify.maria", "notify.phone"],  # three steps at most
        ),
    ],
)
async def test_the_blueprint_texts_and_escalates(
    hass: HomeAssistant,
    emulators: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    phone: PhoneNotify,
    inputs: dict[str, Any],
    first_steps: list[str],
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    stick(monkeypatch, emulator, -1)  # sent, never delivered
    spare = None
    if inputs.get("use_fallback"):
        other = await emulators(GatewayId.DEVINO)
        stick(monkeypatch, other, -1)  # the fallback's copy is not delivered either
        spare = await setup_account(hass, GatewayId.DEVINO, other, recipients={})
    entry = await setup_account(
        hass,
        GatewayId.STREAM,
        emulator,
        recipients=RECIPIENTS,
        options={"fallback_entry_id": spare.entry_id} if spare else {},
    )
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "blueprints" / "automation" / "ru_sms").mkdir(parents=True)
    shutil.copy(BLUEPRINT / NAME, tmp_path / "blueprints" / "automation" / "ru_sms" / NAME)
    hass.states.async_set("binary_sensor.leak", "off", {"friendly_name": "Протечка"})
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": f"ru_sms/{NAME}",
                    "input": {
                        "sensor": "binary_sensor.leak",
                        "account": entry.entry_id,
                        "recipients": ["notify.ivan"],
                        "window": {"hours": 0, "minutes": 1, "seconds": 0},
                        **inputs,
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_ESCALATION)

    hass.states.async_set("binary_sensor.leak", "on", {"friendly_name": "Протечка"})
    await hass.async_block_till_done()
    assert texted(emulator) == [IVAN]
    (sent,) = emulator.segments.values()
    assert sent.text == "Тревога: Протечка"
    await tick(hass, freezer, 65)
    assert [e.data["target"] for e in events] == first_steps[:1]
    await tick(hass, freezer, 600)
    assert [e.data["target"] for e in events] == first_steps
    assert phone.sent == ["Тревога: Протечка"]
    if "notify.maria" in first_steps:
        assert MARIA in texted(emulator)
