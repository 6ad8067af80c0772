"""Notify: one entity per recipient, and the account's `notify.<account name>` service."""

from __future__ import annotations

from typing import Any, override

# NotifyEntityFeature is defined in notify/__init__.py up to 2026.3, in notify/const.py since
# (re-exported implicitly): this import works on both; no cast or protocol can stand for a class.
from homeassistant.components.notify import (  # type: ignore[attr-defined]
    NotifyEntity,
    NotifyEntityDescription,
    NotifyEntityFeature,
)
from homeassistant.components.notify.const import ATTR_DATA, ATTR_TARGET, ATTR_TITLE
from homeassistant.components.notify.legacy import NOTIFY_SERVICES, BaseNotificationService
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType

from .account import RuSmsConfigEntry
from .const import CONF_PHONES, DOMAIN, SUBENTRY_RECIPIENT
from .entity import RecipientEntity
from .options import send_options
from .schema import vol
from .services import SEND_OPTIONS_SCHEMA

PARALLEL_UPDATES = 0

CONF_ENTRY_ID = "entry_id"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RuSmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One notify entity per recipient."""
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_RECIPIENT:
            continue  # pragma: no cover - recipients are the only subentries
        async_add_entities([RecipientNotifyEntity(entry, subentry)], config_subentry_id=subentry_id)


class RecipientNotifyEntity(RecipientEntity, NotifyEntity):
    """Texts a recipient's numbers."""

    _attr_supported_features = NotifyEntityFeature.TITLE

    def __init__(self, entry: RuSmsConfigEntry, subentry: ConfigSubentry) -> None:
        """The entity takes its recipient's name."""
        super().__init__(
            entry,
            subentry,
            NotifyEntityDescription(key="notify", name=None),
        )

    @property
    def phones(self) -> list[str]:
        """The recipient's numbers."""
        return list(self.subentry.data[CONF_PHONES])

    @override
    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Text the recipient with the account's default options."""
        await self.entry.runtime_data.async_send(
            self.phones,
            message,
            send_options(self.entry.options, {}),
            title=title,
        )


async def async_get_service(
    hass: HomeAssistant,
    config: ConfigType,
    discovery_info: DiscoveryInfoType | None = None,
) -> AccountNotificationService | None:
    """The account's notify service, loaded from its config entry."""
    if discovery_info is None:
        return None
    entry: RuSmsConfigEntry | None = hass.config_entries.async_get_entry(
        discovery_info[CONF_ENTRY_ID]
    )
    if entry is None:  # pragma: no cover - removed while loading
        return None
    service = AccountNotificationService(entry)
    entry.async_on_unload(service.async_unload)
    return service


class AccountNotificationService(BaseNotificationService):
    """`notify.<account name>`: `message`, `target` (numbers) and `data` (send options).

    Without `target`, it texts every recipient of the account.
    """

    def __init__(self, entry: RuSmsConfigEntry) -> None:
        """Serve one account."""
        self.entry = entry

    async def async_unload(self) -> None:
        """Remove the service and forget it (the notify component keeps a list)."""
        await self.async_unregister_services()

        services = self.hass.data.get(NOTIFY_SERVICES, {}).get(DOMAIN, [])
        if self in services:
            services.remove(self)

    @override
    async def async_send_message(self, message: str = "", **kwargs: Any) -> None:
        """Text the given numbers, or every recipient of the account."""
        targets: list[str] = list(kwargs.get(ATTR_TARGET) or [])
        if not targets:
            for subentry in self.entry.subentries.values():
                targets.extend(subentry.data.get(CONF_PHONES, []))
        if not targets:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_recipients")
        try:
            fields = SEND_OPTIONS_SCHEMA(kwargs.get(ATTR_DATA) or {})
        except vol.Invalid as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_data",
                translation_placeholders={"error": str(err)},
            ) from err
        await self.entry.runtime_data.async_send(
            targets,
            message,
            send_options(self.entry.options, fields),
            title=kwargs.get(ATTR_TITLE),
        )
