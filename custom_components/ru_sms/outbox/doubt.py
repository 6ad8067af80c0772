"""An alert in doubt: its request may have been taken. What the gateway's evidence says to do.

Where the gateway can tell (its description's `evidence`), it is asked before anything is
sent again, and only once it could have recorded the request (its `settle` time after the
lost answer): numbers it took are followed, never sent again; a "not there" is believed
when the gateway says it once more after `confirm_after` (then the alert goes again, no
duplicate); an answer that cannot be read, or a question asked too early, is no evidence:
ask later. Evidence that stays out of reach for half the time left to the deadline, or a
gateway that can tell nothing of this send, leaves the alert to the rule where no evidence
can be had: at least once until its deadline, each copy after the first marked as a
possible duplicate, at most `max_copies` requests that may have been taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..providers import Evidence, EvidenceReport, LostSend, SmsGateway
from ..providers.delivery_policy import backoff
from .alert import QueuedAlert

MIN_ASK_WAIT = 5.0
"""Seconds at least between two questions about one alert."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """What to do with an alert in doubt now."""

    taken: tuple[str, ...] = ()
    """Numbers the gateway took: follow them, never send them again."""
    resend: bool = False
    """Send the other numbers now."""
    proven: bool = False
    """...the gateway proved it took none of them: the copy is no duplicate."""
    ask_at: datetime | None = None
    """Send nothing now; ask again then."""
    first_not_there: bool = False
    """The gateway said "not there" for the first time (`ask_at`: to confirm it)."""
    no_more_copies: bool = False
    """The gateway cannot tell, and the alert went as many times as it may."""
    report: EvidenceReport | None = None


def lost_send(alert: QueuedAlert) -> LostSend:
    """What the gateway is asked about: every request since the first answer was lost."""
    return LostSend(
        phones=tuple(alert.phones),
        text=alert.text,
        sent_at=alert.doubt_since or alert.attempt_at or alert.created_at,
        answer_lost_at=alert.answer_lost_at,
        client_message_id=alert.send_options.client_message_id,
    )


async def async_evidence(gateway: SmsGateway, alert: QueuedAlert) -> EvidenceReport | None:
    """The gateway's evidence on an alert in doubt (None: it can tell nothing)."""
    if not gateway.description.evidence.can_tell:
        return None
    return await gateway.find_evidence(lost_send(alert))


def resolve_doubt(
    gateway: SmsGateway,
    alert: QueuedAlert,
    report: EvidenceReport | None,
    *,
    now: datetime,
    max_copies: int,
) -> Resolution:
    """What the evidence (`report`, None: none to be had) says to do with `alert` now."""
    policy = gateway.description.evidence
    taken = () if report is None else report.taken
    if report is not None:
        rest = [phone for phone in alert.phones if phone not in taken]
        undecided = [phone for phone in rest if report.of(phone) is Evidence.NO_EVIDENCE]
        if not rest:
            return Resolution(taken=taken, report=report)
        if not undecided:
            if policy.confirm_after and alert.not_taken_at is None:
                return Resolution(
                    taken=taken,
                    ask_at=now + timedelta(seconds=policy.confirm_after),
                    first_not_there=True,
                    report=report,
                )
            return Resolution(taken=taken, resend=True, proven=True, report=report)
        unanswered = bool(report.errors) or report.settles_at is not None
        since = alert.doubt_since or alert.created_at
        patience = since + (alert.deadline - since) / 2
        if unanswered and now < patience:
            # Asked too early (the settle time says when), or the answer could not be
            # read: ask again, less often each time.
            later = now + timedelta(seconds=max(MIN_ASK_WAIT, backoff(alert.asks)))
            ask_at = max(report.settles_at or later, later)
            return Resolution(taken=taken, ask_at=min(ask_at, patience), report=report)
    # No evidence to be had: at least once, at most `max_copies` that may have been taken.
    if alert.possibly_sent >= max_copies:
        return Resolution(taken=taken, no_more_copies=True, report=report)
    return Resolution(taken=taken, resend=True, report=report)


def cannot_tell(alert: QueuedAlert) -> str:
    """Why an alert that may have gone is given up: the gateway cannot tell."""
    return (
        f"{alert.possibly_sent} request(s) may have been taken; the gateway cannot tell "
        f"(last error: {alert.last_error or '-'})"
    )
