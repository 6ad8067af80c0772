"""RU SMS Gateways: SMS alerts through SMSC.ru, SMStele, Stream Telecom and Devino Telecom.

The gateway clients live in `providers/` (no Home Assistant import). The Home Assistant side
(config flow, entities, actions) is built on top of them.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration (nothing to do before an account is added)."""
    return True
