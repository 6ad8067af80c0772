"""Action inputs checked before any request; the tracker never fails an accepted send.

Validity and send-at times against each gateway's limits and a sane window, texts with
lone surrogates, and big number lists checked off the event loop (issue 8).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
import logging
import threading
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest

from custom_components.ru_sms import validation as validation_module
from custom_components.ru_sms.providers import (
    GatewayId,
    InvalidRequestError,
    RecipientResult,
    SendOptions,
    SendResult,
)
from custom_components.ru_sms.providers.limits import check_send_at
from custom_components.ru_sms.schema import vol
from tests.conftest import IVAN, setup_account
from tests.integration.test_services import call, send, sends


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


async def refused(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, **fields: Any
) -> ServiceValidationError:
    """Send with `fields`; the translated refusal, with nothing sent."""
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[IVAN], message="Boiler failure", **fields)
    assert sends(provider, emulator) == []
    return err.value


@pytest.mark.parametrize(
    ("provider", "validity", "max_hours"),
    [
        (GatewayId.SMSC, {"hours": 25}, "24"),
        (GatewayId.SMSTELE, {"days": 8}, "168"),
        (GatewayId.STREAM, {"days": 30}, "168"),
        (GatewayId.DEVINO, {"hours": 169}, "168"),
    ],
)
async def test_validity_over_the_gateway_limit(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, validity: Any, max_hours: str
) -> None:
    err = await refused(hass, emulators, provider, validity=validity)
    assert err.translation_key == "validity_too_long"
    assert err.translation_placeholders["max_hours"] == max_hours


@pytest.mark.parametrize(
    "validity", [{"days": 10**9}, "99999999999:00:00", 10**20, {"weeks": 10**12}]
)
async def test_a_validity_too_long_for_a_date_is_refused_by_the_schema(
    hass: HomeAssistant, emulators: Any, validity: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    with pytest.raises(vol.Invalid):
        await send(hass, entry, phones=[IVAN], message="Hi", validity=validity)
    assert sends(GatewayId.SMSC, emulator) == []


@pytest.mark.parametrize(
    ("send_at", "key"),
    [
        ("0001-01-01T00:00:00+14:00", "send_at_in_past"),
        ("9999-12-31T23:59:59-14:00", "send_at_too_late"),
        ("2100-01-01T00:00:00+03:00", "send_at_too_late"),
        ("2000-01-01T12:00:00+03:00", "send_at_in_past"),
    ],
)
@pytest.mark.parametrize("provider", list(GatewayId))
async def test_send_at_outside_the_window(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, send_at: str, key: str
) -> None:
    err = await refused(hass, emulators, provider, send_at=send_at)
    assert err.translation_key == key


def test_smsc_two_digit_year_never_makes_2100_now() -> None:
    """Even with a window reaching past 2099, SMSC.ru's DDMMYY cannot say 2100."""
    now = datetime(2099, 6, 1, tzinfo=UTC)
    with pytest.raises(InvalidRequestError) as err:
        check_send_at(
            datetime(2100, 1, 1, tzinfo=UTC),
            ahead=timedelta(days=3650),
            years=(2000, 2099),
            gateway="SMSC.ru",
            now=now,
        )
    assert err.value.problem == "send_at_year"
    # The last minutes of 2099 in UTC are 2100 in Moscow: refused too.
    with pytest.raises(InvalidRequestError):
        check_send_at(
            datetime(2099, 12, 31, 22, 0, tzinfo=UTC),
            ahead=timedelta(days=3650),
            years=(2000, 2099),
            gateway="SMSC.ru",
            now=now,
        )
    check_send_at(
        datetime(2099, 7, 1, tzinfo=UTC),
        ahead=timedelta(3650),
        years=(2000, 2099),
        gateway="SMSC.ru",
        now=now,
    )


