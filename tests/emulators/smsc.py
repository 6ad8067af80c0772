"""An emulated SMSC.ru: `send.php` (SMS and HLR), `status.php`, `balance.php`, `get.php`.

Every resource takes GET and POST (login and password or the API key in the query, the
body or both), answers in the `fmt` asked for (0 text, the default; 1 numbers; 2 XML;
3 JSON: see `smsc_formats`), and reads a request as windows-1251 unless it says
`charset=utf-8`, answering in the same charset. Delivery moves on with the virtual clock:
`-1` (waiting) for `queued_seconds`, `0` (handed to the operator) until `final_seconds`,
then the number's outcome (`outcomes`, default `1` delivered). HLR answers come after
`hlr_seconds`.

The documented limits are enforced as the gateway counts them (a breach is recorded and
answered with error 9, counted in `errors_answered`): one identical send a minute; one
status list request a minute, a list being a request whose `id` is written as a list,
even of one (`id=5,&phone=79...,`); five status requests per message a minute, a message
being an SMSC.ru id (a bulk send's numbers share one), counted once per request that
names it; fewer than five concurrent status requests; ten balance requests a minute;
three identical history requests a minute and thirty an hour.

`not_found` picks how a message the gateway does not have is answered: an error
(`error_code` 3; in a list, an item carrying the error) or a status item `"status": -3`.

The send answer, with `cost=3&op=1` (`stringly=True` turns every number into a string):

    {"id": 1001, "cnt": 2, "cost": "3.80", "balance": "96.20",
     "phones": [{"phone": "79161234567", "mccmnc": "25001", "cost": "1.90", "status": 0},
                {"phone": "79990000000", "mccmnc": "0", "cost": "0", "status": 0,
                 "error": 7}]}

With `cost=1` the price alone, nothing sent (`op=1` details it per number the same way):

    {"cost": "3.80", "cnt": 2, "phones": [...]}
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
import json
import re
from typing import Any

from aiohttp import web

from custom_components.ru_sms.providers.parsing import MOSCOW
from custom_components.ru_sms.providers.translit import transliterate
from tests.emulators.base import EmulatedGateway, Fault, gateway_segments
from tests.emulators.smsc_formats import (
    HISTORY_FIELDS_3,
    Plain,
    balance_text,
    fmt_of,
    history_text,
    render,
    send_text,
    status_text,
)

MINUTE = 60.0
HOUR = 3600.0
METHODS = ("GET", "POST")
"""Every resource: "вызвать методом GET или POST"."""
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")
_NUMBER = re.compile(r"\d{10,15}")
_VALID = re.compile(r"(\d{1,2}):(\d{2})|(\d{1,2})")

ERROR_TEXTS = {
    1: "parameters error",
    2: "authorise error",
    3: "no money",
    4: "IP is blocked",
    5: "invalid date format",
    6: "message is denied",
    7: "invalid number",
    8: "can't deliver",
    9: "duplicate request, wait a minute",
}


NOT_FOUND = "message not found"
"""The text of error 3 where it means no such message (`status.php`, `get.php`)."""


class NotFound(StrEnum):
    """How `status.php` answers about a message the gateway does not have."""

    ERROR = "error"
    """`{"error": "message not found", "error_code": 3}` (in a list: an item carrying it)."""
    ITEM = "item"
    """A status item `{"status": -3, ...}` like any other."""


FINAL_ERR = {1: 0, 2: 0, 4: 0, 3: 6, -2: 0, -3: 0, 20: 255, 22: 1, 23: 254, 24: 0, 25: 1}
"""The `err` reported with each final status."""
STATUS_NAMES = {
    -3: "Сообщение не найдено",
    -2: "Остановлено",
    -1: "Ожидает отправки",
    0: "Передано оператору",
    1: "Доставлено",
    2: "Прочитано",
    3: "Просрочено",
    4: "Нажата ссылка",
    20: "Невозможно доставить",
    22: "Неверный номер",
    23: "Запрещено",
    24: "Недостаточно средств",
    25: "Недоступный номер",
}
HLR_INFO: dict[str, Any] = {
    "imsi": "250011234567890",
    "msc": "79168999999",
    "mcc": 250,
    "mnc": 1,
    "cn": "Россия",
    "net": "МТС",
    "rcn": "",
    "rnet": "",
}


@dataclass
class SentMessage:
    """One number of an accepted send (or HLR request)."""

    id: int
    phone: str
    text: str
    sender: str | None
    client_id: str | None
    accepted_at: float
    goes_at: float
    """When it leaves: the send-at time, or at once."""
    segments: int
    cost: Decimal
    hlr: bool = False
    flash: bool = False
    valid: str | None = None
    outcome: int = 1


class SmscEmulator(EmulatedGateway):
    """SMSC.ru over loopback HTTP."""

    default_charset = "cp1251"

    def __init__(self) -> None:
        """An account `alerts` / `s3cret-pass` (or key `k3y-0123456789`) with 100 RUB."""
        self.login = "alerts"
        self.password = "s3cret-pass"
        self.api_key = "k3y-0123456789"
        self.balance = Decimal("100.00")
        self.credit: Decimal | None = Decimal("0.00")
        self.currency = "RUB"
        self.price = Decimal("1.90")
        """Per SMS part."""
        self.hlr_price = Decimal("0.20")
        self.senders = {"SMSC.RU", "HomeAlert"}
        """Sender names registered on the account; others are refused with error 6."""
        self.forbidden_words = {"казино"}
        self.invalid_numbers: set[str] = set()
        """Numbers refused with error 7 (besides those not 10..15 digits long)."""
        self.undeliverable_numbers: set[str] = set()
        """Numbers refused with error 8."""
        self.outcomes: dict[str, int] = {}
        """Final status per number (default 1, delivered)."""
        self.hlr_outcomes: dict[str, int] = {}
        """Final HLR status per number (default 1, reachable)."""
        self.queued_seconds = 2.0
        self.final_seconds = 5.0
        self.hlr_seconds = 3.0
        self.blocked = False
        """Answer every request with error 4 (IP blocked)."""
        self.stringly = False
        """Send every number in the answers as a string."""
        self.not_found = NotFound.ERROR
        self.errors_answered: Counter[int] = Counter()
        """Error answers by code (error 9: a limit the client broke, or an injected one)."""
        self.forced: deque[tuple[str | None, Any, int]] = deque()
        self.messages: dict[tuple[int, str], SentMessage] = {}
        self.next_id = 1001
        self._sends: dict[tuple[tuple[str, str], ...], float] = {}
        self._list_requests: list[float] = []
        self._per_message: dict[str, list[float]] = {}
        self._balance_requests: list[float] = []
        self._history_requests: list[tuple[float, tuple[tuple[str, str], ...]]] = []
        self._status_in_flight = 0
        super().__init__()

    def setup_routes(self) -> None:
        """`/sys/send.php`, `status.php`, `balance.php`, `get.php`, each by GET or POST."""
        for name, handler in (
            ("send.php", self._send),
            ("status.php", self._status),
            ("balance.php", self._balance),
            ("get.php", self._get),
        ):
            self.serve(f"/sys/{name}", handler, METHODS)

    async def start(self, path: str = "/sys/") -> str:
        """Listen; the base URL ends with `/sys/` like the real one."""
        return await super().start(path)

    # -- test knobs -------------------------------------------------------------------

    def answer_next(self, answer: Any, path: str | None = None, status: int = 200) -> None:
        """Answer the next request (to `path`) with `answer` (JSON) after checking auth."""
        self.forced.append((path, answer, status))

    def error_next(self, code: int, path: str | None = None) -> None:
        """Answer the next request (to `path`) with the gateway's error `code`."""
        self.answer_next(
            {"error": ERROR_TEXTS.get(code, "unknown error"), "error_code": code}, path
        )

    def status_of(self, message_id: int | str, phone: str) -> int:
        """The status the gateway would report now."""
        return self._state(self.messages[(int(message_id), phone)])[0]

    # -- handlers ---------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        form: dict[str, str] = request["form"]
        fault = self.take_fault(request.path, frozenset({Fault.RATE_LIMIT, Fault.NO_MONEY}))
        if (early := self._common(request, fault)) is not None:
            return early
        if fault is Fault.NO_MONEY:
            return self._error(request, 3, id=self.next_id)
        key = tuple(sorted((k, v) for k, v in form.items() if k not in ("login", "psw", "apikey")))
        now = self.now()
        if now - self._sends.get(key, -MINUTE * 2) < MINUTE:
            self.breach("send.php: the same send twice in a minute")
            return self._error(request, 9)
        if form.get("hlr") == "1":
            return self._hlr(request)
        text = form.get("mes", "")
        raw_phones = [p.strip() for p in re.split(r"[,;]", form.get("phones", "")) if p.strip()]
        if not text or not raw_phones:
            return self._error(request, 1)
        client_id = form.get("id")
        if client_id is not None and not _CLIENT_ID.fullmatch(client_id):
            return self._error(request, 1)
        valid = form.get("valid")
        if valid is not None and not _valid_lifetime(valid):
            return self._error(request, 1)
        goes_at = now
        if "time" in form:
            at = _parse_time(form["time"], now)
            if at is None:
                return self._error(request, 5)
            goes_at = max(now, at)
        sender = form.get("sender")
        if sender is not None and sender not in self.senders:
            return self._error(request, 6, id=self.next_id)
        if any(word in text.lower() for word in self.forbidden_words):
            return self._error(request, 6, id=self.next_id)
        if form.get("translit") in ("1", "2"):
            text = transliterate(text)
        parts = gateway_segments(text)
        refused = {phone: self._refusal(phone) for phone in raw_phones}
        taken = [phone for phone in raw_phones if refused[phone] is None]
        if not taken:
            return self._error(request, next(c for c in refused.values() if c), id=self.next_id)
        cost = self.price * parts * len(taken)
        if cost > self.balance:
            return self._error(request, 3, id=self.next_id)
        self._sends[key] = now
        if form.get("cost") == "1":
            # The price alone, nothing sent; `op=1` details it per number as a send does.
            price: dict[str, Any] = {"cost": _money(cost), "cnt": parts * len(taken)}
            if form.get("op") == "1":
                price["phones"] = [
                    self._phone_detail(phone, refused[phone], self.price * parts)
                    for phone in raw_phones
                ]
            return self._answer(request, price, send_text)
        message_id = self._new_id()
        self.balance -= cost
        for phone in taken:
            self.messages[(message_id, phone)] = SentMessage(
                id=message_id,
                phone=phone,
                text=text,
                sender=sender,
                client_id=client_id,
                accepted_at=now,
                goes_at=goes_at,
                segments=parts,
                cost=self.price * parts,
                flash=form.get("flash") == "1",
                valid=valid,
                outcome=self.outcomes.get(phone, 1),
            )
        answer: dict[str, Any] = {"id": message_id, "cnt": parts * len(taken)}
        self._add_cost(answer, form, cost)
        if form.get("op") == "1":
            answer["phones"] = [
                self._phone_detail(phone, refused[phone], self.price * parts)
                for phone in raw_phones
            ]
        return self._answer(request, answer, send_text)

    def _hlr(self, request: web.Request) -> web.Response:
        form: dict[str, str] = request["form"]
        raw_phones = [p.strip() for p in re.split(r"[,;]", form.get("phones", "")) if p.strip()]
        if not raw_phones:
            return self._error(request, 1)
        refused = {phone: self._refusal(phone) for phone in raw_phones}
        taken = [phone for phone in raw_phones if refused[phone] is None]
        if not taken:
            return self._error(request, next(c for c in refused.values() if c), id=self.next_id)
        cost = self.hlr_price * len(taken)
        if cost > self.balance:
            return self._error(request, 3, id=self.next_id)
        now = self.now()
        message_id = self._new_id()
        self.balance -= cost
        for phone in taken:
            self.messages[(message_id, phone)] = SentMessage(
                id=message_id,
                phone=phone,
                text="",
                sender=None,
                client_id=form.get("id"),
                accepted_at=now,
                goes_at=now,
                segments=1,
                cost=self.hlr_price,
                hlr=True,
                outcome=self.hlr_outcomes.get(phone, 1),
            )
        answer: dict[str, Any] = {"id": message_id, "cnt": len(taken)}
        self._add_cost(answer, form, cost)
        if form.get("op") == "1":
            answer["phones"] = [
                self._phone_detail(phone, refused[phone], self.hlr_price) for phone in raw_phones
            ]
        return self._answer(request, answer, send_text)

    async def _status(self, request: web.Request) -> web.Response:
        self._status_in_flight += 1
        try:
            return self._status_answer(request)
        finally:
            self._status_in_flight -= 1

    def _status_answer(self, request: web.Request) -> web.Response:
        form: dict[str, str] = request["form"]
        fault = self.take_fault(request.path, frozenset({Fault.RATE_LIMIT}))
        if (early := self._common(request, fault)) is not None:
            return early
        raw_ids, raw_phones = form.get("id", ""), form.get("phone", "")
        # A list is a list by its form, even of one message (`id=5,`).
        list_form = "," in raw_ids
        ids, phones = _split_list(raw_ids), _split_list(raw_phones)
        if not ids or len(ids) != len(phones):
            return self._error(request, 1)
        now = self.now()
        if self._status_in_flight > 4:
            self.breach("status.php: five or more concurrent requests")
            return self._error(request, 9)
        if list_form:
            if any(now - at < MINUTE for at in self._list_requests):
                self.breach("status.php: more than one list request a minute")
                return self._error(request, 9)
            self._list_requests.append(now)
        # A message is an SMSC.ru id (a bulk send's numbers share one), once per request.
        for message_id in dict.fromkeys(ids):
            seen = [at for at in self._per_message.get(message_id, []) if now - at < MINUTE]
            if len(seen) >= 5:
                self.breach("status.php: more than five requests for one message a minute")
                return self._error(request, 9)
            self._per_message[message_id] = [*seen, now]
        full = form.get("all") in ("1", "2")
        items = [self._status_item(i, p, full=full) for i, p in zip(ids, phones, strict=True)]
        if list_form:
            return self._answer(request, items, status_text)
        item = items[0]
        if "error" in item:
            return self._error(request, 3, text=NOT_FOUND)
        del item["id"], item["phone"]
        return self._answer(request, item, status_text)

    async def _balance(self, request: web.Request) -> web.Response:
        form: dict[str, str] = request["form"]
        fault = self.take_fault(request.path, frozenset({Fault.RATE_LIMIT}))
        if (early := self._common(request, fault)) is not None:
            return early
        now = self.now()
        recent = [at for at in self._balance_requests if now - at < MINUTE]
        if len(recent) >= 10:
            self.breach("balance.php: more than ten requests a minute")
            return self._error(request, 9)
        self._balance_requests = [*recent, now]
        answer: dict[str, Any] = {"balance": _money(self.balance)}
        if self.credit is not None:
            answer["credit"] = _money(self.credit)
        if form.get("cur") == "1":
            answer["currency"] = self.currency
        return self._answer(request, answer, balance_text)

    async def _get(self, request: web.Request) -> web.Response:
        """`get.php?get_messages=1`: the history of sent messages, as `smsc-history.txt` has it."""
        form: dict[str, str] = request["form"]
        if (early := self._common(request, None)) is not None:
            return early
        if form.get("get_messages") != "1":
            return self._error(request, 1)
        now = self.now()
        asked = tuple(
            sorted((k, v) for k, v in form.items() if k not in ("login", "psw", "apikey"))
        )
        recent = [(at, a) for at, a in self._history_requests if now - at < HOUR]
        if len(recent) >= 30 or sum(1 for at, a in recent if a == asked and now - at < MINUTE) >= 3:
            self.breach("get.php: more than three identical requests a minute or thirty an hour")
            return self._error(request, 9)
        self._history_requests = [*recent, (now, asked)]
        try:
            messages = self._history(form)
        except ValueError:
            return self._error(request, 1)
        if not messages:
            return self._error(request, 3, text=NOT_FOUND)
        return self._answer(request, messages, history_text)

    # -- helpers ----------------------------------------------------------------------

    def _common(self, request: web.Request, fault: Fault | None) -> web.Response | None:
        """What every path checks first: format, IP block, credentials, forced answers."""
        form: dict[str, str] = request["form"]
        if self.blocked:
            return self._error(request, 4)
        by_password = form.get("login") == self.login and form.get("psw") == self.password
        by_key = "login" not in form and form.get("apikey") == self.api_key
        if not (by_password or by_key):
            return self._error(request, 2)
        if fault is Fault.RATE_LIMIT:
            return self._error(request, 9)
        for item in list(self.forced):
            where, answer, status = item
            if where is None or request.path.endswith(where):
                self.forced.remove(item)
                return self._answer(request, answer, _as_json, status)
        return None

    def _refusal(self, phone: str) -> int | None:
        if not _NUMBER.fullmatch(phone) or phone in self.invalid_numbers:
            return 7
        if phone in self.undeliverable_numbers:
            return 8
        return None

    def _new_id(self) -> int:
        message_id = self.next_id
        self.next_id += 1
        return message_id

    def _add_cost(self, answer: dict[str, Any], form: dict[str, str], cost: Decimal) -> None:
        if form.get("cost") in ("2", "3"):
            answer["cost"] = _money(cost)
        if form.get("cost") == "3":
            answer["balance"] = _money(self.balance)

    def _phone_detail(self, phone: str, refusal: int | None, cost: Decimal) -> dict[str, Any]:
        if refusal is not None:
            return {"phone": phone, "mccmnc": "0", "cost": "0", "status": 0, "error": refusal}
        return {"phone": phone, "mccmnc": "25001", "cost": _money(cost), "status": 0}

    def _state(self, message: SentMessage) -> tuple[int, float]:
        """The status now and when it was reached."""
        now = self.now()
        if message.hlr:
            ready = message.goes_at + self.hlr_seconds
            return (message.outcome, ready) if now >= ready else (-1, message.accepted_at)
        handed = message.goes_at + self.queued_seconds
        final = message.goes_at + self.final_seconds
        if now >= final:
            return message.outcome, final
        if now >= handed:
            return 0, handed
        return -1, message.accepted_at

    def _status_item(self, raw_id: str, phone: str, *, full: bool) -> dict[str, Any]:
        message_id = int(raw_id) if raw_id.isdigit() else -1
        message = self.messages.get((message_id, phone)) or self._by_client_id(raw_id, phone)
        if message is not None and not self.recorded(message.accepted_at):
            message = None  # taken, but not in the records yet
        if message is None:
            if self.not_found is NotFound.ITEM:
                return {
                    "status": -3,
                    "last_date": _moscow(self.now(), "%d.%m.%Y %H:%M:%S"),
                    "last_timestamp": int(self.now()),
                    "flag": 0,
                    "err": 0,
                    "id": raw_id,
                    "phone": phone,
                }
            return {
                "id": raw_id,
                "phone": phone,
                "error": NOT_FOUND,
                "error_code": 3,
            }
        status, at = self._state(message)
        err = FINAL_ERR.get(status, 0)
        item: dict[str, Any] = {
            "status": status,
            "last_date": _moscow(at, "%d.%m.%Y %H:%M:%S"),
            "last_timestamp": int(at),
            "flag": 4 if message.hlr else int(message.flash),
            "err": err,
            # Asked by the client's own id, the answer names that id.
            "id": message.id if message.client_id != raw_id else raw_id,
            "phone": phone,
        }
        if full:
            item |= {
                "send_date": _moscow(message.goes_at, "%d.%m.%Y %H:%M:%S"),
                "send_timestamp": int(message.goes_at),
                "cost": _money(message.cost),
                "sender_id": message.sender or "SMSC.RU",
                "status_name": STATUS_NAMES.get(status, ""),
                "message": message.text,
                "type": 4 if message.hlr else int(message.flash),
                "sms_cnt": message.segments,
            }
            if message.hlr and status != -1:
                item |= HLR_INFO if status == 1 else {"cn": "Россия", "net": "МТС"}
        return item

    def _by_client_id(self, client_id: str, phone: str) -> SentMessage | None:
        """The latest message sent with the client's own id (SMSC.ru finds it by that id)."""
        found = [m for m in self.messages.values() if m.client_id == client_id and m.phone == phone]
        return max(found, key=lambda m: m.id, default=None)

    def _history(self, form: dict[str, str]) -> list[dict[str, Any]]:
        """The messages a history request selects, newest first (ValueError: bad dates)."""
        start = _history_day(form.get("start"))
        end = _history_day(form.get("end"))
        phones = set(_split_list(form.get("phone", "")))
        limit = min(int(form.get("cnt") or 1000), 1000)
        prev_id = int(form["prev_id"]) if form.get("prev_id") else None
        found = []
        for number, message in enumerate(self.messages.values(), start=1):
            if message.hlr or (phones and message.phone not in phones):
                continue
            if not self.recorded(message.accepted_at):
                continue
            if start is not None and message.accepted_at < start:
                continue
            if end is not None and message.accepted_at >= end + 86400:
                continue
            if prev_id is not None and number >= prev_id:
                continue
            found.append(self._history_item(message, number))
        return found[::-1][:limit]

    def _history_item(self, message: SentMessage, number: int) -> dict[str, Any]:
        status, at = self._state(message)
        item = {
            "status": status,
            "last_date": _moscow(at, "%d.%m.%Y %H:%M:%S"),
            "last_timestamp": int(at),
            "err": FINAL_ERR.get(status, 0),
            "send_date": _moscow(message.goes_at, "%d.%m.%Y %H:%M:%S"),
            "send_timestamp": int(message.goes_at),
            "phone": message.phone,
            "cost": _money(message.cost),
            "sender_id": message.sender or "SMSC.RU",
            "status_name": STATUS_NAMES.get(status, ""),
            "message": message.text,
            "mccmnc": "25001",
            "country": "Россия",
            "operator": "МТС",
            "region": "Москва",
            "type": int(message.flash),
            "id": message.id,
            "int_id": str(number),
            "sms_cnt": message.segments,
            "format": int(message.flash),
            "crc": 0,
        }
        return {key: item[key] for key in HISTORY_FIELDS_3}

    def _error(
        self, request: web.Request, code: int, text: str | None = None, **extra: Any
    ) -> web.Response:
        self.errors_answered[code] += 1
        error = {"error": text or ERROR_TEXTS[code], "error_code": code, **extra}
        return self._answer(request, error, _as_json)

    def _answer(
        self, request: web.Request, data: Any, plain: Plain, status: int = 200
    ) -> web.Response:
        """`data` in the fmt and the charset the request asked for (windows-1251 by default)."""
        form: dict[str, str] = request["form"]
        utf8 = form.get("charset", "").lower() in ("utf-8", "utf8")
        charset = "utf-8" if utf8 else "windows-1251"
        if self.stringly:
            data = _stringify(data)
        text, content_type = render(data, fmt_of(form), plain)
        return web.Response(
            status=status,
            body=text.encode(charset, errors="replace"),
            content_type=content_type,
            charset=charset,
        )


