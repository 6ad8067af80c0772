"""What an alert asks of its escalation, and the record kept of it.

`EscalationPlan` is what an action (or a recipient's options) asks: a window, what ends
it (delivery, or an acknowledgement), and a ladder of up to three steps. `Escalation` is
the alert's record: its numbers, its messages, its step, and how it ended; it is kept on
disk (`as_dict`, `from_dict`) so that a restart or a reload resumes it at the right step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
import secrets
from typing import Any

from ..storage import read_time

TARGET_FALLBACK = "fallback"
"""A step that sends the alert again, to the same numbers, through the account's fallback."""
MAX_STEPS = 3
MIN_WINDOW = timedelta(minutes=1)
MAX_WINDOW = timedelta(hours=24)
CODE_PLACEHOLDER = "{code}"
"""In an alert's text: replaced by a short number a reply must contain to acknowledge it."""

CONF_NOT_DELIVERED_WITHIN = "not_delivered_within"
CONF_NOT_ACKNOWLEDGED_WITHIN = "not_acknowledged_within"
CONF_STEPS = "steps"

CONF_ESCALATION = "escalation"
"""A recipient's escalation (its subentry data), used by its notify entity."""
ESCALATE_WHEN = "when"
ESCALATE_AFTER = "after"
"""Seconds of the window."""
ESCALATE_FALLBACK = "fallback"
"""The fallback account sends it again first."""
ESCALATE_TO = "to"
"""Notify entities, in order, after the fallback."""
ESCALATE_OFF = "off"
ESCALATE_WHENS = (ESCALATE_OFF, "not_delivered", "not_acknowledged")


