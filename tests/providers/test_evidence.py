"""Evidence before a resend: the fault matrix, against the emulated gateways.

Every gateway x every way of losing a send's answer x whether the gateway took the message
before the answer was lost x each documented form of "not found": the send goes out with
the fault injected, the emulator's own records say whether it took the message, the
gateway's settle time passes on its clock, and `find_evidence` must answer

- `TAKEN` exactly where the emulator took the message and the gateway can show it (by our
  id: SMSC.ru, SMStele; by its detailed report: Stream);
- `NOT_TAKEN` exactly where it did not and the document allows proving it (by our id; by
  the report; by statistics that count nothing: Devino, Stream);
- `NO_EVIDENCE` otherwise (Devino's statistics counting the message it took).

Beside the matrix: a gateway slow to record (asked before the settle time: never
`NOT_TAKEN`), answers that cannot be read (never `TAKEN`), and `sent_phones`, which the
outbox uses today.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.ru_sms.providers import GATEWAY_TYPES, SmsGateway
from custom_components.ru_sms.providers.base import EVIDENCE_CLOCK_MARGIN
from custom_components.ru_sms.providers.delivery_policy import sent_phones
from custom_components.ru_sms.providers.description import StatusMode, StatusPolicy
from custom_components.ru_sms.providers.errors import GatewayResponseError, SmsGatewayError
from custom_components.ru_sms.providers.evidence import (
    CANNOT_TELL,
    Evidence,
    EvidencePolicy,
    EvidenceSource,
    LostSend,
)
from custom_components.ru_sms.providers.ids import new_message_id
from custom_components.ru_sms.providers.models import GatewayId, SendOptions
from custom_components.ru_sms.providers.stream import StreamClient
from tests.emulators.base import LOST_AFTER_TAKEN, LOST_BEFORE_TAKEN, EmulatedGateway, Fault
from tests.emulators.catalog import ACCOUNTS
from tests.emulators.devino import DevinoEmulator
from tests.emulators.restapi import RestApiEmulator
from tests.emulators.smsc import NotFound, SmscEmulator
from tests.emulators.smstele import SmsteleEmulator
from tests.emulators.stream import StreamEmulator

ALICE = "79161234567"
BOB = "79262345678"
TEXT = "Котёл: авария, давление 0.4 бар"
SEND_TIMEOUT = 0.15
"""The client's timeout while a hang is injected (the emulator hangs longer)."""
HANGS = frozenset({Fault.TIMEOUT_BEFORE, Fault.TIMEOUT_AFTER})
READ_TIMEOUT = 5.0
"""The client's timeout while it asks for evidence: no fault there but the injected ones."""
MANY = 100
"""Injected this many times, a fault answers every evidence request."""
TAKEN_BUT_LOST = Fault.SERVER_ERROR_AFTER
LOST_UNTAKEN = Fault.SERVER_ERROR_HTML
"""Quick ways of losing an answer after and before the gateway took the message, where
the way does not matter (the matrix tries every one)."""

pytestmark = pytest.mark.usefixtures("no_client_retry_delay")


@dataclass(frozen=True)
class NotFoundForm:
    """One documented way a gateway says it has no such message."""

    name: str
    variant: Mapping[str, Any] = field(default_factory=dict)
    phones: tuple[str, ...] = (ALICE,)


NOT_FOUND_FORMS: dict[GatewayId, tuple[NotFoundForm, ...]] = {
    GatewayId.SMSC: (
        NotFoundForm("error 3", {"not_found": NotFound.ERROR}),
        NotFoundForm("status -3", {"not_found": NotFound.ITEM}),
        NotFoundForm("error 3 items of a list", {"not_found": NotFound.ERROR}, (ALICE, BOB)),
        NotFoundForm("status -3 items of a list", {"not_found": NotFound.ITEM}, (ALICE, BOB)),
    ),
    GatewayId.SMSTELE: (
        NotFoundForm("empty results, as documented", {"documented_shapes": True}),
        NotFoundForm("empty results, clean JSON", {"documented_shapes": False}),
        NotFoundForm("no item for the number", {"documented_shapes": True}, (ALICE, BOB)),
    ),
    GatewayId.STREAM: (
        NotFoundForm("report without the number", {"report_headers": "english"}),
        NotFoundForm("report in Russian", {"report_headers": "russian"}, (ALICE, BOB)),
    ),
    GatewayId.DEVINO: (
        NotFoundForm("statistics count nothing"),
        NotFoundForm("statistics count nothing, two numbers", {}, (ALICE, BOB)),
    ),
}
"""Each gateway's documented "not found" forms (for Devino and Stream: the period's)."""

