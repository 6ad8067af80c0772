"""The actions `ru_sms.send_message`, `ru_sms.lookup_number` and `ru_sms.get_status`.

Every test runs the integration against an emulated gateway over loopback HTTP and checks
what went over the wire in the emulator's request log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
import json
from pathlib import Path
import re
from types import SimpleNamespace
from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ru_sms import services as services_module
from custom_components.ru_sms.account import create_gateway, gateway_base_url
from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.errors import translated_error, validation_error
from custom_components.ru_sms.providers import (
    AuthenticationError,
    GatewayUnavailableError,
    InsufficientFundsError,
    InvalidRecipientError,
    InvalidRequestError,
    InvalidSenderError,
    MessageRejectedError,
    NotSupportedError,
    RateLimitedError,
    SmsGatewayError,
    description_of,
)
from custom_components.ru_sms.providers.errors import SendProblem as P
from custom_components.ru_sms.providers.models import GatewayId
from tests.conftest import IVAN, patch_description, setup_account
from tests.emulators import smsc as smsc_emulator
from tests.emulators.base import EmulatedGateway, Fault, RecordedRequest
from tests.emulators.catalog import ACCOUNTS, by_gateway
from tests.emulators.restapi import Outcome

PETR = "79031234567"
"""A second number, of another operator."""
CYRILLIC_95 = "Котёл остановился: давление упало до 0,5 бар, проверьте насос и подачу газа, иначе дом остынет."
"""A text of two UCS-2 segments (95 characters)."""
TRANSLATIONS = Path(__file__).parents[2] / "custom_components" / DOMAIN / "translations"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


async def send(
    hass: HomeAssistant, entry: MockConfigEntry, *, response: bool = True, **data: Any
) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=response,
    )


async def call(hass: HomeAssistant, service: str, entry: MockConfigEntry, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=True,
    )


def assert_no_secret(err: Exception, provider: GatewayId) -> None:
    """Neither the text of the error nor its placeholders carry the password."""
    password = ACCOUNTS[provider].credentials.password
    assert password
    assert password not in str(err)
    assert password not in repr(getattr(err, "translation_placeholders", None))


# -- what each gateway received --------------------------------------------------------

SEND_PATHS = by_gateway(lambda account: account.send_paths)
GATEWAY_NAMES = {provider: description_of(provider).name for provider in ACCOUNTS}
TEXT_FIELD = by_gateway(lambda account: account.fields[0])


def sends(provider: GatewayId, emulator: EmulatedGateway) -> list[RecordedRequest]:
    """The send requests (not lookups) the emulator received."""
    return [
        r
        for r in emulator.requests
        if r.path.endswith(SEND_PATHS[provider]) and r.form.get("hlr") != "1"
    ]


def phones_of(provider: GatewayId, request: RecordedRequest) -> list[str]:
    """The numbers one send request went to."""
    if provider in (GatewayId.SMSC, GatewayId.SMSTELE):
        return request.form["phones"].split(",")
    if provider is GatewayId.STREAM:
        field = request.form.get("destinationAddress") or request.form["destinationAddresses"]
        return field.split(",")
    return [v for k, v in request.multi if k.startswith("DestinationAddress")]


# -- send_message: the response --------------------------------------------------------


async def test_smsc_response_has_cost_balance_and_updates_the_sensor(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    assert hass.states.get("sensor.smsc_alerts_balance").state == "100.00"
    assert emulator.count("balance.php") == 1

    response = await send(hass, entry, phones=["+7 916 123-45-67", "8 903 123 45 67"], message="Hi")

    # One identity from the call to the final state: SMSC.ru keeps it as our id.
    alert_id = response.pop("alert_id")
    assert alert_id == sends(GatewayId.SMSC, emulator)[0].form["id"]
    assert response == {
        "recipients": [
            {
                "phone": IVAN,
                "accepted": True,
                "queued": False,
                "message_ids": ["1001"],
                "segments": 1,
                "cost": 1.9,
                "error": None,
                "error_kind": None,
                "error_code": None,
            },
            {
                "phone": PETR,
                "accepted": True,
                "queued": False,
                "message_ids": ["1001"],
                "segments": 1,
                "cost": 1.9,
                "error": None,
                "error_kind": None,
                "error_code": None,
            },
        ],
        "accepted": 2,
        "rejected": 0,
        "segments": 2,
        "cost": 3.8,
        "balance": 96.2,
        "currency": "RUB",
        "queued": 0,
        "possible_duplicate": False,
        "account": entry.title,
        "merged": 0,
        "held": 0,
        "guard": [],
    }
    (request,) = sends(GatewayId.SMSC, emulator)
    assert request.form["phones"] == f"{IVAN},{PETR}"
    assert request.form["mes"] == "Hi"
    assert request.form["sender"] == "HomeAlert"
    await hass.async_block_till_done()
    # The send answer carried the balance: no other balance request.
    assert hass.states.get("sensor.smsc_alerts_balance").state == "96.20"
    assert emulator.count("balance.php") == 1
    assert emulator.balance == Decimal("96.20")


async def test_without_response_nothing_is_returned(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    assert await send(hass, entry, response=False, phones=[IVAN], message="Hi") is None
    assert len(sends(GatewayId.SMSC, emulator)) == 1


async def test_title_goes_on_the_line_before(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator)

    await send(hass, entry, phones=[IVAN], title="Boiler", message="Pressure low")

    (request,) = sends(GatewayId.STREAM, emulator)
    assert request.form["data"] == "Boiler\nPressure low"


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_multi_segment_cyrillic(
    hass: HomeAssistant, emulators: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)

    response = await send(hass, entry, phones=[IVAN], message=CYRILLIC_95)

    (recipient,) = response["recipients"]
    assert recipient["accepted"] is True
    assert recipient["segments"] == 2
    assert response["segments"] == 2
    if provider in (GatewayId.STREAM, GatewayId.DEVINO):
        # One id per segment.
        assert len(recipient["message_ids"]) == 2
        assert len(set(recipient["message_ids"])) == 2
        assert response["cost"] is None
        assert response["balance"] is None
    else:
        assert len(recipient["message_ids"]) == 1
    if provider is GatewayId.SMSC:
        assert recipient["cost"] == 3.8
        assert response["balance"] == 96.2
    (request,) = sends(provider, emulator)
    assert request.form[TEXT_FIELD[provider]] == CYRILLIC_95


async def test_entity_recipients_and_phones_together(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.DEVINO)
    entry = await setup_account(
        hass,
        GatewayId.DEVINO,
        emulator,
        recipients={"Ivan": [IVAN], "Night shift": [PETR, "79251234567"]},
    )

    response = await send(
        hass,
        entry,
        phones=["+7 916 123 45 67", "79261234567"],
        entity_id=["notify.ivan", "notify.night_shift"],
        message="Alarm",
    )

    # Ivan is named twice (as a number and as a recipient): texted once.
    expected = [IVAN, "79261234567", PETR, "79251234567"]
    assert [r["phone"] for r in response["recipients"]] == expected
    assert response["accepted"] == 4
    (request,) = sends(GatewayId.DEVINO, emulator)
    assert request.path.endswith("Sms/SendBulk")
    assert phones_of(GatewayId.DEVINO, request) == expected


async def test_entity_recipients_alone(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSTELE)
    entry = await setup_account(
        hass, GatewayId.SMSTELE, emulator, recipients={"Ivan": [IVAN, PETR]}
    )

    response = await send(hass, entry, entity_id="notify.ivan", message="Alarm")

    assert [r["phone"] for r in response["recipients"]] == [IVAN, PETR]
    (request,) = sends(GatewayId.SMSTELE, emulator)
    assert phones_of(GatewayId.SMSTELE, request) == [IVAN, PETR]
    assert request.form["sender"] == "ALERTS"


# -- send_message: the options ---------------------------------------------------------


async def test_sender_overrides_the_default(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    await send(hass, entry, phones=[IVAN], message="Hi", sender="SMSC.RU")

    (request,) = sends(GatewayId.SMSC, emulator)
    assert request.form["sender"] == "SMSC.RU"


async def test_no_sender_anywhere_leaves_it_to_the_gateway(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator, options={"sender": ""})

    await send(hass, entry, phones=[IVAN], message="Hi")

    (request,) = sends(GatewayId.SMSC, emulator)
    assert "sender" not in request.form


@pytest.mark.parametrize(
    ("provider", "field", "expected"),
    [
        # 10:00 in Yekaterinburg (UTC+5) is 05:00 UTC, 08:00 in Moscow.
        (GatewayId.SMSC, "time", "0201300800"),
        (GatewayId.SMSTELE, "deferred", "2030-01-02 08:00:00"),
        (GatewayId.STREAM, "sendDate", "2030-01-02T05:00:00"),
        (GatewayId.DEVINO, "SendDate", "2030-01-02T08:00:00"),
    ],
)
async def test_naive_send_at_is_in_home_assistant_time_zone(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, field: str, expected: str
) -> None:
    await hass.config.async_set_time_zone("Asia/Yekaterinburg")
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)

    response = await send(hass, entry, phones=[IVAN], message="Later", send_at="2030-01-02 10:00")

    assert response["accepted"] == 1
    (request,) = sends(provider, emulator)
    assert request.form[field] == expected


async def test_send_at_with_a_zone_keeps_it(hass: HomeAssistant, emulators: Any) -> None:
    await hass.config.async_set_time_zone("Asia/Yekaterinburg")
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator)

    await send(hass, entry, phones=[IVAN], message="Later", send_at="2030-01-02T10:00:00+01:00")

    (request,) = sends(GatewayId.STREAM, emulator)
    assert request.form["sendDate"] == "2030-01-02T09:00:00"


@pytest.mark.parametrize(
    ("provider", "path", "field"),
    [
        (GatewayId.STREAM, "Send/SendByTime/", "sendDate"),
        (GatewayId.DEVINO, "Sms/SendByTimeZone", "SendDate"),
    ],
)
async def test_recipient_local_time(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, path: str, field: str
) -> None:
    await hass.config.async_set_time_zone("Asia/Yekaterinburg")
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)

    response = await send(
        hass,
        entry,
        phones=[IVAN, PETR],
        message="Good morning",
        send_at="2030-01-02 09:30",
        recipient_local_time=True,
    )

    assert response["accepted"] == 2
    requests = sends(provider, emulator)
    assert [r.path.endswith(path) for r in requests] == [True, True]
    assert sorted(phones_of(provider, r)[0] for r in requests) == sorted([IVAN, PETR])
    # The wall-clock time as written, for each recipient's own zone.
    assert {r.form[field] for r in requests} == {"2030-01-02T09:30:00"}


async def test_recipient_local_time_not_on_smsc(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await send(
            hass,
            entry,
            phones=[IVAN],
            message="Hi",
            send_at="2030-01-02 09:30",
            recipient_local_time=True,
        )

    assert err.value.translation_key == "recipient_local_time"
    assert err.value.translation_placeholders == {"gateway": "SMSC.ru"}
    assert sends(GatewayId.SMSC, emulator) == []


async def test_recipient_local_time_needs_send_at(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi", recipient_local_time=True)

    assert err.value.translation_key == "local_time_without_send_at"
    assert sends(GatewayId.STREAM, emulator) == []


@pytest.mark.parametrize(
    ("provider", "field", "expected"),
    [
        (GatewayId.SMSC, "valid", "01:30"),
        (GatewayId.SMSTELE, "validity", "90"),
        (GatewayId.STREAM, "validity", "90"),
        (GatewayId.DEVINO, "Validity", "90"),
    ],
)
async def test_validity(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, field: str, expected: str
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)

    await send(hass, entry, phones=[IVAN], message="Hi", validity={"hours": 1, "minutes": 30})

    (request,) = sends(provider, emulator)
    assert request.form[field] == expected


async def test_validity_out_of_range(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi", validity={"hours": 48})

    assert err.value.translation_key == "validity_too_long"
    assert err.value.translation_placeholders == {"gateway": "SMSC.ru", "max_hours": "24"}
    assert sends(GatewayId.SMSC, emulator) == []


@pytest.mark.parametrize("provider", [GatewayId.SMSC, GatewayId.SMSTELE])
async def test_flash(hass: HomeAssistant, emulators: Any, provider: GatewayId) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)

    await send(hass, entry, phones=[IVAN], message="Hi", flash=True)

    (request,) = sends(provider, emulator)
    assert request.form["flash"] == "1"


@pytest.mark.parametrize("provider", [GatewayId.STREAM, GatewayId.DEVINO])
async def test_flash_not_supported(
    hass: HomeAssistant, emulators: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi", flash=True)

    assert err.value.translation_key == "flash"
    assert err.value.translation_placeholders == {"gateway": GATEWAY_NAMES[provider]}
    assert sends(provider, emulator) == []


@pytest.mark.parametrize(
    ("provider", "translit", "text"),
    [
        # SMSC and SMStele transliterate themselves; ru_sms does it for the others.
        (GatewayId.SMSC, "1", "Котёл"),
        (GatewayId.SMSTELE, "1", "Котёл"),
        (GatewayId.STREAM, None, "Kotyol"),
        (GatewayId.DEVINO, None, "Kotyol"),
    ],
)
async def test_transliterate(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, translit: str | None, text: str
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)

    await send(hass, entry, phones=[IVAN], message="Котёл", transliterate=True)

    (request,) = sends(provider, emulator)
    assert request.form.get("translit") == translit
    assert request.form[TEXT_FIELD[provider]] == text


async def test_transliterate_default_and_override(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator, options={"transliterate": True})

    await send(hass, entry, phones=[IVAN], message="Котёл")
    await send(hass, entry, phones=[IVAN], message="Котёл", transliterate=False)

    assert [r.form["data"] for r in sends(GatewayId.STREAM, emulator)] == ["Kotyol", "Котёл"]


# -- send_message: bad input -----------------------------------------------------------


async def test_invalid_phone_names_the_numbers(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[IVAN, "12", "call me"], message="Hi")

    assert err.value.translation_key == "invalid_phone"
    assert err.value.translation_placeholders == {"numbers": "12, call me"}
    assert "12, call me" in str(err.value)
    assert sends(GatewayId.SMSC, emulator) == []


@pytest.mark.parametrize(
    ("data", "key", "placeholders"),
    [
        ({"message": "   "}, "empty_message", None),
        ({"message": ""}, "empty_message", None),
        ({"message": "x" * 1001}, "message_too_long", {"limit": "1000"}),
        ({"message": "Hi", "sender": "Far too long name"}, "invalid_sender", {"max_length": "11"}),
        ({"message": "Hi", "sender": "Котельная"}, "invalid_sender", {"max_length": "11"}),
        (
            {"message": "Hi", "send_at": "2030-01-02 10:00", "validity": 0},
            "validity_too_short",
            None,
        ),
    ],
)
async def test_bad_input(
    hass: HomeAssistant,
    emulators: Any,
    data: dict[str, Any],
    key: str,
    placeholders: dict[str, str] | None,
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[IVAN], **data)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    if placeholders is not None:
        assert err.value.translation_placeholders == placeholders
    assert sends(GatewayId.SMSC, emulator) == []


async def test_message_too_long_after_transliteration_is_judged_on_the_sent_text(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator)

    # 1000 "щ" become 4000 Latin letters ("shch"): more than Stream's 2000.
    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[IVAN], message="щ" * 1000, transliterate=True)

    assert err.value.translation_key == "message_too_long"
    assert err.value.translation_placeholders == {"limit": "2000"}


async def test_no_recipients(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, message="Hi")
    assert err.value.translation_key == "no_recipients"

    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[], entity_id=[], message="Hi")
    assert err.value.translation_key == "no_recipients"
    assert sends(GatewayId.SMSC, emulator) == []


async def test_unknown_recipients(hass: HomeAssistant, emulators: Any) -> None:
    smsc = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, smsc)
    stream = await emulators(GatewayId.STREAM)
    await setup_account(hass, GatewayId.STREAM, stream, recipients={"Petr": [PETR]})
    assert hass.states.get("notify.petr") is not None

    for entity_id in (
        "notify.petr",  # a recipient of another account
        "sensor.smsc_alerts_balance",  # an entity of the account, not a recipient
        "notify.nobody",  # no such entity
    ):
        with pytest.raises(ServiceValidationError) as err:
            await send(hass, entry, phones=[IVAN], entity_id=[entity_id], message="Hi")
        assert err.value.translation_key == "unknown_recipient"
        assert err.value.translation_placeholders == {
            "entity_id": entity_id,
            "account": "smsc (alerts)",
        }
    assert sends(GatewayId.SMSC, smsc) == []
    assert sends(GatewayId.STREAM, stream) == []


async def test_unknown_or_unloaded_account(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    other = MockConfigEntry(domain="smtp")
    other.add_to_hass(hass)

    for service, data in (
        ("send_message", {"phones": [IVAN], "message": "Hi"}),
        ("lookup_number", {"phones": [IVAN]}),
        ("get_status", {"message_ids": ["1"], "phones": [IVAN]}),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN,
                service,
                {"config_entry_id": "no-such-entry", **data},
                blocking=True,
                return_response=True,
            )
        assert err.value.translation_key == "service_config_entry_not_found"

        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN,
                service,
                {"config_entry_id": other.entry_id, **data},
                blocking=True,
                return_response=True,
            )
        assert err.value.translation_key == "service_config_entry_wrong_domain"

    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi")
    assert err.value.translation_key == "service_config_entry_not_loaded"
    assert emulator.count("send.php") == 0


# -- send_message: the gateway fails ---------------------------------------------------


async def test_authentication_failed_starts_reauth(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.password = "changed-on-the-website"

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi")

    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == "authentication_failed"
    assert err.value.translation_placeholders["gateway"] == "SMSC.ru"
    assert_no_secret(err.value, GatewayId.SMSC)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [(f["context"]["source"], f["context"]["entry_id"]) for f in flows] == [
        (SOURCE_REAUTH, entry.entry_id)
    ]


async def test_authentication_failed_on_a_session_gateway(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator)
    # The password changed; the old session runs out.
    emulator.accounts = {"user": "another-pass"}
    emulator.inject(Fault.EXPIRED_SESSION)

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi")

    assert err.value.translation_key == "authentication_failed"
    assert_no_secret(err.value, GatewayId.STREAM)
    await hass.async_block_till_done()
    assert [
        f["context"]["source"] for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    ] == [SOURCE_REAUTH]


@pytest.mark.parametrize(
    ("provider", "fault", "key"),
    [
        (GatewayId.SMSC, Fault.NO_MONEY, "gateway_insufficient_funds"),
        (GatewayId.SMSTELE, Fault.NO_MONEY, "gateway_insufficient_funds"),
        (GatewayId.STREAM, Fault.NO_MONEY, "gateway_insufficient_funds"),
        (GatewayId.DEVINO, Fault.NO_MONEY, "gateway_insufficient_funds"),
        (GatewayId.SMSC, Fault.RATE_LIMIT, "rate_limited"),
        (GatewayId.SMSTELE, Fault.RATE_LIMIT, "rate_limited"),
        (GatewayId.STREAM, Fault.RATE_LIMIT, "rate_limited"),
    ],
)
async def test_gateway_refuses_the_send(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, fault: Fault, key: str
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    emulator.inject(fault, SEND_PATHS[provider][0])

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi", queue=False)

    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == key
    assert err.value.translation_placeholders["gateway"] == GATEWAY_NAMES[provider]
    if key == "rate_limited":
        assert int(err.value.translation_placeholders["retry_after"]) > 0
    assert_no_secret(err.value, provider)
    # Refused at once: not tried again.
    assert len(sends(provider, emulator)) == 1
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []


async def test_gateway_refuses_the_text(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Лучшее казино")
    assert err.value.translation_key == "gateway_message_rejected"

    emulator.error_next(1, "send.php")
    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi")
    assert err.value.translation_key == "gateway_invalid_request"
    assert_no_secret(err.value, GatewayId.SMSC)
    assert emulator.messages == {}


@pytest.mark.parametrize(
    ("provider", "sender", "key"),
    [
        # SMSC answers error 6 for text and sender alike; Stream names the sender.
        (GatewayId.SMSC, "Unknown", "gateway_message_rejected"),
        (GatewayId.STREAM, "Unknown", "gateway_invalid_sender"),
    ],
)
async def test_unregistered_sender(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, sender: str, key: str
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi", sender=sender)

    assert err.value.translation_key == key
    assert_no_secret(err.value, provider)


@pytest.mark.usefixtures("no_client_retry_delay")
@pytest.mark.parametrize("provider", list(GatewayId))
async def test_gateway_unavailable(
    hass: HomeAssistant, emulators: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    emulator.inject(Fault.SERVER_ERROR_HTML, SEND_PATHS[provider][0], times=2)

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi", queue=False)

    # An answer came after the request went out: never sent again, its fate unknown.
    assert err.value.translation_key == "may_have_been_sent"
    assert_no_secret(err.value, provider)
    assert len(sends(provider, emulator)) == 1


@pytest.mark.usefixtures("no_client_retry_delay")
async def test_gateway_refuses_connections(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    await emulator.stop()
    # Let the client see the kept-alive connection closed.
    for _ in range(10):
        await asyncio.sleep(0)

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi", queue=False)

    assert err.value.translation_key == "gateway_unavailable"
    assert "127.0.0.1" not in str(err.value)
    assert_no_secret(err.value, GatewayId.SMSC)


@pytest.mark.parametrize(
    ("provider", "fault"),
    [
        (GatewayId.SMSC, Fault.TIMEOUT_AFTER),
        (GatewayId.SMSTELE, Fault.TIMEOUT_AFTER),
        (GatewayId.STREAM, Fault.TIMEOUT_AFTER),
        (GatewayId.DEVINO, Fault.DISCONNECT_AFTER),
    ],
)
async def test_may_have_been_sent_is_not_sent_again(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, fault: Fault
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    # The gateway takes the text, then hangs longer than the client waits.
    emulator.hang_seconds = 5.0
    entry.runtime_data.gateway._timeout = 0.2
    emulator.inject(fault, SEND_PATHS[provider][0])

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi", queue=False)

    assert err.value.translation_key == "may_have_been_sent"
    assert_no_secret(err.value, provider)
    assert len(sends(provider, emulator)) == 1


async def test_one_number_refused_raises_without_response(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.invalid_numbers = {PETR}

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, response=False, phones=[IVAN, PETR], message="Hi")

    assert err.value.translation_key == "numbers_rejected"
    assert err.value.translation_placeholders["numbers"] == "7903***4567"
    assert err.value.translation_placeholders["accepted"] == "1"
    # The gateway's own code (and text, when it gives one): no sentence of ours.
    assert err.value.translation_placeholders["error"] == "7"
    # The other number was sent to, once.
    assert len(sends(GatewayId.SMSC, emulator)) == 1
    assert [key[1] for key in emulator.messages] == [IVAN]
    await hass.async_block_till_done()
    assert hass.states.get("sensor.smsc_alerts_balance").state == "98.10"


async def test_refused_numbers_are_in_the_response(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.undeliverable_numbers = {PETR}

    response = await send(hass, entry, phones=[IVAN, PETR], message="Hi")

    assert response["accepted"] == 1
    assert response["rejected"] == 1
    assert response["cost"] == 1.9
    ivan, petr = response["recipients"]
    assert ivan["accepted"] is True
    assert petr == {
        "phone": PETR,
        "accepted": False,
        "queued": False,
        "message_ids": [],
        "segments": 0,
        "cost": None,
        "error": None,  # SMSC.ru names the code only
        "error_kind": "invalid_recipient",
        "error_code": "8",
    }


async def test_every_number_refused(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.invalid_numbers = {IVAN}

    with pytest.raises(HomeAssistantError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi")

    assert err.value.translation_key == "gateway_invalid_recipient"
    assert_no_secret(err.value, GatewayId.SMSC)


# -- lookup_number ---------------------------------------------------------------------


@pytest.fixture
def virtual_sleep(monkeypatch: pytest.MonkeyPatch) -> Callable[[EmulatedGateway], list[float]]:
    """Make the lookup's waits move the emulator's clock instead of the real one."""

    def patch(emulator: EmulatedGateway) -> list[float]:
        waited: list[float] = []
        real_sleep = services_module.asyncio.sleep

        async def sleep(delay: float) -> None:
            waited.append(delay)
            emulator.advance(delay)
            await real_sleep(0)

        monkeypatch.setattr(services_module, "asyncio", SimpleNamespace(sleep=sleep))
        return waited

    return patch


async def test_lookup_smsc(
    hass: HomeAssistant,
    emulators: Any,
    virtual_sleep: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.hlr_outcomes = {PETR: 20}
    monkeypatch.setitem(smsc_emulator.HLR_INFO, "rcn", "Турция")
    monkeypatch.setitem(smsc_emulator.HLR_INFO, "rnet", "Turkcell")
    waited = virtual_sleep(emulator)

    response = await call(hass, "lookup_number", entry, phones=["8 916 123-45-67", PETR])

    ivan, petr = response["results"]
    assert ivan == {
        "phone": IVAN,
        "state": "reachable",
        "reachable": True,
        "operator": "МТС",
        "country": "Россия",
        "region": None,
        "mcc": "250",
        "mnc": "1",
        "imsi": "250011234567890",
        "roaming": True,
        "roaming_country": "Турция",
        "roaming_operator": "Turkcell",
        "ported": None,
        "error_code": None,
    }
    assert petr["state"] == "unreachable"
    assert petr["reachable"] is False
    # The answers were there at the first ask.
    assert waited == [5.0]
    (hlr,) = [r for r in emulator.requests if r.form.get("hlr") == "1"]
    assert hlr.form["phones"] == f"{IVAN},{PETR}"
    assert emulator.count("status.php") == 1


async def test_lookup_smsc_waits_a_minute_between_list_requests(
    hass: HomeAssistant, emulators: Any, virtual_sleep: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.hlr_seconds = 30.0
    waited = virtual_sleep(emulator)
    entry.runtime_data.gateway.budget.clock = emulator.now  # the waits are virtual

    response = await call(hass, "lookup_number", entry, phones=[IVAN, PETR])

    assert [r["state"] for r in response["results"]] == ["reachable", "reachable"]
    assert waited == [5.0, 61.0]
    assert emulator.count("status.php") == 2
    # The emulator's fixture checks that no rate rule was broken.


async def test_lookup_smsc_answers_at_once(
    hass: HomeAssistant, emulators: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.hlr_seconds = 0
    patch_description(monkeypatch, GatewayId.SMSC, lookup_wait=(0.0, 0.0))

    response = await call(hass, "lookup_number", entry, phones=[IVAN])

    assert response["results"][0]["reachable"] is True
    assert response["results"][0]["roaming"] is False
    assert emulator.count("status.php") == 1


async def test_lookup_smstele(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSTELE)
    entry = await setup_account(hass, GatewayId.SMSTELE, emulator)

    response = await call(hass, "lookup_number", entry, phones=[IVAN, "79991234567"])

    ivan, other = response["results"]
    assert ivan["state"] == "reachable"
    assert ivan["reachable"] is True
    assert ivan["operator"] == "mMTS"
    assert ivan["region"] == "77"
    assert ivan["mnc"] == "01"
    assert ivan["roaming"] is False
    # No operator in the register: not served.
    assert other["state"] == "unreachable"
    assert other["reachable"] is False
    assert emulator.lookups == 2
    assert emulator.messages == []


async def test_lookup_stream(hass: HomeAssistant, emulators: Any, virtual_sleep: Any) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator)
    emulator.hlr_unreachable = {PETR}
    emulator.ported = {IVAN}
    waited = virtual_sleep(emulator)

    response = await call(hass, "lookup_number", entry, phones=[IVAN, PETR])

    ivan, petr = response["results"]
    assert ivan["state"] == "reachable"
    assert ivan["reachable"] is True
    assert ivan["imsi"] == "25001" + IVAN[-10:]
    assert ivan["ported"] is True
    assert petr["state"] == "unreachable"
    assert petr["reachable"] is False
    assert petr["ported"] is False
    # Stream answers after ten seconds: asked at 2, 5 and 10 s.
    assert waited == [2.0, 3.0, 5.0]
    assert emulator.count("State/HLR/") == 6


async def test_lookup_gives_up_after_a_bounded_wait(
    hass: HomeAssistant, emulators: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator)
    patch_description(monkeypatch, GatewayId.STREAM, lookup_wait=(0.0,))

    response = await call(hass, "lookup_number", entry, phones=[IVAN])

    (result,) = response["results"]
    assert result["state"] == "pending"
    assert result["reachable"] is None
    assert result["roaming"] is None
    assert emulator.count("State/HLR/") == 1


async def test_lookup_not_on_devino(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.DEVINO)
    entry = await setup_account(hass, GatewayId.DEVINO, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "lookup_number", entry, phones=[IVAN])

    assert err.value.translation_key == "lookup_not_supported"
    assert err.value.translation_placeholders == {"gateway": "Devino Telecom"}


async def test_lookup_invalid_phone(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "lookup_number", entry, phones=["12345"])

    assert err.value.translation_key == "invalid_phone"
    assert err.value.translation_placeholders == {"numbers": "12345"}
    assert emulator.count("send.php") == 0


async def test_lookup_gateway_error(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.inject(Fault.NO_MONEY, "send.php")

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "lookup_number", entry, phones=[IVAN])

    assert err.value.translation_key == "gateway_insufficient_funds"
    assert_no_secret(err.value, GatewayId.SMSC)


# -- get_status ------------------------------------------------------------------------


async def test_get_status_smsc(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    entry.runtime_data.gateway.budget.clock = emulator.now  # the minute below is virtual
    emulator.outcomes = {PETR: 20}
    sent = await send(hass, entry, phones=[IVAN, PETR], message="Hi")
    (message_id,) = sent["recipients"][0]["message_ids"]

    response = await call(
        hass, "get_status", entry, message_ids=[message_id], phones=[IVAN, "+7 903 123-45-67"]
    )

    assert [(s["message_id"], s["phone"], s["state"]) for s in response["statuses"]] == [
        (message_id, IVAN, "queued"),
        (message_id, PETR, "queued"),
    ]
    assert response["statuses"][0]["final"] is False

    emulator.advance(61)
    response = await call(hass, "get_status", entry, message_ids=message_id, phones=[IVAN, PETR])

    ivan, petr = response["statuses"]
    assert ivan["state"] == "delivered"
    assert ivan["final"] is True
    assert ivan["raw_code"] == "1"
    assert ivan["updated_at"] is not None
    assert petr["state"] == "failed"
    assert petr["final"] is True


async def test_get_status_smsc_needs_phones(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "get_status", entry, message_ids=["1001"])

    assert err.value.translation_key == "phone_required"
    assert emulator.count("status.php") == 0


async def test_get_status_invalid_phone(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "get_status", entry, message_ids=["1001"], phones=["nope"])

    assert err.value.translation_key == "invalid_phone"
    assert err.value.translation_placeholders == {"numbers": "nope"}


@pytest.mark.parametrize("provider", [GatewayId.STREAM, GatewayId.DEVINO])
async def test_get_status_per_segment(
    hass: HomeAssistant, emulators: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    emulator.outcomes = {PETR: Outcome.EXPIRED}
    sent = await send(hass, entry, phones=[IVAN, PETR], message=CYRILLIC_95)
    ivan_ids = sent["recipients"][0]["message_ids"]
    petr_ids = sent["recipients"][1]["message_ids"]
    assert len(ivan_ids) == len(petr_ids) == 2

    response = await call(hass, "get_status", entry, message_ids=ivan_ids)

    assert [s["message_id"] for s in response["statuses"]] == ivan_ids
    assert {s["phone"] for s in response["statuses"]} == {None}
    assert all(s["final"] is False for s in response["statuses"])

    emulator.advance(61)
    response = await call(hass, "get_status", entry, message_ids=[*ivan_ids, *petr_ids])

    assert [s["state"] for s in response["statuses"]] == [
        "delivered",
        "delivered",
        "expired",
        "expired",
    ]
    assert response["statuses"][0]["cost"] == 1.5
    assert response["statuses"][0]["updated_at"] is not None


@pytest.mark.parametrize(
    ("provider", "path"), [(GatewayId.STREAM, "State/state.php"), (GatewayId.DEVINO, "Sms/State")]
)
async def test_get_status_phones_add_no_requests_where_ids_are_per_number(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, path: str
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    sent = await send(hass, entry, phones=[IVAN, PETR], message="Hi")
    ids = [r["message_ids"][0] for r in sent["recipients"]]
    emulator.reset_counts()

    response = await call(hass, "get_status", entry, message_ids=ids, phones=[IVAN, PETR])

    # One request per id, not per id and number.
    assert emulator.count(path) == 2
    assert [s["message_id"] for s in response["statuses"]] == ids


async def test_get_status_smstele(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSTELE)
    entry = await setup_account(hass, GatewayId.SMSTELE, emulator)
    sent = await send(hass, entry, phones=[IVAN], message="Hi")
    (message_id,) = sent["recipients"][0]["message_ids"]

    emulator.advance(31)
    response = await call(hass, "get_status", entry, message_ids=[message_id])

    (status,) = response["statuses"]
    assert status["message_id"] == message_id
    assert status["state"] == "delivered"


async def test_get_status_unknown_id(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.DEVINO)
    entry = await setup_account(hass, GatewayId.DEVINO, emulator)

    response = await call(hass, "get_status", entry, message_ids=["GW0000000000"])

    (status,) = response["statuses"]
    assert status["state"] == "unknown"
    assert status["final"] is False


@pytest.mark.usefixtures("no_client_retry_delay")
async def test_get_status_gateway_error(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.inject(Fault.SERVER_ERROR_HTML, "status.php", times=2)

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "get_status", entry, message_ids=["1001"], phones=[IVAN])

    assert err.value.translation_key == "gateway_unavailable"
    assert_no_secret(err.value, GatewayId.SMSC)


async def test_status_of_a_scheduled_message_stays_queued(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    sent = await send(hass, entry, phones=[IVAN], message="Hi", send_at="2030-01-01 10:00")
    (message_id,) = sent["recipients"][0]["message_ids"]

    emulator.advance(timedelta(days=1).total_seconds())
    response = await call(hass, "get_status", entry, message_ids=[message_id], phones=[IVAN])

    assert response["statuses"][0]["state"] == "queued"


# -- gateway.py: building clients, mapping errors --------------------------------------


def test_gateway_base_url() -> None:
    assert gateway_base_url({"provider": "smsc"}) is None
    assert gateway_base_url({"provider": "stream", "url": "http://x/rest/"}) == "http://x/rest/"
    assert (
        gateway_base_url({"provider": "smstele", "host": "rexsmsc.rex400.ru"})
        == "https://rexsmsc.rex400.ru:8882/cgibin/"
    )
    assert (
        gateway_base_url({"provider": "smstele", "host": "h.example", "port": 8881, "ssl": False})
        == "http://h.example:8881/cgibin/"
    )


async def test_create_gateway(hass: HomeAssistant) -> None:
    client = create_gateway(hass, {"provider": "smsc", "api_key": "k3y-0123456789"})
    assert client.gateway_id is GatewayId.SMSC
    assert client.base_url == "https://smsc.ru/sys/"
    assert client.account_id.startswith("key-")
    assert "k3y" not in repr(client)

    client = create_gateway(
        hass, {"provider": "devino", "username": "User", "password": "p", "api_key": ""}
    )
    assert client.gateway_id is GatewayId.DEVINO
    assert client.account_id == "user"


def _placeholders(message: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", message))


GATEWAY_ERRORS: list[tuple[SmsGatewayError, str]] = [
    (AuthenticationError("refused"), "authentication_failed"),
    (RateLimitedError("slow down", retry_after=59.6), "rate_limited"),
    (GatewayUnavailableError("down"), "gateway_unavailable"),
    (GatewayUnavailableError("lost", may_have_been_accepted=True), "may_have_been_sent"),
    (NotSupportedError("no such thing"), "not_supported"),
    (InsufficientFundsError("poor"), "gateway_insufficient_funds"),
    (InvalidRecipientError("bad number"), "gateway_invalid_recipient"),
    (InvalidSenderError("bad sender"), "gateway_invalid_sender"),
    (MessageRejectedError("spam"), "gateway_message_rejected"),
    (InvalidRequestError("bad request"), "gateway_invalid_request"),
]
VALIDATION_ERRORS: list[tuple[SmsGatewayError, str]] = [
    (InvalidRecipientError("bad", phones=("1", "2"), problem=P.INVALID_PHONE), "invalid_phone"),
    (InvalidRecipientError("none", problem=P.INVALID_PHONE), "invalid_phone"),
    (InvalidRecipientError("none", problem=P.NO_PHONES), "no_recipients"),
    (
        InvalidSenderError("bad sender", problem=P.INVALID_SENDER, params={"max_length": "11"}),
        "invalid_sender",
    ),
    (
        MessageRejectedError("too long", problem=P.MESSAGE_TOO_LONG, params={"limit": "1000"}),
        "message_too_long",
    ),
    (InvalidRequestError("bad option"), "invalid_option"),
    (NotSupportedError("no flash", problem=P.FLASH, params={"gateway": "X"}), "flash"),
    (
        NotSupportedError("no local time", problem=P.RECIPIENT_LOCAL_TIME, params={"gateway": "X"}),
        "recipient_local_time",
    ),
    (
        InvalidRequestError("no time", problem=P.LOCAL_TIME_WITHOUT_SEND_AT),
        "local_time_without_send_at",
    ),
    (InvalidRequestError("short", problem=P.VALIDITY_TOO_SHORT), "validity_too_short"),
    (
        InvalidRequestError(
            "long", problem=P.VALIDITY_TOO_LONG, params={"gateway": "X", "max_hours": "24"}
        ),
        "validity_too_long",
    ),
]


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_every_error_has_its_translation(
    hass: HomeAssistant, emulators: Any, language: str
) -> None:
    emulator = await emulators(GatewayId.STREAM)
    entry = await setup_account(hass, GatewayId.STREAM, emulator)
    exceptions = json.loads((TRANSLATIONS / f"{language}.json").read_text("utf-8"))["exceptions"]

    errors = [(translated_error(hass, entry, err), key) for err, key in GATEWAY_ERRORS]
    errors += [(validation_error(err), key) for err, key in VALIDATION_ERRORS]
    assert {e.translation_key for e, _ in errors} == {key for _, key in errors}
    for error, key in errors:
        assert error.translation_key == key
        assert error.translation_domain == DOMAIN
        message = exceptions[key]["message"]
        assert _placeholders(message) == set(error.translation_placeholders or {}), key
    assert (
        translated_error(hass, entry, GATEWAY_ERRORS[1][0]).translation_placeholders["retry_after"]
        == "60"
    )
    assert validation_error(VALIDATION_ERRORS[1][0]).translation_placeholders == {"numbers": "-"}
    # The authentication error asked for new credentials.
    await hass.async_block_till_done()
    assert len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 1


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_service_error_key_is_translated(language: str) -> None:
    root = Path(__file__).parents[2] / "custom_components" / DOMAIN
    exceptions = json.loads((root / "translations" / f"{language}.json").read_text("utf-8"))[
        "exceptions"
    ]
    used: set[str] = set()
    for module in ("services.py", "notify.py", "account.py", "errors.py"):
        used |= set(re.findall(r'translation_key="(\w+)"', (root / module).read_text("utf-8")))
    assert used
    assert used <= set(exceptions)


async def test_services_yaml_describes_every_field(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    assert await async_setup_component(hass, DOMAIN, {})

    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]

    assert "services.yaml" not in caplog.text
    for service, schema in (
        ("send_message", services_module.SEND_MESSAGE_SCHEMA),
        ("lookup_number", services_module.LOOKUP_NUMBER_SCHEMA),
        ("get_status", services_module.GET_STATUS_SCHEMA),
    ):
        fields = descriptions[service]["fields"]
        assert set(fields) == {str(key) for key in schema.schema}, service
        assert all("selector" in field for field in fields.values())
        for language in ("en", "ru"):
            translated = json.loads((TRANSLATIONS / f"{language}.json").read_text("utf-8"))[
                "services"
            ][service]
            assert translated["name"]
            assert set(translated["fields"]) == set(fields), (language, service)
    assert hass.services.supports_response(DOMAIN, "send_message") == SupportsResponse.OPTIONAL
    assert hass.services.supports_response(DOMAIN, "lookup_number") == SupportsResponse.ONLY
    assert hass.services.supports_response(DOMAIN, "get_status") == SupportsResponse.ONLY


@pytest.mark.parametrize("provider", [GatewayId.STREAM, GatewayId.DEVINO])
async def test_sender_required_where_the_gateway_has_no_default(
    hass: HomeAssistant, emulators: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator, options={"sender": ""})

    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi")

    assert err.value.translation_key == "sender_required"
    assert err.value.translation_placeholders == {"gateway": GATEWAY_NAMES[provider]}
    assert sends(provider, emulator) == []
    # Named in the action, it goes.
    await send(hass, entry, phones=[IVAN], message="Hi", sender=ACCOUNTS[provider].sender)
    assert len(sends(provider, emulator)) == 1
