"""Incoming SMS: one inbox per account, fed by polling or by the gateway's callbacks.

The `Inbox` reports each message once (`ru_sms_incoming_sms`), whichever route it came
by: an `IncomingPoller` (where the gateway reports incoming messages and the account's
`incoming_interval` option is set) or the webhook (where the gateway calls back). Every
interval the poller asks for the messages received since the end of the last successful
window.

Windows overlap by `OVERLAP`, because a gateway may list a message a while after the time
it stamps on it. The ids already reported, with their time, and the end of the last
successful window live in Home Assistant's storage, so a message is reported once, across
polls and across restarts. An id is kept until no later window can reach back to it.
A failed poll leaves the window where it was: the next one asks again from the same point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
import hashlib
import logging
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.start import async_at_started
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .issues import async_show_damage
from .poller import GatewayPoller
from .providers import IncomingMessage, SmsGateway, SmsGatewayError
from .signals import async_fire_incoming_sms
from .storage import Damage, StoreKind, account_store, async_keep_aside, async_read, parse_time

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1

OVERLAP = timedelta(minutes=5)
"""How far each window reaches back before the end of the previous one (late stamps)."""
PRUNE_MARGIN = timedelta(minutes=5)
"""Kept this much longer than a window could reach (against a gateway's clock drift)."""
FIRST_LOOKBACK = timedelta(hours=1)
"""How far back the very first poll of an account looks (nothing on record yet)."""
MAX_CATCH_UP = timedelta(hours=24)
"""After a long outage or downtime, the window reaches back this far at most."""
MIN_INTERVAL = 1.0
"""Minutes: never asked more often."""
SAVE_DELAY = 1.0
"""Seconds before what a callback brought is written (a poll writes at once)."""
MAX_SEEN = 5000
"""Keys kept at most (callbacks alone never prune by window)."""
PUSH_REPEAT_WINDOW = 20 * 60.0
"""Seconds during which the same pushed SMS (number, text, our number) is reported once:
a gateway repeats an unanswered post every few minutes, and a replay may change the id
(which its signature does not cover). Kept on file: a reload forgets none of them."""


def push_key(message: IncomingMessage) -> str:
    """What a gateway signs of a pushed SMS, as a digest (no text kept on file)."""
    signed = "\x1f".join((message.phone, message.text, message.to or ""))
    return hashlib.sha256(signed.encode()).hexdigest()[:32]


def message_key(message: IncomingMessage) -> str:
    """What tells messages apart: the gateway's id, else number, text and time."""
    if message.message_id:
        return f"id:{message.message_id}"
    received = message.received_at.isoformat() if message.received_at else ""
    return f"msg:{message.phone}\x1f{message.text}\x1f{received}"


class Inbox:
    """An account's incoming SMS: each is reported once, whichever route it came by.

    The keys of the messages reported (with their time) and the end of the poller's last
    successful window are kept in Home Assistant's storage.
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """The inbox of `entry`; `async_load` reads what was reported before."""
        self.hass = hass
        self.entry = entry
        self.window_end: datetime | None = None
        """The end of the poller's last successful window."""
        self.seen: dict[str, datetime] = {}
        """Keys of the messages reported, with their time (received, else seen), oldest first."""
        self._store = account_store(hass, StoreKind.INCOMING, entry.entry_id, STORAGE_VERSION)
        self._pushed: dict[str, float] = {}
        """The messages pushed lately (`push_key`), with when (POSIX seconds)."""
        self.clock: Callable[[], float] = time.time
        """The wall clock pushed messages are remembered by (tests move their own)."""

    async def async_load(self) -> None:
        """Read what was reported before; what cannot be read is said (a repair issue)."""
        stored, damage = await async_read(self.hass, self._store, StoreKind.INCOMING)
        data: dict[str, Any] = stored if isinstance(stored, dict) else {}
        lost: int | None = 0
        if stored is not None and not isinstance(stored, dict):
            lost = None
        self.window_end = parse_time(data.get("window_end"))
        for name, into in (("seen", self.seen), ("pushed", None)):
            items = data.get(name, {})
            if not isinstance(items, dict):
                lost = None
                continue
            for key, value in items.items():
                if into is not None and (when := parse_time(value)) is not None:
                    into[str(key)] = when
                elif (
                    into is None and isinstance(value, int | float) and not isinstance(value, bool)
                ):
                    self._pushed[str(key)] = float(value)
                elif lost is not None:
                    lost += 1
        self.prune()
        if lost != 0 and damage is None:
            kept = await async_keep_aside(self.hass, self._store)
            damage = Damage(StoreKind.INCOMING, lost, kept, "unreadable entries")
        if damage is not None:
            async_show_damage(self.hass, self.entry.entry_id, self.entry.title, damage)
            await self.async_save()

    async def async_save(self) -> None:
        """Write at once: a message reported before a crash is not reported again."""
        await self._store.async_save(self._data_to_save())

    async def async_unload(self) -> None:
        """Write what the account took, if anything (an account without it has no file)."""
        if self.seen or self.window_end is not None or self._pushed:
            await self.async_save()

    @callback
    def async_receive(self, messages: Iterable[IncomingMessage], now: datetime) -> int:
        """Report the messages not reported before, oldest first; how many were new."""
        fresh: list[IncomingMessage] = []
        for message in messages:
            key = message_key(message)
            if key not in self.seen:
                self.seen[key] = message.received_at or now
                fresh.append(message)
        while len(self.seen) > MAX_SEEN:
            del self.seen[next(iter(self.seen))]
        for message in sorted(fresh, key=lambda m: m.received_at or now):
            async_fire_incoming_sms(self.hass, self.entry.entry_id, self.entry.title, message)
        if fresh:
            self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        return len(fresh)

    @callback
    def async_receive_pushed(self, message: IncomingMessage, now: datetime) -> int:
        """Report a message a gateway pushed, unless the same one was pushed lately.

        What counts is what the gateway signs (number, text, our number), not its id.
        """
        key = push_key(message)
        moment = self.clock()
        pushed = self._pushed
        while pushed and (
            len(pushed) >= MAX_SEEN or moment - next(iter(pushed.values())) > PUSH_REPEAT_WINDOW
        ):
            del pushed[next(iter(pushed))]
        if key in pushed:
            return 0
        pushed[key] = moment
        # On file soon: a reload (or a restart) must not let the same post through.
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        return self.async_receive([message], now)

    def prune(self) -> None:
        """Forget what no later window can return (they reach back `OVERLAP` at most)."""
        if self.window_end is None:
            return
        limit = self.window_end - OVERLAP - PRUNE_MARGIN
        self.seen = {key: when for key, when in self.seen.items() if when >= limit}

    def _data_to_save(self) -> dict[str, Any]:
        limit = self.clock() - PUSH_REPEAT_WINDOW
        return {
            "window_end": self.window_end.isoformat() if self.window_end else None,
            "seen": {key: when.isoformat() for key, when in self.seen.items()},
            "pushed": {key: when for key, when in self._pushed.items() if when >= limit},
        }


class IncomingPoller(GatewayPoller):
    """Asks an account's gateway for incoming messages and hands them to the inbox."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        gateway: SmsGateway,
        inbox: Inbox,
        interval: timedelta,
    ) -> None:
        """Poll `gateway` for `entry` every `interval`."""
        super().__init__(
            hass,
            entry,
            _LOGGER,
            what="ask for incoming SMS",
            failing="cannot read incoming SMS",
            back="incoming SMS can be read again",
        )
        self.gateway = gateway
        self.inbox = inbox
        self.interval = interval
        self._unsubs: list[CALLBACK_TYPE] = []

    # -- lifecycle ----------------------------------------------------------------------

    async def async_start(self) -> None:
        """Poll once Home Assistant runs, then every interval.

        Events fired before then would reach no automation: they are not loaded yet.
        """
        self._unsubs.append(async_at_started(self.hass, self._async_started))

    @callback
    def _async_started(self, _hass: HomeAssistant) -> None:
        self._unsubs.append(
            async_track_time_interval(
                self.hass,
                self._async_tick,
                self.interval,
                name=f"{DOMAIN} incoming SMS of {self.entry.title}",
                cancel_on_shutdown=True,
            )
        )
        self._async_start_poll()

    async def async_stop(self) -> None:
        """Stop asking (a poll under way is dropped: its window is asked again) and write."""
        while self._unsubs:
            self._unsubs.pop()()
        await self._async_stop_polling()
        await self.inbox.async_save()

    # -- polling ------------------------------------------------------------------------

    @callback
    def _async_tick(self, _now: datetime) -> None:
        self._async_start_poll()

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The period the next poll asks about."""
        if self.inbox.window_end is None:
            start = now - FIRST_LOOKBACK
        else:
            start = max(self.inbox.window_end - OVERLAP, now - MAX_CATCH_UP)
        # A clock set back (a device without a battery clock) must not make it empty.
        return min(start, now - OVERLAP), now

    async def _async_ask(self) -> None:
        """Ask once; report what is new."""
        start, end = self.window(dt_util.utcnow())
        try:
            messages = await self.gateway.incoming(start, end)
        except SmsGatewayError as err:
            self._failed(err)
            return
        self._succeeded()
        fresh = self.inbox.async_receive(messages, end)
        self.inbox.window_end = end
        self.inbox.prune()
        _LOGGER.debug(
            "%s: %d incoming SMS from %s to %s, %d new",
            self.entry.title,
            len(messages),
            start.isoformat(),
            end.isoformat(),
            fresh,
        )
        await self.inbox.async_save()
