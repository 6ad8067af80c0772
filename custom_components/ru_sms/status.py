"""One typed delivery status, and the three ways it is shown.

The `ru_sms_message_status` event, the last-message sensors' attributes and the
`get_status` response all come from a `MessageStatus`, made from a tracked message
(`TrackedMessage.status`) or from a gateway's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .providers import DeliveryState, DeliveryStatus

STATE_WAITING = "waiting"
"""An alert waiting in our outbox for another attempt (not the gateway's `queued`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageStatus:
    """Where one message to one number stands, with the gateway's own words."""

    number: str | None
    message_id: str
    state: DeliveryState
    final: bool
    """No report will change it (a message given up on is final in an unknown state)."""
    raw_code: str | None = None
    raw_text: str | None = None
    error_code: str | None = None
    cost: float | None = None
    message_ids: tuple[str, ...] = ()
    """Every segment's id (a tracked message)."""
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of_answer(cls, status: DeliveryStatus) -> MessageStatus:
        """The status a gateway answered about a message (or a segment)."""
        return cls(
            number=status.phone or None,
            message_id=status.message_id,
            state=status.state,
            final=status.state.is_final,
            raw_code=status.raw_code,
            raw_text=status.raw_text,
            error_code=status.error_code,
            cost=None if status.cost is None else float(status.cost),
            updated_at=status.updated_at,
        )

    @property
    def error(self) -> str | None:
        """Why the message failed, in the gateway's words."""
        return self.raw_text if self.state is DeliveryState.FAILED else None

    def _report(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "state": str(self.state),
            "final": self.final,
            "raw_code": self.raw_code,
            "raw_text": self.raw_text,
            "error_code": self.error_code,
        }

    def as_event(self, entry_id: str, account: str, recipient: str | None) -> dict[str, Any]:
        """The data of `ru_sms_message_status`."""
        return {
            "config_entry_id": entry_id,
            "account": account,
            "recipient": recipient,
            "number": self.number,
            "message_ids": list(self.message_ids),
            **self._report(),
            "cost": self.cost,
        }

    def as_attributes(self) -> dict[str, Any]:
        """The attributes of a last-message sensor (its state is the state)."""
        return {
            "number": self.number,
            "message_id": self.message_id,
            "sent_at": _iso(self.sent_at),
            "delivered_at": _iso(self.delivered_at),
            "error": self.error,
            "error_code": self.error_code,
            "cost": self.cost,
        }

    def as_response(self) -> dict[str, Any]:
        """One entry of the `get_status` response."""
        return {
            **self._report(),
            "phone": self.number,
            "updated_at": _iso(self.updated_at),
            "cost": self.cost,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
