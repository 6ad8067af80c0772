"""The interface every gateway client implements, and what they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
import hashlib
import logging
import re
from typing import ClassVar

import aiohttp

from .budget import RequestBudget, Scope
from .description import GatewayDescription
from .errors import (
    GatewayUnavailableError,
    InvalidRequestError,
    InvalidSenderError,
    MessageRejectedError,
    NotSupportedError,
    SendProblem,
    SmsGatewayError,
)
from .evidence import Evidence, EvidenceReport, EvidenceSource, LostSend
from .http import HttpAnswer, request_form
from .limits import MAX_SEND_AT_AHEAD, MAX_VALIDITY, check_send_at, check_validity
from .models import (
    Balance,
    Capabilities,
    Credentials,
    DeliveryStatus,
    IncomingMessage,
    LookupResult,
    MessageRef,
    Quote,
    RecipientResult,
    SendOptions,
    SendResult,
    Statistics,
)
from .phone import normalize_phones
from .redact import Redactor, basic_auth_forms
from .segments import count_segments
from .translit import transliterate
from .typography import replace_typography

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
"""Seconds one request may take in all."""
EVIDENCE_CLOCK_MARGIN = timedelta(seconds=5)
"""How far the gateway's clock may be from ours: a period asked about for evidence starts
this much before the request and ends this much after now."""
RETRY_DELAY = 1.0
"""Seconds before the one retry of a read that failed (sends are never repeated here)."""

_ALPHA_SENDER = re.compile(r"[A-Za-z0-9 ._&!'+-]+")
_NUMERIC_SENDER = re.compile(r"\+?\d+")
_MAX_NUMERIC_SENDER = 15


class SmsGateway(ABC):
    """One gateway account: send, follow delivery, read balance, look up numbers.

    The aiohttp session is injected and never closed here. Credentials stay in the
    instance (out of its repr) and travel in POST bodies, except where the gateway's
    document takes a request by GET only (`description.endpoints`).
    """

    description: ClassVar[GatewayDescription]
    capabilities: ClassVar[Capabilities]
    default_base_url: ClassVar[str]
    max_recipients_per_request: ClassVar[int] = 1000
    """Numbers in one send request; 1000 where the gateway documents no limit."""
    max_concurrent_requests: ClassVar[int] = 4
    max_send_at_ahead: ClassVar[timedelta] = MAX_SEND_AT_AHEAD
    """How far ahead a send-at time may be."""
    send_at_years: ClassVar[tuple[int, int] | None] = None
    """The first and last year a send-at time can be written in, where the format limits it."""
    backup_base_urls: ClassVar[tuple[str, ...]] = ()
    """Where a request that could not connect tries next, at once, when the client talks
    to the gateway's own address (not one the user gave)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: Credentials,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Create a client on `session`; `base_url` overrides the gateway's address."""
        self._session = session
        self._credentials = credentials
        self._base_url = (base_url or self.default_base_url).rstrip("/") + "/"
        self._base_urls: tuple[str, ...] = (self._base_url,)
        """The base URL, then the gateway's backup hosts (where a request that could not
        connect goes next)."""
        if self._base_url == self.default_base_url:
            self._base_urls += self.backup_base_urls
        self._timeout = timeout
        self.budget: RequestBudget | None = None
        """What the account may still ask now, shared by every caller (`use_budget`)."""
        self._answer_turn = asyncio.Lock()
        """Answers that arrive together are read one per turn of the event loop."""
        self._wall_clock: Callable[[], datetime] = partial(datetime.now, UTC)
        """Now, for the periods and settle times of evidence (tests move it)."""

    def use_budget(self) -> RequestBudget:
        """Pace every request of this client by the gateway's documented limits."""
        self.budget = RequestBudget(self.description.rate_limits, self.max_concurrent_requests)
        return self.budget

    def __repr__(self) -> str:
        """Say which gateway and address, never the credentials."""
        return f"<{type(self).__name__} {self._base_url}>"

    @property
    def gateway_id(self) -> str:
        """The gateway's id (its description's)."""
        return self.description.id

    @property
    def base_url(self) -> str:
        """The address requests go to (ends with `/`)."""
        return self._base_url

    @property
    def account_id(self) -> str:
        """A stable id of the account, to refuse the same account twice.

        The login, or for a key-only account a digest of the key (never the key).
        """
        if self._credentials.login:
            return self._credentials.login.strip().lower()
        key = self._credentials.api_key or ""
        return "key-" + hashlib.sha256(key.encode()).hexdigest()[:16]

    # -- what the integration calls ---------------------------------------------------

    @abstractmethod
    async def check_credentials(self) -> None:
        """Make one cheap request that fails with `AuthenticationError` on bad credentials."""

    async def send(
        self, phones: Iterable[str], text: str, options: SendOptions | None = None
    ) -> SendResult:
        """Send `text` to every number, in as few requests as the gateway allows.

        Numbers are normalised first (a bad one raises `InvalidRecipientError` before any
        request). When the numbers take several requests and only some fail, the failed
        numbers come back rejected with the reason; when all fail, the error is raised.
        """
        options = options or SendOptions()
        numbers, text = self.prepare(phones, text, options)
        return await self.send_prepared(numbers, text, options)

    async def send_prepared(
        self, numbers: list[str], text: str, options: SendOptions
    ) -> SendResult:
        """`send` for what `prepare` returned (a caller that checked first checks once)."""
        size = max(1, self._chunk_size(options))
        if 0 < len(numbers) <= size:  # the usual alert: one request, awaited as it is
            result = await self._send_chunk(numbers, text, options)
            return SendResult(
                recipients=tuple(self._scrubbed(result.recipients)),
                client_message_id=options.client_message_id,
                balance=result.balance,
            )
        chunks = [numbers[i : i + size] for i in range(0, len(numbers), size)]
        outcomes = await self._fan_out(
            chunks,
            partial(self._send_chunk, text=text, options=options),
            lambda chunk, err: SendResult(recipients=tuple(_rejected(chunk, err))),
        )
        balances = [o.balance for o in outcomes if o.balance is not None]
        return SendResult(
            recipients=tuple(self._scrubbed(r for outcome in outcomes for r in outcome.recipients)),
            client_message_id=options.client_message_id,
            # Requests run side by side: the lowest balance reported is the latest.
            balance=min(balances) if balances else None,
        )

    def prepare(
        self, phones: Iterable[str], text: str, options: SendOptions
    ) -> tuple[list[str], str]:
        """Check a send without sending: the normalised numbers and the text as it will go.

        Raises what `send` raises before any request (`InvalidRecipientError`,
        `InvalidSenderError`, `InvalidRequestError`, `NotSupportedError`,
        `MessageRejectedError` for a text that is too long).
        """
        if not text or not text.strip():
            raise self._refuse(
                InvalidRequestError, "The message is empty", SendProblem.EMPTY_MESSAGE
            )
        numbers = normalize_phones(phones)
        self._check_options(options)
        if options.replace_typography:
            text = replace_typography(text)
        if options.transliterate and not self.capabilities.server_transliteration:
            text = transliterate(text)
        self._check_text(text)
        return numbers, text

    @abstractmethod
    async def delivery_status(self, messages: Sequence[MessageRef]) -> list[DeliveryStatus]:
        """The delivery state of sent messages (one entry per message id and number)."""

    async def quote(self, numbers: list[str], text: str, options: SendOptions) -> Quote:
        """What sending what `prepare` returned would cost; nothing is sent.

        Only where `capabilities.quote`: the others raise `NotSupportedError`.
        """
        raise NotSupportedError(f"{self.gateway_id} does not tell a price without sending")

    async def balance(self) -> Balance:
        """The account balance."""
        raise NotSupportedError(f"{self.gateway_id} has no balance request")

    async def lookup(self, phones: Iterable[str]) -> list[LookupResult]:
        """Ask the operators' registers (HLR) about numbers; no SMS is sent.

        Where `capabilities.lookup_is_deferred`, the results are `pending`: pass them to
        `lookup_result` until they are final.
        """
        raise NotSupportedError(f"{self.gateway_id} has no number lookup")

    async def lookup_result(self, pending: Sequence[LookupResult]) -> list[LookupResult]:
        """Fetch the answers of deferred lookups."""
        if not self.capabilities.lookup:
            raise NotSupportedError(f"{self.gateway_id} has no number lookup")
        return list(pending)

    async def incoming(self, start: datetime, end: datetime) -> list[IncomingMessage]:
        """Messages subscribers sent to the account between `start` and `end`."""
        raise NotSupportedError(f"{self.gateway_id} does not report incoming messages")

    async def statistics(self, start: datetime, end: datetime) -> Statistics:
        """Delivery statistics of messages sent between `start` and `end`."""
        raise NotSupportedError(f"{self.gateway_id} does not report statistics")

    async def find_evidence(self, lost: LostSend) -> EvidenceReport:
        """Whether the gateway took a send whose answer was lost, per number.

        The description's sources (`GatewayDescription.evidence`) are asked strongest
        first, each about the numbers the ones before left undecided. A failure to ask is
        `NO_EVIDENCE` (its error in the report), never raised. A "not there" heard before
        the settle time (`settle` seconds after the attempt ended) is `NO_EVIDENCE` too,
        the report saying from when it would count (`settles_at`): the gateway may not
        have recorded yet what it took. Whether to ask again before believing a "not
        there" is the caller's (`EvidencePolicy.confirm_after`).
        """
        policy = self.description.evidence
        phones = tuple(dict.fromkeys(lost.phones))
        found = dict.fromkeys(phones, Evidence.NO_EVIDENCE)
        sources: dict[str, EvidenceSource] = {}
        errors: list[SmsGatewayError] = []
        for source in policy.sources:
            asking = tuple(phone for phone in phones if found[phone] is Evidence.NO_EVIDENCE)
            if not asking:
                break
            try:
                answers = await self._evidence_from(source, replace(lost, phones=asking))
            except SmsGatewayError as err:
                _LOGGER.debug("%s: no evidence from %s: %s", self.gateway_id, source, err)
                errors.append(err)
                continue
            for phone in asking:
                evidence = answers.get(phone, Evidence.NO_EVIDENCE)
                if evidence is not Evidence.NO_EVIDENCE:
                    found[phone] = evidence
                    sources[phone] = source
        settles_at = lost.ended_at + timedelta(seconds=policy.settle)
        early = self._wall_clock() < settles_at
        if early:
            for phone in phones:
                if found[phone] is Evidence.NOT_TAKEN:
                    found[phone] = Evidence.NO_EVIDENCE
                    del sources[phone]
        return EvidenceReport(found, sources, tuple(errors), settles_at if early else None)

    async def evidence_by_our_id(
        self, message_id: str, phones: Sequence[str]
    ) -> dict[str, Evidence]:
        """What the gateway's status of the message with our id says, per number.

        Found is `TAKEN`, every documented "not found" form `NOT_TAKEN`, anything else
        `NO_EVIDENCE`. Raises the gateway's error when it cannot be asked; no settle time
        is applied here (see `find_evidence`).
        """
        raise NotSupportedError(f"{self.gateway_id} keeps no id of ours")

    async def _evidence_from(self, source: EvidenceSource, lost: LostSend) -> dict[str, Evidence]:
        """One source's evidence about the numbers of `lost` (errors raised)."""
        match source:
            case EvidenceSource.OUR_ID:
                if lost.client_message_id is None:
                    return {}  # sent without an id of ours: nothing to find it by
                return await self.evidence_by_our_id(lost.client_message_id, lost.phones)
            case EvidenceSource.DETAILED_REPORT:
                return await self._evidence_from_report(lost)
            case EvidenceSource.PERIOD_COUNT:
                return await self._evidence_from_count(lost)

    async def _evidence_from_report(self, lost: LostSend) -> dict[str, Evidence]:
        """`EvidenceSource.DETAILED_REPORT`, where the gateway has it."""
        raise NotSupportedError(f"{self.gateway_id} has no detailed report")

    async def _evidence_from_count(self, lost: LostSend) -> dict[str, Evidence]:
        """`EvidenceSource.PERIOD_COUNT`, where the gateway has it."""
        raise NotSupportedError(f"{self.gateway_id} does not count messages by period")

    def _evidence_period(self, lost: LostSend) -> tuple[datetime, datetime]:
        """The period a lost send's message would be recorded in, by the gateway's clock.

        From the request (less `EVIDENCE_CLOCK_MARGIN`) to now (plus it): the gateway
        records the time it took the message, which its clock may tell a little off ours.
        """
        return (
            lost.sent_at - EVIDENCE_CLOCK_MARGIN,
            self._wall_clock() + EVIDENCE_CLOCK_MARGIN,
        )

    # -- what each gateway implements -------------------------------------------------

    @abstractmethod
    async def _send_chunk(self, phones: list[str], text: str, options: SendOptions) -> SendResult:
        """Send to at most `_chunk_size` already normalised numbers."""

    def _chunk_size(self, options: SendOptions) -> int:
        """How many numbers one send request takes with these options."""
        return self.max_recipients_per_request

    def _secrets(self) -> Iterable[str]:
        """Values that must never show in an error text (password, key, session)."""
        return (self._credentials.password or "", self._credentials.api_key or "")

    # -- shared plumbing --------------------------------------------------------------

    async def _submit(
        self,
        path: str,
        form: Mapping[str, str] | Sequence[tuple[str, str]],
        *,
        may_deliver: bool = False,
        base_url: str | None = None,
    ) -> HttpAnswer:
        """Send a form to `path` under the base URL, by the method the gateway takes it by."""
        url = (base_url or self._base_url) + path.lstrip("/")
        # Every caller of the account shares the client: its budget holds for all.
        room = (
            nullcontext()
            if self.budget is None
            else self.budget.use(self._budget_scopes(path, form), send="send" in path.lower())
        )
        async with room:
            answer = await request_form(
                self._session,
                url,
                form,
                method=self.description.method_of(path),
                timeout=self._timeout,
                may_deliver=may_deliver,
            )
        await self._take_turn()
        return answer

    async def _take_turn(self) -> None:
        """Wait until no other answer of this client is being read in this loop turn.

        The caller reads its answer right after (a bulk send's answer of a thousand numbers
        is long to read): answers that arrive together are read one per turn of the event
        loop, with everything else that waits in between, instead of back to back. A lone
        answer does not wait at all.
        """
        await self._answer_turn.acquire()
        asyncio.get_running_loop().call_soon(self._answer_turn.release)

    def _budget_scopes(
        self, path: str, form: Mapping[str, str] | Sequence[tuple[str, str]]
    ) -> list[Scope]:
        """The rate limits (`description.rate_limits` scopes) one request counts against."""
        return []

    def _call[T](
        self,
        attempt: Callable[[str], Awaitable[T]],
        *,
        may_deliver: bool = False,
        retry_later: bool = True,
    ) -> Awaitable[T]:
        """Run a request; try it again only where that costs the caller nothing; scrub errors.

        `attempt` gets the base URL to use. A request that never reached the gateway (no
        connection made) goes at once to the gateway's backup host, where it has one.
        Nothing else is repeated for a request that may deliver (a send, a paid lookup, a
        rate-counted list): its failure is raised at once, for the caller (the outbox) to
        decide when to try again, so no send ever waits here. A plain read is tried once
        more after `RETRY_DELAY` (`_once_more_later`) unless `retry_later` is off (a read
        that stands on a send's way, under a lock: the session login). Not a coroutine of
        its own: a send's answer passes one level fewer on its way back to the caller.
        """
        if may_deliver or not retry_later:
            return self._anywhere(attempt)
        return self._once_more_later(partial(self._anywhere, attempt))

    async def _anywhere[T](self, attempt: Callable[[str], Awaitable[T]]) -> T:
        """`attempt` at the base URL, or at the backup host where it could not connect."""
        try:
            try:
                return await attempt(self._base_urls[0])
            except GatewayUnavailableError as err:
                if not (err.never_connected and len(self._base_urls) > 1):
                    raise
            _LOGGER.debug("%s: trying the backup host", self.gateway_id)
            return await attempt(self._base_urls[1])
        except SmsGatewayError as err:
            self._scrub(err)
            raise

    async def _once_more_later[T](self, read: Callable[[], Awaitable[T]]) -> T:
        """Run a read; once more after `RETRY_DELAY` when a wait may mend its failure.

        That is a failure on the way or an answer that cannot be read; not a refusal, and
        not a gateway that named its own wait (HTTP 429, 503). Nothing is held while it
        waits: a send meanwhile goes its own way.
        """
        try:
            return await read()
        except GatewayUnavailableError as err:
            if err.may_have_been_accepted or err.retry_after:
                raise
            _LOGGER.debug("%s: retrying once after: %s", self.gateway_id, type(err).__name__)
        await asyncio.sleep(RETRY_DELAY)
        return await read()

    def _redactor(self) -> Redactor:
        """What masks every form of the account's secrets (see `redact`)."""
        credentials = self._credentials
        extra: set[str] = set()
        if credentials.login and credentials.password:
            extra = basic_auth_forms(credentials.login, credentials.password)
        return Redactor(self._secrets(), extra)

    def _scrub(self, err: SmsGatewayError) -> None:
        """Remove every secret, in every form, from an error's texts.

        The errors it was raised from or during (a first attempt's error before the
        retry) show in tracebacks too: they are scrubbed alike.
        """
        redact = self._redactor()
        if not redact:
            return
        seen: set[int] = set()
        current: BaseException | None = err
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, SmsGatewayError) and current.text:
                current.text = redact(current.text)
            current.args = tuple(redact(a) if isinstance(a, str) else a for a in current.args)
            current = current.__cause__ or current.__context__

    def _scrubbed(self, recipients: Iterable[RecipientResult]) -> list[RecipientResult]:
        """Per-number results with the gateway's error texts scrubbed of secrets."""
        results = list(recipients)
        if not any(r.error_text for r in results):
            return results  # the usual answer: nothing of the gateway's own words to scrub
        redact = self._redactor()
        return [
            replace(r, error_text=redact(r.error_text)) if r.error_text and redact else r
            for r in results
        ]

    def scrub_text(self, text: str) -> str:
        """`text` without any form of the account's secrets (for texts from elsewhere)."""
        return self._redactor()(text)

    async def _fan_out[K, T](
        self,
        items: Sequence[K],
        job: Callable[[K], Awaitable[T]],
        failed: Callable[[K, SmsGatewayError], T],
        *,
        tolerate: type[SmsGatewayError] = SmsGatewayError,
        all_failed_raises: bool = True,
    ) -> list[T]:
        """`job` for every item, side by side, at most `max_concurrent_requests` at a time.

        An item whose job fails with `tolerate` gets `failed(item, error)` in its place
        (the others were answered: it is asked again later); any other error is raised.
        When every job failed, the first error is raised (`all_failed_raises`).
        """
        if not items:
            return []
        if len(items) == 1:  # the usual case: no task, no semaphore
            try:
                return [await job(items[0])]
            except tolerate as err:
                if all_failed_raises:
                    raise
                return [failed(items[0], err)]
        semaphore = asyncio.Semaphore(self.max_concurrent_requests)

        async def run(item: K) -> T:
            async with semaphore:
                return await job(item)

        outcomes = await asyncio.gather(*(run(item) for item in items), return_exceptions=True)
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        if all_failed_raises and len(errors) == len(outcomes):
            raise errors[0]
        results: list[T] = []
        for item, outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, tolerate):
                results.append(failed(item, outcome))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                results.append(outcome)
        return results

    def _refuse(
        self,
        error: type[SmsGatewayError],
        message: str,
        problem: SendProblem,
        **params: str,
    ) -> SmsGatewayError:
        """An error for something refused before any request (named after this gateway)."""
        values = {"gateway": self.description.name, **params}
        return error(message, problem=problem, params={k: values[k] for k in problem.params})

    def _check_text(self, text: str) -> None:
        limit = self.capabilities.max_text_length
        if len(text) > limit:
            raise self._refuse(
                MessageRejectedError,
                f"The message is {len(text)} characters long; {self.gateway_id} takes {limit}",
                SendProblem.MESSAGE_TOO_LONG,
                limit=str(limit),
            )

    def _check_options(self, options: SendOptions) -> None:
        caps = self.capabilities
        if options.sender is not None:
            check_sender(options.sender, caps.max_sender_length)
        elif caps.sender_required:
            raise self._refuse(
                InvalidSenderError,
                f"{self.gateway_id} needs a sender name registered with it",
                SendProblem.SENDER_REQUIRED,
            )
        if options.flash and not caps.flash:
            raise self._refuse(
                NotSupportedError, f"{self.gateway_id} cannot send flash SMS", SendProblem.FLASH
            )
        if options.recipient_local_time:
            if not caps.recipient_local_time:
                raise self._refuse(
                    NotSupportedError,
                    f"{self.gateway_id} cannot send at the recipient's local time",
                    SendProblem.RECIPIENT_LOCAL_TIME,
                )
            if options.send_at is None:
                raise self._refuse(
                    InvalidRequestError,
                    "Sending at local time needs a send-at time",
                    SendProblem.LOCAL_TIME_WITHOUT_SEND_AT,
                )
        if options.send_at is not None:
            check_send_at(
                options.send_at,
                ahead=self.max_send_at_ahead,
                years=self.send_at_years,
                gateway=self.description.name,
            )
        if options.validity is not None:
            check_validity(options.validity, self.max_validity, self.description.name)

    @property
    def max_validity(self) -> timedelta:
        """The longest validity a send may ask for (documented, else a sane bound)."""
        return self.capabilities.max_validity or MAX_VALIDITY

    def _check_message_id(self, message_id: str | None, pattern: re.Pattern[str]) -> None:
        """Refuse an id of ours for the message that the gateway would not take."""
        if message_id is not None and not pattern.fullmatch(message_id):
            raise self._refuse(
                InvalidRequestError,
                f"{self.gateway_id} takes a message id of Latin letters, digits and . _ - only",
                SendProblem.INVALID_MESSAGE_ID,
            )


