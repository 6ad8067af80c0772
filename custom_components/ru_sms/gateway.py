"""Between Home Assistant and the gateway clients: building a client, sending, errors.

The notify entities, the account's notify service and the actions all send through
`async_send`, so that every path validates, reports and fails the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import CONF_PROVIDER, DOMAIN
from .errors import rejection_details, translated_error
from .providers import SendOptions, SmsGateway, SmsGatewayError, create_client, description_of
from .providers.phone import mask_phone
from .validation import async_checked, check_text

if TYPE_CHECKING:
    from .coordinator import RuSmsConfigEntry
    from .outbox import SendOutcome

_LOGGER = logging.getLogger(__name__)


def gateway_base_url(data: Mapping[str, Any]) -> str | None:
    """The base URL an entry's data points at (None: the gateway's own)."""
    if url := data.get(CONF_URL):
        return str(url)
    return description_of(data[CONF_PROVIDER]).base_url(data)


def create_gateway(hass: HomeAssistant, data: Mapping[str, Any]) -> SmsGateway:
    """The client for an entry's data, on Home Assistant's shared session.

    Every caller of the account uses this one client: its request budget is shared.
    """
    client = create_client(
        data[CONF_PROVIDER],
        async_get_clientsession(hass),
        description_of(data[CONF_PROVIDER]).credentials(data),
        base_url=gateway_base_url(data),
    )
    client.use_budget()
    return client


async def async_send(
    hass: HomeAssistant,
    entry: RuSmsConfigEntry,
    phones: Iterable[str],
    message: str,
    options: SendOptions,
    *,
    title: str | None = None,
    allow_rejected: bool = False,
    queue: bool = True,
) -> SendOutcome:
    """Send through an entry's outbox; every failure becomes a translated error.

    The title, when given, goes on the line before the message. The caller waits for the
    first attempt: a refusal for good raises, a passing fault leaves the alert queued for
    another attempt (unless `queue` is off: then it raises too). Numbers the gateway
    refused raise (naming them, masked), unless the caller takes the per-number answer
    (`allow_rejected`).
    """
    check_text(message, title)
    if title:
        message = f"{title}\n{message}"
    runtime = entry.runtime_data
    client = runtime.client
    phones = list(phones)
    numbers, text = await async_checked(hass, len(phones), client.prepare, phones, message, options)
    try:
        outcome = await runtime.outbox.async_send(numbers, text, options, queue=queue)
    except SmsGatewayError as err:
        raise translated_error(hass, entry, err) from err
    result = outcome.result
    if result.rejected and not allow_rejected:
        first = result.rejected[0]
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="numbers_rejected",
            translation_placeholders={
                "numbers": ", ".join(mask_phone(r.phone) for r in result.rejected),
                "accepted": str(len(result.accepted)),
                "error": rejection_details(first),
            },
        )
    return outcome