def _as_json(data: Any, fmt: int) -> str:
    """A forced test answer, as it was given."""
    return json.dumps(data, ensure_ascii=False)


def _history_day(raw: str | None) -> float | None:
    """A `dd.mm.yyyy` day (Moscow time) as a unix time; ValueError when it is not one."""
    if not raw:
        return None
    return datetime.strptime(raw, "%d.%m.%Y").replace(tzinfo=MOSCOW).timestamp()


def _split_list(raw: str) -> list[str]:
    parts = [part.strip() for part in raw.split(",")]
    if parts and parts[-1] == "":
        parts.pop()  # the trailing comma of a one-message list
    return parts


def _valid_lifetime(raw: str) -> bool:
    match = _VALID.fullmatch(raw)
    if match is None:
        return False
    if match.group(3) is not None:
        minutes = int(match.group(3)) * 60
    else:
        minutes = int(match.group(1)) * 60 + int(match.group(2))
        if int(match.group(2)) > 59:
            return False
    return 1 <= minutes <= 24 * 60


def _parse_time(raw: str, now: float) -> float | None:
    """`DDMMYYhhmm`, `DD.MM.YY hh:mm`, `0<unix ts>` or `+<minutes>` (Moscow time).

    [guess] Ten digits are a date (`0101251200`), any other run of digits led by `0` a
    unix time: `0` alone, as PyPI `smsc-client` sends by default, is long past (now).
    """
    if raw.startswith("+") and raw[1:].isdigit():
        return now + int(raw[1:]) * 60
    if raw.startswith("0") and raw.isdigit() and len(raw) != 10:
        return float(int(raw))
    for fmt in ("%d%m%y%H%M", "%d.%m.%y %H:%M"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=MOSCOW).timestamp()
        except ValueError:
            continue
    return None


def _moscow(at: float, fmt: str) -> str:
    return datetime.fromtimestamp(at, MOSCOW).strftime(fmt)


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _stringify(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _stringify(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_stringify(item) for item in data]
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return str(data)
    return data
