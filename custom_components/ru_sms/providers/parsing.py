"""Lenient readers for what the gateways answer.

The gateways (and their documents) send numbers as strings, dates as `/Date(ms)/` with or
without backslashes, JSON with bare keys, typographic quotes and trailing commas, and lists
of ids that are not JSON at all. These helpers read all of that, and raise `ValueError`
only when nothing sensible can be made of an answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import suppress
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
import json
import re
from typing import Any

MOSCOW = timezone(timedelta(hours=3), "MSK")
"""Moscow time: UTC+3 all year round since 2014 (no tz database read needed)."""

_MS_DATE = re.compile(r"Date\((-?\d+)(?:([+-])(\d{2})(\d{2}))?\)")
_BROKEN_DATE = re.compile(r'"\\*/?Date\((-?\d+(?:[+-]\d{4})?)\)\\*/?"')
_BARE_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*:)")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


def loads_lenient(text: str) -> Any:
    r"""Parse a JSON answer, repairing the faults the gateways' answers are known for.

    Typographic quotes, `\Date(ms)\` dates, bare keys and trailing commas are repaired;
    an answer that stops right after a closed object or list (SMStele's documented answers
    lack their last brackets) has the containers it left open closed. Raises `ValueError`
    when nothing sensible can be made of it.
    """
    body = text.strip().lstrip("\ufeff")
    if not body:
        raise ValueError("empty answer")
    # An answer whose only fault is its missing last brackets (SMStele's documented
    # ones) is closed before it is parsed: a long one is parsed once, not three times.
    opened = body.count("{") + body.count("[")
    if opened != body.count("}") + body.count("]") and (closed := _close_brackets(body)):
        with suppress(ValueError):
            return json.loads(closed)
    try:
        return json.loads(body)
    except ValueError:
        pass
    repaired = body.translate(_SMART_QUOTES)
    repaired = _BROKEN_DATE.sub(lambda m: f'"/Date({m.group(1)})/"', repaired)
    repaired = _BARE_KEY.sub(r'\1"\2"\3', repaired)
    repaired = _TRAILING_COMMA.sub(r"\1", repaired)
    try:
        return json.loads(repaired)
    except ValueError:
        closed = _close_brackets(repaired)
        if closed is None:
            raise
    return json.loads(closed)


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
"""A whole JSON string (its escapes included)."""
_BRACKET = re.compile(r"[\[\]{}]")


def _close_brackets(text: str) -> str | None:
    """`text` with its open containers closed, when it stops right after a closed one.

    Only an answer that ends with `}` or `]` is completed: one cut off inside a value is
    left unreadable rather than guessed at. The strings are taken out by a regular
    expression first, not read character by character: a status answer about ten
    thousand numbers is read in milliseconds.
    """
    body = text.strip()
    if not body or body[-1] not in "}]":
        return None
    outside = _STRING.sub("", body)
    if '"' in outside:
        return None  # the text ends inside a string
    pairs = {"{": "}", "[": "]"}
    stack: list[str] = []
    for bracket in _BRACKET.findall(outside):
        if bracket in pairs:
            stack.append(pairs[bracket])
        elif not stack or stack.pop() != bracket:
            return None
    if not stack:
        return None
    return body + "".join(reversed(stack))


def parse_id_list(text: str) -> list[str]:
    r"""Read a list of message ids: JSON, or the broken shapes in the documents.

    `["1","2"]`, `[{"1"}, {"2"}]`, `["a","b",\n["c","d]` and a bare `"1"` all work.
    """
    try:
        data = loads_lenient(text)
    except ValueError:
        data = None
    if data is not None:
        ids = [str(item) for item in _flatten(data) if item not in (None, "")]
        if ids or data == []:
            return ids
    parts = (part.strip(" \t\r\n[]{}\"'“”") for part in text.split(","))
    ids = [part for part in parts if part]
    if not ids:
        raise ValueError("no message ids in the answer")
    return ids


def _flatten(data: Any) -> list[Any]:
    if isinstance(data, (list, tuple, set)):
        return [leaf for item in data for leaf in _flatten(item)]
    if isinstance(data, dict):
        return [leaf for value in data.values() for leaf in _flatten(value)]
    if isinstance(data, bool):
        return []
    return [data]


def parse_ms_date(value: Any) -> datetime | None:
    """Read `/Date(ms)/` (any slashes, optional offset), epoch ms, or an ISO date (UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str):
        return None
    if match := _MS_DATE.search(value):
        # The offset in `/Date(ms+hhmm)/` only says where it was shown; ms is UTC.
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    return parse_iso(value, default_tz=UTC)


def parse_iso(value: Any, *, default_tz: timezone = UTC) -> datetime | None:
    """Read an ISO-like date (`2013-08-30T19:00:00`, `2018-06-04 18:41:09+03`)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if re.search(r"[+-]\d{2}$", text):
        text += ":00"  # `+03` is not ISO; `+03:00` is
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed


def parse_timestamp(value: Any) -> datetime | None:
    """Read a unix timestamp in seconds (number or string)."""
    seconds = to_int(value)
    if seconds is None or seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def to_decimal(value: Any) -> Decimal | None:
    """Read an amount given as a number or a string (`"1.90"`, `"1,90"`)."""
    if type(value) is str:  # the usual amount: a number as it is (spaces around it too)
        try:
            number = Decimal(value)
        except InvalidOperation:
            pass  # a comma, spaces within, or no number at all: cleaned first
        else:
            return number if number.is_finite() else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip().replace(",", ".").replace(" ", "").replace("\u00a0", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def to_int(value: Any) -> int | None:
    """Read a whole number given as a number or a string."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    number = to_decimal(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def to_str(value: Any) -> str | None:
    """A field as text, or None when it is missing or empty."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def format_local(moment: datetime, tz: timezone, fmt: str = "%Y-%m-%dT%H:%M:%S") -> str:
    """Format an aware datetime as the wall-clock time in `tz`."""
    if moment.tzinfo is None:
        raise ValueError("send-at time must be timezone-aware")
    return moment.astimezone(tz).strftime(fmt)


TURN = 0.005
"""Seconds of reading a long answer after which the event loop runs again."""


async def in_turns[T](items: Iterable[T]) -> AsyncIterator[T]:
    """`items`, letting the event loop run every `TURN` seconds of the caller's work.

    A status answer about ten thousand numbers under one id is read number by number:
    in one go, it would hold the loop for a quarter of a second.
    """
    loop = asyncio.get_running_loop()
    until = loop.time() + TURN
    for item in items:
        if loop.time() >= until:
            await asyncio.sleep(0)
            until = loop.time() + TURN
        yield item


LONG_ANSWER = 100_000
"""Characters from which `loads_lenient_in_turns` reads an answer in turns (a shorter one
is read in well under a millisecond)."""
_CHECK_EVERY = 64
"""Values read between two looks at the clock."""
_DECODER = json.JSONDecoder()
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


async def loads_lenient_in_turns(text: str) -> Any:
    """`loads_lenient` that lets the event loop run while it reads a long answer.

    SMStele's status answer about ten thousand numbers is 3 MB: read by `loads_lenient`,
    one stretch of C calls (its brackets found by a regular expression, then one parse)
    holds the loop for about 60 ms. A long answer that is JSON, or JSON that lacks its
    last brackets, is read here a value at a time, every item of a list in one call,
    with turns of the loop between them; anything else is left to `loads_lenient`. The
    answer, or the error, is the same as `loads_lenient`'s for every text.
    """
    if len(text) < LONG_ANSWER:
        return loads_lenient(text)
    body = text.strip().lstrip("\ufeff")
    # Brackets closed only where `loads_lenient` would try it first (counts that differ).
    left_open = body.count("{") + body.count("[") != body.count("}") + body.count("]")
    with suppress(ValueError):
        return await _json_in_turns(body, close=left_open)
    return loads_lenient(text)


async def _json_in_turns(text: str, *, close: bool) -> Any:
    """`json.loads(text)`, letting the event loop run every `TURN` seconds.

    Lists and the objects above them are read here; an item of a list is read by one
    call of the JSON decoder (an object that call cannot read, as one cut short at the
    end, is read here too). With `close`, a text that stops right after a closed object
    or list has the containers it left open closed, as `_close_brackets` does. Raises
    `ValueError` for anything else `json.loads` would refuse.
    """
    loop = asyncio.get_running_loop()
    until = loop.time() + TURN
    read = 0
    end = len(text)
    open_: list[list[Any] | dict[str, Any]] = []
    keys: list[str] = []  # the key each open object is reading (lists: unused)
    pos = _skip_space(text, 0)
    while True:
        # A value starts at `pos`.
        read += 1
        if read % _CHECK_EVERY == 0 and loop.time() >= until:
            await asyncio.sleep(0)
            until = loop.time() + TURN
        char = text[pos : pos + 1]
        value: Any
        # Containers above the items of lists are read here, the items in one call each.
        descend = char == "[" or (char == "{" and not (open_ and isinstance(open_[-1], list)))
        if not descend:
            try:
                value, pos = _DECODER.raw_decode(text, pos)
            except ValueError:
                if char != "{":
                    raise
                descend = True  # an item not whole on its own (one cut short): read here
        if descend:
            container: list[Any] | dict[str, Any] = [] if char == "[" else {}
            pos = _skip_space(text, pos + 1)
            if text.startswith("]" if char == "[" else "}", pos):
                value, pos = container, pos + 1
            else:
                open_.append(container)
                keys.append("")
                if isinstance(container, dict):
                    keys[-1], pos = _json_key(text, pos)
                continue
        # `value` ends at `pos`: it goes into the open container, which may close.
        while True:
            if not open_:
                if _skip_space(text, pos) != end:
                    raise ValueError("extra data after the answer")
                return value
            top = open_[-1]
            if isinstance(top, list):
                top.append(value)
            else:
                top[keys[-1]] = value
            pos = _skip_space(text, pos)
            if pos == end:
                if not close or text[-1] not in "}]":
                    raise ValueError("the answer stops inside a value")
                # Stopped right after a closed container: close the ones left open.
                value = open_.pop()
                keys.pop()
                pos = end
                continue
            if text[pos] == ",":
                pos = _skip_space(text, pos + 1)
                if isinstance(top, dict):
                    keys[-1], pos = _json_key(text, pos)
                break
            if text[pos] != ("]" if isinstance(top, list) else "}"):
                raise ValueError(f"unexpected {text[pos]!r} at {pos}")
            value = open_.pop()
            keys.pop()
            pos += 1


def _json_key(text: str, pos: int) -> tuple[str, int]:
    """An object's key at `pos` and where its value starts (after the colon)."""
    if not text.startswith('"', pos):
        raise ValueError(f"expected a key at {pos}")
    key: str
    key, pos = _DECODER.raw_decode(text, pos)  # a string: it starts with a quote
    pos = _skip_space(text, pos)
    if not text.startswith(":", pos):
        raise ValueError(f"expected ':' at {pos}")
    return key, _skip_space(text, pos + 1)


def _skip_space(text: str, pos: int) -> int:
    """Where the JSON whitespace from `pos` ends."""
    match = _JSON_SPACE.match(text, pos)
    return match.end() if match else pos
