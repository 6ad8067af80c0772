"""Notify: the recipient entities (`notify.send_message`) and the account's notify service."""

from __future__ import annotations

from typing import Any

from homeassistant.components.notify import NotifyEntity
from homeassistant.components.notify.legacy import NOTIFY_SERVICES
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.providers.models import GatewayId
from tests.conftest import IVAN, make_entry, setup_account
from tests.emulators.base import EmulatedGateway, Fault, RecordedRequest
from tests.emulators.catalog import by_gateway

PETR = "79031234567"
OLGA = "79251234567"

SEND_PATHS = by_gateway(lambda account: account.send_paths)
FIELDS = by_gateway(lambda account: account.fields)
"""Text, sender, phones."""
SERVICES = by_gateway(lambda account: account.slug)
"""The account's notify service: the slug of the entry's title."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


def sends(provider: GatewayId, emulator: EmulatedGateway) -> list[RecordedRequest]:
    return [r for r in emulator.requests if r.path.endswith(SEND_PATHS[provider])]


# -- the recipient entities ------------------------------------------------------------


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_entity_texts_the_recipient(
    hass: HomeAssistant, emulators: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    await setup_account(hass, provider, emulator)
    assert hass.states.get("notify.ivan").state == STATE_UNKNOWN
    before = dt_util.utcnow()

    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": "notify.ivan", "title": "Boiler", "message": "Pressure low"},
        blocking=True,
    )

    (request,) = sends(provider, emulator)
    text, sender, phones = FIELDS[provider]
    assert request.form[text] == "Boiler\nPressure low"
    assert request.form[sender] == ("HomeAlert" if provider is GatewayId.SMSC else "ALERTS")
    assert request.form[phones] == IVAN
    # The entity's state is the time of the last message.
    state = hass.states.get("notify.ivan")
    sent_at = dt_util.parse_datetime(state.state)
    assert sent_at is not None
    assert before <= sent_at <= dt_util.utcnow()


async def test_entity_without_title(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator, recipients={"Ivan": [IVAN, PETR]})

    await hass.services.async_call(
        "notify", "send_message", {"entity_id": "notify.ivan", "message": "Hi"}, blocking=True
    )

    (request,) = sends(GatewayId.SMSC, emulator)
    assert request.form["mes"] == "Hi"
    assert request.form["phones"] == f"{IVAN},{PETR}"


@pytest.mark.parametrize(
    ("provider", "wire"),
    [
        # SMSC transliterates itself; for Stream, ru_sms does it.
        (GatewayId.SMSC, {"mes": "Котёл", "translit": "1", "sender": "ALERTS"}),
        (GatewayId.STREAM, {"data": "Kotyol", "translit": None, "sourceAddress": "ALERTS"}),
    ],
)
async def test_entity_uses_the_account_options(
    hass: HomeAssistant, emulators: Any, provider: GatewayId, wire: dict[str, str | None]
) -> None:
    emulator = await emulators(provider)
    await setup_account(
        hass, provider, emulator, options={"transliterate": True, "sender": "ALERTS"}
    )
    if provider is GatewayId.SMSC:
        emulator.senders.add("ALERTS")

    await hass.services.async_call(
        "notify", "send_message", {"entity_id": "notify.ivan", "message": "Котёл"}, blocking=True
    )

    (request,) = sends(provider, emulator)
    assert {key: request.form.get(key) for key in wire} == wire


async def test_entity_failure_is_raised_and_not_recorded(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.inject(Fault.NO_MONEY, "send.php")

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "notify", "send_message", {"entity_id": "notify.ivan", "message": "Hi"}, blocking=True
        )

    assert err.value.translation_key == "gateway_insufficient_funds"
    assert "s3cret-pass" not in str(err.value)
    assert hass.states.get("notify.ivan").state == STATE_UNKNOWN


async def test_entity_empty_message(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "notify", "send_message", {"entity_id": "notify.ivan", "message": " "}, blocking=True
        )

    assert err.value.translation_key == "empty_message"
    assert sends(GatewayId.SMSC, emulator) == []


async def test_one_entity_per_recipient(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.DEVINO)
    await setup_account(
        hass, GatewayId.DEVINO, emulator, recipients={"Ivan": [IVAN], "Petr": [PETR, OLGA]}
    )

    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": ["notify.ivan", "notify.petr"], "message": "Hi"},
        blocking=True,
    )

    requests = sends(GatewayId.DEVINO, emulator)
    assert sorted(
        tuple(v for k, v in r.multi if k.startswith("Destination")) for r in requests
    ) == [
        (PETR, OLGA),
        (IVAN,),
    ]
    assert hass.states.get("notify.ivan").state != STATE_UNKNOWN
    assert hass.states.get("notify.petr").state != STATE_UNKNOWN


# -- the account's notify service ------------------------------------------------------


async def notify(hass: HomeAssistant, service: str, **data: Any) -> None:
    await hass.services.async_call("notify", service, data, blocking=True)


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_account_service_is_named_after_the_account(
    hass: HomeAssistant, emulators: Any, provider: GatewayId
) -> None:
    emulator = await emulators(provider)
    await setup_account(hass, provider, emulator)

    assert hass.services.has_service("notify", SERVICES[provider])


async def test_account_service_to_target_numbers(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator)

    await notify(
        hass,
        "smsc_alerts",
        message="Pressure low",
        title="Boiler",
        target=["+7 903 123-45-67", "8 925 123 45 67"],
    )

    (request,) = sends(GatewayId.SMSC, emulator)
    assert request.form["phones"] == f"{PETR},{OLGA}"
    assert request.form["mes"] == "Boiler\nPressure low"
    assert request.form["sender"] == "HomeAlert"


async def test_account_service_one_target(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.STREAM)
    await setup_account(hass, GatewayId.STREAM, emulator)

    await notify(hass, "stream_user", message="Hi", target=PETR)

    (request,) = sends(GatewayId.STREAM, emulator)
    assert request.form["destinationAddress"] == PETR
    assert request.form["data"] == "Hi"


async def test_account_service_without_target_texts_every_recipient(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(
        hass,
        GatewayId.SMSC,
        emulator,
        recipients={"Ivan": [IVAN], "Night shift": [PETR, OLGA, IVAN]},
    )

    await notify(hass, "smsc_alerts", message="Alarm")

    (request,) = sends(GatewayId.SMSC, emulator)
    # Ivan is in both recipients: texted once.
    assert request.form["phones"] == f"{IVAN},{PETR},{OLGA}"
    assert request.form["mes"] == "Alarm"


async def test_account_service_data_send_options(hass: HomeAssistant, emulators: Any) -> None:
    await hass.config.async_set_time_zone("Europe/Moscow")
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator)

    await notify(
        hass,
        "smsc_alerts",
        message="Котёл",
        target=[IVAN],
        data={
            "sender": "SMSC.RU",
            "flash": True,
            "validity": "02:00:00",
            "transliterate": True,
            "send_at": "2030-01-02 10:15:00",
        },
    )

    (request,) = sends(GatewayId.SMSC, emulator)
    assert request.form["sender"] == "SMSC.RU"
    assert request.form["flash"] == "1"
    assert request.form["valid"] == "02:00"
    assert request.form["translit"] == "1"
    assert request.form["time"] == "0201301015"


async def test_account_service_option_not_supported(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.STREAM)
    await setup_account(hass, GatewayId.STREAM, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await notify(hass, "stream_user", message="Hi", target=[IVAN], data={"flash": True})

    assert err.value.translation_key == "flash"
    assert sends(GatewayId.STREAM, emulator) == []


@pytest.mark.parametrize(
    "data",
    [
        {"flash": "sometimes"},
        {"send_at": "tomorrow-ish"},
        {"validity": "forever"},
        {"colour": "red"},
    ],
)
async def test_account_service_invalid_data(
    hass: HomeAssistant, emulators: Any, data: dict[str, Any]
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await notify(hass, "smsc_alerts", message="Hi", target=[IVAN], data=data)

    assert err.value.translation_key == "invalid_data"
    assert err.value.translation_placeholders["error"]
    assert sends(GatewayId.SMSC, emulator) == []


async def test_account_service_without_target_or_recipients(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator, recipients={})
    assert hass.states.async_entity_ids("notify") == []

    with pytest.raises(ServiceValidationError) as err:
        await notify(hass, "smsc_alerts", message="Hi")

    assert err.value.translation_key == "no_recipients"
    assert sends(GatewayId.SMSC, emulator) == []


async def test_account_service_invalid_target(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator)

    with pytest.raises(ServiceValidationError) as err:
        await notify(hass, "smsc_alerts", message="Hi", target=[IVAN, "not a number"])

    assert err.value.translation_key == "invalid_phone"
    assert err.value.translation_placeholders == {"numbers": "not a number"}


async def test_account_service_gateway_failure_is_raised(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator)
    emulator.invalid_numbers = {PETR}

    with pytest.raises(HomeAssistantError) as err:
        await notify(hass, "smsc_alerts", message="Hi", target=[IVAN, PETR])

    assert err.value.translation_key == "numbers_rejected"
    assert err.value.translation_placeholders["numbers"] == "7903***4567"


async def test_account_service_unloaded_and_reloaded(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    assert hass.services.has_service("notify", "smsc_alerts")

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    assert not hass.services.has_service("notify", "smsc_alerts")

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert hass.services.has_service("notify", "smsc_alerts")
    assert len(hass.data[NOTIFY_SERVICES][DOMAIN]) == 1
    await notify(hass, "smsc_alerts", message="Back", target=[IVAN])
    assert [r.form["mes"] for r in sends(GatewayId.SMSC, emulator)] == ["Back"]


async def test_account_service_after_reload(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    assert hass.services.has_service("notify", "smsc_alerts")
    assert len(hass.data[NOTIFY_SERVICES][DOMAIN]) == 1
    await notify(hass, "smsc_alerts", message="Hi", target=[IVAN])
    assert len(sends(GatewayId.SMSC, emulator)) == 1


async def test_two_accounts_two_services(hass: HomeAssistant, emulators: Any) -> None:
    smsc = await emulators(GatewayId.SMSC)
    smsc_entry = await setup_account(hass, GatewayId.SMSC, smsc)
    stream = await emulators(GatewayId.STREAM)
    await setup_account(hass, GatewayId.STREAM, stream, recipients={"Petr": [PETR]})

    await notify(hass, "smsc_alerts", message="One")
    await notify(hass, "stream_user", message="Two")

    assert [(r.form["phones"], r.form["mes"]) for r in sends(GatewayId.SMSC, smsc)] == [
        (IVAN, "One")
    ]
    assert [
        (r.form["destinationAddress"], r.form["data"]) for r in sends(GatewayId.STREAM, stream)
    ] == [(PETR, "Two")]

    assert await hass.config_entries.async_unload(smsc_entry.entry_id)
    await hass.async_block_till_done()
    assert not hass.services.has_service("notify", "smsc_alerts")
    assert hass.services.has_service("notify", "stream_user")


async def test_no_service_from_yaml(hass: HomeAssistant) -> None:
    """The account's service comes from its config entry only, never from YAML."""
    assert await async_setup_component(hass, "notify", {"notify": [{"platform": DOMAIN}]})
    await hass.async_block_till_done()

    assert hass.data[NOTIFY_SERVICES].get(DOMAIN) is None
    assert not hass.services.has_service("notify", "notify")