def check_sender(sender: str, max_length: int = 11) -> None:
    """Refuse a sender name no gateway would take: up to 11 Latin characters or 15 digits."""
    if _NUMERIC_SENDER.fullmatch(sender):
        if len(sender.lstrip("+")) > _MAX_NUMERIC_SENDER:
            raise _invalid_sender(
                f"A numeric sender takes at most {_MAX_NUMERIC_SENDER} digits", max_length
            )
        return
    if not _ALPHA_SENDER.fullmatch(sender) or not sender.strip():
        raise _invalid_sender(
            "A sender name takes Latin letters, digits, spaces and . _ & ! ' + - only", max_length
        )
    if len(sender) > max_length:
        raise _invalid_sender(f"A sender name takes at most {max_length} characters", max_length)


def _invalid_sender(message: str, max_length: int) -> InvalidSenderError:
    return InvalidSenderError(
        message, problem=SendProblem.INVALID_SENDER, params={"max_length": str(max_length)}
    )


def segments_of(text: str) -> int:
    """Parts a text is sent in (at least one)."""
    return max(1, count_segments(text).segments)


def _rejected(phones: list[str], err: SmsGatewayError) -> list[RecipientResult]:
    return [
        RecipientResult(
            phone=phone,
            accepted=False,
            error_kind=err.kind,
            error_code=err.code,
            error_text=err.text,
        )
        for phone in phones
    ]
