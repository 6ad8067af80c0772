"""Stream Telecom: the REST API at `https://gateway.api.sc/rest/`.

What it shares with Devino (sessions, errors, per-segment ids) is in `restapi.py`; here
are its paths (with their trailing slashes), parameter names, states and its HLR lookup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
import csv
from dataclasses import dataclass, replace
from datetime import UTC
import io
import re
from typing import Any, ClassVar

from .description import (
    LOGIN_AND_PASSWORD,
    Endpoint,
    GatewayDescription,
    HttpMethod,
    StatusMode,
    StatusPolicy,
)
from .errors import GatewayResponseError, InvalidRequestError
from .evidence import Evidence, EvidencePolicy, EvidenceSource, LostSend
from .http import HttpAnswer, unreadable
from .models import Capabilities, DeliveryState, GatewayId, LookupResult, LookupState
from .parsing import to_int, to_str
from .phone import normalize_phones, phone_digits
from .restapi import Form, RestApiForms, RestApiGateway, check_answer, field, read_ids

STREAM_STATES: Mapping[int, DeliveryState] = {
    -1: DeliveryState.SENT,
    0: DeliveryState.DELIVERED,
    42: DeliveryState.FAILED,
    46: DeliveryState.EXPIRED,
    255: DeliveryState.UNKNOWN,  # status unavailable (archived)
}
"""Stream's `State` codes, normalised."""

REPORT = "Statistic/all_stat.php"
"""The detailed statistics report (3.3.8): asked for by period, then fetched by its id."""
MAX_REPORTS_AT_ONCE = 2
"""3.3.8: "More than 2 reports at once are not allowed"."""
_NOT_READY = re.compile(r"""\s*["'“]?report is not ready""", re.IGNORECASE)
_DELIMITERS = (";", ",", "\t")
_PHONE_WORDS = ("phone", "телефон", "msisdn", "destination", "получател", "абонент")
_TEXT_NAMES = frozenset({"message", "сообщение", "data", "mes", "sms", "messagetext"})
_MIN_PART = 10
"""Characters a report's text must have to count as a part of the text sent."""

HLR_STATES: Mapping[int, LookupState] = {
    -1: LookupState.PENDING,
    0: LookupState.REACHABLE,
    42: LookupState.UNREACHABLE,
}
"""Stream's HLR `State` codes; any other is a failed lookup."""


FORMS = RestApiForms(
    login="Session/session.php",
    balance="Balance/balance.php",
    state="State/state.php",
    incoming="Incoming/",
    statistics="Statistic/",
    session="sessionId",
    send_one="Send/SendSms/",
    send_many="Send/SendBulk/",
    send_local_time="Send/SendByTime/",
    destination="destinationAddress",
    destinations="destinationAddresses",
    destinations_joined=True,
    data="data",
    source="sourceAddress",
    validity="validity",
    send_date="sendDate",
    send_date_tz=UTC,
    # `Send/SendBulk/` lists no `sendDate` (3.3.3): a timed send goes one number a request.
    bulk_takes_send_date=False,
    statistics_tz=UTC,
    max_statistics_period=None,
    failed=("NotDelivered",),
    in_progress=("InProgress",),
)
"""Stream's paths and field names (`streamtelecom-rest.txt` 3.1 to 3.3.7)."""