async def test_account_service_unload_twice(hass: HomeAssistant, emulators: Any) -> None:
    emulator = await emulators(GatewayId.SMSC)
    await setup_account(hass, GatewayId.SMSC, emulator)
    (service,) = hass.data[NOTIFY_SERVICES][DOMAIN]

    await service.async_unregister_services()
    await service.async_unregister_services()

    assert not hass.services.has_service("notify", "smsc_alerts")


# -- accounts titled the same ------------------------------------------------------------


async def same_title_accounts(
    hass: HomeAssistant, emulators: Any
) -> tuple[list[MockConfigEntry], list[EmulatedGateway]]:
    """Two SMSC.ru accounts titled alike (as two added by API key are), not yet set up."""
    assert await async_setup_component(hass, DOMAIN, {})  # each account set up on its own
    gateways = [await emulators(GatewayId.SMSC), await emulators(GatewayId.SMSC)]
    entries = [
        make_entry(GatewayId.SMSC, emulator, title="SMSC.ru", unique_id=f"smsc:account{n}")
        for n, emulator in enumerate(gateways)
    ]
    for entry in entries:
        entry.add_to_hass(hass)
    return entries, gateways


async def test_accounts_titled_the_same_each_have_their_service(
    hass: HomeAssistant, emulators: Any
) -> None:
    (first, second), (first_gateway, second_gateway) = await same_title_accounts(hass, emulators)
    # Numbered in the order the accounts were added, whichever starts first.
    assert await hass.config_entries.async_setup(second.entry_id)
    assert await hass.config_entries.async_setup(first.entry_id)
    await hass.async_block_till_done()

    await notify(hass, "smsc_ru", message="One", target=[IVAN])
    await notify(hass, "smsc_ru_2", message="Two", target=[PETR])

    assert [r.form["mes"] for r in sends(GatewayId.SMSC, first_gateway)] == ["One"]
    assert [r.form["mes"] for r in sends(GatewayId.SMSC, second_gateway)] == ["Two"]
    assert len(hass.data[NOTIFY_SERVICES][DOMAIN]) == 2


