"""When the tracker asks about a message, and about which of its segments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..providers import SendOptions, SmsGateway, StatusMode
from .record import TrackedMessage

DEFAULT_VALIDITY = timedelta(hours=24)
"""How long a gateway keeps trying when the send named no validity (their default)."""
VALIDITY_MARGIN = timedelta(hours=1)
"""Reports can come a while after the validity ran out."""

BACKOFF: tuple[float, ...] = (10, 50, 120, 300, 600)
"""Seconds before each status request of one message; then every `BACKOFF_TAIL`.

Most messages are final within a minute or two: after that the pace drops quickly."""
BACKOFF_TAIL = 900.0
SAFETY_NET_INTERVAL = 900.0
"""With status callbacks on, polling only catches what a lost callback missed."""


@dataclass(frozen=True, slots=True)
class Pacing:
    """The status request schedule of one account, from what its gateway allows.

    The facts it takes (list polling, callbacks) describe the gateway and the account;
    everything about timing lives here.
    """

    list_polling: bool
    """One request answers about every pending message (`min_interval` apart at least)."""
    callbacks: bool
    """The gateway reports states itself; polls are only a safety net."""
    min_interval: float = 0.0
    """Seconds the gateway documents between two status requests."""
    first_after: float | None = None
    """Seconds after a send before the first look, when the gateway sets the pace."""

    @classmethod
    def of(cls, gateway: SmsGateway, *, callbacks: bool) -> Pacing:
        """The pacing of an account, from its gateway's declared status policy."""
        status = gateway.description.status
        return cls(
            list_polling=status.mode is StatusMode.LIST,
            callbacks=callbacks,
            min_interval=status.min_interval,
            first_after=status.first_after,
        )

    def first(self, start: datetime) -> datetime:
        """The first look at a message that goes out at `start`."""
        if self.callbacks:
            return start + timedelta(seconds=SAFETY_NET_INTERVAL)
        return start + timedelta(seconds=self.first_after or BACKOFF[0])

    def following(self, polls: int, now: datetime) -> datetime:
        """The look after the `polls`-th one, made `now`."""
        if self.callbacks:
            return now + timedelta(seconds=SAFETY_NET_INTERVAL)
        step = BACKOFF[polls] if polls < len(BACKOFF) else BACKOFF_TAIL
        if self.list_polling:
            # One request answers for every pending message: each still backs off, but
            # none is asked sooner than the gateway allows.
            step = max(step, self.min_interval)
        return now + timedelta(seconds=step)

    def plan(self, options: SendOptions, now: datetime) -> tuple[datetime, datetime, datetime]:
        """When a send's messages (sent `now`) were sent, expire and are first asked about."""
        try:
            start = max(now, options.send_at) if options.send_at else now
            expires_at = start + (options.validity or DEFAULT_VALIDITY) + VALIDITY_MARGIN
        except TypeError, ValueError, OverflowError:
            # The send went out: follow it for the default time rather than fail.
            start, expires_at = now, now + DEFAULT_VALIDITY + VALIDITY_MARGIN
        return now, expires_at, self.first(start)

    def earliest(self, due: float, last_list_poll: datetime | None) -> float:
        """When a request about something due at `due` may go out."""
        if self.list_polling and last_list_poll is not None:
            # Never two list requests closer than the gateway allows, whatever became due.
            return max(due, last_list_poll.timestamp() + self.min_interval)
        return due

    @staticmethod
    def segments_to_ask(message: TrackedMessage) -> list[str]:
        """The segment ids worth a request now.

        The parts of a split message travel together: one of them is asked until it is
        final, then the others are settled (one request each where ids are asked one
        by one) in the same poll.
        """
        open_ids = [m for m in message.message_ids if not message.segment_final(m)]
        probe = message.message_ids[0]
        if probe in open_ids:
            return [probe]
        return open_ids

    @staticmethod
    def settle_now(message: TrackedMessage) -> bool:
        """Whether the rest of a split message is asked at once (its first part is final)."""
        probe = message.segments.get(message.message_ids[0])
        return (
            len(message.message_ids) > 1
            and probe is not None
            and probe.state.is_final
            and not message.is_final
        )
