"""An emulated SMStele (REX400) gateway: `sendsms` and `status` under `/cgibin/` or `/cgi-bin/`.

It follows `smstele-rex400-http.txt`: both resources by GET or POST (any other method:
405), the login and password in the query, the body or both (the document's examples
mix them); credentials and parameters are checked in the document's order with its error
codes, numbers in the answers are strings, and by default the answers have the documented
shape (a trailing empty `{}` item and no closing brace). Requests without
`charset=utf-8` are read as windows-1251, as the gateway does.

`cnt` picks how a send's envelope counts against its items: `Cnt.ACCEPTED` (the numbers
taken), `Cnt.ALL` (every number, refused ones too) or `Cnt.SEED`, the document's example
2: the refused numbers' items read `-99` like the others (empty operator fields) and the
envelope's `cnt` counts only the numbers taken, which alone get a status later.

Guesses (the document is silent): the id length limit (64), the text limits (1000
characters, 16 segments), the operator table, the delivery timing, HTTP 429 as the answer
to an injected rate-limit fault. The gateway documents no rate limit and no sessions, so
none is enforced and `Fault.EXPIRED_SESSION` is never answered.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
import itertools
import json
import re
from typing import Any

from aiohttp import web

from tests.emulators.base import EmulatedGateway, Fault, gateway_segments, json_response

MOSCOW = timezone(timedelta(hours=3))
PREFIXES = ("/cgibin/", "/cgi-bin/")
CHARSETS = frozenset({"windows-1251", "cp1251", "utf-8", "utf8", "koi8-r"})
OPERATORS = {
    "7915": ("mMTS", "77", "01"),
    "7916": ("mMTS", "77", "01"),
    "7925": ("mMEGAFON", "77", "02"),
    "7926": ("mMEGAFON", "77", "02"),
    "7903": ("mBEELINE", "77", "99"),
    "7905": ("mBEELINE", "77", "99"),
}
"""Operator, region and MNC by number prefix; other numbers get empty fields, as in example 2."""

METHODS = ("GET", "POST")
"""Both resources: "вызвать методом GET или POST"."""


class Cnt(StrEnum):
    """What the envelope's `cnt` of a send answer counts."""

    ACCEPTED = "accepted"
    ALL = "all"
    SEED = "seed"
    """As the document's example 2: refused numbers' items read `-99`, `cnt` leaves them out."""


_SENDER = re.compile(r"[A-Za-z0-9 ._&!'+-]{1,11}|\+?\d{1,15}")
_PHONE = re.compile(r"\d{11,15}")


@dataclass
class SentMessage:
    """One number of an accepted send."""

    message_id: str
    phone: str
    text: str
    sender: str
    sent_at: float
    deferred_until: float | None
    segments: int
    flash: bool
    translit: bool
    validity: int | None


