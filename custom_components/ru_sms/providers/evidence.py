"""Evidence before a resend: whether the gateway took a send whose answer was lost.

After a send whose answer was lost (a timeout, a cut connection, a 5xx page, a garbled
answer), sending again may deliver the text twice, and not sending may lose it. Each
gateway declares what it can be asked to tell (`EvidencePolicy`, in its description):
the sources of evidence it has, strongest first, how long after the request asking makes
sense (`settle`: the gateway must have had time to record what it took), and how long
to wait before asking once more, before a "not there" is believed (`confirm_after`).
`SmsGateway.find_evidence` asks them and answers, per number, `TAKEN`, `NOT_TAKEN` or
`NO_EVIDENCE`.

`NO_EVIDENCE` is every other case: an answer that cannot be read, a failure to ask, a
gateway that cannot tell, a "not there" heard before the settle time. It is never
read as taken, and never as not taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .errors import SmsGatewayError


class Evidence(StrEnum):
    """What a gateway's records say of one number of a send whose answer was lost."""

    TAKEN = "taken"
    """The gateway has the message: it went out (never send it again)."""
    NOT_TAKEN = "not_taken"
    """The gateway's records prove it never took the message: send it again."""
    NO_EVIDENCE = "no_evidence"
    """Nothing can be told either way (yet)."""


class EvidenceSource(StrEnum):
    """Where a gateway's evidence comes from."""

    OUR_ID = "our_id"
    """The status of the message found by the id we gave it: found is taken, every
    documented "not found" form is not taken."""
    DETAILED_REPORT = "detailed_report"
    """A report of the messages sent to a number in a period, with their texts: one to
    the number with our text is taken, none is not taken."""
    PERIOD_COUNT = "period_count"
    """How many messages the account sent in a period: zero proves nothing was taken;
    any other count proves nothing (other sends may be counted)."""


@dataclass(frozen=True, slots=True)
class EvidencePolicy:
    """What a gateway can tell of a send whose answer was lost, and when to ask it."""

    sources: tuple[EvidenceSource, ...] = ()
    """Strongest first; none: the gateway cannot tell (every answer is `NO_EVIDENCE`)."""
    settle: float = 0.0
    """Seconds after the answer was lost before a "not there" is believed: the gateway
    must have had time to record a request it was still taking."""
    confirm_after: float | None = None
    """Seconds to wait before asking once more after a first "not there", and only then
    to believe it (None: the first one, heard after `settle`, is believed)."""

    @property
    def can_tell(self) -> bool:
        """Whether the gateway has any evidence at all."""
        return bool(self.sources)


CANNOT_TELL = EvidencePolicy()
"""A gateway with no evidence: every lost answer leaves its send in doubt."""


@dataclass(frozen=True, slots=True)
class LostSend:
    """A send whose answer was lost: what was asked of the gateway, and when."""

    phones: tuple[str, ...]
    """The numbers of the request, normalised as it sent them (`prepare`)."""
    text: str
    """The text as it went (after our own transliteration, if any)."""
    sent_at: datetime
    """When the request went out (aware): the gateway cannot have taken it before."""
    answer_lost_at: datetime | None = None
    """When the attempt ended without a readable answer (None: `sent_at`); `settle`
    counts from here, since the gateway may have taken it until then."""
    client_message_id: str | None = None
    """The id of ours the request carried (where the gateway keeps one)."""

    @property
    def ended_at(self) -> datetime:
        """When the attempt ended (`answer_lost_at`, else `sent_at`)."""
        return self.answer_lost_at or self.sent_at


@dataclass(frozen=True, slots=True)
class EvidenceReport:
    """What the gateway's records say of each number of a lost send."""

    by_phone: Mapping[str, Evidence]
    """Per number of the `LostSend`, as it was given."""
    sources: Mapping[str, EvidenceSource] = field(default_factory=dict)
    """The source that decided each number that is not `NO_EVIDENCE`."""
    errors: tuple[SmsGatewayError, ...] = ()
    """Why a source could not be asked (each source's failure, in order)."""
    settles_at: datetime | None = None
    """Asked before the settle time: a "not there" counts only from this moment on."""

    def of(self, phone: str) -> Evidence:
        """The evidence about one number (`NO_EVIDENCE` for one not asked about)."""
        return self.by_phone.get(phone, Evidence.NO_EVIDENCE)

    @property
    def taken(self) -> tuple[str, ...]:
        """The numbers the gateway took."""
        return self._with(Evidence.TAKEN)

    @property
    def not_taken(self) -> tuple[str, ...]:
        """The numbers the gateway proves it never took."""
        return self._with(Evidence.NOT_TAKEN)

    @property
    def undecided(self) -> tuple[str, ...]:
        """The numbers nothing can be told of (yet)."""
        return self._with(Evidence.NO_EVIDENCE)

    def _with(self, evidence: Evidence) -> tuple[str, ...]:
        return tuple(phone for phone, found in self.by_phone.items() if found is evidence)
