"""What to do when a send fails: the one table of decisions, and how to tell if it went out.

Every failure of a send falls in one of three kinds (`Verdict`):

- `RETRY`: the gateway certainly did not take the message (no connection, a refusal to
  serve that names a time to wait, HTTP 429 or 503, a temporarily unavailable answer):
  keep it and try again with exponential backoff and jitter, never before the gateway's
  own retry time, until the message's deadline.
- `PERMANENT`: the gateway refused it for good (credentials, money, number, text,
  sender): no retry on this account. Refusals about the account itself (`account_level`)
  can go out through a fallback account.
- `AMBIGUOUS`: the request went out and its answer was lost. The gateway is asked for
  evidence before anything is sent again, as its description declares it
  (`SmsGateway.find_evidence`; by our id alone: `sent_phones`); where it can tell nothing,
  the message is sent again and marked as a possible duplicate.

The errors' own classification (`GatewayUnavailableError.may_have_been_accepted`) says
whether a request may have been taken: this table does not second-guess it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
import random

from .base import SmsGateway
from .errors import GatewayResponseError, GatewayUnavailableError, RateLimitedError, SmsGatewayError
from .evidence import Evidence
from .ids import new_message_id
from .models import ErrorKind
from .restapi import SessionRejectedError


class Verdict(StrEnum):
    """What a failed send attempt means for the message."""

    RETRY = "retry"
    """Certainly not sent: try again later."""
    PERMANENT = "permanent"
    """Refused for good on this account."""
    AMBIGUOUS = "ambiguous"
    """May have been sent: find out (or send again, marked) before anything else."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on one failed attempt, and what it implies."""

    verdict: Verdict
    retry_after: float = 0.0
    """Seconds the gateway asked to wait (0: none named)."""
    account_level: bool = False
    """The account itself cannot send (credentials, money, the gateway down): another
    account could."""


_BY_KIND: Mapping[ErrorKind, Decision] = {
    ErrorKind.AUTHENTICATION: Decision(Verdict.PERMANENT, account_level=True),
    ErrorKind.INSUFFICIENT_FUNDS: Decision(Verdict.PERMANENT, account_level=True),
    ErrorKind.INVALID_RECIPIENT: Decision(Verdict.PERMANENT),
    ErrorKind.INVALID_SENDER: Decision(Verdict.PERMANENT),
    ErrorKind.MESSAGE_REJECTED: Decision(Verdict.PERMANENT),
    ErrorKind.INVALID_REQUEST: Decision(Verdict.PERMANENT),
    ErrorKind.NOT_SUPPORTED: Decision(Verdict.PERMANENT),
    ErrorKind.RATE_LIMITED: Decision(Verdict.RETRY),
    ErrorKind.UNAVAILABLE: Decision(Verdict.RETRY),
}
"""The decision per kind of failure, the same on every gateway."""

GATEWAY_DECISIONS: Mapping[str, Mapping[str, Decision]] = {
    # Error 4: the caller's IP is blocked for a while after too many errors; retrying
    # early prolongs the block (the client names the wait as a rate limit).
    "smsc": {"4": Decision(Verdict.RETRY, retry_after=600.0, account_level=True)},
}
"""Where a gateway's own error code means something else than its kind: by gateway id,
then by the gateway's code."""

ERROR_DECISIONS: Mapping[type[SmsGatewayError], Decision] = {
    # A session refused even after a fresh login (the login itself passed, or it would
    # have raised a plain `AuthenticationError`): the gateway's sessions are failing,
    # not our credentials, and nothing was sent.
    SessionRejectedError: Decision(Verdict.RETRY),
}
"""Where an error class of one gateway family means something else than its kind."""

