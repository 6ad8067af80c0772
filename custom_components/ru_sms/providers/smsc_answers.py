"""What SMSC.ru answers, read: its error and status codes, and its JSON (`fmt=3`) answers.

`send.php`, `status.php` and `balance.php` answer objects and lists whose numbers come
as numbers or strings; these readers take both and raise what the client raises. The
answers are parsed JSON, so their objects are checked as `dict` (a plain type check, not
the `Mapping` ABC's, which costs more on every alert's way back to its caller).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .errors import (
    AuthenticationError,
    ErrorCode,
    ErrorTable,
    GatewayResponseError,
    InsufficientFundsError,
    InvalidRecipientError,
    InvalidRequestError,
    MessageRejectedError,
    RateLimitedError,
    SmsGatewayError,
    error_for,
)
from .evidence import Evidence
from .http import HttpAnswer, unreadable
from .models import (
    Balance,
    DeliveryState,
    DeliveryStatus,
    LookupResult,
    LookupState,
    MessageRef,
    Quote,
    RecipientResult,
    SendOptions,
    SendResult,
)
from .parsing import MOSCOW, loads_lenient, parse_timestamp, to_decimal, to_int, to_str
from .phone import phone_digits

IP_BLOCKED_RETRY_AFTER = 600.0
"""Seconds to back off after error 4 (IP blocked): retrying early prolongs the block."""
TOO_MANY_REQUESTS_RETRY_AFTER = 60.0
"""Seconds to wait after error 9 (too many requests): the limits count per minute."""
NOT_FOUND = 3
"""`status.php` error code: no such message (not "no money" as on `send.php`)."""
NOT_FOUND_STATUS = -3
"""`status.php` status of a message the gateway does not have."""

_DELIVERY_STATES: dict[int, DeliveryState] = {
    -3: DeliveryState.UNKNOWN,
    -2: DeliveryState.FAILED,
    -1: DeliveryState.QUEUED,
    0: DeliveryState.SENT,
    1: DeliveryState.DELIVERED,
    2: DeliveryState.DELIVERED,
    3: DeliveryState.EXPIRED,
    4: DeliveryState.DELIVERED,
    20: DeliveryState.FAILED,
    22: DeliveryState.FAILED,
    23: DeliveryState.FAILED,
    24: DeliveryState.FAILED,
    25: DeliveryState.FAILED,
}
_STATUS_TEXTS: dict[int, str] = {
    -3: "Message not found",
    -2: "Stopped",
    -1: "Waiting to be sent",
    0: "Handed to the operator",
    1: "Delivered",
    2: "Read",
    3: "Expired",
    4: "Link clicked",
    20: "Undeliverable",
    22: "Bad number",
    23: "Forbidden",
    24: "Not enough money",
    25: "Unreachable number",
}
_LOOKUP_STATES: dict[int, LookupState] = {
    -1: LookupState.PENDING,
    0: LookupState.PENDING,
    1: LookupState.REACHABLE,
    20: LookupState.UNREACHABLE,
    22: LookupState.UNREACHABLE,
    25: LookupState.UNREACHABLE,
}

ERRORS: ErrorTable = {
    1: ErrorCode(InvalidRequestError, "SMSC.ru refused the parameters"),
    2: ErrorCode(
        AuthenticationError, "SMSC.ru refused the login, password or API key (or this IP address)"
    ),
    3: ErrorCode(InsufficientFundsError, "Not enough money on the SMSC.ru account"),
    4: ErrorCode(
        RateLimitedError,
        "SMSC.ru blocked this IP address for a while after too many errors",
        retry_after=IP_BLOCKED_RETRY_AFTER,
    ),
    5: ErrorCode(InvalidRequestError, "SMSC.ru refused the send-at time"),
    6: ErrorCode(MessageRejectedError, "SMSC.ru refused the message (its text or sender name)"),
    7: ErrorCode(InvalidRecipientError, "SMSC.ru refused the phone number format"),
    8: ErrorCode(InvalidRecipientError, "SMSC.ru cannot deliver to this number"),
    9: ErrorCode(
        RateLimitedError, "Too many requests to SMSC.ru", retry_after=TOO_MANY_REQUESTS_RETRY_AFTER
    ),
}
"""The error codes of `send.php`, `status.php` and `balance.php` (`error_code`)."""
UNKNOWN_ERROR = ErrorCode(GatewayResponseError, "SMSC.ru answered with an unknown error")

type Ref = tuple[str, str]
"""A message as `status.php` knows it: (message id, phone digits)."""


def read_json(answer: HttpAnswer, *, may_deliver: bool) -> Any:
    """The JSON of an answer; an error page or garbage raises `GatewayResponseError`."""
    try:
        data = loads_lenient(answer.text)
    except ValueError as err:
        raise unreadable(answer, may_deliver=may_deliver) from err
    if answer.is_server_error and not (isinstance(data, dict) and "error" in data):
        raise unreadable(answer, may_deliver=may_deliver)
    return data


def error_from(data: Mapping[str, Any], *, phones: tuple[str, ...] = ()) -> SmsGatewayError:
    """The error for an `{"error": text, "error_code": N}` answer."""
    entry = ERRORS.get(to_int(data.get("error_code")) or 0, UNKNOWN_ERROR)
    code = to_str(data.get("error_code"))
    return error_for(entry, code=code, text=to_str(data.get("error")), phones=phones)


def parse_send(data: Any, phones: list[str], parts: int, options: SendOptions) -> SendResult:
    """Read a `send.php` answer with `cost=3` and `op=1`."""
    if not isinstance(data, dict):
        raise GatewayResponseError(
            "SMSC.ru answered a send with something else than an object",
            may_have_been_accepted=True,
        )
    message_id = to_str(data.get("id"))
    if message_id is None:
        raise GatewayResponseError(
            "SMSC.ru answered a send without a message id", may_have_been_accepted=True
        )
    details = per_phone(data.get("phones"))
    errors = {phone: phone_error(phone, item) for phone, item in details.items()}
    accepted = [phone for phone in phones if errors.get(phone) is None]
    segments = segments_each(to_int(data.get("cnt")), len(accepted), parts)
    total_cost = to_decimal(data.get("cost"))
    recipients: list[RecipientResult] = []
    for phone in phones:
        error = errors.get(phone)
        if error is not None:
            recipients.append(refused(phone, error))
            continue
        cost: Decimal | None
        if phone in details:
            cost = to_decimal(details[phone].get("cost"))
        else:
            # Without per-number details a lone number's cost is the total.
            cost = total_cost if len(accepted) == 1 else None
        recipients.append(
            RecipientResult(
                phone=phone,
                accepted=True,
                message_ids=(message_id,),
                segments=segments,
                cost=cost,
            )
        )
    return SendResult(
        recipients=tuple(recipients),
        client_message_id=options.client_message_id,
        balance=to_decimal(data.get("balance")),
    )


def parse_quote(data: Any, phones: list[str], parts: int) -> Quote:
    """Read a `send.php` answer with `cost=1` and `op=1` (`{"cost", "cnt", "phones"}`)."""
    if not isinstance(data, dict) or (cost := to_decimal(data.get("cost"))) is None:
        raise ValueError("no cost in the answer")
    details = per_phone(data.get("phones"))
    errors = {phone: phone_error(phone, item) for phone, item in details.items()}
    taken = [phone for phone in phones if phone in details and errors[phone] is None]
    segments = segments_each(to_int(data.get("cnt")), len(taken), parts)
    recipients = tuple(
        refused(phone, error)
        if (error := errors[phone]) is not None
        else RecipientResult(
            phone=phone,
            accepted=True,
            segments=segments,
            cost=to_decimal(details[phone].get("cost")),
        )
        for phone in phones
        if phone in details
    )
    return Quote(cost=cost, segments=to_int(data.get("cnt")), recipients=recipients)


def refused(phone: str, error: SmsGatewayError) -> RecipientResult:
    """A number the gateway refused, with its reason."""
    return RecipientResult(
        phone=phone,
        accepted=False,
        error_kind=error.kind,
        error_code=error.code,
        error_text=error.text,
    )


def per_phone(raw: Any) -> dict[str, Mapping[str, Any]]:
    """The `op=1` details by phone digits (empty when the answer has none)."""
    if not isinstance(raw, list):
        return {}
    details: dict[str, Mapping[str, Any]] = {}
    for item in raw:
        if isinstance(item, dict) and (phone := phone_digits(to_str(item.get("phone")) or "")):
            details[phone] = item
    return details


def phone_error(phone: str, item: Mapping[str, Any]) -> SmsGatewayError | None:
    """Why one number of a send was refused, or None when it was taken."""
    raw = item.get("error_code", item.get("error"))
    if raw in (None, "", 0, "0"):
        return None
    code = to_int(raw)
    if code is None:
        return error_from({"error": raw}, phones=(phone,))
    return error_from({"error_code": code}, phones=(phone,))


def segments_each(total: int | None, accepted: int, parts: int) -> int:
    """Parts per number: from the gateway's total when it divides evenly, else counted."""
    if total and accepted and total % accepted == 0:
        return total // accepted
    return parts


