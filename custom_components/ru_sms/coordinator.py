"""The coordinators that poll an account's gateway: its balance and its statistics."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    CONF_BALANCE_INTERVAL,
    CONF_LOW_BALANCE,
    DEFAULT_BALANCE_INTERVAL,
    DEFAULT_CURRENCY,
    DEFAULT_LOW_BALANCE,
    DOMAIN,
)
from .errors import credentials_refused, error_details
from .issues import AccountIssue
from .listeners import OncePerTurn
from .providers import AuthenticationError, Balance, SmsGateway, SmsGatewayError, Statistics

_LOGGER = logging.getLogger(__name__)

STATISTICS_PERIOD = timedelta(hours=24)
"""The period the statistics sensors report: the last 24 hours, up to now."""
STATISTICS_INTERVAL = timedelta(minutes=30)
FIRST_RETRY = 60.0
"""Seconds before asking again after a failure (doubled after each, up to the interval):
an account that loaded while its gateway was down shows its balance soon after."""


class GatewayCoordinator[T](DataUpdateCoordinator[T]):
    """Polls one thing of an account's gateway; maps the gateway's errors once for all.

    Refused credentials start reauthentication; any other failure marks the data
    unavailable with the coordinator's own message (`failed_key`), naming the gateway's
    code and text, and asks again sooner than the interval (`FIRST_RETRY`, doubled).
    """

    config_entry: ConfigEntry
    failed_key: str

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        gateway: SmsGateway,
        *,
        what: str,
        interval: timedelta,
    ) -> None:
        """Poll `gateway` every `interval`; `what` names the coordinator in the log."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            # The coordinator's log lines name it: say which account failed or recovered.
            name=f"{DOMAIN} {what} of {entry.title}",
            update_interval=interval,
        )
        self.gateway = gateway
        self.failures = 0
        """Failed requests in a row."""

    @callback
    def async_start(self) -> None:
        """An entity was added: polled from the account's setup, nothing to start."""

    async def _async_fetch(self) -> T:
        """Ask the gateway."""
        raise NotImplementedError

    async def _async_update_data(self) -> T:
        try:
            data = await self._async_fetch()
        except AuthenticationError as err:
            raise credentials_refused(self.gateway.gateway_id, err) from err
        except SmsGatewayError as err:
            self.failures += 1
            interval = (self.update_interval or STATISTICS_INTERVAL).total_seconds()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=self.failed_key,
                translation_placeholders={"error": error_details(err)},
                retry_after=min(interval, FIRST_RETRY * 2 ** min(self.failures - 1, 16)),
            ) from err
        self.failures = 0
        return data


class BalanceCoordinator(GatewayCoordinator[Balance]):
    """Polls an account's balance; a send that reports the new balance updates it too.

    It logs once when the gateway cannot be reached and once when it comes back (the
    coordinator's own behaviour), and keeps the low-balance repair issue in step.
    """

    failed_key = "balance_failed"

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, gateway: SmsGateway) -> None:
        """Poll at the interval the account's options set."""
        minutes = entry.options.get(CONF_BALANCE_INTERVAL, DEFAULT_BALANCE_INTERVAL)
        super().__init__(hass, entry, gateway, what="balance", interval=timedelta(minutes=minutes))
        self.issue = AccountIssue(
            hass, entry.entry_id, translation_key="low_balance", severity=ir.IssueSeverity.WARNING
        )
        """Raised while the balance is below the threshold."""
        self._reported: Decimal | None = None
        self._reports = OncePerTurn(hass, self._async_take_reported)

    @property
    def threshold(self) -> float:
        """The low-balance threshold (0: off)."""
        return float(self.config_entry.options.get(CONF_LOW_BALANCE, DEFAULT_LOW_BALANCE))

    @property
    def currency(self) -> str:
        """The account's currency, RUB when the gateway does not say (or not yet)."""
        data: Balance | None = self.data
        return (data.currency if data is not None else None) or DEFAULT_CURRENCY

    @property
    def is_low(self) -> bool:
        """Whether the balance is below the threshold (never with threshold 0)."""
        return self.threshold > 0 and self.data.amount < Decimal(str(self.threshold))

    async def _async_fetch(self) -> Balance:
        return await self.gateway.balance()

    @callback
    def async_set_balance(self, amount: Decimal) -> None:
        """Take the balance a send answer reported (the first one, when none was read).

        At once, and the last of the others reported in the same turn of the loop at
        its end: 200 answers followed together update the sensors twice, not 200 times.
        """
        self._reported = amount
        self._reports()

    @callback
    def _async_take_reported(self) -> None:
        amount, self._reported = self._reported, None
        if amount is None:
            return
        data: Balance | None = self.data
        self.async_set_updated_data(
            Balance(amount=amount) if data is None else replace(data, amount=amount)
        )

    async def async_shutdown(self) -> None:
        """Stop polling; a balance reported in the last turn is left out."""
        self._reports.cancel()
        await super().async_shutdown()

    def async_update_issue(self) -> None:
        """Raise the low-balance repair issue while the balance is low, drop it after."""
        if self.last_update_success and self.is_low:
            self.issue.show(
                account=self.config_entry.title,
                balance=f"{self.data.amount:.2f}",
                threshold=f"{self.threshold:.2f}",
                currency=self.currency,
            )
        elif self.last_update_success:
            self.issue.clear()


class StatisticsCoordinator(GatewayCoordinator[Statistics]):
    """Polls the gateway's statistics of the last 24 hours while an entity wants them.

    The sensors it feeds are disabled by default: it is created with the account but
    asks nothing until one of them is added (`async_start`), and stops polling when none
    is left (a coordinator without listeners schedules no refresh).
    """

    failed_key = "statistics_failed"

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, gateway: SmsGateway) -> None:
        """Poll every 30 minutes, once started."""
        super().__init__(hass, entry, gateway, what="statistics", interval=STATISTICS_INTERVAL)
        self._started = False

    @callback
    def async_start(self) -> None:
        """Fetch the first statistics, once, when the first entity is added.

        In the background: a slow or failing gateway never holds up or fails the setup.
        """
        if self._started:
            return
        self._started = True
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{self.name} first refresh"
        )

    async def _async_fetch(self) -> Statistics:
        end = dt_util.utcnow()
        return await self.gateway.statistics(end - STATISTICS_PERIOD, end)
