"""Base entities: account entities on the account's device, recipients on their own.

Entities never ask the gateway themselves: the balance and statistics coordinators poll,
the message tracker and the dispatcher signals of `signals.py` push.

A recipient's device is linked to its account's (`via_account_device`).
"""

from __future__ import annotations

from typing import Any, cast

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .account import RuSmsConfigEntry
from .const import CONF_PROVIDER, DOMAIN
from .coordinator import GatewayCoordinator
from .errors import gateway_name


def account_device_info(entry: RuSmsConfigEntry) -> DeviceInfo:
    """The service device of an account."""
    return DeviceInfo(
        entry_type=DeviceEntryType.SERVICE,
        identifiers={(DOMAIN, entry.entry_id)},
        manufacturer=gateway_name(entry.data[CONF_PROVIDER]),
        name=entry.title,
    )


def via_account_device(hass: HomeAssistant, entry: RuSmsConfigEntry) -> DeviceInfo:
    """The link from a recipient's device to its account's, as this Home Assistant spells it.

    Up to 2026.7 a device names its parent by identifier (`via_device`); since, by registry
    id (`via_device_id`, found by `async_get_device_id_by_identifier`, which came with it).
    The account's device exists: `async_setup_entry` creates it before the platforms.
    """
    identifier = (DOMAIN, entry.entry_id)
    if hasattr(dr, "async_get_device_id_by_identifier"):
        device_id = dr.async_get_device_id_by_identifier(
            hass, identifier, config_entry_id=entry.entry_id
        )
        # Cast: each key is known to one version's DeviceInfo only (the type checker runs on both).
        return cast("DeviceInfo", {"via_device_id": device_id})
    return cast("DeviceInfo", {"via_device": identifier})


class RecipientEntity(Entity):
    """An entity of a recipient (a config subentry), on the recipient's own device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        entry: RuSmsConfigEntry,
        subentry: ConfigSubentry,
        description: EntityDescription,
    ) -> None:
        """Name the entity after its recipient."""
        self.entity_description = description
        self.entry = entry
        self.subentry = subentry
        self._attr_unique_id = f"{entry.entry_id}_{subentry.subentry_id}_{description.key}"
        self._recipient_device = DeviceInfo(
            entry_type=DeviceEntryType.SERVICE,
            identifiers={(DOMAIN, f"{entry.entry_id}_{subentry.subentry_id}")},
            manufacturer=gateway_name(entry.data[CONF_PROVIDER]),
            name=subentry.title,
        )

    @property
    def device_info(self) -> DeviceInfo:
        """The recipient's device, under its account's (read once `hass` is set)."""
        return self._recipient_device | via_account_device(self.hass, self.entry)


class AccountEntity[C: GatewayCoordinator[Any]](CoordinatorEntity[C]):
    """An entity of an account fed by one of its coordinators (balance, statistics)."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: C, description: EntityDescription) -> None:
        """Put the entity on the account's device."""
        super().__init__(coordinator)
        self.entity_description = description
        entry = coordinator.config_entry
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = account_device_info(entry)

    async def async_added_to_hass(self) -> None:
        """Listen to the coordinator, and have it start if it waits for an entity."""
        await super().async_added_to_hass()
        self.coordinator.async_start()


class AccountPushEntity(Entity):
    """An entity of an account fed by its message tracker or its dispatcher signals."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: RuSmsConfigEntry, description: EntityDescription) -> None:
        """Put the entity on the account's device."""
        self.entity_description = description
        self.entry = entry
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = account_device_info(entry)
