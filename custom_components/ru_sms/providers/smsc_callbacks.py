"""SMSC.ru's callbacks: what a posted callback reports, and whether its signature holds.

SMSC.ru posts delivery statuses, incoming SMS and lookup answers to a URL the account gives
it (`smsc-callbacks.txt`); a `md5`/`sha1`/`crc32` parameter in that URL makes it sign each
post with the secret. The posts are read as `delivery_status` and `lookup_result` read
`status.php` items.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
import hashlib
import hmac
import re
from typing import Any
import zlib

from .description import Callback
from .models import DeliveryStatus, IncomingMessage, LookupResult, LookupState, MessageRef
from .parsing import to_int, to_str
from .phone import phone_digits
from .smsc_answers import delivery_status_of, lookup_result_of

CALLBACK_SIGNATURES = ("md5", "sha1", "crc32")
"""The URL parameters that make SMSC.ru sign its callbacks (their value: the secret)."""
_HLR_TYPE = 4
_TYPE_BITS = 0xF
"""Bits 0-3 of `flag`: the message type (4: HLR); the other bits say other things."""
_LATEST_STAMP = 253402300800
"""Year 10000: later stamps cannot be dates."""


def callback_kind(data: Mapping[str, Any]) -> str:
    """What a callback reports: `incoming` (SMS), `call`, `lookup` (HLR) or `status`."""
    if "mes" in data:
        return "incoming"
    if "waitcall" in data:
        return "call"
    kind = to_int(data.get("type"))
    flag = to_int(data.get("flag"))
    if kind == _HLR_TYPE or (flag is not None and flag & _TYPE_BITS == _HLR_TYPE) or "imsi" in data:
        return "lookup"
    return "status"


def callback_signed_text(data: Mapping[str, Any], secret: str) -> str:
    """The text SMSC.ru hashes to sign a callback (per the callback documentation)."""
    parts: tuple[Any, ...]
    match callback_kind(data):
        case "incoming":
            parts = (data.get("phone"), data.get("mes"), data.get("to"))
        case "call":
            parts = (data.get("phone"), data.get("ts"))
        case _:
            parts = (data.get("id"), data.get("phone"), data.get("status"))
    return ":".join([*("" if p is None else str(p) for p in parts), secret])


def callback_signature_ok(data: Mapping[str, Any], secret: str, algorithm: str = "md5") -> bool:
    """Whether a callback carries a valid signature by `algorithm`, made with `secret`.

    Only the algorithm named in the URL given to SMSC.ru counts: a crc32 next to it (or
    instead of it) would let anyone who saw one callback forge others. The signed fields
    must also have the shapes of the callback's kind (`callback_fields_ok`): the same
    signed text read as another kind (a status as an incoming SMS) is refused.
    """
    if algorithm not in CALLBACK_SIGNATURES or not callback_fields_ok(data):
        return False
    given = data.get(algorithm)
    if given is None:
        return False
    try:
        text = callback_signed_text(data, secret).encode()
    except UnicodeEncodeError:
        return False  # a lone surrogate: SMSC.ru never signs such a text
    # Bytes: compare_digest refuses text that is not ASCII (anyone can post that).
    signature = str(given).strip().lower().encode("utf-8", "replace")
    if algorithm == "crc32":
        # PHP's crc32() is a decimal number (negative on 32-bit builds); hex is hash().
        value = zlib.crc32(text)
        signed = value - (1 << 32) if value >= 1 << 31 else value
        expected = {str(value), str(signed), f"{value:x}", f"{value:08x}"}
    else:
        expected = {hashlib.new(algorithm, text).hexdigest()}
    return any(hmac.compare_digest(signature, e.encode()) for e in expected)


_CALLBACK_PHONE = re.compile(r"\+?\d{5,15}")
_CALLBACK_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")
_CALLBACK_CODE = re.compile(r"-?\d{1,3}")
_CALLBACK_STAMP = re.compile(r"\d{1,12}")


def callback_fields_ok(data: Mapping[str, Any]) -> bool:
    """Whether the signed fields of a callback have the shapes of its kind.

    SMSC.ru signs `id:phone:status`, `phone:mes:to` or `phone:ts`, joined by `:`. Read as
    another kind, one signature would fit other fields (a status's id, number and code as
    an SMS from the id's "number" with the number as its text); the shapes tell them
    apart: numbers are digits, ids and codes hold no `:`, and an SMS is sent to a number.
    """

    def fits(name: str, pattern: re.Pattern[str]) -> bool:
        value = data.get(name)
        return (
            value is not None
            and not isinstance(value, bool | dict | list)
            and pattern.fullmatch(str(value).strip()) is not None
        )

    if not fits("phone", _CALLBACK_PHONE):
        return False
    match callback_kind(data):
        case "incoming":
            return isinstance(data.get("mes"), str) and fits("to", _CALLBACK_PHONE)
        case "call":
            return fits("ts", _CALLBACK_STAMP)
        case _:
            return fits("id", _CALLBACK_ID) and fits("status", _CALLBACK_CODE)


def parse_callback_status(data: Mapping[str, Any]) -> DeliveryStatus:
    """A delivery status callback, as `delivery_status` would have answered it."""
    ref = MessageRef(message_id=to_str(data.get("id")) or "", phone=_callback_phone(data))
    # `ts` is the moment of the change; `time` is in the account's own time zone (not
    # necessarily Moscow's), so it is not read.
    item = {k: v for k, v in data.items() if k not in ("last_timestamp", "last_date")}
    item["last_timestamp"] = _callback_moment(data.get("ts"))
    return delivery_status_of(ref, item)


def parse_callback_lookup(data: Mapping[str, Any]) -> LookupResult:
    """An HLR callback, as `lookup_result` would have answered it."""
    pending = LookupResult(
        phone=_callback_phone(data),
        state=LookupState.PENDING,
        request_id=to_str(data.get("id")) or "",
    )
    return lookup_result_of(pending, data)


def parse_callback_incoming(data: Mapping[str, Any]) -> IncomingMessage:
    """An incoming SMS callback."""
    text = data.get("mes")
    stamp = _callback_moment(data.get("time")) or _callback_moment(data.get("sent"))
    return IncomingMessage(
        message_id=to_str(data.get("id")) or "",
        phone=_callback_phone(data),
        text="" if text is None else str(text),
        to=to_str(data.get("to")),
        received_at=datetime.fromtimestamp(stamp, UTC) if stamp else None,
    )


def _callback_phone(data: Mapping[str, Any]) -> str:
    return phone_digits(to_str(data.get("phone")) or "")


def _callback_moment(value: Any) -> int | None:
    """A unix time in seconds, or None when it is missing or not a plausible moment."""
    seconds = to_int(value)
    if seconds is None or not 0 < seconds < _LATEST_STAMP:
        return None
    return seconds


def parse_callback(data: Mapping[str, Any]) -> Callback:
    """What a verified callback reports: a status, an incoming SMS or a lookup answer."""
    match callback_kind(data):
        case "incoming":
            return parse_callback_incoming(data)
        case "lookup":
            return parse_callback_lookup(data)
        case "status":
            return parse_callback_status(data)
    return None  # a call to the account's number: not followed
