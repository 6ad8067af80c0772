"""RU SMS Gateways: SMS alerts through SMSC.ru, SMStele, Stream Telecom and Devino Telecom.

The gateway clients live in `providers/` (no Home Assistant import); this package is the
Home Assistant side: accounts and recipients from the UI, notify entities, the account's
notify service, balance sensors and actions.
"""

from __future__ import annotations

import logging

from homeassistant.const import CONF_WEBHOOK_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    issue_registry as ir,
)
from homeassistant.helpers.typing import ConfigType

from . import webhook
from .account import RuSmsAccount, RuSmsConfigEntry, fallback_outbox
from .const import CONF_PROVIDER, DOMAIN
from .entity import account_device_info
from .issues import async_clear_damage
from .notify import async_setup_account_service
from .outbox import async_outbox_cannot_load, async_remove_outbox
from .providers import description_of
from .services import async_setup_services
from .storage import async_remove_stores

_LOGGER = logging.getLogger(__name__)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.NOTIFY,
    Platform.SENSOR,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


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
    """Set up an account: build it, add its device and entities, then start its polls.

    A gateway that is down or refuses the credentials does not stop it (see `account`);
    should anything else, alerts waiting in its outbox are said to wait (a repair issue).
    """
    try:
        entry.runtime_data = await RuSmsAccount.async_create(hass, entry)
    except Exception as err:
        await async_outbox_cannot_load(hass, entry, err)
        raise
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **account_device_info(entry)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await entry.runtime_data.async_start()

    # The account's notify service (`notify.<account name>`), for automations that pass
    # numbers as `target`.
    await async_setup_account_service(hass, entry)
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    return True


async def _async_update_listener(hass: HomeAssistant, entry: RuSmsConfigEntry) -> None:
    """Options, credentials or recipients changed: start the account anew."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: RuSmsConfigEntry) -> bool:
    """Unload an account's platforms (its services stop with the entry's unload callbacks)."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: RuSmsConfigEntry) -> None:
    """Forget what a removed account kept: delivery records, queued alerts, incoming SMS seen.

    Its queued alerts go to its fallback account first, or each fails (`failed` events).
    """
    await async_remove_outbox(hass, entry.entry_id, entry.title, fallback_outbox(hass, entry))
    async_clear_damage(hass, entry.entry_id)
    for issue in ("outbox_failing", "outbox_cannot_load"):
        ir.async_delete_issue(hass, DOMAIN, f"{issue}_{entry.entry_id}")
    await async_remove_stores(hass, entry.entry_id)