def parse_balance(data: Any) -> Balance:
    """Read a `balance.php` answer (`{"balance": "1.00", "credit": ..., "currency": ...}`)."""
    if isinstance(data, dict):
        amount = to_decimal(data.get("balance"))
        currency = to_str(data.get("currency"))
        credit = to_decimal(data.get("credit"))
    else:
        amount, currency, credit = to_decimal(data), None, None
    if amount is None:
        raise ValueError("no balance in the answer")
    return Balance(amount=amount, currency=currency, credit=credit)


def parse_lookup(data: Any, phones: list[str]) -> list[LookupResult]:
    """Read a `send.php?hlr=1` answer: one id for the request, per-number refusals."""
    if not isinstance(data, dict) or (request_id := to_str(data.get("id"))) is None:
        raise GatewayResponseError(
            "SMSC.ru answered a lookup without a request id", may_have_been_accepted=True
        )
    details = per_phone(data.get("phones"))
    results: list[LookupResult] = []
    for phone in phones:
        error = phone_error(phone, details[phone]) if phone in details else None
        if error is not None:
            results.append(
                LookupResult(
                    phone=phone,
                    state=LookupState.FAILED,
                    request_id=request_id,
                    error_code=error.code,
                )
            )
        else:
            results.append(
                LookupResult(phone=phone, state=LookupState.PENDING, request_id=request_id)
            )
    return results


