"""What became of the alerts that left the outbox without this account's tracker following them.

An alert the account's gateway took is followed by its tracker. The others are noted
here, so that the last-message sensors show an alert's fate until a newer one comes:
one carried by the fallback account (its state followed through that account's
`ru_sms_message_status` events, by the alert's id, then by the carrier's message id),
one given up (failed, or possibly sent), one the gateway was found to have taken with
no id to follow it by. The latest few are kept, with the outbox's file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from ..providers.phone import phone_digits
from ..storage import read_time

MAX_NOTES = 32
"""Alerts noted at most (the newest): a sensor shows the latest of its numbers'."""


@dataclass(frozen=True, slots=True)
class AlertNote:
    """The fate of one alert this account's tracker does not follow."""

    id: str
    phones: tuple[str, ...]
    created_at: datetime
    state: str
    """A delivery state's value, or `waiting` (in the carrier's outbox)."""
    final: bool
    error: str | None = None
    account: str | None = None
    """The account that carries it (its title); None: this one."""
    carrier: str | None = None
    """That account's entry id."""
    message_id: str | None = None
    """The carrier's message id, once its gateway took the alert."""
    number: str | None = None
    """The number the carrier's latest report was about."""
    possible_duplicate: bool = False

    def as_record(self) -> dict[str, Any]:
        """The stored form."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return data | {"phones": list(self.phones), "created_at": self.created_at.isoformat()}

    @classmethod
    def from_record(cls, data: Any) -> AlertNote:
        """From the store; `TypeError`/`ValueError` for what is not a note."""
        if not isinstance(data, dict):
            raise TypeError("not a note")
        values: dict[str, Any] = {f.name: data.get(f.name) for f in fields(cls)}
        values["created_at"] = read_time(values["created_at"])
        phones = values["phones"]
        if not isinstance(phones, list) or not all(isinstance(p, str) for p in phones):
            raise TypeError("phones")
        values["phones"] = tuple(phones)
        for name in ("id", "state"):
            if not isinstance(values[name], str):
                raise TypeError(name)
        for name in ("error", "account", "carrier", "message_id", "number"):
            if values[name] is not None and not isinstance(values[name], str):
                raise TypeError(name)
        values["final"] = bool(values["final"])
        values["possible_duplicate"] = bool(values["possible_duplicate"])
        return cls(**values)


class AlertLog:
    """The latest alerts that left the outbox untracked here, newest last."""

    def __init__(self) -> None:
        """Nothing noted yet."""
        self.notes: dict[str, AlertNote] = {}

    def note(self, note: AlertNote) -> None:
        """Note an alert's fate (again, when it changed)."""
        self.notes.pop(note.id, None)
        self.notes[note.id] = note
        while len(self.notes) > MAX_NOTES:
            del self.notes[next(iter(self.notes))]

    def latest(self, phones: list[str] | None = None) -> AlertNote | None:
        """The newest alert noted (to any of `phones`, when given)."""
        wanted = None if phones is None else {phone_digits(p) for p in phones}
        return max(
            (n for n in self.notes.values() if wanted is None or not wanted.isdisjoint(n.phones)),
            key=lambda n: n.created_at,
            default=None,
        )

    @property
    def carriers(self) -> set[str]:
        """The accounts whose reports may be about an alert noted here."""
        return {n.carrier for n in self.notes.values() if n.carrier and not n.final}

    def heard(self, data: Mapping[str, Any]) -> bool:
        """A carrier's status report: whether it changed a note.

        A report naming the alert (the carrier's outbox, or its tracker's first report
        of a number) gives the message id to know the later ones by. A note follows the
        first number reported.
        """
        carrier = data.get("config_entry_id")
        number = data.get("number")
        found = self.notes.get(data.get("alert_id") or "")
        if found is None:
            found = next(
                (
                    n
                    for n in self.notes.values()
                    if n.carrier == carrier
                    and n.message_id is not None
                    and n.message_id == data.get("message_id")
                    and n.number == number
                ),
                None,
            )
        if found is None or found.carrier != carrier:
            return False
        if found.number is not None and number is not None and number != found.number:
            return False
        self.note(
            replace(
                found,
                state=str(data.get("state")),
                final=bool(data.get("final")),
                error=data.get("error")
                or (data.get("raw_text") if data.get("state") == "failed" else None),
                message_id=data.get("message_id") if data.get("alert_id") else found.message_id,
                number=found.number or number,
                possible_duplicate=found.possible_duplicate or bool(data.get("possible_duplicate")),
            )
        )
        return True

    def as_records(self) -> list[dict[str, Any]]:
        """The stored form of every note."""
        return [n.as_record() for n in self.notes.values()]

    def load(self, records: Any) -> int:
        """Notes from the store; how many could not be read."""
        lost = 0
        for item in records if isinstance(records, list) else []:
            try:
                self.note(AlertNote.from_record(item))
            except TypeError, ValueError:
                lost += 1
        return lost
