"""The balance sensor of an account (on gateways that report a balance)."""

from __future__ import annotations

from decimal import Decimal

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import RuSmsConfigEntry
from .entity import AccountEntity

PARALLEL_UPDATES = 0

BALANCE = SensorEntityDescription(
    key="balance",
    translation_key="balance",
    device_class=SensorDeviceClass.MONETARY,
    suggested_display_precision=2,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RuSmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the balance sensor where the gateway has a balance."""
    if (coordinator := entry.runtime_data.balance) is not None:
        async_add_entities([BalanceSensor(coordinator, BALANCE)])


class BalanceSensor(AccountEntity, SensorEntity):
    """The money left on the account, in the gateway's currency."""

    @property
    def native_value(self) -> Decimal:
        """The balance."""
        return self.coordinator.data.amount

    @property
    def native_unit_of_measurement(self) -> str:
        """The gateway's currency (RUB when it does not say)."""
        return self.coordinator.currency

    @property
    def extra_state_attributes(self) -> dict[str, float]:
        """The credit the gateway grants, when it tells it."""
        credit = self.coordinator.data.credit
        return {} if credit is None else {"credit": float(credit)}
