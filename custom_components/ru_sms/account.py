"""An account: its gateway and the services around it, built in one place.

`RuSmsAccount.async_create` builds, in order, what an account runs: the gateway client
(with its request budget and the windows the gateway still counts), the balance (whose
first request checks the credentials), the delivery tracker, the statistics, the inbox
and the outbox, the spending counts and the storm guard in front of the outbox, and the
webhook where the gateway calls back; `async_start`, once the platforms are set up, the
incoming poller. A gateway that cannot be reached, or that refuses the credentials, does
not keep the account from loading: its alerts queue (and go to the fallback account) as
at any other time, its balance shows unavailable, and refused credentials start
reauthentication.
Each service gets its collaborators through its constructor (the gateway, the tracker, a
balance callback, a fallback lookup); none imports this module or reads another service
through the entry. The entities and the actions reach the account as the entry's
`runtime_data` and send through `async_send`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_URL, CONF_WEBHOOK_ID, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import (
    CONF_CALLBACKS,
    CONF_FALLBACK,
    CONF_INCOMING_INTERVAL,
    CONF_PROVIDER,
    DEFAULT_CURRENCY,
    DEFAULT_INCOMING_INTERVAL,
    DOMAIN,
)
from .coordinator import BalanceCoordinator, StatisticsCoordinator
from .errors import (
    credentials_refused,
    error_details,
    gateway_name,
    rejection_details,
    translated_error,
)
from .escalation import EscalationPlan, Escalations, with_code
from .guard import GuardAction, GuardedOutcome, StormGuard
from .incoming import MIN_INTERVAL, Inbox, IncomingPoller
from .lookups import LookupWaiters
from .outbox import Outbox, async_open_outbox
from .preflight import async_dry_run
from .providers import (
    AuthenticationError,
    SendOptions,
    SmsGateway,
    SmsGatewayError,
    build_gateway,
    description_of,
)
from .providers.phone import mask_phone
from .spending import DailySpending
from .tracker import MessageTracker
from .validation import async_checked, check_text
from .webhook import async_register_webhook
from .windows import BudgetWindows

_LOGGER = logging.getLogger(__name__)

type RuSmsConfigEntry = ConfigEntry[RuSmsAccount]


def gateway_base_url(data: Mapping[str, Any]) -> str | None:
    """The base URL an entry's data points at (None: the gateway's own)."""
    if url := data.get(CONF_URL):
        return str(url)
    return description_of(data[CONF_PROVIDER]).base_url(data)


def create_gateway(hass: HomeAssistant, data: Mapping[str, Any]) -> SmsGateway:
    """The gateway client for an entry's data, on Home Assistant's shared session.

    Every caller of the account uses this one client: its request budget is shared.
    """
    gateway = build_gateway(
        data[CONF_PROVIDER],
        async_get_clientsession(hass),
        description_of(data[CONF_PROVIDER]).credentials(data),
        base_url=gateway_base_url(data),
    )
    gateway.use_budget()
    return gateway


@dataclass
class RuSmsAccount:
    """A loaded account: its gateway client and every service that works for it."""

    hass: HomeAssistant
    entry: RuSmsConfigEntry
    gateway: SmsGateway
    balance: BalanceCoordinator | None
    """The balance, where the gateway reports one."""
    tracker: MessageTracker
    """Every accepted message, followed until its delivery is final."""
    inbox: Inbox
    """Incoming SMS, by polling or by callbacks: each reported once."""
    outbox: Outbox
    """Alerts waiting for another attempt: every send goes through it."""
    lookups: LookupWaiters
    """HLR answers posted to the webhook (callbacks on)."""
    statistics: StatisticsCoordinator | None = None
    """The last 24 hours' statistics, where the gateway reports them."""
    incoming: IncomingPoller | None = field(default=None, init=False)
    """Asks for incoming SMS, where the gateway has them and the option is set."""
    spending: DailySpending = field(kw_only=True)
    """The day's parts and money, against the account's spending limits."""
    guard: StormGuard = field(kw_only=True)
    """In front of the outbox: repeats merged, bursts and alerts past a limit held."""
    escalations: Escalations = field(kw_only=True)
    """Alerts that go further when not delivered (or acknowledged) in time."""

    @classmethod
    async def async_create(cls, hass: HomeAssistant, entry: RuSmsConfigEntry) -> RuSmsAccount:
        """Build an account and load what it kept; everything it starts stops on unload."""
        gateway = create_gateway(hass, entry.data)
        # Before the first request: the gateway still counts what it had before.
        windows = BudgetWindows(hass, entry.entry_id, gateway.budget or gateway.use_budget())
        await windows.async_load()
        entry.async_on_unload(windows.async_unload)
        balance: BalanceCoordinator | None = None
        if gateway.capabilities.balance:
            # The first balance request also checks the credentials. A failure leaves the
            # balance unavailable (refused credentials start reauthentication), never the
            # account unloaded: its alerts must still queue.
            balance = BalanceCoordinator(hass, entry, gateway)
            await balance.async_refresh()
            entry.async_on_unload(balance.async_add_listener(balance.async_update_issue))
            entry.async_on_unload(balance.issue.clear)
            balance.async_update_issue()
        else:
            await _async_check_credentials(hass, entry, gateway)

        tracker = MessageTracker(
            hass, entry, gateway, callbacks=bool(entry.options.get(CONF_CALLBACKS, False))
        )
        await tracker.async_load()

        @callback
        def _end_waits(_event: Event) -> None:
            """A stop ends the actions' waits for delivery (the alerts go on after it)."""
            tracker.async_end_waits()

        entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _end_waits))

        # Created unstarted: its sensors are disabled by default and start it when added.
        statistics = (
            StatisticsCoordinator(hass, entry, gateway) if gateway.capabilities.statistics else None
        )
        inbox = Inbox(hass, entry)
        await inbox.async_load()
        entry.async_on_unload(inbox.async_unload)  # after the poller stops (unloads run in reverse)
        # Alerts queued before a restart (or a reload) go on.
        outbox = await async_open_outbox(
            Outbox(
                hass,
                entry,
                gateway,
                tracker,
                on_balance=balance.async_set_balance if balance is not None else None,
                fallback=partial(fallback_outbox, hass, entry),
            )
        )
        # The outbox first: what follows its accepted sends still goes to this tracker.
        entry.async_on_unload(partial(_async_stop_sending, outbox, tracker))
        spending = DailySpending(hass, entry, currency=partial(_currency, balance))
        await spending.async_load()
        entry.async_on_unload(spending.async_unload)
        guard = StormGuard(
            hass, entry, outbox, spending, max_text_length=gateway.capabilities.max_text_length
        )
        # Held alerts go on from where they were (a summary, a limit raised meanwhile).
        await guard.async_load()
        entry.async_on_unload(guard.async_unload)
        escalations = Escalations(
            hass,
            entry,
            delivered=tracker.is_delivered,
            fallback=partial(fallback_account, hass, entry),
            accounts=partial(loaded_account, hass),
        )
        # Escalations go on from their step (after Home Assistant has started).
        await escalations.async_load()
        entry.async_on_unload(escalations.async_unload)
        lookups = LookupWaiters()
        if CONF_WEBHOOK_ID in entry.data:
            async_register_webhook(hass, entry, inbox=inbox, lookups=lookups, tracker=tracker)
        return cls(
            hass,
            entry,
            gateway,
            balance,
            tracker,
            inbox,
            outbox,
            lookups,
            statistics,
            spending=spending,
            guard=guard,
            escalations=escalations,
        )

    async def async_start(self) -> None:
        """Once the platforms are set up: ask for incoming SMS, where the gateway has them."""
        minutes = self.entry.options.get(CONF_INCOMING_INTERVAL, DEFAULT_INCOMING_INTERVAL)
        if not minutes or not self.gateway.capabilities.incoming:
            return
        interval = timedelta(minutes=max(float(minutes), MIN_INTERVAL))
        self.incoming = IncomingPoller(self.hass, self.entry, self.gateway, self.inbox, interval)
        await self.incoming.async_start()
        self.entry.async_on_unload(self.incoming.async_stop)

    async def async_send(
        self,
        phones: Iterable[str],
        message: str,
        options: SendOptions,
        *,
        title: str | None = None,
        allow_rejected: bool = False,
        queue: bool = True,
        critical: bool = False,
        escalate: EscalationPlan | None = None,
        recipients: Iterable[str] = (),
    ) -> GuardedOutcome:
        """Send through the storm guard and the outbox; every failure becomes a translated error.

        The notify entities, the account's notify service and the actions all send
        here, so that every path validates, reports and fails the same way. The title,
        when given, goes on the line before the message. The caller waits for the first
        attempt: a refusal for good raises, a passing fault leaves the alert queued for
        another attempt (unless `queue` is off: then it raises too). Numbers the gateway
        refused raise (naming them, masked), unless the caller takes the per-number
        answer (`allow_rejected`). A repeat is merged and an alert in a burst or past a
        spending limit held (the outcome says so); a `critical` one passes.
        `escalate`: what happens when the alert is not delivered (or acknowledged) in
        time (checked by `escalation.checked_plan`); `recipients` are the account's
        recipients it names (their subentry ids).
        """
        check_text(message, title)
        if title:
            message = f"{title}\n{message}"
        message, code = with_code(escalate, message)
        phones = list(phones)
        numbers, text = await async_checked(
            self.hass, len(phones), self.gateway.prepare, phones, message, options
        )
        try:
            outcome = await self.guard.async_send(
                numbers, text, options, critical=critical, queue=queue
            )
        except SmsGatewayError as err:
            raise translated_error(self.hass, self.entry, err) from err
        result = outcome.result
        if result.rejected and not allow_rejected:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="numbers_rejected",
                translation_placeholders={
                    "numbers": ", ".join(mask_phone(r.phone) for r in result.rejected),
                    "accepted": str(len(result.accepted)),
                    "error": rejection_details(result.rejected[0]),
                },
            )
        if escalate is not None and len(outcome.numbers(GuardAction.MERGED)) < len(numbers):
            # A repeat merged into an alert sent before follows that alert's escalation.
            self.escalations.async_start(
                escalate,
                outcome,
                phones=numbers,
                text=text,
                code=code,
                critical=critical,
                recipients=recipients,
            )
        return outcome

    async def async_dry_run(
        self,
        phones: Iterable[str],
        message: str,
        options: SendOptions,
        *,
        title: str | None = None,
        critical: bool = False,
    ) -> dict[str, Any]:
        """What `async_send` would do, with nothing sent (`send_message`'s `dry_run`)."""
        return await async_dry_run(
            self.hass,
            self.gateway,
            self.guard,
            self.spending,
            phones=list(phones),
            message=message,
            options=options,
            title=title,
            critical=critical,
        )