class SmsteleEmulator(EmulatedGateway):
    """SMStele's HTTP API on a loopback port."""

    default_charset = "cp1251"

    def __init__(
        self,
        *,
        login: str = "test:http",
        password: str = "~test123",
        senders: tuple[str, ...] = ("REX400.RU", "ALERTS"),
        credit_segments: int = 10_000,
        documented_shapes: bool = True,
    ) -> None:
        """Create the gateway with one account; `credit_segments` is what the account can still send."""
        self.login = login
        self.password = password
        self.senders = set(senders)
        self.credits = credit_segments
        self.documented_shapes = documented_shapes
        """Answer as the document prints: trailing `{}` item, final `}` missing."""
        self.messages: list[SentMessage] = []
        self.rejected_numbers: set[str] = set()
        """Well-formed numbers the gateway refuses inside a list (-26 per number)."""
        self.outcomes: dict[str, str] = {}
        """Final `stat` per number (UNDELIV, EXPIRED, REJECTD, ...); DELIVRD otherwise."""
        self.final_after = 30.0
        """Seconds from sending (or the deferred time) to the final state."""
        self.max_id_length = 64
        self.max_text_length = 1000
        self.max_segments = 16
        self.cnt = Cnt.ACCEPTED
        self.lookups = 0
        self._errors: deque[tuple[str, str, str | None]] = deque()
        self._raw: deque[tuple[str, int, str | None]] = deque()
        self._ids = itertools.count(3_000_001)
        super().__init__()

    def setup_routes(self) -> None:
        """Both path spellings, GET and POST."""
        for prefix in PREFIXES:
            self.serve(prefix + "sendsms", self._sendsms, METHODS)
            self.serve(prefix + "status", self._status, METHODS)

    async def start(self, path: str = "/cgibin/") -> str:
        """Listen; the base URL ends with `/cgibin/` unless told otherwise."""
        return await super().start(path)

    # -- test controls ----------------------------------------------------------------

    def fail_next(self, code: str, description: str, path: str | None = None) -> None:
        """Answer the next request (to `path`) with this error, after the login check."""
        self._errors.append((code, description, path))

    def reply_raw(self, text: str, *, path: str | None = None, status: int = 200) -> None:
        """Answer the next request (to `path`) with `text` as is, processing nothing."""
        self._raw.append((text, status, path))

    def stat_of(self, message: SentMessage) -> tuple[str, float]:
        """The `stat` word of a message now and when it became so."""
        now = self.now()
        start = message.deferred_until or message.sent_at
        if now < start:
            return "", message.sent_at
        if now < start + self.final_after:
            return "ENROUTE", start
        return self.outcomes.get(message.phone, "DELIVRD"), start + self.final_after

    # -- handlers ---------------------------------------------------------------------

    async def _sendsms(self, request: web.Request) -> web.Response:
        form: dict[str, str] = request["form"]
        early = self._early_answer(request, form)
        if early is not None:
            return early
        hlr = form.get("hlr") == "1"
        if "phones" not in form:
            return self._error("-24", "Missing attribute: 'phones'")
        if not form["phones"].strip():
            return self._error("-25", "Invalid attribute: 'phones='")
        text = form.get("mes", "")
        if not hlr and not text:
            return self._error("-27", "Missing attribute: 'mes'")
        message_id = form.get("id") or str(next(self._ids))
        if len(message_id) > self.max_id_length:
            return self._error("-35", f"Invalid attribute: 'id={message_id}'")
        sender = form.get("sender", "")
        if sender and not _SENDER.fullmatch(sender):
            return self._error("-31", "Invalid sender")
        if sender and sender not in self.senders:
            return self._error("-32", "Sender not allowed")
        deferred: float | None = None
        if form.get("deferred"):
            try:
                when = datetime.strptime(form["deferred"], "%Y-%m-%d %H:%M:%S")
            except ValueError:
                return self._error("-29", f"Invalid attribute: 'deferred={form['deferred']}'")
            deferred = when.replace(tzinfo=MOSCOW).timestamp()
        validity: int | None = None
        if form.get("validity"):
            if not form["validity"].isdigit():
                return self._error("-28", "Invalid validity")
            validity = int(form["validity"])
        segments = gateway_segments(text)
        if not hlr and len(text) > self.max_text_length:
            return self._error("-41", "Too long text")
        if not hlr and segments > self.max_segments:
            return self._error("-42", "Too many segments")
        phones = [p.strip() for p in re.split(r"[,;]", form["phones"]) if p.strip()]
        good = [p for p in phones if _PHONE.fullmatch(p) and p not in self.rejected_numbers]
        taken = set(good)
        if not good:
            return self._error("-26", "Invalid destination address")
        if hlr:
            self.lookups += len(good)
        else:
            cost = segments * len(good)
            if cost > self.credits:
                return self._error("-43", "Not enough credits")
            self.credits -= cost
        items = []
        for phone in phones:
            if phone not in taken:
                if self.cnt is Cnt.SEED:
                    items.append(_item(message_id, phone, "-99", "1", ("", "", "")))
                else:
                    items.append(_item(message_id, phone, "-26", "0", ("", "", "")))
                continue
            operator = OPERATORS.get(phone[:4], ("", "", ""))
            items.append(_item(message_id, phone, "-99", str(segments), operator))
            if not hlr:
                self.messages.append(
                    SentMessage(
                        message_id=message_id,
                        phone=phone,
                        text=text,
                        sender=sender or "REX400.RU",
                        sent_at=self.now(),
                        deferred_until=deferred,
                        segments=segments,
                        flash=form.get("flash") == "1",
                        translit=form.get("translit") == "1",
                        validity=validity,
                    )
                )
        counted = len(phones) if self.cnt is Cnt.ALL else len(good)
        envelope = {"id": message_id, "cnt": str(counted), "messages": items}
        return self._answer(envelope, "messages")

    async def _status(self, request: web.Request) -> web.Response:
        form: dict[str, str] = request["form"]
        early = self._early_answer(request, form)
        if early is not None:
            return early
        message_id, phone = form.get("id", ""), form.get("phone", "")
        if not message_id and not phone:
            return self._error("-34", "Missing attribute: 'id'")
        results = []
        for message in self.messages:
            if message_id and message.message_id != message_id:
                continue
            if phone and message.phone != phone:
                continue
            if not self.recorded(message.sent_at):
                continue
            stat, since = self.stat_of(message)
            operator = OPERATORS.get(message.phone[:4], ("", "", ""))
            results.append(
                {
                    "id": message.message_id,
                    "phone": message.phone,
                    "sender": message.sender,
                    "status": "-99",
                    "err": "-99",
                    "stat": stat,
                    "type": "1",
                    "send_timestamp": _timestamp(message.sent_at),
                    "last_timestamp": _timestamp(since),
                    "operator": operator[0],
                    "region": operator[1],
                    "mnc": operator[2],
                }
            )
        return self._answer({"results": results}, "results")

    # -- helpers ----------------------------------------------------------------------

    def _early_answer(self, request: web.Request, form: dict[str, str]) -> web.Response | None:
        """Raw replies, injected faults, the login check and forced errors, in that order."""
        for item in list(self._raw):
            text, status, where = item
            if where is None or request.path.endswith(where):
                self._raw.remove(item)
                return web.Response(status=status, text=text, content_type="application/json")
        fault = self.take_fault(request.path, frozenset({Fault.RATE_LIMIT, Fault.NO_MONEY}))
        if fault is Fault.RATE_LIMIT:
            # [guess] a front proxy's throttle: the gateway documents no rate limit.
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "60"})
        if not form.get("login"):
            return self._error("-21", "No login")
        if not form.get("psw"):
            return self._error("-22", "No password")
        if form["login"] != self.login or form["psw"] != self.password:
            return self._error("-23", "Invalid login or password")
        if fault is Fault.NO_MONEY:
            return self._error("-43", "Not enough credits")
        charset = form.get("charset", "windows-1251").lower()
        if charset not in CHARSETS:
            return self._error("-33", f"Invalid attribute: 'charset={charset}'")
        for forced in list(self._errors):
            code, description, place = forced
            if place is None or request.path.endswith(place):
                self._errors.remove(forced)
                return self._error(code, description)
        return None

    def _error(self, code: str, description: str) -> web.Response:
        return json_response({"error": code, "description": description})

    def _answer(self, envelope: dict[str, Any], list_key: str) -> web.Response:
        if not self.documented_shapes:
            return json_response(envelope)
        envelope[list_key] = [*envelope[list_key], {}]
        text = json.dumps(envelope, ensure_ascii=False, indent=1)
        # The document's answers end with the list's `]`: the final `}` is missing.
        return web.Response(
            text=text.rstrip().removesuffix("}").rstrip(),
            content_type="application/json",
            charset="utf-8",
        )


def _item(
    message_id: str, phone: str, code: str, cnt: str, operator: tuple[str, ...]
) -> dict[str, str]:
    return {
        "id": message_id,
        "phone": phone,
        "status": code,
        "error": code,
        "cnt": cnt,
        "operator": operator[0],
        "region": operator[1],
        "mnc": operator[2],
    }


def _timestamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, MOSCOW).strftime("%Y-%m-%d %H:%M:%S+03")
