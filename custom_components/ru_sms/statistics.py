"""Delivery statistics of the last 24 hours (Stream Telecom, Devino Telecom).

The sensors fed by this coordinator are disabled by default: the coordinator is created
with the account but asks nothing until one of them is added (`async_start`), and stops
polling when none is left (a coordinator without listeners schedules no refresh).
"""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .providers import SmsGateway, SmsGatewayError, Statistics

if TYPE_CHECKING:
    from .coordinator import RuSmsConfigEntry

_LOGGER = logging.getLogger(__name__)

STATISTICS_PERIOD = timedelta(hours=24)
"""The period the sensors report: the last 24 hours, up to now."""
STATISTICS_INTERVAL = timedelta(minutes=30)


class StatisticsCoordinator(DataUpdateCoordinator[Statistics]):
    """Polls the gateway's statistics of the last 24 hours while an entity wants them."""

    config_entry: RuSmsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: RuSmsConfigEntry, client: SmsGateway) -> None:
        """Poll every 30 minutes, once started."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} statistics of {entry.title}",
            update_interval=STATISTICS_INTERVAL,
        )
        self.client = client
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

    async def _async_update_data(self) -> Statistics:
        end = dt_util.utcnow()
        try:
            return await self.client.statistics(end - STATISTICS_PERIOD, end)
        except SmsGatewayError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="statistics_failed",
                translation_placeholders={"error": str(err)},
            ) from err