BACKOFF_FIRST = 2.0
"""Seconds before the first retry of a message."""
BACKOFF_MAX = 300.0
"""The longest wait between two attempts, whatever their number."""
JITTER = 0.2
"""Each wait is stretched or shrunk by up to this share, so that alerts spread out."""
DOUBT_RESEND_AFTER = 60.0
"""Seconds before the one repeat of a send whose answer was lost, where the gateway
keeps no id of ours: a gateway that hung is given time to recover (and a repeat within a
minute reads as a flood), so that the one repeat is not spent on the same fault."""
MAX_POSSIBLY_SENT = 2
"""Attempts that may have been taken, at most, where the gateway keeps no id of ours:
an alert twice beats an alert lost, three times helps no one."""


def decide(gateway_id: str, err: SmsGatewayError) -> Decision:
    """The decision on a send that failed with `err` on gateway `gateway_id`."""
    special = GATEWAY_DECISIONS.get(gateway_id, {}).get(err.code or "") or next(
        (d for cls, d in ERROR_DECISIONS.items() if isinstance(err, cls)), None
    )
    base = special or _BY_KIND.get(err.kind, Decision(Verdict.PERMANENT))
    if isinstance(err, GatewayUnavailableError) and err.may_have_been_accepted:
        return Decision(Verdict.AMBIGUOUS, account_level=base.account_level)
    if isinstance(err, RateLimitedError) or (
        isinstance(err, GatewayUnavailableError) and err.retry_after > 0
    ):
        # HTTP 429 and 503 (`http.not_served`) too: not taken, and a wait named.
        return Decision(
            Verdict.RETRY,
            retry_after=max(err.retry_after, base.retry_after),
            account_level=base.account_level,
        )
    return base


def wait_after(
    decision: Decision, attempts: int, *, keeps_id: bool, rng: random.Random | None = None
) -> float:
    """Seconds before the next round of a message whose attempt ended in `decision`."""
    wait = backoff(attempts, decision.retry_after, rng=rng)
    if decision.verdict is Verdict.AMBIGUOUS and not keeps_id:
        wait = max(wait, DOUBT_RESEND_AFTER)
    return wait


def backoff(attempts: int, retry_after: float = 0.0, *, rng: random.Random | None = None) -> float:
    """Seconds to wait after `attempts` failed attempts (exponential, with jitter).

    Never less than the gateway's `retry_after`.
    """
    exponent = min(max(attempts - 1, 0), 16)
    wait = min(BACKOFF_FIRST * 2**exponent, BACKOFF_MAX)
    wait *= 1 + (rng or random).uniform(-JITTER, JITTER)
    return float(max(wait, retry_after))


def keeps_our_id(client: SmsGateway) -> bool:
    """Whether the gateway can be asked about a message by an id of ours."""
    return client.capabilities.client_message_id


async def sent_phones(client: SmsGateway, message_id: str, phones: Iterable[str]) -> set[str]:
    """The numbers the gateway has a message with our id `message_id` for.

    One status request (`SmsGateway.evidence_by_our_id`). A number the gateway answers
    in a documented "not found" form is left out; an answer that cannot be read is no
    evidence either way: like a failure to ask, it raises, and the message stays in doubt
    (ask again later, send nothing).
    """
    numbers = list(phones)
    found = await client.evidence_by_our_id(message_id, numbers)
    if any(found.get(phone, Evidence.NO_EVIDENCE) is Evidence.NO_EVIDENCE for phone in numbers):
        raise GatewayResponseError(
            "The gateway's answer does not tell whether it took the message",
            may_have_been_accepted=True,
        )
    return {phone for phone in numbers if found[phone] is Evidence.TAKEN}


__all__ = [
    "BACKOFF_FIRST",
    "BACKOFF_MAX",
    "DOUBT_RESEND_AFTER",
    "ERROR_DECISIONS",
    "GATEWAY_DECISIONS",
    "JITTER",
    "MAX_POSSIBLY_SENT",
    "Decision",
    "Verdict",
    "backoff",
    "decide",
    "keeps_our_id",
    "new_message_id",
    "sent_phones",
    "wait_after",
]
"""What the outbox uses (`new_message_id` is `ids`', kept importable from here)."""