def match_statuses(data: Any, refs: list[Ref]) -> dict[Ref, Mapping[str, Any]]:
    """Pair the items of a `status.php` answer with the messages asked about."""
    if isinstance(data, dict):
        if to_int(data.get("error_code")) == NOT_FOUND:
            return dict.fromkeys(refs, data)  # none of them is known
        data = [data]
    if not isinstance(data, list):
        raise ValueError("a status answer is a list of objects")
    items = [item for item in data if isinstance(item, dict)]
    matched: dict[Ref, Mapping[str, Any]] = {}
    for position, item in enumerate(items):
        message_id = to_str(item.get("id"))
        phone = phone_digits(to_str(item.get("phone")) or "")
        if message_id is not None and phone:
            matched[(message_id, phone)] = item
        elif len(items) == len(refs):
            # Items without id and phone come in the order asked.
            matched[refs[position]] = item
    return matched


def evidence_of(item: Mapping[str, Any] | None) -> Evidence:
    """What a `status.php` item says of whether SMSC.ru took the message.

    Error 3 and status -3 are its two documented "not found" forms; any other status is
    of a message it has. An item missing from the answer, another error, or an item
    without a status that can be read tells nothing.
    """
    if item is None:
        return Evidence.NO_EVIDENCE
    if "error" in item or "error_code" in item:
        found = to_int(item.get("error_code")) == NOT_FOUND
        return Evidence.NOT_TAKEN if found else Evidence.NO_EVIDENCE
    code = to_int(item.get("status"))
    if code is None:
        return Evidence.NO_EVIDENCE
    return Evidence.NOT_TAKEN if code == NOT_FOUND_STATUS else Evidence.TAKEN


def delivery_status_of(message: MessageRef, item: Mapping[str, Any] | None) -> DeliveryStatus:
    """The delivery status of a message from its `status.php` item (None: not in the answer)."""
    if item is None or "error" in item or "error_code" in item:
        text = to_str(item.get("error")) if item is not None else None
        return DeliveryStatus(
            message_id=message.message_id,
            phone=message.phone,
            state=DeliveryState.UNKNOWN,
            raw_text=text or "Message not found",
            error_code=to_str(item.get("error_code")) if item is not None else None,
        )
    code = to_int(item.get("status"))
    return DeliveryStatus(
        message_id=message.message_id,
        phone=message.phone,
        state=_DELIVERY_STATES.get(code, DeliveryState.UNKNOWN)
        if code is not None
        else DeliveryState.UNKNOWN,
        raw_code=to_str(item.get("status")),
        raw_text=to_str(item.get("status_name"))
        or (_STATUS_TEXTS.get(code) if code is not None else None),
        error_code=_reason(item.get("err")),
        updated_at=_updated_at(item),
        cost=to_decimal(item.get("cost")),
    )


def lookup_result_of(pending: LookupResult, item: Mapping[str, Any] | None) -> LookupResult:
    """A lookup's answer from its `status.php` item (`all=1`; None: not in the answer)."""
    if item is None or "error" in item or "error_code" in item:
        return LookupResult(
            phone=pending.phone,
            state=LookupState.FAILED,
            request_id=pending.request_id,
            error_code=to_str(item.get("error_code")) if item is not None else None,
        )
    code = to_int(item.get("status"))
    state = _LOOKUP_STATES.get(code, LookupState.FAILED) if code is not None else None
    return LookupResult(
        phone=pending.phone,
        state=state or LookupState.PENDING,
        request_id=pending.request_id,
        operator=to_str(item.get("net")),
        country=to_str(item.get("cn")),
        mcc=to_str(item.get("mcc")),
        mnc=to_str(item.get("mnc")),
        imsi=to_str(item.get("imsi")),
        msc=to_str(item.get("msc")),
        roaming_country=to_str(item.get("rcn")),
        roaming_operator=to_str(item.get("rnet")),
        raw_code=to_str(item.get("status")),
        error_code=_reason(item.get("err")),
    )


def _reason(value: Any) -> str | None:
    """The `err` field as an error code; 0 means no error."""
    text = to_str(value)
    return None if text in (None, "0") else text


def _updated_at(item: Mapping[str, Any]) -> datetime | None:
    """When the state last changed: the timestamp, else the date (Moscow time)."""
    if (moment := parse_timestamp(item.get("last_timestamp"))) is not None:
        return moment
    text = to_str(item.get("last_date"))
    if text is None:
        return None
    for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%y %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=MOSCOW).astimezone(UTC)
        except ValueError:
            continue
    return None
