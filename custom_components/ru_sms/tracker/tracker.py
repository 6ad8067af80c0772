"""The delivery tracker of an account: every accepted message followed until it is final.

It records each accepted number of a send (with all its segment ids), keeps the records
in Home Assistant's storage so that tracking survives a restart, asks the gateway for the
state on the cheapest schedule its limits allow (`Pacing`), and fires
`ru_sms_message_status` on every change. Status callbacks (SMSC's webhook) feed the same
records through `async_apply`. Nothing is asked while nothing is pending.

Cost does not grow with the history kept (a week of finished messages): the records are
held as their stored rows with indexes kept on every change (`Index`), a save hands the
rows to a writer thread (which makes them text), and loading decodes them off the loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
import itertools
import logging
from typing import Any
import weakref

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from ..const import CONF_PHONES
from ..issues import async_show_damage
from ..listeners import ChangeListeners
from ..poller import GatewayPoller
from ..providers import (
    AuthenticationError,
    DeliveryState,
    DeliveryStatus,
    MessageRef,
    RateLimitedError,
    RecipientResult,
    SendOptions,
    SendResult,
    SmsGateway,
    SmsGatewayError,
)
from ..providers.phone import phone_digits
from ..signals import async_fire_message_status
from ..storage import Damage, StoreKind, async_keep_aside, async_read, parse_time
from .index import Index, Loader, stored_rows
from .pacing import Pacing
from .record import TrackedMessage
from .steps import batches, steps
from .store import TrackerStore
from .waiters import DeliveryWaiter, DeliveryWaiters

_LOGGER = logging.getLogger(__name__)

SAVE_DELAY = 5.0
"""Seconds to gather changes before writing them (the store writes at shutdown too)."""
PRUNE_AFTER = timedelta(days=7)
"""How long a finished message stays on record (the last-message sensors show it)."""
ERROR_RETRY = 300.0
"""Seconds before asking again after the gateway refused our credentials."""
RECENT_VIEWS = 64
"""Messages kept decoded after use (the latest ones, which the sensors show)."""
LIST_POLL_MAX = 1000
"""The most messages one status list request names (the largest list a gateway takes)."""


class MessageTracker(GatewayPoller):
    """Follows the delivery of an account's messages."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        gateway: SmsGateway,
        *,
        callbacks: bool = False,
    ) -> None:
        """Track for `entry`; with `callbacks`, the gateway reports states itself."""
        super().__init__(
            hass,
            entry,
            _LOGGER,
            what="delivery poll",
            failing="cannot get delivery reports",
            back="delivery reports are back",
        )
        self.gateway = gateway
        self.callbacks = callbacks
        self.pacing = Pacing.of(gateway, callbacks=callbacks)
        self._index = Index()
        self._views: weakref.WeakValueDictionary[str, TrackedMessage] = (
            weakref.WeakValueDictionary()
        )
        self._recent: deque[TrackedMessage] = deque(maxlen=RECENT_VIEWS)
        self._store = TrackerStore(hass, entry.entry_id)
        self._listeners = ChangeListeners(_LOGGER, entry.title)
        self._waiters = DeliveryWaiters()
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._timer_at: float | None = None
        self._last_list_poll: datetime | None = None
        self._stopped = False
        self.now: Callable[[], datetime] = dt_util.utcnow
        """The clock polls, reports and expiry are read from (tests move their own)."""

    # -- lifecycle ----------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read what was in flight before a restart and go on following it.

        The file is read in a worker thread; its rows are decoded and indexed on the
        event loop in steps that let it run (`batches`). In worker threads, tens of
        thousands of rows of several accounts at once would hold the interpreter's lock
        against the loop for tens of milliseconds at a time. Only a file whose rows are
        not in the order sent (version 1's) is sorted in a worker thread (the index is
        no one else's yet).
        """
        reason: str | None = None
        stored, damage = await async_read(self.hass, self._store, StoreKind.TRACKER)
        data: dict[str, Any] = stored if isinstance(stored, dict) else {}
        now = self.now()
        loader = Loader((now - PRUNE_AFTER).timestamp(), now)
        async for batch in batches(stored_rows(data)):
            for row in batch:
                loader.add(row)
        if loader.in_order:
            self._index = loader.finish_in_order()
        else:
            self._index = await self.hass.async_add_executor_job(loader.finish)
        dropped: int | None = loader.dropped
        if stored is not None and not isinstance(data.get("rows"), list):
            dropped, reason = None, "no list of records"
        if dropped != 0 and damage is None:
            # The readable records are written back: the file as it was is kept aside.
            kept = await async_keep_aside(self.hass, self._store)
            damage = Damage(StoreKind.TRACKER, dropped, kept, reason or "unreadable records")
        if damage is not None:
            _LOGGER.warning("%s: delivery records not read: %s", self.entry.title, damage)
            async_show_damage(self.hass, self.entry.entry_id, self.entry.title, damage)
            self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        # A restart must not break a list gateway's pace.
        self._last_list_poll = parse_time(data.get("last_list_poll"))
        self._schedule()

    async def async_unload(self) -> None:
        """Stop polling and write the records now.

        A poll under way is an entry task, cancelled by the unload: nothing it does
        afterwards schedules, saves or tells anyone.
        """
        self._stopped = True
        self._cancel_timer()
        self.async_end_waits()
        await self.async_save()

    async def async_save(self) -> None:
        """Write every record now, not after the delay the changes wait for."""
        await self._store.async_save(self._data_to_save())

    # -- what the rest of the integration calls ----------------------------------------

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` after every change; returns the function that stops it."""
        return self._listeners.add(listener)

    @callback
    def async_wait_for(self, keys: Iterable[str]) -> DeliveryWaiter:
        """A wait for the messages of `keys` (record keys) to reach a final state.

        Told by the polls and callbacks the tracker makes anyway: no request of its own.
        Records not there yet (a send whose tracking follows the caller's answer) are
        taken when they come. The caller removes it (`async_stop_waiting`) when done.
        """
        waiter = self._waiters.add(keys, self._peek)
        if self._stopped:
            waiter.end()
        return waiter

    @callback
    def async_stop_waiting(self, waiter: DeliveryWaiter) -> None:
        """`waiter` waits no more."""
        self._waiters.remove(waiter)

    @callback
    def async_end_waits(self) -> None:
        """End every wait now (an unload, a stop): what is not final stays pending."""
        self._waiters.end_all()

    @callback
    def async_track(
        self, result: SendResult, options: SendOptions, *, note: dict[str, Any] | None = None
    ) -> list[TrackedMessage]:
        """Record the accepted numbers of a send and start following them.

        `note` is added to the first event of each number (how the outbox sent it).
        """
        tracked = self._track(result.accepted, self.pacing.plan(options, self.now()), note)
        if tracked:
            self._changed()
        return tracked

    async def async_track_send(
        self, result: SendResult, options: SendOptions, *, note: dict[str, Any] | None = None
    ) -> None:
        """`async_track` for a send of any size: a bulk one in steps that let the loop run."""
        accepted = result.accepted
        plan = self.pacing.plan(options, self.now())
        tracked = False
        async for batch in batches(accepted):
            tracked |= bool(self._track(batch, plan, note))
        if tracked:
            self._changed()

    def _track(
        self,
        accepted: Iterable[RecipientResult],
        plan: tuple[datetime, datetime, datetime],
        note: dict[str, Any] | None = None,
    ) -> list[TrackedMessage]:
        now, expires_at, first_poll = plan
        recipients = self._recipients_by_phone()
        tracked: list[TrackedMessage] = []
        skipped = 0
        for recipient in accepted:
            if not recipient.message_ids:
                continue  # nothing to ask about (should not happen)
            try:
                message = TrackedMessage(
                    phone=recipient.phone,
                    message_ids=list(recipient.message_ids),
                    sent_at=now,
                    expires_at=expires_at,
                    recipient_id=recipients.get(recipient.phone),
                    cost=None if recipient.cost is None else float(recipient.cost),
                    updated_at=now,
                    next_poll=first_poll,
                )
                row = message.to_row()
            except TypeError, ValueError, OverflowError:
                skipped += 1
                continue
            self._index.remove(message.key)  # an id reused: the new send wins
            self._keep(self._index.add(message, row), message)
            tracked.append(message)
            self._fire(message, note)
        if skipped:
            _LOGGER.warning(
                "%s: %d accepted numbers cannot be followed and are not tracked",
                self.entry.title,
                skipped,
            )
        return tracked

    @callback
    def async_apply(self, statuses: Iterable[DeliveryStatus]) -> None:
        """Take reported states (from a poll or a callback) and fire what changed."""
        self._applied(self._apply(statuses))

    def _applied(self, changed: bool | None) -> None:
        """After `_apply`: save and tell when something changed, else plan the next poll."""
        if changed:
            self._changed()
        elif changed is not None:
            self._schedule()

    def _apply(self, statuses: Iterable[DeliveryStatus]) -> bool | None:
        """Apply reported states and fire an event for each message that changed.

        Whether any message changed; None when the reports named no message in flight.
        """
        index = self._index
        now = self.now()
        # A batch of segment reports is one change of each message.
        working: dict[str, tuple[TrackedMessage, tuple[Any, ...]]] = {}
        for status in statuses:
            if (key := self._key_of(status)) is None:
                continue
            if key not in working:
                found = self._get(key)
                if found is None or found.is_final:
                    continue
                working[key] = (found, found.shown)
            message = working[key][0]
            if not message.is_final:
                message.apply(status, now)
        changed = False
        for key, (message, shown) in working.items():
            index.put(key, message, was_final=False)
            if message.shown != shown:
                self._fire(message)
                changed = True
        return changed if working else None

    def _key_of(self, status: DeliveryStatus) -> str | None:
        """The key of the record a report is about (None: none on record)."""
        key = self._index.find(status.message_id, phone_digits(status.phone))
        if key is None and not status.phone:
            # A report without its number names the message by id alone: only when
            # that id is one number's (on SMSC.ru one id covers a whole send).
            key = self._index.find_by_id(status.message_id)
        return key

    @property
    def in_flight(self) -> int:
        """Messages not yet in a final state."""
        return len(self._index.pending)

    @property
    def on_record(self) -> int:
        """Messages on record: in flight, and finished within `PRUNE_AFTER`."""
        return len(self._index.rows)

    @property
    def messages(self) -> dict[str, TrackedMessage]:
        """Every record on file, decoded (for diagnostics: costs a pass over them)."""
        return {k: m for k in list(self._index.rows) if (m := self._get(k)) is not None}

    def last_message(self, recipient_id: str | None = None) -> TrackedMessage | None:
        """The latest message of the account, or of one recipient."""
        if recipient_id is None:
            keys: dict[str, Any] = self._index.rows
        else:
            keys = self._index.recipients.get(recipient_id, {})
        if not keys:
            return None
        return self._get(next(reversed(keys)))

    def is_delivered(self, key: str) -> bool:
        """Whether the message of `key` is on record as delivered."""
        message = self._peek(key)
        return message is not None and message.state is DeliveryState.DELIVERED

    def _get(self, key: str) -> TrackedMessage | None:
        """The record of `key`: the message already in use, or decoded from its row."""
        row = self._index.rows.get(key)
        if row is None:
            return None  # pruned (whoever still holds the message keeps it)
        if (view := self._views.get(key)) is not None:
            return view
        view = TrackedMessage.from_row(row)
        self._keep(key, view)
        return view

    def _peek(self, key: str) -> TrackedMessage | None:
        """The record of `key` for a moment: decoded without being kept for later."""
        if (view := self._views.get(key)) is not None:
            return view
        row = self._index.rows.get(key)
        return None if row is None else TrackedMessage.from_row(row)

    def _keep(self, key: str, message: TrackedMessage) -> None:
        """`message` is the one of `key` now; the latest few stay decoded."""
        self._views[key] = message
        self._recent.append(message)

    # -- state changes -------------------------------------------------------------------

    def _give_up(self, key: str, now: datetime) -> None:
        """The validity (and its margin) ran out without a final report."""
        message = self._get(key)
        if message is None or message.is_final:
            return
        message.state = (
            DeliveryState.EXPIRED if message.state is DeliveryState.SENT else DeliveryState.UNKNOWN
        )
        message.finished_at = now
        message.next_poll = None
        message.updated_at = now
        self._index.put(key, message, was_final=False)
        self._fire(message)

    def _fire(self, message: TrackedMessage, note: dict[str, Any] | None = None) -> None:
        recipient = self.entry.subentries.get(message.recipient_id or "")
        data = message.status().as_event(
            self.entry.entry_id, self.entry.title, recipient.title if recipient else None
        )
        async_fire_message_status(self.hass, self.entry.entry_id, data | (note or {}))
        self._waiters.changed(message)

    def _changed(self) -> None:
        """Something people see changed: prune, save, schedule and tell the listeners."""
        if self._stopped:
            return
        self._index.prune((self.now() - PRUNE_AFTER).timestamp())
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        self._schedule()
        self._listeners.tell()

    def _data_to_save(self) -> dict[str, Any]:
        """The rows as text, called in the writer thread.

        Rows are never changed, only replaced, and copying the dict's values is one
        step under the GIL.
        """
        rows = list(self._index.rows.values())
        return {
            "rows": [row.decode() for row in rows],
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
    def wake_at(self) -> float | None:
        """When the next poll or expiry wants the tracker awake (POSIX seconds; None: never)."""
        due = self._index.next_due()
        if due is None:
            return None
        times = [self.pacing.earliest(due, self._last_list_poll)]
        if (expiry := self._index.expiry.earliest()) is not None:
            times.append(expiry)
        return min(times)

    def _schedule(self) -> None:
        """One timer, at the earliest poll or expiry; none while nothing is pending."""
        if self.polling or self._stopped:
            self._cancel_timer()
            return  # the running poll schedules when it is done
        when = self.wake_at
        if when is not None and when == self._timer_at and self._unsub_timer is not None:
            return  # already set for then
        self._cancel_timer()
        if when is None:
            return
        self._timer_at = when
        self._unsub_timer = async_track_point_in_utc_time(
            self.hass, self._on_timer, datetime.fromtimestamp(when, UTC)
        )

    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
        self._timer_at = None

    @callback
    def _on_timer(self, _now: datetime) -> None:
        self._unsub_timer = None
        self._timer_at = None
        self._async_start_poll()

    @callback
    def _async_asked(self) -> None:
        self._schedule()

    async def _async_ask(self) -> None:
        """Give up what expired, then ask about what is due (a list gateway: all pending)."""
        now = self.now()
        stamp = now.timestamp()
        index = self._index
        if expired := index.take_expired(stamp):
            async for key in steps(expired):
                self._give_up(key, now)
            self._changed()
        due_at = index.next_due()
        if due_at is None or self.pacing.earliest(due_at, self._last_list_poll) > stamp:
            return  # woken for an expiry only
        # A list gateway: one request about every pending message (the due ones decided
        # the time, and go first); a message not due yet (sent later, or at a later time)
        # keeps its pace. A list names so many: the rest stay due for the next turn.
        due_keys = index.take_due(stamp, LIST_POLL_MAX if self.pacing.list_polling else None)
        if not due_keys:
            return  # what was due has moved since
        asked = due_keys
        if self.pacing.list_polling and len(due_keys) < LIST_POLL_MAX:
            chosen = set(due_keys)
            others = (k for k in index.pending if k not in chosen)
            asked = due_keys + list(itertools.islice(others, LIST_POLL_MAX - len(due_keys)))
        refs, probed = await self._async_prepare_poll(asked, len(due_keys), now)
        if self.pacing.list_polling:
            self._last_list_poll = now
        try:
            statuses = await self.gateway.delivery_status(refs)
        except SmsGatewayError as err:
            self._failed(err)
            # The whole account waits, not only the messages asked about.
            if isinstance(err, RateLimitedError):
                await self._async_postpone(now + timedelta(seconds=max(err.retry_after, 1.0)))
            elif isinstance(err, AuthenticationError):
                await self._async_postpone(now + timedelta(seconds=ERROR_RETRY))
            return
        self._succeeded()
        await self._async_apply_in_steps(statuses)
        if probed:
            await self._async_settle(probed)
        _LOGGER.debug(
            "%s: asked about %d message(s), %d still in flight",
            self.entry.title,
            len(asked),
            self.in_flight,
        )

    async def _async_prepare_poll(
        self, asked: list[str], due: int, now: datetime
    ) -> tuple[list[MessageRef], list[str]]:
        """What to ask about `asked` (the first `due` of them due now) and when next.

        The next poll is set before asking: whatever goes wrong after, no loop. Nothing
        decoded is held across the request (thousands of records alive that long would
        be moved to the oldest generation of the garbage collector, whose full passes
        walk all of Home Assistant): the answers decode them again.

        Returns the segments to ask about, and the split messages whose first part
        alone is asked (settled in the same poll if it turns final).
        """
        index = self._index
        refs: list[MessageRef] = []
        probed: list[str] = []
        count = 0
        async for key in steps(asked):
            count += 1
            message = self._peek(key)
            if message is None or message.is_final:
                continue
            if self.pacing.list_polling:
                ids = [i for i in message.message_ids if not message.segment_final(i)]
            else:
                ids = Pacing.segments_to_ask(message)
                if len(ids) < len(message.message_ids) and ids[0] == message.message_ids[0]:
                    probed.append(key)
            refs.extend(MessageRef(message_id=i, phone=message.phone) for i in ids)
            if count <= due:
                message.polls += 1
                message.next_poll = self.pacing.following(message.polls, now)
                index.put(key, message, was_final=False)
        return refs, probed

    async def _async_apply_in_steps(self, statuses: list[DeliveryStatus]) -> None:
        """`async_apply` a long answer in steps (the parts of a message kept together).

        Every changed message fires its event in its step; the save, the schedule and
        the listeners follow once, after the last step. The parts of a message are the
        neighbours about the same record: not every report to the same number (a
        thousand alerts to one person would be one step).
        """
        changed: bool | None = None  # as `_apply`'s answer, over all the steps

        def same_message(a: DeliveryStatus, b: DeliveryStatus) -> bool:
            return (
                a.phone == b.phone
                and (key := self._key_of(a)) is not None
                and key == self._key_of(b)
            )

        async for batch in batches(statuses, same_message):
            if (step := self._apply(batch)) is not None:
                changed = bool(changed) or step
        self._applied(changed)

    async def _async_settle(self, keys: list[str]) -> None:
        """Ask at once about the other parts of split messages whose first part is final."""
        refs: list[MessageRef] = []
        for key in keys:
            message = self._get(key)
            if message is not None and Pacing.settle_now(message):
                refs.extend(
                    MessageRef(message_id=i, phone=message.phone)
                    for i in Pacing.segments_to_ask(message)
                )
        if not refs:
            return
        try:
            statuses = await self.gateway.delivery_status(refs)
        except SmsGatewayError as err:
            self._failed(err)  # the next poll settles them
            return
        self.async_apply(statuses)

    async def _async_postpone(self, when: datetime) -> None:
        """No request about any pending message before `when`."""
        stamp = when.timestamp()
        async for key, due in steps(list(self._index.pending.items())):
            if due < stamp and (message := self._get(key)) is not None and not message.is_final:
                message.next_poll = when
                self._index.put(key, message, was_final=False)