def _currency(balance: BalanceCoordinator | None) -> str:
    """The account's currency, as its balance tells it (RUB until it does)."""
    return balance.currency if balance is not None else DEFAULT_CURRENCY


async def _async_check_credentials(
    hass: HomeAssistant, entry: RuSmsConfigEntry, gateway: SmsGateway
) -> None:
    """One cheap request, for gateways without a balance to poll.

    Refused credentials start reauthentication; a gateway that cannot be reached is only
    logged (its alerts queue).
    """
    try:
        await gateway.check_credentials()
    except AuthenticationError as err:
        _LOGGER.warning("%s: %s", entry.title, credentials_refused(entry.data[CONF_PROVIDER], err))
        entry.async_start_reauth(hass)
    except SmsGatewayError as err:
        _LOGGER.warning(
            "%s: %s cannot be reached at start-up (alerts queue until it can): %s",
            entry.title,
            gateway_name(entry.data[CONF_PROVIDER]),
            error_details(err),
        )


async def _async_stop_sending(outbox: Outbox, tracker: MessageTracker) -> None:
    """Unload the outbox (it hands what follows its sends to the tracker), then the tracker."""
    await outbox.async_unload()
    await tracker.async_unload()


def loaded_account(hass: HomeAssistant, entry_id: str | None) -> RuSmsAccount | None:
    """The account of `entry_id`, while it is loaded."""
    entry: RuSmsConfigEntry | None = (
        hass.config_entries.async_get_entry(entry_id) if entry_id else None
    )
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        return None
    return entry.runtime_data


def fallback_account(hass: HomeAssistant, entry: RuSmsConfigEntry) -> RuSmsAccount | None:
    """The account's fallback account, while that one is loaded."""
    fallback_id = entry.options.get(CONF_FALLBACK)
    if fallback_id == entry.entry_id:
        return None
    return loaded_account(hass, fallback_id)


def fallback_outbox(hass: HomeAssistant, entry: RuSmsConfigEntry) -> Outbox | None:
    """The outbox of the account's fallback account, while that one is loaded."""
    account = fallback_account(hass, entry)
    return None if account is None else account.outbox
