"""Home Assistant finds and reads the integration on every supported version."""

from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration
from homeassistant.setup import async_setup_component
import pytest

from custom_components.ru_sms.const import DOMAIN


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/."""


async def test_manifest_is_read(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.name == "RU SMS Gateways"
    assert integration.config_flow is True
    assert integration.integration_type == "service"
    assert integration.iot_class == "cloud_polling"
    assert str(integration.version) == "0.1.0"


async def test_setup_without_accounts(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
