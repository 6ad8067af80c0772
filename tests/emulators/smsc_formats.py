"""How the emulated SMSC.ru writes its answers in each `fmt` (0 text, 1 numbers, 2 XML, 3 JSON).

The error shapes are the history document's (`smsc-history.txt`), which SMSC.ru uses for
every request: `ERROR = N (text)`, `0,-N`, `<result><error>..</error>..</result>`,
`{"error": .., "error_code": N}`. A send's error naming a message id adds it
(`ERROR = 3 (no money), ID - 1001`, `1001,-3`). The successful text shapes follow the
gateway's public API pages and the clients that read them: a send in fmt 0 is
`OK - 1 SMS, ID - 1234` (read by PyPI `smsc-client`), in fmt 1 `1234,1[,cost[,balance]]`
(the official `smsc_api.py`); a status in fmt 0 `Status = 1, check_time = .., err = 0`,
in fmt 1 `1,1577550022,0`. [guess] A list of statuses in fmt 0 and 1 is one such line per
message with its id and number after; a balance in fmt 0 and 1 is the bare amount.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import json
from typing import Any
from xml.sax.saxutils import escape

type Plain = Callable[[Any, int], str]
"""A path's own text for fmt 0 and 1 (the answer, the fmt)."""

HISTORY_FIELDS_0 = (
    ("Status", "status"),
    ("check_time", "last_date"),
    ("err", "err"),
    ("send_date", "send_date"),
    ("phone", "phone"),
    ("mccmnc", "mccmnc"),
    ("country", "country"),
    ("operator", "operator"),
    ("region", "region"),
    ("cost", "cost"),
    ("sender_id", "sender_id"),
    ("status_name", "status_name"),
    ("message", "message"),
    ("type", "type"),
    ("ID", "id"),
    ("int_id", "int_id"),
    ("sms_cnt", "sms_cnt"),
    ("format", "format"),
    ("crc", "crc"),
)
"""`get.php?get_messages=1` in fmt 0: the document's labels and the fields they show."""
HISTORY_FIELDS_1 = tuple(
    {"last_date": "last_timestamp", "send_date": "send_timestamp"}.get(key, key)
    for _, key in HISTORY_FIELDS_0
)
"""`get.php?get_messages=1` in fmt 1: the document's order."""
HISTORY_FIELDS_3 = (
    "status",
    "last_date",
    "last_timestamp",
    "err",
    "send_date",
    "send_timestamp",
    "phone",
    "cost",
    "sender_id",
    "status_name",
    "message",
    "mccmnc",
    "country",
    "operator",
    "region",
    "type",
    "id",
    "int_id",
    "sms_cnt",
    "format",
    "crc",
)
"""`get.php?get_messages=1` in fmt 2 and 3: the document's order."""

_STATUS_MAIN = ("status", "last_date", "last_timestamp", "err")


def fmt_of(form: Mapping[str, str]) -> int:
    """The answer format asked for (0 when missing or not one of 0..3)."""
    raw = form.get("fmt", "0").strip()
    return int(raw) if raw in ("0", "1", "2", "3") else 0


def render(data: Any, fmt: int, plain: Plain) -> tuple[str, str]:
    """The answer's text and content type in `fmt`; an error object in the document's shape."""
    if fmt == 3:
        return json.dumps(data, ensure_ascii=False), "application/json"
    if fmt == 2:
        return xml(data), "text/xml"
    if isinstance(data, Mapping) and "error_code" in data:
        return error_text(data, fmt), "text/plain"
    return plain(data, fmt), "text/plain"


def error_text(data: Mapping[str, Any], fmt: int) -> str:
    """`ERROR = N (text)` or `0,-N`, with the message id where the error names one."""
    code, message_id = data["error_code"], data.get("id")
    if fmt == 1:
        return f"{message_id if message_id is not None else 0},-{code}"
    text = f"ERROR = {code} ({data.get('error', '')})"
    return text if message_id is None else f"{text}, ID - {message_id}"


def xml(data: Any) -> str:
    """`<result>` for an object, `<list>` of `<sms>` for a list (as the document writes them)."""
    if isinstance(data, Sequence) and not isinstance(data, str):
        return "<list>" + "".join(_element("sms", item) for item in data) + "</list>"
    return _element("result", data)


def _element(name: str, data: Any) -> str:
    if isinstance(data, Mapping):
        inner = "".join(
            _element(key, value)
            for key, value in data.items()
            if not isinstance(value, list)  # [guess] per-number details are JSON-only here
        )
    else:
        inner = escape(str(data))
    return f"<{name}>{inner}</{name}>"


def send_text(data: Mapping[str, Any], fmt: int) -> str:
    """A send: `OK - 2 SMS, ID - 1001, COST - 3.80, BALANCE - 96.20` or `1001,2,3.80,96.20`."""
    if "id" not in data:  # cost=1: the price alone
        return (
            f"{data['cost']},{data['cnt']}"
            if fmt == 1
            else (f"OK - {data['cnt']} SMS, COST - {data['cost']}")
        )
    if fmt == 1:
        return ",".join(str(data[key]) for key in ("id", "cnt", "cost", "balance") if key in data)
    text = f"OK - {data['cnt']} SMS, ID - {data['id']}"
    for key in ("cost", "balance"):
        if key in data:
            text += f", {key.upper()} - {data[key]}"
    return text


def status_text(data: Any, fmt: int) -> str:
    """One line per message: `Status = 1, check_time = .., err = 0[, more = ..]` or `1,ts,0,..`."""
    items = data if isinstance(data, list) else [data]
    return "\n".join(_status_line(item, fmt) for item in items)


def _status_line(item: Mapping[str, Any], fmt: int) -> str:
    if "error_code" in item:
        rest = {k: v for k, v in item.items() if k in ("id", "phone")}
        line = error_text({"error": item.get("error"), "error_code": item["error_code"]}, fmt)
    else:
        rest = {k: v for k, v in item.items() if k not in _STATUS_MAIN}
        if fmt == 1:
            line = f"{item['status']},{item['last_timestamp']},{item['err']}"
        else:
            line = (
                f"Status = {item['status']}, check_time = {item['last_date']}, err = {item['err']}"
            )
    if fmt == 1:
        return ",".join([line, *(str(v) for v in rest.values())])
    return ", ".join([line, *(f"{k} = {v}" for k, v in rest.items())])


def balance_text(data: Mapping[str, Any], fmt: int) -> str:
    """The bare amount (the official library reads one field)."""
    return str(data["balance"])


def history_text(data: Sequence[Mapping[str, Any]], fmt: int) -> str:
    """`get.php?get_messages=1` in fmt 0 and 1, one line per message, as documented."""
    if fmt == 1:
        return "\n".join(
            ",".join(str(item.get(key, "")) for key in HISTORY_FIELDS_1) for item in data
        )
    return "\n".join(
        ", ".join(f"{label} = {item.get(key, '')}" for label, key in HISTORY_FIELDS_0)
        for item in data
    )
