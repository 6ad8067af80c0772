"""Incoming SMS: Stream and Devino are asked for them on a schedule.

One `IncomingPoller` per account whose gateway reports incoming messages and whose
`incoming_interval` option is set. Every interval it asks for the messages received since
the end of the last successful window, and fires `ru_sms_incoming_sms` for each one not
seen before.

Windows overlap by `OVERLAP`, because a gateway may list a message a while after the time
it stamps on it. The ids already reported, with their time, and the end of the last
successful window live in Home Assistant's storage, so a message is reported once, across
polls and across restarts. An id is kept until no later window can reach back to it.
A failed poll leaves the window where it was: the next one asks again from the same point.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import CONF_INCOMING_INTERVAL, DEFAULT_INCOMING_INTERVAL, DOMAIN
from .events import async_fire_incoming_sms
from .providers import AuthenticationError, IncomingMessage, SmsGateway, SmsGatewayError
from .streak import FailureStreak

if TYPE_CHECKING:
    from .coordinator import RuSmsConfigEntry

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


def message_key(message: IncomingMessage) -> str:
    """What tells messages apart: the gateway's id, else number, text and time."""
    if message.message_id:
        return f"id:{message.message_id}"
    received = message.received_at.isoformat() if message.received_at else ""
    return f"msg:{message.phone}\x1f{message.text}\x1f{received}"


class IncomingPoller:
    """Asks an account's gateway for incoming messages and reports each one once."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: RuSmsConfigEntry,
        client: SmsGateway,
        interval: timedelta,
    ) -> None:
        """Poll `client` for `entry` every `interval`."""
        self.hass = hass
        self.entry = entry
        self.client = client
        self.interval = interval
        self.window_end: datetime | None = None
        """The end of the last successful window."""
        self.seen: dict[str, datetime] = {}
        """Keys of the messages reported, with their time (received, else seen)."""
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, storage_key(entry))
        self._unsubs: list[CALLBACK_TYPE] = []
        self._task: asyncio.Task[None] | None = None
        self._streak = FailureStreak(
            _LOGGER, entry.title, "cannot read incoming SMS", "incoming SMS can be read again"
        )

    # -- lifecycle ----------------------------------------------------------------------

    async def async_start(self) -> None:
        """Read what was reported before; poll once Home Assistant runs, then every interval.

        Events fired before then would reach no automation: they are not loaded yet.
        """
        self._load(await self._store.async_load() or {})
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
        self._async_tick(dt_util.utcnow())

    async def async_stop(self) -> None:
        """Stop asking (a poll under way is dropped: its window is asked again) and write."""
        while self._unsubs:
            self._unsubs.pop()()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task])
        await self._store.async_save(self._data_to_save())

    # -- polling ------------------------------------------------------------------------

    @callback
    def _async_tick(self, _now: datetime) -> None:
        if self._task is not None and not self._task.done():
            _LOGGER.debug("%s: the last ask for incoming SMS is still running", self.entry.title)
            return
        self._task = self.entry.async_create_background_task(
            self.hass, self.async_poll(), f"{DOMAIN} incoming SMS of {self.entry.title}"
        )

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The period the next poll asks about."""
        if self.window_end is None:
            start = now - FIRST_LOOKBACK
        else:
            start = max(self.window_end - OVERLAP, now - MAX_CATCH_UP)
        # A clock set back (a device without a battery clock) must not make it empty.
        return min(start, now - OVERLAP), now

    async def async_poll(self) -> None:
        """Ask once; report what is new. Errors are logged, never raised."""
        start, end = self.window(dt_util.utcnow())
        try:
            messages = await self.client.incoming(start, end)
        except AuthenticationError as err:
            self.entry.async_start_reauth(self.hass)
            self._streak.failed(err)
            return
        except SmsGatewayError as err:
            self._streak.failed(err)
            return
        self._streak.succeeded()
        fresh: list[IncomingMessage] = []
        for message in messages:
            key = message_key(message)
            if key not in self.seen:
                self.seen[key] = message.received_at or end
                fresh.append(message)
        self.window_end = end
        self._prune()
        for message in sorted(fresh, key=lambda m: m.received_at or end):
            async_fire_incoming_sms(self.hass, self.entry, message)
        _LOGGER.debug(
            "%s: %d incoming SMS from %s to %s, %d new",
            self.entry.title,
            len(messages),
            start.isoformat(),
            end.isoformat(),
            len(fresh),
        )
        # Written at once: a message reported before a crash is not reported again.
        await self._store.async_save(self._data_to_save())

    # -- records ------------------------------------------------------------------------

    def _prune(self) -> None:
        """Forget what no later window can return (they reach back `OVERLAP` at most)."""
        if self.window_end is None:
            return
        limit = self.window_end - OVERLAP - PRUNE_MARGIN
        self.seen = {key: when for key, when in self.seen.items() if when >= limit}

    def _load(self, stored: dict[str, Any]) -> None:
        self.window_end = _parse(stored.get("window_end"))
        seen = stored.get("seen")
        for key, value in (seen if isinstance(seen, dict) else {}).items():
            if (when := _parse(value)) is not None:
                self.seen[str(key)] = when
        self._prune()

    def _data_to_save(self) -> dict[str, Any]:
        return {
            "window_end": self.window_end.isoformat() if self.window_end else None,
            "seen": {key: when.isoformat() for key, when in self.seen.items()},
        }


def _parse(value: Any) -> datetime | None:
    """A stored time; None when it is missing or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt_util.parse_datetime(value)
    except ValueError:
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return moment


def storage_key(entry: RuSmsConfigEntry) -> str:
    """Where an account's reported messages are kept."""
    return f"{DOMAIN}.incoming.{entry.entry_id}"


async def async_setup_incoming(
    hass: HomeAssistant, entry: RuSmsConfigEntry, client: SmsGateway
) -> IncomingPoller | None:
    """Start asking for incoming SMS where the gateway has them and the option is set."""
    minutes = entry.options.get(CONF_INCOMING_INTERVAL, DEFAULT_INCOMING_INTERVAL)
    if not minutes or not client.capabilities.incoming:
        return None
    interval = timedelta(minutes=max(float(minutes), MIN_INTERVAL))
    poller = IncomingPoller(hass, entry, client, interval)
    await poller.async_start()
    entry.async_on_unload(poller.async_stop)
    return poller


async def async_remove_incoming(hass: HomeAssistant, entry: RuSmsConfigEntry) -> None:
    """Forget the reported messages of a removed account."""
    await Store[dict[str, Any]](hass, STORAGE_VERSION, storage_key(entry)).async_remove()
