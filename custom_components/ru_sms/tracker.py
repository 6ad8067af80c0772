"""Delivery tracking: every accepted message is followed until it reaches a final state.

One `MessageTracker` per account. It records each accepted number of a send (with all
its segment ids), keeps the records in Home Assistant's storage so that tracking survives
a restart, asks the gateway for the state on the cheapest schedule its limits allow, and
fires `ru_sms_message_status` on every change. Status callbacks (SMSC's webhook) feed the
same records through `async_apply`. Nothing is asked while nothing is pending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import CONF_PHONES, DOMAIN
from .events import async_fire_message_status
from .providers import (
    AuthenticationError,
    DeliveryState,
    DeliveryStatus,
    MessageRef,
    RateLimitedError,
    SendOptions,
    SendResult,
    SmsGateway,
    SmsGatewayError,
    StatusMode,
    combine_states,
)
from .providers.phone import phone_digits
from .status import MessageStatus
from .streak import FailureStreak

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
SAVE_DELAY = 5.0
"""Seconds to gather changes before writing them (the store writes at shutdown too)."""

DEFAULT_VALIDITY = timedelta(hours=24)
"""How long a gateway keeps trying when the send named no validity (their default)."""
VALIDITY_MARGIN = timedelta(hours=1)
"""Reports can come a while after the validity ran out."""
PRUNE_AFTER = timedelta(days=7)
"""How long a finished message stays on record (the last-message sensors show it)."""

BACKOFF: tuple[float, ...] = (10, 30, 60, 120, 300)
"""Seconds before each status request of one message; then every `BACKOFF_TAIL`."""
BACKOFF_TAIL = 600.0
SAFETY_NET_INTERVAL = 900.0
"""With status callbacks on, polling only catches what a lost callback missed."""
ERROR_RETRY = 300.0
"""Seconds before asking again after the gateway refused our credentials."""


@dataclass(slots=True)
class TrackedMessage:
    """One number of one send, followed until its delivery is final."""

    phone: str
    message_ids: list[str]
    sent_at: datetime
    expires_at: datetime
    recipient_id: str | None = None
    state: DeliveryState = DeliveryState.QUEUED
    segment_states: dict[str, DeliveryState] = field(default_factory=dict)
    segment_costs: dict[str, float] = field(default_factory=dict)
    """What each segment cost, where the gateway prices segments one by one."""
    segment_reports: dict[str, list[str | None]] = field(default_factory=dict)
    """The gateway's raw code, text and error code of each segment's last report."""
    raw_code: str | None = None
    raw_text: str | None = None
    error_code: str | None = None
    cost: float | None = None
    updated_at: datetime | None = None
    delivered_at: datetime | None = None
    finished_at: datetime | None = None
    polls: int = 0
    next_poll: datetime | None = None

    @property
    def key(self) -> str:
        """Unique within an account: the first id and the number."""
        return f"{self.message_ids[0]}:{self.phone}"

    @property
    def message_id(self) -> str:
        """The id people quote (the first segment's)."""
        return self.message_ids[0]

    @property
    def is_final(self) -> bool:
        """Whether the message will not change any more."""
        return self.finished_at is not None

    def as_dict(self) -> dict[str, Any]:
        """For the store: dates as ISO text."""
        data = asdict(self)
        for name, value in data.items():
            if isinstance(value, datetime):
                data[name] = value.isoformat()
        data["segment_states"] = {k: str(v) for k, v in self.segment_states.items()}
        data["state"] = str(self.state)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> TrackedMessage:
        """From the store (unknown keys of a later version are ignored).

        Raises `TypeError` or `ValueError` for a record that cannot be followed: a bad
        record must fail here, not later in a poll.
        """
        if not isinstance(data, dict):
            raise TypeError("not a record")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        ids = values.get("message_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise ValueError("no message ids")
        if not isinstance(values.get("phone"), str) or not values["phone"]:
            raise ValueError("no number")
        if not isinstance(values.get("polls", 0), int):
            raise TypeError("polls")
        for name in ("sent_at", "expires_at"):
            values[name] = _read_time(values.get(name))
        for name in ("updated_at", "delivered_at", "finished_at", "next_poll"):
            values[name] = _read_time(values[name]) if values.get(name) else None
        values["state"] = DeliveryState(values.get("state", DeliveryState.UNKNOWN))
        values["segment_states"] = {
            str(k): DeliveryState(v) for k, v in dict(values.get("segment_states") or {}).items()
        }
        values["segment_costs"] = {
            str(k): float(v) for k, v in dict(values.get("segment_costs") or {}).items()
        }
        values["segment_reports"] = {
            str(k): [None if x is None else str(x) for x in v]
            for k, v in dict(values.get("segment_reports") or {}).items()
            if isinstance(v, list) and len(v) == 3
        }
        return cls(**values)


def _shown(message: TrackedMessage) -> tuple[Any, ...]:
    """What an event tells of a message: a change of any of it is worth one."""
    return (message.state, message.raw_code, message.error_code)


def _read_time(value: Any) -> datetime:
    """A stored ISO time; it must carry its zone (every comparison is in UTC)."""
    if not isinstance(value, str):
        raise TypeError("not a time")
    parsed = dt_util.parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(f"not a time: {value}")
    return parsed


def storage_key(entry: ConfigEntry[Any]) -> str:
    """Where an account's delivery records are kept."""
    return f"{DOMAIN}.tracker.{entry.entry_id}"


async def async_remove_tracker(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Forget the delivery records of a removed account."""
    await Store[dict[str, Any]](hass, STORAGE_VERSION, storage_key(entry)).async_remove()


class MessageTracker:
    """Follows the delivery of an account's messages."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: SmsGateway,
        *,
        callbacks: bool = False,
    ) -> None:
        """Track for `entry`; with `callbacks`, the gateway reports states itself."""
        self.hass = hass
        self.entry = entry
        self.client = client
        self.callbacks = callbacks
        self.messages: dict[str, TrackedMessage] = {}
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, storage_key(entry))
        self._listeners: list[Callable[[], None]] = []
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._last_list_poll: datetime | None = None
        self._polling = False
        self._streak = FailureStreak(
            _LOGGER, entry.title, "cannot get delivery reports", "delivery reports are back"
        )
        self._stopped = False

    # -- lifecycle ----------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read what was in flight before a restart and go on following it."""
        stored = await self._store.async_load()
        data: dict[str, Any] = stored if isinstance(stored, dict) else {}
        items = data.get("messages")
        now = dt_util.utcnow()
        for item in items if isinstance(items, list) else []:
            try:
                message = TrackedMessage.from_dict(item)
            except TypeError, ValueError:
                _LOGGER.warning("%s: dropping an unreadable delivery record", self.entry.title)
                continue
            if not message.is_final and message.next_poll is None:
                message.next_poll = now
            self.messages[message.key] = message
        # A restart must not break SMSC.ru's one list request a minute.
        try:
            self._last_list_poll = _read_time(data.get("last_list_poll"))
        except TypeError, ValueError:
            self._last_list_poll = None
        self._prune()
        self._schedule()

    async def async_unload(self) -> None:
        """Stop polling and write the records now.

        A poll under way is an entry task, cancelled by the unload: nothing it does
        afterwards schedules, saves or tells anyone.
        """
        self._stopped = True
        self._cancel_timer()
        await self._store.async_save(self._data_to_save())

    # -- what the rest of the integration calls ----------------------------------------

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` after every change; returns the function that stops it."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    @callback
    def async_track(
        self, result: SendResult, options: SendOptions, *, note: dict[str, Any] | None = None
    ) -> list[TrackedMessage]:
        """Record the accepted numbers of a send and start following them.

        `note` is added to the first event of each number (how the outbox sent it).
        """
        now = dt_util.utcnow()
        start = max(now, options.send_at) if options.send_at else now
        expires_at = start + (options.validity or DEFAULT_VALIDITY) + VALIDITY_MARGIN
        recipients = self._recipients_by_phone()
        tracked: list[TrackedMessage] = []
        for recipient in result.accepted:
            if not recipient.message_ids:
                continue  # nothing to ask about (should not happen)
            message = TrackedMessage(
                phone=recipient.phone,
                message_ids=list(recipient.message_ids),
                sent_at=now,
                expires_at=expires_at,
                recipient_id=recipients.get(recipient.phone),
                cost=None if recipient.cost is None else float(recipient.cost),
                updated_at=now,
                next_poll=self._first_poll(now, start),
            )
            self.messages[message.key] = message
            tracked.append(message)
            self._fire(message, note)
        self._changed()
        return tracked

    @callback
    def async_apply(self, statuses: Iterable[DeliveryStatus]) -> None:
        """Take reported states (from a poll or a callback) and fire what changed."""
        by_segment: dict[tuple[str, str], TrackedMessage] = {}
        by_id: dict[str, list[TrackedMessage]] = {}
        for tracked in self.messages.values():
            for message_id in tracked.message_ids:
                by_segment[(message_id, tracked.phone)] = tracked
                by_id.setdefault(message_id, []).append(tracked)
        # What each message showed before: a batch of segment reports is one change.
        before: dict[str, tuple[TrackedMessage, tuple[Any, ...]]] = {}
        for status in statuses:
            found = by_segment.get((status.message_id, phone_digits(status.phone)))
            if found is None and not status.phone:
                # A report without its number names the message by id alone: only
                # when that id is one number's (on SMSC.ru one id covers a whole send).
                candidates = by_id.get(status.message_id, [])
                found = candidates[0] if len(candidates) == 1 else None
            if found is None or found.is_final:
                continue
            before.setdefault(found.key, (found, _shown(found)))
            self._update(found, status)
        changed = [message for message, shown in before.values() if _shown(message) != shown]
        for message in changed:
            self._fire(message)
        if changed:
            self._changed()

    @property
    def in_flight(self) -> int:
        """Messages not yet in a final state."""
        return sum(1 for m in self.messages.values() if not m.is_final)

    def last_message(self, recipient_id: str | None = None) -> TrackedMessage | None:
        """The latest message of the account, or of one recipient."""
        candidates = [
            m
            for m in self.messages.values()
            if recipient_id is None or m.recipient_id == recipient_id
        ]
        return max(candidates, key=lambda m: (m.sent_at, m.key), default=None)

    # -- state changes -------------------------------------------------------------------

    def _update(self, message: TrackedMessage, status: DeliveryStatus) -> None:
        """Apply one segment's status (its id is one of the message's)."""
        segment = status.message_id
        known = message.segment_states.get(segment)
        if status.state is DeliveryState.UNKNOWN and known not in (None, DeliveryState.UNKNOWN):
            # A lost or empty answer (or an archived state) says nothing about a segment
            # whose state is known: keep it rather than step back.
            return
        message.segment_states[segment] = status.state
        message.segment_reports[segment] = [status.raw_code, status.raw_text, status.error_code]
        states = [message.segment_states.get(m, DeliveryState.QUEUED) for m in message.message_ids]
        state = combine_states(states)
        message.state = state
        # The gateway's words come from a segment that is in the message's state (the
        # failed part of a failed message), not from whichever part was read last.
        deciding = next(
            (
                m
                for m in message.message_ids
                if message.segment_states.get(m) is state and m in message.segment_reports
            ),
            segment,
        )
        message.raw_code, message.raw_text, message.error_code = message.segment_reports[deciding]
        if status.cost is not None:
            # Stream and Devino price each segment: the message costs their sum.
            message.segment_costs[status.message_id] = float(status.cost)
            if all(m in message.segment_costs for m in message.message_ids):
                message.cost = sum(message.segment_costs[m] for m in message.message_ids)
        now = dt_util.utcnow()
        message.updated_at = status.updated_at or now
        if state is DeliveryState.DELIVERED and message.delivered_at is None:
            message.delivered_at = status.updated_at or now
        if state.is_final:
            message.finished_at = now
            message.next_poll = None

    def _give_up(self, message: TrackedMessage, now: datetime) -> None:
        """The validity (and its margin) ran out without a final report."""
        message.state = (
            DeliveryState.EXPIRED if message.state is DeliveryState.SENT else DeliveryState.UNKNOWN
        )
        message.finished_at = now
        message.next_poll = None
        message.updated_at = now
        self._fire(message)

    def _fire(self, message: TrackedMessage, note: dict[str, Any] | None = None) -> None:
        recipient = self.entry.subentries.get(message.recipient_id or "")
        data = MessageStatus.of_message(message).as_event(
            self.entry.entry_id, self.entry.title, recipient.title if recipient else None
        )
        async_fire_message_status(self.hass, self.entry, data | (note or {}))

    def _changed(self) -> None:
        if self._stopped:
            return
        self._prune()
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        self._schedule()
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                # A broken listener must neither fail a send nor stop the polling.
                _LOGGER.exception("%s: error in a delivery listener", self.entry.title)

    def _prune(self) -> None:
        limit = dt_util.utcnow() - PRUNE_AFTER
        for key in [k for k, m in self.messages.items() if m.finished_at and m.finished_at < limit]:
            del self.messages[key]

    def _data_to_save(self) -> dict[str, Any]:
        return {
            "messages": [m.as_dict() for m in self.messages.values()],
            "last_list_poll": self._last_list_poll.isoformat() if self._last_list_poll else None,
        }

    def _recipients_by_phone(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for subentry_id, subentry in self.entry.subentries.items():
            for phone in subentry.data.get(CONF_PHONES, []):
                found.setdefault(phone, subentry_id)
        return found

    # -- polling ----------------------------------------------------------------------

    @property
    def _list_polling(self) -> bool:
        """One request about every pending message, at the gateway's pace."""
        return self.client.description.status.mode is StatusMode.LIST

    def _first_poll(self, now: datetime, start: datetime) -> datetime:
        status = self.client.description.status
        if self.callbacks:
            return start + timedelta(seconds=SAFETY_NET_INTERVAL)
        return start + timedelta(seconds=status.first_after or BACKOFF[0])

    def _next_poll(self, message: TrackedMessage, now: datetime) -> datetime:
        if self.callbacks:
            step = SAFETY_NET_INTERVAL
        elif self._list_polling:
            step = self.client.description.status.min_interval
        else:
            step = BACKOFF[message.polls] if message.polls < len(BACKOFF) else BACKOFF_TAIL
        return now + timedelta(seconds=step)

    def _poll_time(self, pending: list[TrackedMessage]) -> datetime | None:
        """When the next status request may go out."""
        polls = [m.next_poll for m in pending if m.next_poll is not None]
        if not polls:
            return None
        when = min(polls)
        if self._list_polling and self._last_list_poll is not None:
            # Never two list requests closer than the gateway allows, whatever became due.
            spacing = timedelta(seconds=self.client.description.status.min_interval)
            when = max(when, self._last_list_poll + spacing)
        return when

    def _schedule(self) -> None:
        """One timer, at the earliest poll or expiry; none while nothing is pending."""
        self._cancel_timer()
        if self._polling or self._stopped:
            return  # the running poll schedules when it is done
        pending = [m for m in self.messages.values() if not m.is_final]
        times = [m.expires_at for m in pending]
        if (poll_at := self._poll_time(pending)) is not None:
            times.append(poll_at)
        if not times:
            return
        self._unsub_timer = async_track_point_in_utc_time(self.hass, self._on_timer, min(times))

    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    @callback
    def _on_timer(self, _now: datetime) -> None:
        self._unsub_timer = None
        # An entry task: unloading the entry cancels a poll under way.
        self.entry.async_create_background_task(
            self.hass, self._async_poll(), f"{DOMAIN} delivery poll {self.entry.entry_id}"
        )

    async def _async_poll(self) -> None:
        self._polling = True
        try:
            await self._async_poll_due()
        finally:
            self._polling = False
            self._changed()

    async def _async_poll_due(self) -> None:
        now = dt_util.utcnow()
        for message in [m for m in self.messages.values() if not m.is_final]:
            if now >= message.expires_at:
                self._give_up(message, now)
        pending = [m for m in self.messages.values() if not m.is_final]
        poll_at = self._poll_time(pending)
        if poll_at is None or poll_at > now:
            return  # woken for an expiry only
        due = [m for m in pending if m.next_poll is not None and m.next_poll <= now]
        # A list gateway: one request about every pending message (the due ones decided the
        # time); a message not due yet (sent later, or at a later time) keeps its pace.
        asked = pending if self._list_polling else due
        refs = [
            MessageRef(message_id=message_id, phone=m.phone)
            for m in asked
            for message_id in m.message_ids
            if m.segment_states.get(message_id) is None or not m.segment_states[message_id].is_final
        ]
        if self._list_polling:
            self._last_list_poll = now
        # The next poll is set before asking: whatever goes wrong below, no loop.
        for message in due:
            message.polls += 1
            message.next_poll = self._next_poll(message, now)
        try:
            statuses = await self.client.delivery_status(refs)
        except RateLimitedError as err:
            # The whole account waits, not only the messages asked about.
            self._postpone(pending, now + timedelta(seconds=max(err.retry_after, 1.0)))
            self._streak.failed(err)
            return
        except AuthenticationError as err:
            self.entry.async_start_reauth(self.hass)
            self._postpone(pending, now + timedelta(seconds=ERROR_RETRY))
            self._streak.failed(err)
            return
        except SmsGatewayError as err:
            self._streak.failed(err)
            return
        self._streak.succeeded()
        self.async_apply(statuses)
        _LOGGER.debug(
            "%s: asked about %d message(s), %d still in flight",
            self.entry.title,
            len(asked),
            self.in_flight,
        )

    def _postpone(self, messages: list[TrackedMessage], when: datetime) -> None:
        """No request about these before `when`."""
        for message in messages:
            if message.next_poll is None or message.next_poll < when:
                message.next_poll = when
