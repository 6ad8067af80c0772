"""Runtime data of an account and its balance coordinator."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import (
    CONF_BALANCE_INTERVAL,
    CONF_LOW_BALANCE,
    CONF_PROVIDER,
    DEFAULT_BALANCE_INTERVAL,
    DEFAULT_CURRENCY,
    DEFAULT_LOW_BALANCE,
    DOMAIN,
)
from .gateway import provider_name
from .lookups import LookupWaiters
from .providers import AuthenticationError, Balance, SmsGateway, SmsGatewayError
from .statistics import StatisticsCoordinator
from .tracker import MessageTracker

_LOGGER = logging.getLogger(__name__)

type RuSmsConfigEntry = ConfigEntry[RuSmsRuntimeData]


@dataclass
class RuSmsRuntimeData:
    """What a loaded account holds: its gateway client and, where it has one, the balance."""

    client: SmsGateway
    balance: BalanceCoordinator | None
    tracker: MessageTracker
    lookups: LookupWaiters = field(default_factory=LookupWaiters)
    """HLR answers posted to the webhook (SMSC.ru with callbacks)."""
    statistics: StatisticsCoordinator | None = None
    """The last 24 hours' statistics, where the gateway reports them."""


def account_device_info(entry: RuSmsConfigEntry) -> DeviceInfo:
    """The service device of an account."""
    return DeviceInfo(
        entry_type=DeviceEntryType.SERVICE,
        identifiers={(DOMAIN, entry.entry_id)},
        manufacturer=provider_name(entry.data[CONF_PROVIDER]),
        name=entry.title,
    )


def low_balance_issue_id(entry: RuSmsConfigEntry) -> str:
    """The repair issue raised while an account's balance is below its threshold."""
    return f"low_balance_{entry.entry_id}"


class BalanceCoordinator(DataUpdateCoordinator[Balance]):
    """Polls an account's balance; a send that reports the new balance updates it too.

    It logs once when the gateway cannot be reached and once when it comes back (the
    coordinator's own behaviour), and keeps the low-balance repair issue in step.
    """

    config_entry: RuSmsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: RuSmsConfigEntry, client: SmsGateway) -> None:
        """Poll at the interval the account's options set."""
        minutes = entry.options.get(CONF_BALANCE_INTERVAL, DEFAULT_BALANCE_INTERVAL)
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            # The coordinator's log lines name it: say which account failed or recovered.
            name=f"{DOMAIN} balance of {entry.title}",
            update_interval=timedelta(minutes=minutes),
        )
        self.client = client

    @property
    def threshold(self) -> float:
        """The low-balance threshold (0: off)."""
        return float(self.config_entry.options.get(CONF_LOW_BALANCE, DEFAULT_LOW_BALANCE))

    @property
    def currency(self) -> str:
        """The account's currency, RUB when the gateway does not say."""
        return self.data.currency or DEFAULT_CURRENCY

    @property
    def is_low(self) -> bool:
        """Whether the balance is below the threshold (never with threshold 0)."""
        return self.threshold > 0 and self.data.amount < Decimal(str(self.threshold))

    async def _async_update_data(self) -> Balance:
        try:
            return await self.client.balance()
        except AuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="authentication_failed",
                translation_placeholders={
                    "gateway": provider_name(self.client.provider),
                    "error": str(err),
                },
            ) from err
        except SmsGatewayError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="balance_failed",
                translation_placeholders={"error": str(err)},
            ) from err

    def async_set_balance(self, amount: Decimal) -> None:
        """Take the balance a send answer reported."""
        self.async_set_updated_data(replace(self.data, amount=amount))

    def async_update_issue(self) -> None:
        """Raise the low-balance repair issue while the balance is low, drop it after."""
        issue_id = low_balance_issue_id(self.config_entry)
        if self.last_update_success and self.is_low:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="low_balance",
                translation_placeholders={
                    "account": self.config_entry.title,
                    "balance": f"{self.data.amount:.2f}",
                    "threshold": f"{self.threshold:.2f}",
                    "currency": self.currency,
                },
            )
        elif self.last_update_success:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
