"""Repair issues of an account: each shown while its condition holds, gone when it ends."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .storage import Damage, StoreKind


class AccountIssue:
    """One repair issue of one account (`<translation key>_<entry id>`).

    Nothing in the UI fixes it: it says what is wrong until the account's own work finds
    it mended, and goes with the account.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        *,
        translation_key: str,
        severity: ir.IssueSeverity,
    ) -> None:
        """The issue `translation_key` (its text under `issues`) of the account `entry_id`."""
        self.hass = hass
        self.translation_key = translation_key
        self.issue_id = f"{translation_key}_{entry_id}"
        self.severity = severity

    @callback
    def show(self, **placeholders: str) -> None:
        """Raise the issue, or update what it says."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.issue_id,
            is_fixable=False,
            severity=self.severity,
            translation_key=self.translation_key,
            translation_placeholders=placeholders,
        )

    @callback
    def clear(self) -> None:
        """The condition ended (or the account unloads): the issue goes."""
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)


DAMAGE_KEYS: dict[tuple[StoreKind, bool], str] = {
    (StoreKind.OUTBOX, True): "outbox_unreadable",
    (StoreKind.OUTBOX, False): "outbox_damaged",
    (StoreKind.TRACKER, True): "tracker_unreadable",
    (StoreKind.TRACKER, False): "tracker_damaged",
    (StoreKind.INCOMING, True): "incoming_unreadable",
    (StoreKind.INCOMING, False): "incoming_damaged",
    (StoreKind.ESCALATIONS, True): "escalations_unreadable",
    (StoreKind.ESCALATIONS, False): "escalations_damaged",
}
"""The repair issue of each file that could not be read at all (True) or in part."""


@callback
def async_show_damage(hass: HomeAssistant, entry_id: str, account: str, damage: Damage) -> None:
    """Say what of an account's file could not be read, and where the file is kept.

    Kept across restarts until the account is removed (or the issue dismissed): what
    was lost stays lost when the account is loaded again.
    """
    whole = damage.lost is None
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"{damage.kind}_damaged_{entry_id}",
        is_fixable=False,
        is_persistent=True,
        severity=ir.IssueSeverity.ERROR
        if damage.kind in (StoreKind.OUTBOX, StoreKind.ESCALATIONS)
        else ir.IssueSeverity.WARNING,
        translation_key=DAMAGE_KEYS[damage.kind, whole],
        translation_placeholders={
            "account": account,
            "lost": "0" if whole else str(damage.lost),
            "kept_as": damage.kept_as or "-",
            "error": damage.error,
        },
    )


@callback
def async_clear_damage(hass: HomeAssistant, entry_id: str) -> None:
    """A removed account: its files are gone, and what was said of them."""
    for kind in StoreKind:
        ir.async_delete_issue(hass, DOMAIN, f"{kind}_damaged_{entry_id}")