class StreamClient(RestApiGateway):
    """A Stream Telecom account (login and password; a session id signs each call)."""

    forms = FORMS
    description = GatewayDescription(
        id=GatewayId.STREAM,
        name="Stream Telecom",
        fields=LOGIN_AND_PASSWORD,
        # One state request per segment id; flood errors ask to wait a minute.
        status=StatusPolicy(StatusMode.SEGMENT),
        # A lookup answers within about half a minute.
        lookup_wait=(2.0, 3.0, 5.0, 10.0, 10.0),
        # The detailed report by number and period (3.3.8) tells whether our text went to
        # the number; failing it, the statistics of the period (3.3.7) can only prove that
        # nothing went. Both are built from the gateway's records, which may lag behind the
        # send: half a minute to settle, a minute before a "not there" is asked again. [guess]
        evidence=EvidencePolicy(
            (EvidenceSource.DETAILED_REPORT, EvidenceSource.PERIOD_COUNT),
            settle=30.0,
            confirm_after=60.0,
        ),
        # Where the document gives a GET and a POST form (session, balance, state), the
        # POST one, the session id in the body; incoming and statistics are GET only.
        endpoints=(
            Endpoint(FORMS.login, HttpMethod.POST, "streamtelecom-rest.txt 3.1.1"),
            Endpoint(FORMS.balance, HttpMethod.POST, "streamtelecom-rest.txt 3.2.1"),
            Endpoint(FORMS.send_one, HttpMethod.POST, "streamtelecom-rest.txt 3.3.1"),
            Endpoint(FORMS.send_local_time, HttpMethod.POST, "streamtelecom-rest.txt 3.3.2"),
            Endpoint(FORMS.send_many, HttpMethod.POST, "streamtelecom-rest.txt 3.3.3"),
            Endpoint(FORMS.state, HttpMethod.POST, "streamtelecom-rest.txt 3.3.5"),
            Endpoint(FORMS.incoming, HttpMethod.GET, "streamtelecom-rest.txt 3.3.6.1"),
            Endpoint(FORMS.statistics, HttpMethod.GET, "streamtelecom-rest.txt 3.3.7"),
            Endpoint(REPORT, HttpMethod.POST, "streamtelecom-rest.txt 3.3.8"),
            Endpoint("Send/SendHLR/", HttpMethod.POST, "provider notes: HLR (a paid request)"),
            # [guess] the only known form is `State/HLR/?messageId=`, a query.
            Endpoint("State/HLR/", HttpMethod.GET, "provider notes: HLR state"),
        ),
    )
    default_base_url = "https://gateway.api.sc/rest/"
    capabilities = Capabilities(
        sender_required=True,
        balance=True,
        lookup=True,
        lookup_is_deferred=True,
        incoming=True,
        statistics=True,
        recipient_local_time=True,
        # Undocumented: Devino's limit, same API family. [guess]
        max_text_length=2000,
    )
    state_table = STREAM_STATES
    report_wait: ClassVar[tuple[float, ...]] = (1.0, 2.0, 4.0, 8.0, 15.0)
    """Seconds between asks for a detailed report's file (half a minute in all)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the client (see `RestApiGateway`)."""
        super().__init__(*args, **kwargs)
        self._reports = asyncio.Semaphore(MAX_REPORTS_AT_ONCE)
        """The gateway makes two detailed reports at once at most."""

    # -- evidence ---------------------------------------------------------------------

    async def _evidence_from_report(self, lost: LostSend) -> dict[str, Evidence]:
        """The detailed report (3.3.8) of the period since the request (by number, for one).

        A message to the number with our text is `TAKEN`; none, in a report that can be
        read, `NOT_TAKEN`; messages to it whose text the report does not give, or a report
        that cannot be read or is not ready in time, tell nothing.
        """
        start, end = self._evidence_window(lost)
        form: Form = [("startTime", start), ("endTime", end), ("type_load", "0")]
        if len(lost.phones) == 1:
            form.append(("phone", phone_digits(lost.phones[0])))
        async with self._reports:
            report_id = await self._request(REPORT, form, read_report_id)
            for wait in self.report_wait:
                # Not a send's way: the report is asked for in a round of the outbox.
                await asyncio.sleep(wait)
                text = await self._request(REPORT, [("id_report", report_id)], read_report_file)
                if text is not None:
                    break
            else:
                raise GatewayResponseError("Stream Telecom's report was not ready in time")
        try:
            rows = read_report(text)
        except ValueError as err:
            raise GatewayResponseError(f"Stream Telecom's report cannot be read ({err})") from None
        return {phone: report_evidence(rows, phone, lost.text) for phone in lost.phones}

    # -- HLR --------------------------------------------------------------------------

    async def lookup(self, phones: Iterable[str]) -> list[LookupResult]:
        """Start an HLR request per number (`Send/SendHLR/`); the results are pending.

        Numbers the gateway refuses come back failed with the reason's code; when every
        number fails, the error is raised.
        """
        numbers = normalize_phones(phones)
        return await self._fan_out(
            numbers,
            self._start_lookup,
            lambda phone, err: LookupResult(
                phone=phone, state=LookupState.FAILED, error_code=err.code
            ),
        )

    async def _start_lookup(self, phone: str) -> LookupResult:
        def read(answer: HttpAnswer) -> LookupResult:
            ids = read_ids(answer, phones=(phone,))
            return LookupResult(phone=phone, state=LookupState.PENDING, request_id=ids[0])

        # A lookup is charged: like a send, it is not repeated when it may have gone through.
        return await self._request(
            "Send/SendHLR/", [("destinationAddress", phone)], read, may_deliver=True
        )

    async def lookup_result(self, pending: Sequence[LookupResult]) -> list[LookupResult]:
        """Ask `State/HLR/` about each pending lookup; final ones are returned as they are."""
        asking = [p for p in pending if not p.is_final and p.request_id]
        answers = await self._fan_out(
            asking,
            self._lookup_state,
            lambda item, err: replace(item, state=LookupState.FAILED, error_code=err.code),
            tolerate=InvalidRequestError,
            all_failed_raises=False,
        )
        by_item = {id(item): answer for item, answer in zip(asking, answers, strict=True)}
        return [by_item.get(id(item), item) for item in pending]

    async def _lookup_state(self, item: LookupResult) -> LookupResult:
        def read(answer: HttpAnswer) -> LookupResult:
            result = read_hlr_state(check_answer(answer, may_deliver=False), item)
            if result is None:
                raise unreadable(answer, may_deliver=False)
            return result

        return await self._request("State/HLR/", [("messageId", item.request_id or "")], read)


