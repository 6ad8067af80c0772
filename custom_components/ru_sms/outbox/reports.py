"""What the outbox tells people: status events, the fate of alerts, repair issues.

- `ru_sms_message_status` events about the numbers of an alert (`status_event`): waiting
  in the outbox, given up (failed, or possibly sent), taken with no id to follow;
- the fate of alerts that left the outbox without this account's tracker following them
  (`AlertLog`), followed through the reports of the account that carries them;
- the repair issue of alerts failing for long (`FAILING_ISSUE_AFTER`), and of alerts
  waiting while their account cannot load.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from ..issues import AccountIssue
from ..providers import DeliveryState
from ..signals import EVENT_MESSAGE_STATUS, async_fire_message_status
from ..status import STATE_WAITING, MessageStatus
from .alert import QueuedAlert
from .log import AlertLog, AlertNote
from .store import OutboxStore

FAILING_ISSUE_AFTER = timedelta(minutes=10)
"""An alert failing for this long raises a repair issue (with the reason)."""


class Details(TypedDict, total=False):
    """What an outbox event may say besides the alert, the number, the state and why."""

    code: str | None
    """The gateway's error code."""
    final: bool
    """No later report will change it (default: final)."""
    duplicate: bool
    """The number may have got the alert twice (default: the alert's mark)."""


def status_event(
    entry_id: str,
    account: str,
    alert: QueuedAlert,
    phone: str,
    *,
    state: DeliveryState | str,
    reason: str | None,
    **details: Unpack[Details],
) -> dict[str, Any]:
    """The data of a `ru_sms_message_status` event the outbox fires about one number."""
    status = MessageStatus(
        number=phone,
        message_id=alert.id,
        state=DeliveryState.QUEUED,
        final=details.get("final", True),
        raw_text=reason,
        error_code=details.get("code"),
    )
    data = status.as_event(entry_id, account, None) | {
        "state": str(state),
        "queued": True,
        "alert_id": alert.id,
        "possible_duplicate": details.get("duplicate", alert.possible_duplicate),
        "error": reason,
    }
    if state == STATE_WAITING:
        data["next_attempt"] = alert.next_attempt.isoformat()
    return data


def cannot_load_issue(hass: HomeAssistant, entry_id: str) -> AccountIssue:
    """The repair issue of alerts that wait while their account cannot load."""
    return AccountIssue(
        hass, entry_id, translation_key="outbox_cannot_load", severity=ir.IssueSeverity.ERROR
    )


class Reports:
    """The events, notes and repair issues of one account's outbox."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        store: OutboxStore,
        changed: Callable[[], None],
    ) -> None:
        """Report for `entry`; notes are kept in `store`; `changed` after each."""
        self.hass = hass
        self.entry = entry
        self.log = AlertLog()
        """Alerts that left the outbox untracked here (carried, given up): their fate."""
        self._store = store
        self._changed = changed
        self._carriers: set[str] = set()
        self._unsub: CALLBACK_TYPE | None = None
        self._issue = AccountIssue(
            hass, entry.entry_id, translation_key="outbox_failing", severity=ir.IssueSeverity.ERROR
        )

    def start(self) -> None:
        """Follow the reports of the accounts that carry our alerts; the account loaded."""
        self._unsub = self.hass.bus.async_listen(
            EVENT_MESSAGE_STATUS, self._async_carrier_report, self._is_carrier_report
        )
        self._carriers = self.log.carriers
        cannot_load_issue(self.hass, self.entry.entry_id).clear()

    def stop(self) -> None:
        """The account unloads: its repair issue goes (the next load says it again)."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self._issue.clear()

    def fire(
        self,
        alert: QueuedAlert,
        phone: str,
        state: DeliveryState | str,
        reason: str | None,
        **details: Unpack[Details],
    ) -> None:
        """A status event about one number of an alert (see `status_event`)."""
        entry = self.entry
        data = status_event(
            entry.entry_id, entry.title, alert, phone, state=state, reason=reason, **details
        )
        async_fire_message_status(self.hass, entry.entry_id, data)

    def note(
        self,
        alert: QueuedAlert,
        state: str,
        *,
        final: bool,
        phones: tuple[str, ...] | None = None,
        error: str | None = None,
        account: str | None = None,
        carrier: str | None = None,
    ) -> None:
        """Note an alert's fate for the last-message sensors (its origin's too)."""
        self.log.note(
            AlertNote(
                id=alert.id,
                phones=tuple(alert.phones if phones is None else phones),
                created_at=alert.created_at,
                state=state,
                final=final,
                error=error,
                account=account,
                carrier=carrier,
                possible_duplicate=alert.possible_duplicate,
            )
        )
        self._noted()

    def _noted(self) -> None:
        self._carriers = self.log.carriers
        self._store.set_extra("log", self.log.as_records())
        self._changed()

    @callback
    def _is_carrier_report(self, data: dict[str, Any]) -> bool:
        return data.get("config_entry_id") in self._carriers

    @callback
    def _async_carrier_report(self, event: Event[dict[str, Any]]) -> None:
        """A report of the account carrying one of our alerts."""
        if self.log.heard(event.data):
            self._noted()

    def update_issue(self, alerts: Iterable[QueuedAlert], now: datetime) -> None:
        """A repair issue while an alert has been failing for longer than `FAILING_ISSUE_AFTER`."""
        queued = list(alerts)
        failing = [
            a
            for a in queued
            if a.failing_since is not None and now - a.failing_since >= FAILING_ISSUE_AFTER
        ]
        if not failing:
            self._issue.clear()
            return
        oldest = min(failing, key=lambda a: a.failing_since or now)
        self._issue.show(
            account=self.entry.title,
            queued=str(len(queued)),
            minutes=str(int((now - (oldest.failing_since or now)).total_seconds() // 60)),
            error=oldest.last_error or "-",
        )

    def diagnostics(self, alerts: Iterable[QueuedAlert], *, after_send: int) -> dict[str, Any]:
        """Counts of the queue and of the alerts noted (no numbers, no texts)."""
        queued = list(alerts)
        return {
            "queued": len(queued),
            "waiting": sum(len(a.phones) for a in queued),
            "in_doubt": sum(1 for a in queued if a.in_doubt),
            "in_flight": sum(1 for a in queued if a.in_flight),
            "possible_duplicate": sum(1 for a in queued if a.possible_duplicate),
            "attempts": sum(a.attempts for a in queued),
            "failing_since": min(
                (a.failing_since.isoformat() for a in queued if a.failing_since), default=None
            ),
            "after_send": after_send,
            "noted": dict(Counter(note.state for note in self.log.notes.values())),
        }
