"""The low-balance problem sensor of an account."""

from __future__ import annotations

# BinarySensorDeviceClass is defined in binary_sensor/__init__.py up to 2026.3, in its const.py
# since (re-exported implicitly): this import works on both; no cast or protocol can stand for it.
# The ignore is needed on the newer version only (`unused-ignore`: not an error on the older).
from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined, unused-ignore]
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .account import RuSmsConfigEntry
from .coordinator import BalanceCoordinator
from .entity import AccountEntity

PARALLEL_UPDATES = 0

LOW_BALANCE = BinarySensorEntityDescription(
    key="low_balance",
    translation_key="low_balance",
    device_class=BinarySensorDeviceClass.PROBLEM,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RuSmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensor where the gateway has a balance."""
    if (coordinator := entry.runtime_data.balance) is not None:
        async_add_entities([LowBalanceSensor(coordinator, LOW_BALANCE)])


class LowBalanceSensor(AccountEntity[BalanceCoordinator], BinarySensorEntity):
    """On while the balance is below the account's threshold (never with threshold 0)."""

    @property
    def is_on(self) -> bool:
        """Whether the balance is low."""
        return self.coordinator.is_low

    @property
    def extra_state_attributes(self) -> dict[str, float]:
        """The threshold in force."""
        return {"threshold": self.coordinator.threshold}