LOSSES = sorted(LOST_BEFORE_TAKEN | LOST_AFTER_TAKEN)
"""Every way of losing a send's answer, before or after the gateway took it."""

SHOWS_WHAT_IT_TOOK = frozenset({GatewayId.SMSC, GatewayId.SMSTELE, GatewayId.STREAM})
"""Gateways whose records show the message they took (Devino's statistics only count)."""

CELLS = [
    pytest.param(provider, form, loss, id=f"{provider}-{form.name}-{loss}")
    for provider, forms in NOT_FOUND_FORMS.items()
    for form in forms
    for loss in LOSSES
]


def expected(provider: GatewayId, took: bool) -> Evidence:
    """What the evidence must say of a send the gateway took (or did not)."""
    if not took:
        return Evidence.NOT_TAKEN
    return Evidence.TAKEN if provider in SHOWS_WHAT_IT_TOOK else Evidence.NO_EVIDENCE


def took_the_message(emulator: EmulatedGateway) -> bool:
    """Whether the emulator's own records hold a message it took."""
    if isinstance(emulator, SmscEmulator | SmsteleEmulator):
        return bool(emulator.messages)
    assert isinstance(emulator, RestApiEmulator)
    return bool(emulator.segments)


class Cell:
    """One emulated gateway and its client, on the emulator's clock."""

    def __init__(self, provider: GatewayId, emulator: EmulatedGateway, client: SmsGateway) -> None:
        self.provider = provider
        self.emulator = emulator
        self.client = client
        self.our_id = new_message_id() if client.capabilities.client_message_id else None
        client._wall_clock = self.now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.emulator.now(), UTC)

    @property
    def policy(self) -> EvidencePolicy:
        return self.client.description.evidence

    async def lose(
        self, phones: tuple[str, ...], fault: Fault | None, text: str = TEXT
    ) -> LostSend:
        """Send with `fault` on the send request; the send whose answer was lost."""
        options = SendOptions(sender=ACCOUNTS[self.provider].sender, client_message_id=self.our_id)
        if self.provider in (GatewayId.STREAM, GatewayId.DEVINO):
            await self.client.check_credentials()  # the session first: the fault is the send's
        sent_at = self.now()
        if fault is not None:
            self.emulator.inject(fault)
        if fault in HANGS:
            self.client._timeout = SEND_TIMEOUT
        try:
            if fault is None:
                await self.client.send(phones, text, options)
            else:
                with pytest.raises(SmsGatewayError):
                    await self.client.send(phones, text, options)
        finally:
            self.client._timeout = READ_TIMEOUT
        if fault is Fault.TIMEOUT_BEFORE:
            # The gateway never handles it: the client's disconnect cancelled it.
            await asyncio.sleep(self.emulator.hang_seconds)
        return LostSend(phones, text, sent_at, self.now(), client_message_id=self.our_id)

    def settle(self, extra: float = 1.0) -> None:
        """Let the gateway's settle time pass (on its clock, which the client reads)."""
        self.emulator.advance(self.policy.settle + extra)

    async def lose_and_settle(
        self, phones: tuple[str, ...] = (ALICE,), fault: Fault | None = None, text: str = TEXT
    ) -> LostSend:
        """`lose` a send the gateway did not take (by default), then `settle`."""
        lost = await self.lose(phones, LOST_UNTAKEN if fault is None else fault, text)
        self.settle()
        return lost


