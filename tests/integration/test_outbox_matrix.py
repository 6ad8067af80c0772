"""The fault matrix: every gateway x every fault x how long it lasts x each "not found" form.

Each cell sends one alert through `ru_sms.send_message` while the emulated gateway
misbehaves on its send path, moves a hand-moved clock past the alert's deadline, and
counts at the gateway the copies each number received:

- exactly one where the gateway's evidence can tell (SMSC.ru and SMStele by our id,
  Stream by its detailed report, Devino when its statistics count nothing since the
  request), whether the answer was lost before or after the gateway took the message,
  in each documented form the gateway says "not found";
- between one and `max_copies`, each after the first marked `possible_duplicate`, where
  it cannot (Devino's statistics counting the message it took);
- never none for a fault that ends before the deadline (three 5xx then recovery
  included); none for a refusal for good, raised to the caller as a translated error;
- and what the caller and the events said matches what the gateway took.

The gateways are slow to record what they took (`record_delay`): a "not there" asked
before their settle time would send a duplicate. The figures (copies, evidence asked,
lost, unhandled) are printed per gateway for the report.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
import logging
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ru_sms.const import CONF_GIVE_UP_AFTER, DEFAULT_MAX_COPIES, DOMAIN
from custom_components.ru_sms.providers.models import GatewayId
from custom_components.ru_sms.signals import EVENT_MESSAGE_STATUS
from scripts.emulators import fund
from tests.conftest import setup_account
from tests.emulators.base import LOST_AFTER_TAKEN, LOST_BEFORE_TAKEN, Fault
from tests.emulators.catalog import ACCOUNTS
from tests.integration.clock import Clock
from tests.providers.test_evidence import NOT_FOUND_FORMS, NotFoundForm

DEADLINE = timedelta(minutes=10)
"""The matrix's account gives up after this (long enough for three lost answers, each
asked about after the settle time and once more before it is believed)."""
SHORT_TIMEOUT = 0.1
"""The client's timeout while a hang is injected (the emulator hangs for twice as long)."""
RELAXED_TIMEOUT = 5.0
"""The client's timeout otherwise: a loaded test machine must not time out a healthy request."""
RECORD_DELAY = 10.0
"""Seconds (the gateway's) before a taken message shows in its records."""
QUIET = timedelta(hours=3, minutes=10)
"""Time between two cells on Devino, whose statistics must count nothing else."""
MANY = 10_000
"""Injected this many times, a fault lasts until it is cleared."""
LOSSES = sorted(LOST_BEFORE_TAKEN | LOST_AFTER_TAKEN)
HANGS = frozenset({Fault.TIMEOUT_BEFORE, Fault.TIMEOUT_AFTER})


class Other(StrEnum):
    """Faults of the matrix besides the ways of losing an answer."""

    REFUSED = "refused"
    EXPIRED_SESSION = "expired_session"
    RATE_LIMIT = "rate_limit"
    SMSC_ERROR_9 = "smsc_error_9"
    NO_MONEY = "no_money"
    WRONG_CREDENTIALS = "wrong_credentials"


PERMANENT = frozenset({Other.NO_MONEY, Other.WRONG_CREDENTIALS})
"""Refusals for good: never sent again on the account (no fallback configured here)."""


class Lasting(StrEnum):
    """How long a fault lasts."""

    ONCE = "once"
    THREE_TIMES = "three_times"
    PAST_DEADLINE = "past_deadline"


TIMES = {Lasting.ONCE: 1, Lasting.THREE_TIMES: 3, Lasting.PAST_DEADLINE: MANY}


@dataclass(frozen=True)
class Cell:
    """One cell of a gateway's matrix."""

    form: NotFoundForm
    fault: Fault | Other
    lasting: Lasting

    @property
    def name(self) -> str:
        return f"{self.form.name}/{self.fault}/{self.lasting}"


def cells(provider: GatewayId) -> Iterator[Cell]:
    """Each loss in each not-found form once; every fault for longer in the first form."""
    forms = NOT_FOUND_FORMS[provider]
    for form in forms:
        for loss in LOSSES:
            yield Cell(form, loss, Lasting.ONCE)
    for fault in [*LOSSES, *Other]:
        for lasting in Lasting:
            if lasting is not Lasting.ONCE or isinstance(fault, Other):
                yield Cell(forms[0], fault, lasting)


@dataclass
class Figures:
    """What the matrix found on one gateway."""

    cells: int = 0
    copies: Counter[int] = field(default_factory=Counter)
    """Cells by the most copies a number received."""
    marked: int = 0
    lost: list[str] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    evidence_requests: int = 0


