"""RU SMS Gateways: SMS alerts through SMSC.ru, SMStele, Stream Telecom and Devino Telecom.

The gateway clients live in `providers/` (no Home Assistant import); this package is the
Home Assistant side: accounts and recipients from the UI, notify entities, the account's
notify service, balance sensors and actions.
"""

from __future__ import annotations

import logging

from homeassistant.const import CONF_NAME, CONF_WEBHOOK_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr, discovery
from homeassistant.helpers.typing import ConfigType

from . import webhook
from .const import CONF_CALLBACKS, CONF_PROVIDER, DOMAIN
from .coordinator import (
    BalanceCoordinator,
    RuSmsConfigEntry,
    RuSmsRuntimeData,
    StatisticsCoordinator,
    account_device_info,
)
from .errors import credentials_refused, error_details, gateway_name
from .gateway import create_gateway
from .incoming import Inbox, async_setup_incoming
from .outbox import Outbox
from .providers import AuthenticationError, SmsGateway, SmsGatewayError, description_of
from .services import async_setup_services
from .storage import async_remove_stores
from .tracker import MessageTracker

_LOGGER = logging.getLogger(__name__)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.NOTIFY,
    Platform.SENSOR,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

CONF_ENTRY_ID = "entry_id"


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions (they name the account they use)."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: RuSmsConfigEntry) -> bool:
    """1.1 → 1.2: accounts of gateways that call back get a webhook id and a signing secret."""
    if entry.version > 1:
        return False  # a downgrade: this version cannot read the entry
    if entry.minor_version < 2:
        data = dict(entry.data)
        callbacks = description_of(data[CONF_PROVIDER]).callbacks
        if callbacks is not None and CONF_WEBHOOK_ID not in data:
            data |= webhook.new_webhook_data()
        hass.config_entries.async_update_entry(entry, data=data, minor_version=2)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: RuSmsConfigEntry) -> bool:
    """Set up an account: check it, start the balance sensor, add the notify entities."""
    client = create_gateway(hass, entry.data)
    balance: BalanceCoordinator | None = None
    if client.capabilities.balance:
        # The first balance request also proves the credentials.
        balance = BalanceCoordinator(hass, entry, client)
        await balance.async_config_entry_first_refresh()
        entry.async_on_unload(balance.async_add_listener(balance.async_update_issue))
        entry.async_on_unload(balance.issue.clear)
        balance.async_update_issue()
    else:
        await _async_check_credentials(entry, client)

    tracker = MessageTracker(
        hass, entry, client, callbacks=bool(entry.options.get(CONF_CALLBACKS, False))
    )
    await tracker.async_load()
    entry.async_on_unload(tracker.async_unload)

    # Created unstarted: its sensors are disabled by default and start it when added.
    statistics = (
        StatisticsCoordinator(hass, entry, client) if client.capabilities.statistics else None
    )
    inbox = Inbox(hass, entry)
    await inbox.async_load()
    entry.async_on_unload(inbox.async_unload)  # after the poller stops (unloads run in reverse)
    outbox = Outbox(hass, entry, client)
    entry.runtime_data = RuSmsRuntimeData(
        client=client,
        balance=balance,
        tracker=tracker,
        inbox=inbox,
        outbox=outbox,
        statistics=statistics,
    )
    # Alerts queued before a restart go on once the account is set up.
    await outbox.async_load()
    entry.async_on_unload(outbox.async_unload)
    if CONF_WEBHOOK_ID in entry.data:
        webhook.async_register(hass, entry)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **account_device_info(entry)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Where the gateway reports incoming SMS and the option is set.
    entry.runtime_data.incoming = await async_setup_incoming(hass, entry, client, inbox)

    # The account's notify service (`notify.<account name>`) for automations that pass
    # numbers as `target`; it is registered by the notify platform's legacy loader.
    hass.async_create_task(
        discovery.async_load_platform(
            hass,
            Platform.NOTIFY,
            DOMAIN,
            {CONF_NAME: entry.title, CONF_ENTRY_ID: entry.entry_id},
            {},
        )
    )
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    return True


async def _async_check_credentials(entry: RuSmsConfigEntry, client: SmsGateway) -> None:
    """One cheap request, for gateways without a balance to poll."""
    try:
        await client.check_credentials()
    except AuthenticationError as err:
        raise credentials_refused(entry.data[CONF_PROVIDER], err) from err
    except SmsGatewayError as err:
        # Not the send error's text: it would claim that nothing was sent.
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="setup_not_ready",
            translation_placeholders={
                "gateway": gateway_name(entry.data[CONF_PROVIDER]),
                "error": error_details(err),
            },
        ) from err


async def _async_update_listener(hass: HomeAssistant, entry: RuSmsConfigEntry) -> None:
    """Options, credentials or recipients changed: start the account anew."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: RuSmsConfigEntry) -> bool:
    """Unload an account: its platforms, its notify service, its repair issue."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: RuSmsConfigEntry) -> None:
    """Forget what a removed account kept: delivery records, incoming SMS seen."""
    await async_remove_stores(hass, entry.entry_id)
