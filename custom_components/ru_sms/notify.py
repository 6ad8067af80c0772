"""Notify: one entity per recipient, and the account's `notify.<account name>` service."""

from __future__ import annotations

import logging
from typing import Any, override

# NotifyEntityFeature is defined in notify/__init__.py up to 2026.3, in notify/const.py since
# (re-exported implicitly): this import works on both; no cast or protocol can stand for a class.
# The ignore is needed on the newer version only (`unused-ignore`: not an error on the older).
from homeassistant.components.notify import (  # type: ignore[attr-defined, unused-ignore]
    NotifyEntity,
    NotifyEntityDescription,
    NotifyEntityFeature,
)
from homeassistant.components.notify.const import (
    ATTR_DATA,
    ATTR_TARGET,
    ATTR_TITLE,
    DOMAIN as NOTIFY_DOMAIN,
)
from homeassistant.components.notify.legacy import BaseNotificationService
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_NAME, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import discovery
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType
from homeassistant.util import slugify
from homeassistant.util.hass_dict import HassKey

from .account import RuSmsConfigEntry
from .const import CONF_PHONES, DOMAIN, SUBENTRY_RECIPIENT
from .entity import RecipientEntity
from .escalation import EscalationPlan, checked_plan
from .escalation.plan import CONF_ESCALATION, escalate_data
from .options import send_options
from .schema import vol
from .services import SEND_OPTIONS_SCHEMA, is_critical
from .signals import signal_recipient_texted

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0

CONF_ENTRY_ID = "entry_id"
ACCOUNT_SERVICES: HassKey[dict[str, AccountNotificationService]] = HassKey(
    f"{DOMAIN}_account_services"
)
"""Each account's notify service, by its entry: made once, registered at every load."""


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

    async def async_added_to_hass(self) -> None:
        """Record the texts `ru_sms.send_message` sends the recipient, where Home Assistant can."""
        await super().async_added_to_hass()
        # Home Assistant 2026.3 has no way for an integration to record one; 2026.10 has.
        record = getattr(self, "_async_record_notification", None)
        if record is not None:
            self.async_on_remove(
                async_dispatcher_connect(
                    self.hass,
                    signal_recipient_texted(self.entry.entry_id, self.subentry.subentry_id),
                    record,
                )
            )

    @property
    def phones(self) -> list[str]:
        """The recipient's numbers."""
        return list(self.subentry.data[CONF_PHONES])

    @override
    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Text the recipient with the account's default options (and its escalation)."""
        await self.entry.runtime_data.async_send(
            self.phones,
            message,
            send_options(self.entry.options, {}),
            title=title,
            escalate=self._escalation(),
            recipients=[self.subentry.subentry_id],
        )

    def _escalation(self) -> EscalationPlan | None:
        """The recipient's escalation, checked as it stands now.

        One that can no longer run (its account's incoming SMS turned off, a target
        removed) is said in the log and left out: the alert itself still goes.
        """
        try:
            return checked_plan(
                self.hass,
                self.entry,
                escalate_data(self.subentry.data.get(CONF_ESCALATION)),
                recipients=[self.subentry.subentry_id],
            )
        except ServiceValidationError as err:
            _LOGGER.warning(
                "%s: the escalation of %s cannot run, the alert goes without it: %s",
                self.entry.title,
                self.subentry.title,
                err,
            )
            return None


@callback
def account_service_name(hass: HomeAssistant, entry: RuSmsConfigEntry) -> str:
    """The name of the account's `notify.<name>` service, the same at every start.

    Its title's slug; accounts whose titles make the same slug are numbered from 2 in
    the order they were added (two SMSC.ru accounts: `smsc_ru`, `smsc_ru_2`).
    """
    taken: set[str] = set()
    for other in hass.config_entries.async_entries(DOMAIN):
        base = slugify(other.title) or DOMAIN
        name, number = base, 2
        while name in taken:
            name, number = f"{base}_{number}", number + 1
        if other.entry_id == entry.entry_id:
            return name
        taken.add(name)
    raise ValueError(entry.entry_id)  # pragma: no cover - an entry being set up is listed


async def async_setup_account_service(hass: HomeAssistant, entry: RuSmsConfigEntry) -> None:
    """Offer the account's notify service until the account unloads.

    Home Assistant makes a legacy notify service only through discovery, and lists it
    for good: the first load of an account goes that way, a later one registers the
    same service again (under the account's name at that time).
    """
    name = account_service_name(hass, entry)
    if hass.services.has_service(NOTIFY_DOMAIN, name):
        # Another integration's: unloading ours would remove it.
        _LOGGER.warning(
            "%s: notify.%s belongs to another integration; rename the account to get "
            "its notify service",
            entry.title,
            name,
        )
        return
    service = hass.data.setdefault(ACCOUNT_SERVICES, {}).get(entry.entry_id)
    if service is None:
        hass.async_create_task(
            discovery.async_load_platform(
                hass,
                Platform.NOTIFY,
                DOMAIN,
                {CONF_NAME: name, CONF_ENTRY_ID: entry.entry_id},
                {},
            )
        )
        return
    await service.async_setup(hass, name, name)
    await service.async_register_services()
    entry.async_on_unload(service.async_unregister_services)


async def async_get_service(
    hass: HomeAssistant,
    config: ConfigType,
    discovery_info: DiscoveryInfoType | None = None,
) -> AccountNotificationService | None:
    """The account's notify service, the first time its account loads."""
    if discovery_info is None:
        return None
    entry: RuSmsConfigEntry | None = hass.config_entries.async_get_entry(
        discovery_info[CONF_ENTRY_ID]
    )
    if entry is None:  # pragma: no cover - removed while loading
        return None
    service = hass.data.setdefault(ACCOUNT_SERVICES, {})[entry.entry_id] = (
        AccountNotificationService(entry)
    )
    # Stays on notify's list when unregistered: no public call drops one service (2026.3, 2026.10).
    entry.async_on_unload(service.async_unregister_services)
    return service


class AccountNotificationService(BaseNotificationService):
    """`notify.<account name>`: `message`, `target` (numbers) and `data` (send options).

    Without `target`, it texts every recipient of the account.
    """

    def __init__(self, entry: RuSmsConfigEntry) -> None:
        """Serve one account."""
        self.entry = entry

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
            critical=is_critical(fields),
        )
