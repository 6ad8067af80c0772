"""`send_message`'s `wait_for_delivery`: the action returns with each number's final state.

The wait listens to the tracker of the account that took the alert (the fallback account's
when it carried it): the polls it makes anyway and the status callbacks resolve it, so
waiting asks the gateway nothing more. It ends when every accepted number's message is
final, when the time asked for runs out, or when that account unloads (a reload, a
restart); the alert goes on in every case. Numbers the send did not hand to the gateway
get a state of their own at once: `rejected` (the gateway refused it), `waiting` (queued
in the outbox for another attempt), `merged` or `held` (the storm guard).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from .account import RuSmsConfigEntry, fallback_outbox
from .const import ATTR_DRY_RUN, ATTR_SEND_AT, ATTR_WAIT_FOR_DELIVERY, DOMAIN
from .guard import GuardAction, GuardedOutcome
from .providers import RecipientResult
from .status import STATE_WAITING, MessageStatus
from .tracker import MessageTracker, message_key

MAX_WAIT = timedelta(minutes=30)
"""The longest wait an action may ask for."""
STATE_PENDING = "pending"
"""Accepted, and not final when the wait ended (it ran out, or the account unloaded)."""
STATE_REJECTED = "rejected"
"""Refused by the gateway at the send: nothing went to the number."""


def checked_wait(data: Mapping[str, Any], *, return_response: bool) -> timedelta | None:
    """The wait asked for, refused (translated) where it cannot be or makes no sense."""
    wait: timedelta | None = data.get(ATTR_WAIT_FOR_DELIVERY)
    if wait is None:
        return None
    reason: str | None = None
    if wait <= timedelta(0) or wait > MAX_WAIT:
        reason = "wait_out_of_range"
    elif data.get(ATTR_DRY_RUN):
        reason = "wait_with_dry_run"
    elif data.get(ATTR_SEND_AT) is not None:
        reason = "wait_with_send_at"
    elif not return_response:
        reason = "wait_without_response"
    if reason is not None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=reason,
            translation_placeholders={"minutes": str(int(MAX_WAIT.total_seconds() // 60))},
        )
    return wait


def record_key(recipient: RecipientResult) -> str | None:
    """The tracker's key of an accepted number's message (None: it has no id to follow)."""
    if not recipient.accepted or not recipient.message_ids:
        return None
    return message_key(recipient.message_ids[0], recipient.phone)


async def async_wait_for_delivery(
    tracker: MessageTracker | None, outcome: GuardedOutcome, wait: timedelta
) -> list[dict[str, Any]]:
    """Wait up to `wait` for the accepted numbers of `outcome`; each number's state.

    `tracker` follows the accepted numbers (None: nobody does, as when the fallback
    account that carried the alert has unloaded since: they are `pending` at once).
    """
    result = outcome.result
    keys = {r.phone: key for r in result.recipients if (key := record_key(r)) is not None}
    final: dict[str, MessageStatus] = {}
    last: dict[str, MessageStatus] = {}
    if keys and tracker is not None:
        waiter = tracker.async_wait_for(keys.values())
        try:
            async with asyncio.timeout(wait.total_seconds()):
                await waiter.async_wait()
        except TimeoutError:
            pass
        finally:
            tracker.async_stop_waiting(waiter)
        final, last = dict(waiter.final), dict(waiter.last)
    answer: list[dict[str, Any]] = []
    for recipient in result.recipients:
        key = keys.get(recipient.phone)
        if not recipient.accepted:
            answer.append(_unsent(recipient.phone, STATE_REJECTED, recipient.error_text, True))
        elif key is None:  # taken without an id to follow (should not happen): never final
            answer.append(_unsent(recipient.phone, STATE_PENDING, None, False))
        elif (status := final.get(key)) is not None:
            answer.append(_final(recipient.phone, status))
        else:
            answer.append(_pending(recipient, last.get(key)))
    answer += [_unsent(p, STATE_WAITING, outcome.error, False) for p in outcome.queued]
    for item in outcome.guarded:
        if item.action in (GuardAction.MERGED, GuardAction.HELD):
            answer.append(_unsent(item.phone, item.action.value, item.reason, False))
    return answer


def _final(phone: str, status: MessageStatus) -> dict[str, Any]:
    return {
        "phone": phone,
        "state": str(status.state),
        "final": True,
        "message_id": status.message_id,
        "error": status.error,
        "error_code": status.error_code,
        "raw_code": status.raw_code,
        "raw_text": status.raw_text,
    }


def _pending(recipient: RecipientResult, status: MessageStatus | None) -> dict[str, Any]:
    return {
        "phone": recipient.phone,
        "state": STATE_PENDING,
        "final": False,
        "message_id": recipient.message_ids[0],
        "last_state": str(status.state) if status is not None else None,
        "error": None,
        "error_code": None,
        "raw_code": status.raw_code if status is not None else None,
        "raw_text": status.raw_text if status is not None else None,
    }


def _unsent(phone: str, state: str, error: str | None, final: bool) -> dict[str, Any]:
    return {
        "phone": phone,
        "state": state,
        "final": final,
        "message_id": None,
        "error": error,
        "error_code": None,
        "raw_code": None,
        "raw_text": None,
    }


def carrier_tracker(
    hass: HomeAssistant, entry: RuSmsConfigEntry, outcome: GuardedOutcome, own: MessageTracker
) -> MessageTracker | None:
    """The tracker following the alert's accepted numbers: the carrier's, if not this one."""
    if outcome.account is None:
        return own
    carrier = fallback_outbox(hass, entry)
    return carrier.tracker if carrier is not None else None
