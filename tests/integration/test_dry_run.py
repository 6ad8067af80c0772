"""The dry run (`dry_run: true`): parts and cost equal to what each emulator bills.

Also the checks, the storm guard and the limits as they would act, and typographic
replacement.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest

from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.providers.models import GatewayId
from tests.conftest import IVAN, setup_account
from tests.emulators.base import Fault, gateway_segments
from tests.integration.money import send, sent_texts, tick

TEXTS = {
    "Latin": "Door open in the hall",
    "Cyrillic": "Котёл: авария, давление упало",
    "emoji": "Fire 🔥 in the kitchen",
    "em dash": "Boiler room — water on the floor",
    "160 Latin": "a" * 160,
    "161 Latin": "b" * 161,
    "70 Cyrillic": "я" * 70,
    "71 Cyrillic": "ю" * 71,
    "36 emoji": "🔥" * 36,
    "70 Latin and an em dash": "c" * 70 + "—",
}
EM_DASH_ALERT = "Boiler room — water on the floor, pump stopped at 03:12; check the valve."


pytestmark = pytest.mark.usefixtures("enable_custom_integrations")


async def dry_run(hass: HomeAssistant, entry: Any, message: str, **data: Any) -> Any:
    return await send(hass, entry, message, dry_run=True, **data)


def bill(emulator: Any) -> Decimal:
    """What the emulated account has spent so far (SMStele: parts of its credit)."""
    if hasattr(emulator, "credits"):
        return Decimal(10_000 - emulator.credits)
    return Decimal(100) - emulator.balance


async def learn_the_price(
    hass: HomeAssistant, entry: Any, emulator: Any, freezer: FrozenDateTimeFactory
) -> None:
    """Stream and Devino tell a price in their delivery reports only: one send, one report."""
    await send(hass, entry, "Price probe")
    await tick(hass, freezer, emulator, 180)
    assert entry.runtime_data.spending.price == emulator.price


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_parts_and_cost_are_what_the_gateway_bills(
    hass: HomeAssistant, emulators: Any, freezer: FrozenDateTimeFactory, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    # A dozen alerts to one number in a minute: more than the storm guard lets through.
    entry = await setup_account(hass, provider, emulator, options={"burst_limit": 50})
    if provider in (GatewayId.STREAM, GatewayId.DEVINO):
        await learn_the_price(hass, entry, emulator, freezer)

    figures = {}
    for name, text in TEXTS.items():
        taken, spent = len(sent_texts(emulator)), bill(emulator)
        response = await dry_run(hass, entry, text)
        assert len(sent_texts(emulator)) == taken, "a dry run sends nothing"
        assert bill(emulator) == spent, "a dry run costs nothing"

        await send(hass, entry, text)
        billed = bill(emulator) - spent
        (number,) = response["recipients"]
        parts = gateway_segments(text)
        figures[name] = (number["parts"], number["cost"], billed)
        assert number["parts"] == response["parts"] == parts, name
        if provider is GatewayId.SMSTELE:
            assert number["cost"] is None  # it tells no price at all
            assert response["cost_source"] is None
            assert billed == parts, name  # its credits are parts
        else:
            assert Decimal(str(number["cost"])) == billed, name
            assert response["cost"] == number["cost"]
            assert response["cost_source"] == (
                "gateway" if provider is GatewayId.SMSC else "known_price"
            )
        assert number["encoding"] == (
            "GSM-7" if name in ("Latin", "160 Latin", "161 Latin") else "UCS-2"
        ), name
        assert number["number_ok"] is True
        assert number["guard"] == "send"
    assert figures["em dash"][0] == 1
    assert figures["161 Latin"][0] == figures["71 Cyrillic"][0] == 2
    assert figures["36 emoji"][0] == figures["70 Latin and an em dash"][0] == 2
    assert emulator.breaches == []


async def test_what_forces_ucs2_and_the_parts_before_and_after_replacement(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    response = await dry_run(hass, entry, EM_DASH_ALERT)

    assert response["dry_run"] is True
    assert response["encoding"] == "UCS-2"
    assert response["ucs2_characters"] == ["—"]
    assert response["replace_typography"] is False
    assert (response["parts_without_replacement"], response["parts_with_replacement"]) == (2, 1)
    assert response["parts"] == 2
    assert response["cost"] == 3.8

    cheaper = await dry_run(hass, entry, EM_DASH_ALERT, replace_typography=True)

    assert cheaper["message"] == EM_DASH_ALERT.replace("—", "-")
    assert (cheaper["encoding"], cheaper["ucs2_characters"], cheaper["parts"]) == ("GSM-7", [], 1)
    assert cheaper["cost"] == 1.9
    assert cheaper["recipients"][0]["ucs2_characters"] == []


@pytest.mark.parametrize("where", ["action", "option"])
async def test_typographic_replacement_halves_the_parts_of_an_english_alert(
    hass: HomeAssistant, emulators: Any, where: str
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    options = {"replace_typography": True} if where == "option" else {}
    entry = await setup_account(hass, GatewayId.STREAM, emulator, options=options)
    plain = await send(hass, entry, EM_DASH_ALERT, replace_typography=False)
    spent = bill(emulator)

    data = {"replace_typography": True} if where == "action" else {}
    cheaper = await send(hass, entry, EM_DASH_ALERT, **data)

    assert plain["segments"] == 2
    assert cheaper["segments"] == 1
    assert bill(emulator) - spent == spent / 2
    assert sent_texts(emulator)[-1] == EM_DASH_ALERT.replace("—", "-")
    # A Cyrillic text stays as it was: replacing would not make it GSM-7.
    await send(hass, entry, "Котёл — авария", replace_typography=True)
    assert sent_texts(emulator)[-1] == "Котёл — авария"


async def test_the_checks_per_number_and_of_the_sender(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.DEVINO)
    entry = await setup_account(hass, GatewayId.DEVINO, emulator)

    response = await dry_run(
        hass, entry, "Door open", phones=["12", "+7 916 123-45-67"], sender="Too long a name"
    )

    bad, good = response["recipients"]
    assert (bad["phone"], bad["number"], bad["number_ok"], bad["number_problem"]) == (
        "12",
        None,
        False,
        "invalid_phone",
    )
    assert (bad["guard"], bad["cost"]) == (None, None)
    assert (good["number"], good["number_ok"], good["number_problem"]) == (IVAN, True, None)
    assert (response["sender_ok"], response["sender_problem"]) == (False, "invalid_sender")
    assert response["problem"] == "invalid_sender"
    assert response["cost"] is None  # no price told yet
    assert sent_texts(emulator) == []

    no_sender = await dry_run(hass, entry, "Door open", sender="")
    assert no_sender["sender_ok"] is True  # the account's default sender
    assert no_sender["sender"] == "ALERTS"


async def test_what_the_guard_and_the_limits_would_do(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator, options={"daily_parts_limit": 3})
    await send(hass, entry, "Door open")
    await send(hass, entry, "Door open")

    repeat = await dry_run(hass, entry, "Door open")
    assert (repeat["recipients"][0]["guard"], repeat["recipients"][0]["guard_count"]) == (
        "merged",
        2,
    )
    other = await dry_run(hass, entry, "Door closed")
    assert other["recipients"][0]["guard"] == "summarised"  # it would say "(+1 more)"
    assert other["recipients"][0]["guard_count"] == 1
    long = await dry_run(hass, entry, "x" * 400)
    assert long["spending"]["would_hold"] == "daily_parts"
    assert long["spending"]["parts"] == 1
    assert long["spending"]["parts_limit"] == 3
    assert long["recipients"][0]["guard"] == "held"
    assert long["recipients"][0]["guard_reason"] == "daily_parts"
    critical = await dry_run(hass, entry, "x" * 400, priority="critical")
    assert critical["spending"]["would_hold"] is None
    assert critical["priority"] == "critical"
    # It passes the limit, and would tell the repeat.
    assert critical["recipients"][0]["guard"] == "summarised"
    # Nothing of it was counted.
    assert entry.runtime_data.guard.numbers[IVAN].merged == 1
    assert entry.runtime_data.spending.parts == 1


async def test_a_price_that_cannot_be_asked_falls_back_to_the_known_one(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    await send(hass, entry, "Door open")  # SMSC.ru says what it cost: the price is known
    emulator.inject(Fault.SERVER_ERROR_HTML, "send.php")

    response = await dry_run(hass, entry, "Window open")

    assert response["cost"] == 1.9
    assert response["cost_source"] == "known_price"
    assert response["cost_error"]


async def test_a_long_list_is_checked_off_the_event_loop(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSTELE)
    entry = await setup_account(hass, GatewayId.SMSTELE, emulator)
    phones = [f"7916{n:07d}" for n in range(150)]

    response = await dry_run(hass, entry, "Door open", phones=phones)

    assert len(response["recipients"]) == 150
    assert all(r["number_ok"] for r in response["recipients"])


async def test_a_dry_run_needs_the_response(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"config_entry_id": entry.entry_id, "phones": [IVAN], "message": "x", "dry_run": True},
            blocking=True,
        )
    assert err.value.translation_key == "dry_run_without_response"
    assert sent_texts(emulator) == []


async def test_a_title_no_valid_number_and_no_sender(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator, options={"sender": ""})

    response = await dry_run(hass, entry, "Door open", title="Alarm", phones=["12"])

    assert response["message"] == "Alarm\nDoor open"
    assert response["characters"] == 15
    assert (response["sender_ok"], response["sender_problem"]) == (False, "sender_required")
    assert response["problem"] is None  # no number to check the rest against
    assert response["cost"] is None
    assert response["recipients"][0]["number_ok"] is False


async def test_a_price_without_per_number_details_is_the_one_number_s(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.answer_next({"cost": "2.50", "cnt": 1}, "send.php")

    response = await dry_run(hass, entry, "Door open")

    assert response["cost"] == 2.5
    assert entry.runtime_data.spending.price == Decimal("2.50")


async def test_a_note_that_makes_a_text_longer_costs_its_part(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    await send(hass, entry, "a" * 155)
    await send(hass, entry, "a" * 155)

    response = await dry_run(hass, entry, "b" * 155)

    (number,) = response["recipients"]
    assert (response["parts"], number["parts"]) == (1, 2)  # "b…b (+1 more)"
    assert (response["cost"], number["cost"]) == (1.9, 3.8)
    await send(hass, entry, "b" * 155)
    assert sent_texts(emulator)[-1] == "b" * 155 + " (+1 more)"
    assert Decimal(100) - emulator.balance == Decimal("5.70")