async def test_smsc_client_refuses_2100_before_any_request(
    hass: HomeAssistant, emulators: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    monkeypatch.setattr(
        type(entry.runtime_data.gateway), "max_send_at_ahead", timedelta(days=40000)
    )
    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[IVAN], message="Hi", send_at="2100-01-01T00:00:00+03:00")
    assert err.value.translation_key == "send_at_year"
    assert err.value.translation_placeholders == {
        "gateway": "SMSC.ru",
        "first_year": "2000",
        "last_year": "2099",
    }
    assert sends(GatewayId.SMSC, emulator) == []


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"message": "Тревога \ud800"}, "invalid_text"),
        ({"message": "\udfff"}, "invalid_text"),
        ({"message": "Hi", "title": "Котёл \udc00"}, "invalid_title"),
    ],
)
@pytest.mark.parametrize("provider", list(GatewayId))
async def test_unpaired_surrogates_are_refused(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, fields: dict[str, str], key: str
) -> None:
    emulator = await emulators(provider)
    entry = await setup_account(hass, provider, emulator)
    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entry, phones=[IVAN], **fields)
    assert err.value.translation_key == key
    assert sends(provider, emulator) == []


async def test_notify_entity_refuses_unpaired_surrogates(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": "notify.ivan", "message": "a\ud800", "title": "t"},
            blocking=True,
        )
    assert err.value.translation_key == "invalid_text"
    assert sends(GatewayId.SMSC, emulator) == []


async def test_a_failing_tracker_never_fails_an_accepted_send(
    hass: HomeAssistant,
    emulators: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    async def broken(*args: Any) -> None:
        raise RuntimeError("tracker bug")

    monkeypatch.setattr(entry.runtime_data.tracker, "async_track_send", broken)
    response = await send(hass, entry, phones=[IVAN], message="Boiler failure")

    assert response["accepted"] == 1
    assert len(sends(GatewayId.SMSC, emulator)) == 1
    await hass.async_block_till_done()  # following it comes after the caller's answer
    assert caplog.text.count("a sent message cannot be followed") == 1


async def test_the_tracker_skips_a_record_it_cannot_make(
    hass: HomeAssistant, emulators: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    tracker = entry.runtime_data.tracker
    result = SendResult(
        recipients=(
            RecipientResult(phone=IVAN, accepted=True, message_ids=("1",), cost=Decimal("sNaN")),
            RecipientResult(phone="79031234567", accepted=True, message_ids=("2",)),
        )
    )
    caplog.set_level(logging.WARNING)

    tracked = tracker.async_track(
        result, SendOptions(validity=timedelta.max, send_at=datetime.max.replace(tzinfo=UTC))
    )

    assert [m.phone for m in tracked] == ["79031234567"]
    assert caplog.text.count("cannot be followed and are not tracked") == 1


async def test_5000_numbers_are_checked_off_the_event_loop(
    hass: HomeAssistant, emulators: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    client = entry.runtime_data.gateway
    threads: list[bool] = []
    original = client.prepare

    def prepare(*args: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return original(*args)

    monkeypatch.setattr(client, "prepare", prepare)
    phones = [f"7916{n:07d}" for n in range(5000)]
    with pytest.raises(HomeAssistantError):  # 100 RUB do not pay for 5,000 SMS
        await send(hass, entry, phones=phones, message="Boiler failure")
    await send(hass, entry, phones=[IVAN], message="Boiler failure")

    assert threads == [False, True]  # the big list in a thread, one number on the loop


@pytest.mark.parametrize(
    ("action", "fields"),
    [("lookup_number", {}), ("get_status", {"message_ids": ["1"]})],
)
async def test_long_number_lists_of_lookups_and_statuses_are_checked_off_the_loop(
    hass: HomeAssistant,
    emulators: Any,
    monkeypatch: pytest.MonkeyPatch,
    action: str,
    fields: dict[str, Any],
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    threads: list[bool] = []
    original = validation_module.normalize_phones

    def normalize(raw: Any) -> list[str]:
        threads.append(threading.current_thread() is threading.main_thread())
        return original(raw)

    monkeypatch.setattr(validation_module, "normalize_phones", normalize)
    bad = [f"7916{n:07d}" for n in range(500)] + ["not a number"]
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, action, entry, phones=bad, **fields)
    assert err.value.translation_key == "invalid_phone"
    with pytest.raises(ServiceValidationError):
        await call(hass, action, entry, phones=["not a number"], **fields)

    assert threads == [False, True]  # the long list in a thread, one number on the loop
