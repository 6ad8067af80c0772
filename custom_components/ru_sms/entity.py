"""Base entities: account entities on the account's device, recipients on their own.

Entities never ask the gateway themselves: the balance and statistics coordinators poll,
the message tracker and the dispatcher signals of `events.py` push.

A recipient's device is not linked to its account's (`via_device`): the two supported
Home Assistant versions spell that link differently, and the subentry already ties them.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_PROVIDER, DOMAIN
from .coordinator import GatewayCoordinator, RuSmsConfigEntry, account_device_info
from .gateway import provider_name


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
        self._attr_device_info = DeviceInfo(
            entry_type=DeviceEntryType.SERVICE,
            identifiers={(DOMAIN, f"{entry.entry_id}_{subentry.subentry_id}")},
            manufacturer=provider_name(entry.data[CONF_PROVIDER]),
            model="SMS recipient",
            name=subentry.title,
        )


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