def read_hlr_state(data: Any, item: LookupResult) -> LookupResult | None:
    """The lookup's answer from `State/HLR/`, or None when the answer has no state."""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict):
        return None
    code = to_int(field(data, "State"))
    if code is None:
        return None
    port = to_int(field(data, "Port"))
    error = to_str(field(data, "Error"))
    return LookupResult(
        phone=item.phone,
        state=HLR_STATES.get(code, LookupState.FAILED),
        request_id=item.request_id,
        imsi=to_str(field(data, "IMSI")),
        msc=to_str(field(data, "MSC")),
        ported=None if port is None else port == 1,
        raw_code=str(code),
        error_code=None if error in (None, "0") else error,
    )


# -- the detailed report (3.3.8) --------------------------------------------------------


def read_report_id(answer: HttpAnswer) -> str:
    """The id of a report asked for: a bare number (an error text is raised)."""
    report_id = to_int(check_answer(answer, may_deliver=False))
    if report_id is None:
        raise unreadable(answer, may_deliver=False)
    return str(report_id)


def read_report_file(answer: HttpAnswer) -> str | None:
    """A report's file; None while the gateway says it is not ready yet."""
    if _NOT_READY.match(answer.text):
        return None
    if 200 <= answer.status < 300 and answer.text.strip():
        return answer.text
    check_answer(answer, may_deliver=False)  # "Id report not found", "File not exist"
    raise unreadable(answer, may_deliver=False)


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One message of a detailed report: its number, and its text where the report gives it."""

    phone: str
    text: str | None


def read_report(body: str) -> list[ReportRow]:
    """The messages of a report file (CSV), by the names of its header's columns.

    The document does not give the file's columns: the number and the text are found by
    their names (English or Russian), the separator by the header line (`;`, `,` or a
    tab). Raises `ValueError` when the file has no header with a number column.
    """
    text = body.lstrip("\ufeff").strip()
    if not text:
        raise ValueError("an empty file")
    header_line = text.splitlines()[0]
    delimiter = max(_DELIMITERS, key=header_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [_column_name(name) for name in next(reader)]
    phone_at = next((i for i, name in enumerate(header) if _is_phone_column(name)), None)
    text_at = next((i for i, name in enumerate(header) if _is_text_column(name)), None)
    if phone_at is None:
        raise ValueError("no number column")
    rows = []
    for row in reader:
        if len(row) <= phone_at or not row[phone_at].strip():
            continue
        message = row[text_at] if text_at is not None and len(row) > text_at else None
        rows.append(ReportRow(phone_digits(row[phone_at]), message))
    return rows


def report_evidence(rows: Sequence[ReportRow], phone: str, text: str) -> Evidence:
    """What a report says of one number of a lost send of `text`."""
    digits = phone_digits(phone)
    mine = [row for row in rows if row.phone == digits]
    if any(row.text is not None and same_text(row.text, text) for row in mine):
        return Evidence.TAKEN
    if any(row.text is None for row in mine):
        return Evidence.NO_EVIDENCE  # a message to the number, its text not given
    return Evidence.NOT_TAKEN


def same_text(listed: str, sent: str) -> bool:
    """Whether a report's text is the one sent.

    Equal but for spaces and case, or a part of it of at least `_MIN_PART` characters: a
    report may list a long text per segment, or cut it short with `...`.
    """
    ours = " ".join(sent.split()).casefold()
    theirs = " ".join(listed.split()).casefold().removesuffix("…").removesuffix("...").strip()
    if theirs == ours:
        return True
    return len(theirs) >= _MIN_PART and theirs in ours


def _column_name(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _is_phone_column(name: str) -> bool:
    return name == "номер" or any(word in name for word in _PHONE_WORDS)


def _is_text_column(name: str) -> bool:
    return name in _TEXT_NAMES or name.startswith(("text", "текст"))