@pytest.fixture
async def cells(
    http_session: aiohttp.ClientSession, socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    """Start a gateway's emulator, as one of its variants, with a client on its clock."""
    monkeypatch.setattr(StreamClient, "report_wait", (0.0,))
    started: list[EmulatedGateway] = []

    async def start(provider: GatewayId, variant: Mapping[str, Any] | None = None) -> Cell:
        emulator = ACCOUNTS[provider].emulator()
        emulator.hang_seconds = 0.4
        if isinstance(emulator, StreamEmulator):
            emulator.report_ready_after = 0
        for name, value in (variant or {}).items():
            assert hasattr(emulator, name), name
            setattr(emulator, name, value)
        await emulator.start()
        started.append(emulator)
        client = GATEWAY_TYPES[provider](
            http_session,
            ACCOUNTS[provider].credentials,
            base_url=emulator.base_url,
            timeout=READ_TIMEOUT,
        )
        return Cell(provider, emulator, client)

    yield start
    for emulator in started:
        await emulator.stop()


# -- the matrix -------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "form", "loss"), CELLS)
async def test_evidence_says_what_the_gateway_took(
    cells: Callable[..., Any], provider: GatewayId, form: NotFoundForm, loss: Fault
) -> None:
    cell: Cell = await cells(provider, form.variant)
    lost = await cell.lose(form.phones, loss)
    took = took_the_message(cell.emulator)
    assert took is (loss in LOST_AFTER_TAKEN)  # the fault did what it says
    cell.settle()

    report = await cell.client.find_evidence(lost)

    want = expected(provider, took)
    assert dict(report.by_phone) == dict.fromkeys(form.phones, want)
    assert report.settles_at is None
    assert (Evidence.TAKEN in report.by_phone.values()) is (took and want is Evidence.TAKEN)
    if want is not Evidence.NO_EVIDENCE:
        assert set(report.sources) == set(form.phones)
    assert cell.emulator.breaches == []


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_a_send_that_was_answered_is_taken(
    cells: Callable[..., Any], provider: GatewayId
) -> None:
    """The plain case, for reference: the answer came, and the records agree."""
    cell: Cell = await cells(provider)
    lost = await cell.lose((ALICE,), None)
    cell.settle()
    report = await cell.client.find_evidence(lost)
    assert report.of(ALICE) is expected(provider, took=True)


# -- the settle time --------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(GatewayId))
@pytest.mark.parametrize("loss", [TAKEN_BUT_LOST, LOST_UNTAKEN])
async def test_a_gateway_slow_to_record_is_asked_after_its_settle_time(
    cells: Callable[..., Any], provider: GatewayId, loss: Fault
) -> None:
    """Before the settle time a "not there" proves nothing; after it, the records are in."""
    cell: Cell = await cells(provider)
    cell.emulator.record_delay = cell.policy.settle - 5
    lost = await cell.lose((ALICE,), loss)
    took = took_the_message(cell.emulator)

    early = await cell.client.find_evidence(lost)
    assert early.of(ALICE) is Evidence.NO_EVIDENCE
    assert early.settles_at == lost.ended_at + timedelta(seconds=cell.policy.settle)

    cell.settle()
    late = await cell.client.find_evidence(lost)
    assert late.of(ALICE) is expected(provider, took)
    assert late.settles_at is None


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_a_gateway_slower_than_its_settle_time_is_caught_by_the_second_ask(
    cells: Callable[..., Any], provider: GatewayId
) -> None:
    """Why a "not there" is asked again (`confirm_after`) before it is believed."""
    cell: Cell = await cells(provider)
    confirm_after = cell.policy.confirm_after
    assert confirm_after is not None
    cell.emulator.record_delay = cell.policy.settle + confirm_after / 2
    lost = await cell.lose((ALICE,), TAKEN_BUT_LOST)
    cell.settle()
    first = await cell.client.find_evidence(lost)
    assert first.of(ALICE) is Evidence.NOT_TAKEN  # not recorded yet: the records say so
    cell.emulator.advance(confirm_after)
    second = await cell.client.find_evidence(lost)
    assert second.of(ALICE) is expected(provider, took=True)


def test_every_gateway_declares_its_evidence() -> None:
    """Strongest first; a settle time, and a second ask before a "not there" is believed."""
    policies = {provider: GATEWAY_TYPES[provider].description.evidence for provider in GatewayId}
    assert {provider: policy.sources for provider, policy in policies.items()} == {
        GatewayId.SMSC: (EvidenceSource.OUR_ID,),
        GatewayId.SMSTELE: (EvidenceSource.OUR_ID,),
        GatewayId.STREAM: (EvidenceSource.DETAILED_REPORT, EvidenceSource.PERIOD_COUNT),
        GatewayId.DEVINO: (EvidenceSource.PERIOD_COUNT,),
    }
    for policy in policies.values():
        assert policy.can_tell
        assert policy.settle > 0
        assert policy.confirm_after is not None
        assert policy.confirm_after > 0
    # By our id only where the gateway keeps it.
    for provider, policy in policies.items():
        keeps = GATEWAY_TYPES[provider].capabilities.client_message_id
        assert (EvidenceSource.OUR_ID in policy.sources) is keeps


# -- answers that cannot be read, failures to ask ------------------------------------------

EVIDENCE_FAULTS = [
    Fault.MALFORMED,
    Fault.EMPTY,
    Fault.SERVER_ERROR_HTML,
    Fault.SERVER_ERROR_AFTER,
    Fault.DISCONNECT_BEFORE,
    Fault.SERVICE_UNAVAILABLE,
    Fault.TOO_MANY_REQUESTS,
    Fault.TIMEOUT_BEFORE,
]


@pytest.mark.parametrize("provider", list(GatewayId))
@pytest.mark.parametrize("loss", [TAKEN_BUT_LOST, LOST_UNTAKEN])
@pytest.mark.parametrize("fault", EVIDENCE_FAULTS)
async def test_an_evidence_answer_that_cannot_be_read_tells_nothing(
    cells: Callable[..., Any], provider: GatewayId, loss: Fault, fault: Fault
) -> None:
    cell: Cell = await cells(provider)
    lost = await cell.lose((ALICE,), loss)
    cell.settle()
    cell.emulator.inject(fault, times=MANY)
    if fault in HANGS:
        cell.client._timeout = SEND_TIMEOUT

    report = await cell.client.find_evidence(lost)

    assert report.of(ALICE) is Evidence.NO_EVIDENCE
    assert report.errors
    assert all(isinstance(err, SmsGatewayError) for err in report.errors)


async def test_smsc_status_item_without_a_status_tells_nothing(
    cells: Callable[..., Any],
) -> None:
    cell: Cell = await cells(GatewayId.SMSC)
    lost = await cell.lose_and_settle()
    assert isinstance(cell.emulator, SmscEmulator)
    cell.emulator.answer_next({"last_date": "28.12.2019 19:20:22", "err": 0}, "status.php")
    assert (await cell.client.find_evidence(lost)).of(ALICE) is Evidence.NO_EVIDENCE
    cell.emulator.answer_next({"error": "system error", "error_code": 1}, "status.php")
    report = await cell.client.find_evidence(lost)
    assert report.of(ALICE) is Evidence.NO_EVIDENCE
    assert report.errors


async def test_smsc_list_answer_missing_a_number_tells_nothing_of_it(
    cells: Callable[..., Any],
) -> None:
    cell: Cell = await cells(GatewayId.SMSC, {"not_found": NotFound.ITEM})
    lost = await cell.lose_and_settle((ALICE, BOB))
    assert isinstance(cell.emulator, SmscEmulator)
    item = {"id": lost.client_message_id, "phone": ALICE, "status": -3}
    cell.emulator.answer_next([item], "status.php")
    report = await cell.client.find_evidence(lost)
    assert dict(report.by_phone) == {ALICE: Evidence.NOT_TAKEN, BOB: Evidence.NO_EVIDENCE}


@pytest.mark.parametrize(
    "answer",
    [
        '{"id": "x", "cnt": "1"}',  # no results at all
        '{"results": "not found"}',  # results that are no list
        '{"error": "-1", "description": "System error"}',
    ],
)
async def test_smstele_status_without_results_tells_nothing(
    cells: Callable[..., Any], answer: str
) -> None:
    cell: Cell = await cells(GatewayId.SMSTELE)
    lost = await cell.lose_and_settle()
    assert isinstance(cell.emulator, SmsteleEmulator)
    cell.emulator.reply_raw(answer, path="status")
    cell.emulator.reply_raw(answer, path="status")  # and the read's one retry
    report = await cell.client.find_evidence(lost)
    assert report.of(ALICE) is Evidence.NO_EVIDENCE
    assert report.errors


async def test_smstele_item_without_a_number_answers_for_the_one_asked(
    cells: Callable[..., Any],
) -> None:
    cell: Cell = await cells(GatewayId.SMSTELE)
    lost = await cell.lose_and_settle()
    assert isinstance(cell.emulator, SmsteleEmulator)
    cell.emulator.reply_raw(
        f'{{"results": [{{"id": "{lost.client_message_id}", "stat": "ENROUTE"}}, {{}}]',
        path="status",
    )
    assert (await cell.client.find_evidence(lost)).of(ALICE) is Evidence.TAKEN


@pytest.mark.parametrize(
    "answer",
    [
        {"Sent": 0, "Delivered": 0, "Errors": "2"},  # something counted (as text)
        {"Delivered": 0},  # no Sent
        {"Sent": "n/a"},
        {"Sent": 0, "DeliveryRatio": 100},
    ],
)
async def test_devino_statistics_that_count_anything_tell_nothing(
    cells: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, answer: dict[str, Any]
) -> None:
    cell: Cell = await cells(GatewayId.DEVINO)
    lost = await cell.lose_and_settle()
    assert isinstance(cell.emulator, DevinoEmulator)

    async def statistics(request: Any, params: Any) -> Any:
        from tests.emulators.base import json_response

        return json_response(answer)

    monkeypatch.setattr(cell.emulator, "statistics", statistics)
    cell.emulator.route("Sms/Statistics", statistics, ("GET",))
    assert (await cell.client.find_evidence(lost)).of(ALICE) is Evidence.NO_EVIDENCE


@pytest.mark.parametrize("provider", [GatewayId.STREAM, GatewayId.DEVINO])
async def test_other_sends_in_the_period_leave_the_count_undecided(
    cells: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, provider: GatewayId
) -> None:
    """Another message of the account in the period: a count of it proves nothing."""
    if provider is GatewayId.STREAM:
        monkeypatch.setattr(StreamClient, "report_wait", ())  # no report: the count alone
    cell: Cell = await cells(provider)
    other = await cell.lose((BOB,), None, text="Another alert")
    lost = await cell.lose((ALICE,), LOST_UNTAKEN)
    assert other.sent_at >= lost.sent_at - EVIDENCE_CLOCK_MARGIN
    cell.settle()
    report = await cell.client.find_evidence(lost)
    assert report.of(ALICE) is Evidence.NO_EVIDENCE


# -- Stream's detailed report -------------------------------------------------------------


async def test_stream_report_knows_our_text_from_another(cells: Callable[..., Any]) -> None:
    """A message to the number with another text is not ours: not taken."""
    cell: Cell = await cells(GatewayId.STREAM)
    await cell.lose((ALICE,), None, text="Water leak in the bathroom")
    lost = await cell.lose_and_settle()
    report = await cell.client.find_evidence(lost)
    assert report.of(ALICE) is Evidence.NOT_TAKEN
    assert report.sources[ALICE] is EvidenceSource.DETAILED_REPORT


async def test_stream_report_not_ready_in_time_falls_back_to_the_count(
    cells: Callable[..., Any],
) -> None:
    cell: Cell = await cells(GatewayId.STREAM)
    assert isinstance(cell.emulator, StreamEmulator)
    cell.emulator.report_ready_after = 3600
    lost = await cell.lose_and_settle()
    report = await cell.client.find_evidence(lost)
    assert report.of(ALICE) is Evidence.NOT_TAKEN
    assert report.sources[ALICE] is EvidenceSource.PERIOD_COUNT
    assert [str(err) for err in report.errors] == ["Stream Telecom's report was not ready in time"]

    taken = await cell.lose((BOB,), TAKEN_BUT_LOST)
    cell.settle()
    assert (await cell.client.find_evidence(taken)).of(BOB) is Evidence.NO_EVIDENCE


@pytest.mark.parametrize(
    ("file", "evidence"),
    [
        ("id;phone;sender;state\r\n1;79161234567;ALERTS;-1\r\n", Evidence.NO_EVIDENCE),
        ("id;phone;sender;state\r\n", Evidence.NOT_TAKEN),
        ("Дата,Телефон,Текст\r\n2026-01-01,+7 916 123-45-67,Котёл: авария\r\n", Evidence.TAKEN),
        ("no columns here", None),
        ("", None),
    ],
)
async def test_stream_report_files_read_by_their_header(
    cells: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, file: str, evidence: Evidence | None
) -> None:
    """The file's columns are not documented: found by name; one without a number is unread."""
    monkeypatch.setattr(StreamClient, "report_wait", (0.0,))
    cell: Cell = await cells(GatewayId.STREAM)
    assert isinstance(cell.emulator, StreamEmulator)
    # Another message in the period: the count cannot decide in the report's place.
    await cell.lose((BOB,), None, text="Another alert")
    lost = await cell.lose_and_settle(text="Котёл: авария")
    served = cell.emulator.detailed_statistics

    async def report(request: Any, params: Any) -> Any:
        if params.get("id_report") is None:
            return await served(request, params)
        return web.Response(text=file, content_type="text/csv")

    cell.emulator.route("Statistic/all_stat.php", report, ("GET", "POST"))
    result = await cell.client.find_evidence(lost)
    if evidence is None:
        assert result.of(ALICE) is Evidence.NO_EVIDENCE
        assert any(isinstance(err, GatewayResponseError) for err in result.errors)
    else:
        assert result.of(ALICE) is evidence
        assert result.errors == ()


def test_stream_report_rows() -> None:
    from custom_components.ru_sms.providers.stream import ReportRow, read_report

    body = "\ufeffНомер\tСообщение\tДата\r\n89161234567\tКотёл\t2026\r\n\r\n\t\r\n79262345678\r\n"
    assert read_report(body) == [
        ReportRow("79161234567", "Котёл"),  # the trunk 8 read as 7
        ReportRow("79262345678", None),  # a short row: its text not given
    ]
    for unreadable in ("", "  \r\n", "id;sender;state\r\n1;ALERTS;0"):
        with pytest.raises(ValueError):
            read_report(unreadable)


async def test_a_source_the_gateway_lacks_is_no_evidence(
    cells: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cell: Cell = await cells(GatewayId.SMSC)
    lost = await cell.lose_and_settle()
    description = type(cell.client).description
    policy = EvidencePolicy(
        (EvidenceSource.DETAILED_REPORT, EvidenceSource.PERIOD_COUNT), settle=1.0
    )
    monkeypatch.setattr(type(cell.client), "description", replace(description, evidence=policy))
    report = await cell.client.find_evidence(lost)
    assert report.of(ALICE) is Evidence.NO_EVIDENCE
    assert [type(err).__name__ for err in report.errors] == ["NotSupportedError"] * 2


@pytest.mark.parametrize(
    ("listed", "same"),
    [
        ("Котёл: авария, давление 0.4 бар", True),
        ("  котёл:  АВАРИЯ, давление 0.4 бар ", True),
        ("Котёл: авария...", True),  # cut short
        ("давление 0.4 бар", True),  # one segment's part
        ("Котёл", False),  # too short to say
        ("Water leak", False),
    ],
)
def test_stream_report_texts(listed: str, same: bool) -> None:
    from custom_components.ru_sms.providers.stream import same_text

    assert same_text(listed, TEXT) is same


# -- by our id: no id, no gateway evidence ---------------------------------------------------


async def test_a_send_without_our_id_cannot_be_found(cells: Callable[..., Any]) -> None:
    cell: Cell = await cells(GatewayId.SMSC)
    cell.our_id = None
    lost = await cell.lose_and_settle()
    report = await cell.client.find_evidence(lost)
    assert report.of(ALICE) is Evidence.NO_EVIDENCE
    assert report.errors == ()
    assert cell.emulator.count("status.php") == 0


async def test_a_gateway_that_cannot_tell(
    http_session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No evidence declared: every number undecided at once, nothing asked."""
    client = GATEWAY_TYPES[GatewayId.DEVINO](
        http_session, ACCOUNTS[GatewayId.DEVINO].credentials, base_url="http://127.0.0.1:9/"
    )
    monkeypatch.setattr(
        type(client),
        "description",
        type(client.description)(
            id="mute", name="Mute", fields=(), status=StatusPolicy(StatusMode.SEGMENT)
        ),
    )
    assert client.description.evidence is CANNOT_TELL
    now = datetime.now(UTC)
    report = await client.find_evidence(LostSend((ALICE, BOB), TEXT, now - timedelta(hours=1)))
    assert report.undecided == (ALICE, BOB)
    assert report.taken == report.not_taken == ()
    assert report.of("79990000000") is Evidence.NO_EVIDENCE


async def test_no_evidence_by_our_id_where_the_gateway_keeps_none(
    cells: Callable[..., Any],
) -> None:
    cell: Cell = await cells(GatewayId.STREAM)
    with pytest.raises(SmsGatewayError):
        await cell.client.evidence_by_our_id("rs0", [ALICE])
    with pytest.raises(SmsGatewayError):
        await sent_phones(cell.client, "rs0", [ALICE])


# -- sent_phones, as the outbox asks today ------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "form"),
    [
        pytest.param(provider, form, id=f"{provider}-{form.name}")
        for provider in (GatewayId.SMSC, GatewayId.SMSTELE)
        for form in NOT_FOUND_FORMS[provider]
    ],
)
@pytest.mark.parametrize("loss", [TAKEN_BUT_LOST, LOST_UNTAKEN])
async def test_sent_phones_counts_only_what_the_gateway_has(
    cells: Callable[..., Any], provider: GatewayId, form: NotFoundForm, loss: Fault
) -> None:
    """A "not found" (error 3, status -3, no item) is not sent: the bug where `-3` was."""
    cell: Cell = await cells(provider, form.variant)
    lost = await cell.lose(form.phones, loss)
    assert lost.client_message_id is not None
    found = await sent_phones(cell.client, lost.client_message_id, form.phones)
    assert found == (set(form.phones) if loss in LOST_AFTER_TAKEN else set())


async def test_sent_phones_raises_when_the_answer_cannot_be_read(
    cells: Callable[..., Any],
) -> None:
    cell: Cell = await cells(GatewayId.SMSC)
    lost = await cell.lose((ALICE,), TAKEN_BUT_LOST)
    assert isinstance(cell.emulator, SmscEmulator)
    assert lost.client_message_id is not None
    cell.emulator.answer_next({"err": 0}, "status.php")
    with pytest.raises(GatewayResponseError) as info:
        await sent_phones(cell.client, lost.client_message_id, [ALICE])
    assert info.value.may_have_been_accepted  # still in doubt
    cell.emulator.inject(Fault.MALFORMED, times=2)
    with pytest.raises(GatewayResponseError):
        await sent_phones(cell.client, lost.client_message_id, [ALICE])
    assert await sent_phones(cell.client, lost.client_message_id, [ALICE]) == {ALICE}