@pytest.mark.parametrize("unloaded", [0, 1])
async def test_an_account_service_survives_the_others_unload_and_reload(
    hass: HomeAssistant, emulators: Any, unloaded: int
) -> None:
    entries, gateways = await same_title_accounts(hass, emulators)
    for entry in entries:
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    names = ["smsc_ru", "smsc_ru_2"]
    kept = 1 - unloaded

    assert await hass.config_entries.async_unload(entries[unloaded].entry_id)
    await hass.async_block_till_done()
    assert not hass.services.has_service("notify", names[unloaded])
    await notify(hass, names[kept], message="Still here", target=[IVAN])

    assert await hass.config_entries.async_setup(entries[unloaded].entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(entries[unloaded].entry_id)
    await hass.async_block_till_done()
    await notify(hass, names[kept], message="And here", target=[IVAN])
    await notify(hass, names[unloaded], message="Back", target=[IVAN])

    assert [r.form["mes"] for r in sends(GatewayId.SMSC, gateways[kept])] == [
        "Still here",
        "And here",
    ]
    assert [r.form["mes"] for r in sends(GatewayId.SMSC, gateways[unloaded])] == ["Back"]
    # Made once per account, registered again at each load.
    assert len(hass.data[NOTIFY_SERVICES][DOMAIN]) == 2


async def test_a_name_another_integration_holds_is_left_to_it(
    hass: HomeAssistant, emulators: Any, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[ServiceCall] = []
    hass.services.async_register("notify", "smsc_alerts", calls.append)
    emulator = await emulators(GatewayId.SMSC)
    entry = await setup_account(hass, GatewayId.SMSC, emulator)
    assert "notify.smsc_alerts belongs to another integration" in caplog.text

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await notify(hass, "smsc_alerts", message="Theirs")

    assert len(calls) == 1
    assert sends(GatewayId.SMSC, emulator) == []


# -- the recipients' entities record what the action texts them --------------------------


RECORDS = hasattr(NotifyEntity, "_async_record_notification")
"""Home Assistant 2026.10 lets an integration record a notification; 2026.3 cannot."""


async def test_the_action_records_the_notification_on_the_recipients_it_texts(
    hass: HomeAssistant, emulators: Any
) -> None:
    emulator = await emulators(GatewayId.SMSC)
    emulator.invalid_numbers = {OLGA}
    await setup_account(
        hass,
        GatewayId.SMSC,
        emulator,
        recipients={"Ivan": [IVAN], "Petr": [PETR], "Olga": [OLGA], "Anna": ["79261234567"]},
    )
    before = dt_util.utcnow()

    await hass.services.async_call(
        DOMAIN,
        "send_message",
        {
            "config_entry_id": hass.config_entries.async_entries(DOMAIN)[0].entry_id,
            "entity_id": ["notify.ivan", "notify.olga"],
            "phones": [PETR],
            "message": "Boiler",
        },
        blocking=True,
        return_response=True,
    )

    ivan = hass.states.get("notify.ivan").state
    if RECORDS:
        sent_at = dt_util.parse_datetime(ivan)
        assert sent_at is not None
        assert before <= sent_at <= dt_util.utcnow()
    else:
        assert ivan == STATE_UNKNOWN
    # Texted by number only, refused by the gateway, or not named: nothing to record.
    for entity_id in ("notify.petr", "notify.olga", "notify.anna"):
        assert hass.states.get(entity_id).state == STATE_UNKNOWN, entity_id