@dataclass
class Said:
    """What the caller and the events said of one cell's alert(s)."""

    raised: str | None = None
    response: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def claimed_sent(self) -> bool:
        if self.response is not None and self.response["accepted"]:
            return True
        # The outbox's own reports carry its note (`queued`); the tracker's later reports
        # of earlier alerts (delivered) are not about this one.
        return any(
            "queued" in e and e["state"] not in ("failed", "unknown", "waiting")
            for e in self.events
        )

    @property
    def claimed_failed(self) -> bool:
        if self.raised is not None and self.raised != "may_have_been_sent":
            return True
        return any(e["state"] == "failed" and e.get("queued") for e in self.events)

    @property
    def marked(self) -> bool:
        return bool(self.response and self.response["possible_duplicate"]) or any(
            e.get("possible_duplicate") for e in self.events
        )


def copies(emulator: Any, text: str, phones: tuple[str, ...]) -> dict[str, int]:
    """How many times the gateway took an SMS with `text`, per number."""
    store: Any = getattr(emulator, "segments", None)
    if store is None:
        store = emulator.messages
    items = store.values() if isinstance(store, dict) else store
    found = Counter(item.phone.lstrip("+") for item in items if item.text == text)
    return {phone: found[phone] for phone in phones}


EVIDENCE_PATHS = ("status.php", "status", "all_stat.php", "Statistic/", "Sms/Statistics")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None: ...


@pytest.fixture(autouse=True)
def fast_client(no_client_retry_delay: None) -> None:
    """A read the client repeats goes at once (its wait is real time, not the clock's)."""


class Matrix:
    """One gateway's account, and the means to break it."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: MockConfigEntry,
        emulator: Any,
        provider: GatewayId,
        refused_url: str,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.emulator = emulator
        self.provider = provider
        self.refused_url = refused_url
        self.clock = Clock(hass)
        self.clock.attach(entry, emulator)
        self.client = entry.runtime_data.gateway
        self.base_urls = self.client._base_urls
        self.events: list[dict[str, Any]] = []
        self.serial = 0
        self.refused_left = 0

        @callback
        def collect(event: Event) -> None:
            self.events.append(dict(event.data))

        hass.bus.async_listen(EVENT_MESSAGE_STATUS, collect)

    # -- faults -------------------------------------------------------------------------

    def break_it(self, cell: Cell) -> None:
        times = TIMES[cell.lasting]
        send_path = ACCOUNTS[self.provider].send_paths[0]
        if cell.fault is Other.REFUSED:
            self.client._base_url = self.refused_url
            self.client._base_urls = (self.refused_url,)
            self.refused_left = times
        elif cell.fault is Other.WRONG_CREDENTIALS:
            if hasattr(self.emulator, "accounts"):
                self.emulator.accounts = {"user": "changed-pass"}
                self.emulator.inject(Fault.EXPIRED_SESSION)
            else:
                self.emulator.password = "changed-pass"
        elif cell.fault is Other.SMSC_ERROR_9:
            if self.provider is GatewayId.SMSC:
                self.emulator.inject(Fault.RATE_LIMIT, "send.php", times)
        elif isinstance(cell.fault, Other):
            self.emulator.inject(Fault(cell.fault.value), send_path, times)
        else:
            self.emulator.inject(cell.fault, send_path, times)

    def hangs_left(self) -> bool:
        return any(f in HANGS for f, _ in self.emulator.faults)

    def relax_when_no_hang_is_left(self) -> None:
        """Back to a timeout no healthy request meets, once the injected hangs are spent."""
        if not self.hangs_left():
            self.client._timeout = RELAXED_TIMEOUT

    def mend(self) -> None:
        self.emulator.faults.clear()
        self.client._timeout = RELAXED_TIMEOUT
        self.client._base_url = self.base_urls[0]
        self.client._base_urls = self.base_urls
        if hasattr(self.emulator, "accounts"):
            self.emulator.accounts = {"user": ACCOUNTS[self.provider].credentials.password}
        else:
            self.emulator.password = ACCOUNTS[self.provider].credentials.password

    # -- time ---------------------------------------------------------------------------

    async def run_until(self, seconds: float) -> None:
        """Move the clock `seconds` on, stopping at every attempt."""
        until = self.clock.now + timedelta(seconds=seconds)
        outbox = self.entry.runtime_data.outbox
        while self.clock.now < until:
            due = [
                a.next_attempt for a in outbox.alerts.values() if a.next_attempt > self.clock.now
            ]
            step = (min([until, *due]) - self.clock.now).total_seconds()
            if self.client.budget._waiting:
                step = min(step, 5.0)  # room in the gateway's limits comes back with time
            faults = len(self.emulator.faults)
            await self.clock.step(max(step, 0.5), (self.emulator,))
            if len(self.emulator.faults) < faults and self.hangs:
                # A hung request ends in real time (taken, or not): let it end.
                await asyncio.sleep(self.emulator.hang_seconds * 1.2)
                await self.clock.settle()
            self.relax_when_no_hang_is_left()
            if self.refused_left and self.client._base_url == self.refused_url:
                self.refused_left -= 1
                if self.refused_left == 0:
                    self.mend()

    # -- a cell -------------------------------------------------------------------------

    async def run(self, cell: Cell) -> tuple[dict[str, int], Said]:
        if self.provider is GatewayId.DEVINO:
            # Devino's statistics can prove that nothing was taken only when nothing else
            # was sent in the period asked about, which reaches back three hours (its
            # start is written in UTC and may be read in Moscow time).
            await self.run_until(QUIET.total_seconds())
        self.serial += 1
        text = f"Alert {self.serial} {cell.fault}"
        phones = cell.form.phones
        for name, value in cell.form.variant.items():
            setattr(self.emulator, name, value)
        self.events.clear()
        self.emulator.reset_counts()
        self.refused_left = 0
        self.hangs = cell.fault in HANGS
        self.client._timeout = SHORT_TIMEOUT if self.hangs else RELAXED_TIMEOUT
        self.break_it(cell)
        said = Said()
        alerts = 2 if cell.fault is Other.SMSC_ERROR_9 else 1
        for _ in range(alerts):
            try:
                said.response = await self.hass.services.async_call(
                    DOMAIN,
                    "send_message",
                    {
                        "config_entry_id": self.entry.entry_id,
                        "phones": list(phones),
                        "message": text,
                    },
                    blocking=True,
                    return_response=True,
                )
            except HomeAssistantError as err:
                # Translated, never a bare text.
                said.raised = err.translation_key or f"untranslated: {err}"
            if self.hangs:
                await asyncio.sleep(self.emulator.hang_seconds * 1.2)
            self.relax_when_no_hang_is_left()
        await self.clock.settle()
        if self.refused_left == 1:
            self.mend()
            self.refused_left = 0
        await self.run_until((DEADLINE + timedelta(minutes=1)).total_seconds())
        self.mend()
        await self.run_until(10)
        # A last question at the deadline may wait for room in the gateway's limits.
        for _ in range(30):
            if not self.entry.runtime_data.outbox.alerts:
                break
            await self.run_until(10)
        said.events = [e for e in self.events if e.get("number") in phones]
        assert not self.entry.runtime_data.outbox.alerts, cell.name
        counted = copies(self.emulator, text, phones)
        return {phone: count // alerts for phone, count in counted.items()}, said


def evidence_exact(provider: GatewayId, cell: Cell) -> bool:
    """Whether the gateway's evidence settles this cell (exactly one copy is due)."""
    return provider is not GatewayId.DEVINO or cell.fault not in LOST_AFTER_TAKEN


