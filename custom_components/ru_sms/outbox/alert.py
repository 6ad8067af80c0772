"""One alert in an outbox, and what became of an attempt to send it.

An alert's stored form is one record, made again only when that alert changes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from ..options import options_from_dict
from ..providers import SendOptions, SendResult, SmsGatewayError
from ..providers.delivery_policy import Verdict
from ..storage import read_time


@dataclass(slots=True)
class QueuedAlert:
    """One alert not yet taken by the gateway.

    Its `id` is the alert's one identity from the call to its final state: the id of ours
    the gateways that keep one store with it, the `alert_id` of its events and of the
    last-message sensors, kept when another account carries it (`origin`).
    """

    id: str
    phones: list[str]
    """The numbers still to send to (normalised)."""
    text: str
    """As it goes out (transliterated where asked)."""
    options: dict[str, Any]
    deadline: datetime
    created_at: datetime
    next_attempt: datetime
    attempts: int = 0
    in_flight: bool = False
    """A request was under way when this was written (after a restart: in doubt)."""
    in_doubt: bool = False
    """The last request may have been taken: find out (or send again, marked) first."""
    possibly_sent: int = 0
    """Requests that may have been taken and that no evidence has shown were not."""
    possible_duplicate: bool = False
    last_error: str | None = None
    failing_since: datetime | None = None
    failover: bool = True
    """May go out through the fallback account (not when it came from another account)."""
    attempt_at: datetime | None = None
    """When the latest request went out."""
    doubt_since: datetime | None = None
    """When the first request whose answer was lost went out: evidence is asked from here."""
    answer_lost_at: datetime | None = None
    """When the latest attempt ended without an answer (the settle time counts from it)."""
    not_taken_at: datetime | None = None
    """When the gateway first said "not there": believed once it says so again later."""
    asks: int = 0
    """Times the gateway was asked for evidence since the doubt began (the wait grows)."""
    origin: str | None = None
    """The account (entry id) the alert was carried for, when not this one's own."""

    def as_record(self) -> dict[str, Any]:
        """The stored form: plain JSON values, nothing shared with the alert.

        Made for a write after a change of this alert (never for the others in the
        queue): the record is replaced, never changed, so a writer thread may read it at
        any time. Under 200 callers at once every alert is written in flight: spelled
        out, a record takes about half the time a loop over the fields took.
        """
        record: dict[str, Any] = {
            "id": self.id,
            "phones": list(self.phones),
            "text": self.text,
            "options": dict(self.options),
            "deadline": self.deadline.isoformat(),
            "created_at": self.created_at.isoformat(),
            "next_attempt": self.next_attempt.isoformat(),
            "attempts": self.attempts,
            "in_flight": self.in_flight,
            "in_doubt": self.in_doubt,
            "possibly_sent": self.possibly_sent,
            "possible_duplicate": self.possible_duplicate,
            "failover": self.failover,
            "asks": self.asks,
        }
        for name in _MAY_BE_NONE:
            if (value := getattr(self, name)) is not None:
                record[name] = value.isoformat() if isinstance(value, datetime) else value
        return record

    @classmethod
    def from_record(cls, data: Any) -> QueuedAlert:
        """From the store; `TypeError`/`ValueError` for a record that cannot be sent.

        Every field is checked: an alert read back must not fail later, in a round.
        """
        if not isinstance(data, dict):
            raise TypeError("not a record")
        values: dict[str, Any] = {}
        for name in ALERT_FIELDS:
            if (value := data.get(name)) is None:
                if name in _REQUIRED:
                    raise ValueError(f"no {name}")
                continue
            kind = _KINDS[name]
            if kind is datetime:
                value = read_time(value)
            elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise TypeError(name)
            values[name] = value
        phones = values["phones"]
        if not phones or not all(isinstance(p, str) and p for p in phones):
            raise ValueError("no numbers")
        if not values["id"] or any(
            values.get(n, 0) < 0 for n in ("attempts", "possibly_sent", "asks")
        ):
            raise ValueError("id or counts")
        options_from_dict(values["options"])  # raises for options that cannot be read
        return cls(**values)

    @property
    def send_options(self) -> SendOptions:
        """The options the alert is sent with."""
        return options_from_dict(self.options)


ALERT_FIELDS = tuple(f.name for f in fields(QueuedAlert))
_REQUIRED = frozenset(("id", "phones", "text", "options", "deadline", "created_at", "next_attempt"))
_MAY_BE_NONE = (
    "last_error",
    "failing_since",
    "attempt_at",
    "doubt_since",
    "answer_lost_at",
    "not_taken_at",
    "origin",
)
"""The fields a record leaves out when they are None (`as_record` spells out the rest)."""
_KINDS: dict[str, type] = {
    "id": str,
    "phones": list,
    "text": str,
    "options": dict,
    "attempts": int,
    "possibly_sent": int,
    "asks": int,
    "in_flight": bool,
    "in_doubt": bool,
    "possible_duplicate": bool,
    "failover": bool,
    "last_error": str,
    "origin": str,
} | dict.fromkeys(
    (
        "deadline",
        "created_at",
        "next_attempt",
        "failing_since",
        "attempt_at",
        "doubt_since",
        "answer_lost_at",
        "not_taken_at",
    ),
    datetime,
)
"""The type each stored field must have (times: aware ISO text)."""


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What became of an alert's first attempt (or of a failover)."""

    result: SendResult
    """The numbers the gateway accepted or refused."""
    queued: tuple[str, ...] = ()
    """The numbers kept for another attempt."""
    possible_duplicate: bool = False
    account: str | None = None
    """The account that carried it (the title), when it was not the one asked."""
    alert_id: str | None = None
    error: str | None = None
    """Why the numbers are queued: the failed attempt's error (the gateway's words or ours)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt, and the table's decision on it."""

    error: SmsGatewayError
    verdict: Verdict
    retry_after: float = 0.0
    account_level: bool = False


class Backoffs:
    """Alerts certainly not sent that wait out our backoff, not a wait the gateway asked for.

    When the gateway takes a send again (it is back), they are due at once: a queue of a
    thousand drains at the pace of the request budget (the gateway's documented limits),
    not of each alert's own backoff. An alert in doubt still waits for its evidence, and
    one the gateway asked to wait (`Retry-After`, SMSC.ru's minute) waits it out.
    """

    __slots__ = ("_ids",)

    def __init__(self) -> None:
        """None waiting."""
        self._ids: set[str] = set()

    def kept(self, alert: QueuedAlert, attempt: Failure) -> None:
        """`alert` waits for another attempt after `attempt` failed."""
        if attempt.verdict is Verdict.RETRY and not attempt.retry_after and not alert.in_doubt:
            self._ids.add(alert.id)
        else:
            self._ids.discard(alert.id)

    def taken(self, alert_id: str) -> bool:
        """The gateway took `alert_id`'s send; whether others wait out a backoff."""
        self._ids.discard(alert_id)
        return bool(self._ids)

    def bring_forward(self, alerts: dict[str, QueuedAlert], now: datetime) -> list[QueuedAlert]:
        """Make the waiting ones due `now`; those changed (to be written)."""
        moved = []
        for alert_id in self._ids:
            alert = alerts.get(alert_id)
            if alert is not None and not alert.in_doubt and not alert.in_flight:
                alert.next_attempt = min(now, alert.next_attempt)
                moved.append(alert)
        self._ids.clear()
        return moved