def escalate_data(stored: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A recipient's kept escalation in the form of the action's `escalate` (None: off)."""
    if not stored or stored.get(ESCALATE_WHEN, ESCALATE_OFF) == ESCALATE_OFF:
        return None
    steps = [TARGET_FALLBACK] if stored.get(ESCALATE_FALLBACK) else []
    return {
        f"{stored[ESCALATE_WHEN]}_within": timedelta(seconds=float(stored[ESCALATE_AFTER])),
        CONF_STEPS: steps + list(stored.get(ESCALATE_TO, [])),
    }


class Until(StrEnum):
    """What ends an escalation before its next step."""

    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    NOT_ACKNOWLEDGED = "not_acknowledged"
    """No reply came within the window, and there was no step to run."""


class EscalationState(StrEnum):
    """Where an escalation stands."""

    AWAITING_DELIVERY = "awaiting_delivery"
    AWAITING_ACKNOWLEDGEMENT = "awaiting_acknowledgement"
    ESCALATED = "escalated"
    """A step ran, and nothing has ended the escalation yet (or nothing did, to the end)."""
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    NOT_ACKNOWLEDGED = "not_acknowledged"
    """No reply came within the window, and there was no step to run."""


@dataclass(frozen=True, slots=True)
class EscalationPlan:
    """What an alert asks: after `window` without `until`, the next of `steps` runs."""

    until: Until
    window: timedelta
    steps: tuple[str, ...] = ()
    """Each `TARGET_FALLBACK` or a notify entity's id, in order."""

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> EscalationPlan:
        """A plan from the action's `escalate` (checked by `escalation.checks`)."""
        acknowledged = data.get(CONF_NOT_ACKNOWLEDGED_WITHIN)
        window = acknowledged if acknowledged is not None else data[CONF_NOT_DELIVERED_WITHIN]
        return cls(
            until=Until.ACKNOWLEDGED if acknowledged is not None else Until.DELIVERED,
            window=window,
            steps=tuple(data.get(CONF_STEPS, ())),
        )


def new_code() -> str:
    """A code for a reply to carry: four digits, not guessable from the last one."""
    return str(1000 + secrets.randbelow(9000))


@dataclass(slots=True)
class Escalation:
    """One alert's escalation, from its send to its end; kept on disk."""

    id: str
    """The alert's id (`alert_id` of its events and of the action's response)."""
    text: str
    phones: list[str]
    """The numbers the alert was sent to (digits)."""
    until: Until
    window: timedelta
    steps: list[str]
    started_at: datetime
    critical: bool = False
    recipients: list[str] = field(default_factory=list)
    """The recipients of the account the alert named (their subentry ids)."""
    code: str | None = None
    """What a reply must contain to acknowledge (None: any reply from a number counts)."""
    next_step: int = 0
    """The index of the step that runs next (a step is counted before it runs: never twice)."""
    last_step_at: datetime | None = None
    state: EscalationState = EscalationState.AWAITING_DELIVERY
    ended_at: datetime | None = None
    watched: set[str] = field(default_factory=set)
    """Every number texted for it (digits): the alert's and its steps'; replies count from these."""
    keys: set[str] = field(default_factory=set)
    """The tracker keys (first id and number) of its messages and of its steps' messages."""
    alert_ids: set[str] = field(default_factory=set)
    """Its alert's id and the ids of the alerts its steps sent."""
    acknowledged_by: str | None = None
    escalated_to: list[str] = field(default_factory=list)
    """The target of each step that ran, in order."""

    @property
    def active(self) -> bool:
        """Not ended: a delivery, a reply or a step may still come."""
        return self.ended_at is None

    def due(self) -> datetime:
        """When the next step runs, or (past the last step) when the escalation ends."""
        return (self.last_step_at or self.started_at) + self.window

    def waiting_state(self) -> EscalationState:
        """The state while nothing has ended it."""
        if self.next_step:
            return EscalationState.ESCALATED
        if self.until is Until.ACKNOWLEDGED:
            return EscalationState.AWAITING_ACKNOWLEDGEMENT
        return EscalationState.AWAITING_DELIVERY

    def shown_state(self) -> str | None:
        """What the last-message sensor shows for it (None: the delivery state)."""
        if self.state is EscalationState.ACKNOWLEDGED:
            return self.state.value
        if self.escalated_to:
            return EscalationState.ESCALATED.value
        if self.state in (
            EscalationState.AWAITING_ACKNOWLEDGEMENT,
            EscalationState.NOT_ACKNOWLEDGED,
        ):
            return self.state.value
        return None

    def attributes(self) -> dict[str, Any]:
        """What the last-message sensor tells of it."""
        return {
            "alert_id": self.id,
            "escalation": self.state.value,
            "escalation_step": self.next_step,
            "escalated_to": list(self.escalated_to),
            "acknowledged_by": self.acknowledged_by,
        }

    def as_dict(self) -> dict[str, Any]:
        """As kept on disk."""
        return {
            "id": self.id,
            "text": self.text,
            "phones": self.phones,
            "until": self.until.value,
            "window": self.window.total_seconds(),
            "steps": self.steps,
            "started_at": self.started_at.isoformat(),
            "critical": self.critical,
            "recipients": self.recipients,
            "code": self.code,
            "next_step": self.next_step,
            "last_step_at": _iso(self.last_step_at),
            "state": self.state.value,
            "ended_at": _iso(self.ended_at),
            "watched": sorted(self.watched),
            "keys": sorted(self.keys),
            "alert_ids": sorted(self.alert_ids),
            "acknowledged_by": self.acknowledged_by,
            "escalated_to": self.escalated_to,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Escalation:
        """As read from disk; `TypeError`, `ValueError` or `KeyError` when it cannot be."""
        if not isinstance(data, dict):
            raise TypeError("not a record")
        window = float(data["window"])
        if window <= 0:
            raise ValueError("no window")
        return cls(
            id=_text(data["id"]),
            text=_text(data["text"]),
            phones=_texts(data["phones"]),
            until=Until(data["until"]),
            window=timedelta(seconds=window),
            steps=_texts(data["steps"]),
            started_at=read_time(data["started_at"]),
            critical=bool(data.get("critical", False)),
            recipients=_texts(data.get("recipients", [])),
            code=None if data.get("code") is None else _text(data["code"]),
            next_step=int(data.get("next_step", 0)),
            last_step_at=_time(data.get("last_step_at")),
            state=EscalationState(data.get("state", EscalationState.AWAITING_DELIVERY)),
            ended_at=_time(data.get("ended_at")),
            watched=set(_texts(data.get("watched", []))),
            keys=set(_texts(data.get("keys", []))),
            alert_ids=set(_texts(data.get("alert_ids", []))),
            acknowledged_by=None
            if data.get("acknowledged_by") is None
            else _text(data["acknowledged_by"]),
            escalated_to=_texts(data.get("escalated_to", [])),
        )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(value: Any) -> datetime | None:
    return None if value is None else read_time(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a text")
    return value


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise TypeError("not a list")
    return [_text(item) for item in value]