@pytest.mark.parametrize("provider", list(GatewayId))
async def test_fault_matrix(
    hass: HomeAssistant,
    start_emulator: Any,
    refused_url: str,
    caplog: pytest.LogCaptureFixture,
    provider: GatewayId,
) -> None:
    emulator = await start_emulator(provider)
    # Every cell texts the same number: the storm guard would hold all but the first ten.
    options = {CONF_GIVE_UP_AFTER: DEADLINE.total_seconds() / 60, "storm_guard": False}
    entry = await setup_account(hass, provider, emulator, options=options)
    emulator.hang_seconds = 2 * SHORT_TIMEOUT
    emulator.record_delay = RECORD_DELAY
    fund(emulator)  # hundreds of cells: more than the emulated account's money
    caplog.set_level(logging.WARNING, logger="aiohttp.access")
    matrix = Matrix(hass, entry, emulator, provider, refused_url)
    figures = Figures()
    for cell in cells(provider):
        name = cell.name
        caplog.clear()
        counted, said = await matrix.run(cell)
        figures.cells += 1
        figures.evidence_requests += sum(emulator.count(p) for p in EVIDENCE_PATHS)
        most = max(counted.values())
        figures.copies[most] += 1
        unhandled = [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.ERROR
            # The balance sensor's own reports (a refused connection, refused credentials:
            # its poll may meet the cell's fault) are handled.
            and not r.getMessage().startswith(("Authentication failed while", "Error fetching"))
        ]
        if unhandled:
            figures.unhandled.append(name)
        ends_in_time = cell.fault not in PERMANENT and cell.lasting is not Lasting.PAST_DEADLINE
        if ends_in_time and min(counted.values()) == 0:
            figures.lost.append(name)
        if most > 1 and said.marked:
            figures.marked += 1
        # Per cell: the copies the gateway's evidence allows, marked where it cannot tell.
        if evidence_exact(provider, cell):
            assert most <= 1, (name, counted, said)
        assert most <= DEFAULT_MAX_COPIES, (name, counted)
        assert most <= 1 or said.marked, (name, said)
        if ends_in_time:
            assert min(counted.values()) >= 1, (name, counted, said)
        if said.claimed_sent:
            assert most >= 1, (name, said)
        if said.claimed_failed:
            assert most == 0, (name, said)
        assert not (said.raised or "").startswith("untranslated"), (name, said)
        if cell.fault in PERMANENT:
            assert most == 0, name
            assert said.raised is not None, name
        assert not unhandled, (name, unhandled)
    print(provider, figures)  # noqa: T201 - the figures of the report
    assert figures.lost == [], figures
    assert emulator.breaches == []
