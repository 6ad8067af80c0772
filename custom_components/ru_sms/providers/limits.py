"""Limits of the send options every client checks before any request.

A validity or a send-at time outside what the gateway can take is refused here, with
a `problem` name the integration says in its own words, instead of being sent (and
cut, wrapped or read as "now" by the gateway) or overflowing a date computation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .errors import InvalidRequestError, SendProblem

MIN_VALIDITY = timedelta(minutes=1)
MAX_VALIDITY = timedelta(days=7)
"""The longest validity where a gateway documents none (SMSC centres keep days, not weeks)."""
MAX_SEND_AT_AHEAD = timedelta(days=5 * 365)
"""How far ahead a send-at time may be where a gateway documents no limit."""
_WIDEST_OFFSET = timedelta(hours=14)
MAX_SEND_AT_BEHIND = timedelta(days=1)
"""How far in the past a send-at time may be (a gateway sends a past time at once;
a time further back is a mistake, not a delay that ran late)."""


def check_validity(validity: timedelta, limit: timedelta, gateway: str) -> None:
    """Refuse a validity below one minute or over `limit`."""
    if validity < MIN_VALIDITY:
        raise InvalidRequestError(
            "The validity must be at least one minute", problem=SendProblem.VALIDITY_TOO_SHORT
        )
    if validity > limit:
        raise InvalidRequestError(
            f"{gateway} keeps a message for at most {limit}",
            problem=SendProblem.VALIDITY_TOO_LONG,
            params={"gateway": gateway, "max_hours": f"{limit.total_seconds() / 3600:g}"},
        )


def check_send_at(
    send_at: datetime,
    *,
    ahead: timedelta,
    years: tuple[int, int] | None,
    gateway: str,
    now: datetime | None = None,
) -> None:
    """Refuse a send-at time without a zone, too far back or ahead, or in a bad year.

    `years` (both included) are those the gateway can write the time in.
    """
    if send_at.tzinfo is None or send_at.utcoffset() is None:
        raise InvalidRequestError(
            "The send-at time must carry a time zone", problem=SendProblem.SEND_AT_WITHOUT_ZONE
        )
    now = now or datetime.now(UTC)
    # Differences of aware times never overflow, unlike moving year 1 or 9999 to a zone.
    if now - send_at > MAX_SEND_AT_BEHIND:
        raise InvalidRequestError(
            "The send-at time is in the past", problem=SendProblem.SEND_AT_IN_PAST
        )
    if send_at - now > ahead:
        raise InvalidRequestError(
            f"The send-at time is more than {ahead.days} days ahead",
            problem=SendProblem.SEND_AT_TOO_LATE,
            params={"max_days": str(ahead.days)},
        )
    # The gateway writes the time in its own zone: the year must fit in any zone.
    utc = send_at.astimezone(UTC)
    if years is not None and not (
        years[0] <= (utc - _WIDEST_OFFSET).year and (utc + _WIDEST_OFFSET).year <= years[1]
    ):
        raise InvalidRequestError(
            f"The gateway takes send-at times in {years[0]}-{years[1]} only",
            problem=SendProblem.SEND_AT_YEAR,
            params={"gateway": gateway, "first_year": str(years[0]), "last_year": str(years[1])},
        )
