"""Repair issues of an account: each shown while its condition holds, gone when it ends."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN


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
