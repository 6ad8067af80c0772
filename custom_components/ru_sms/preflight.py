"""The dry run: what an alert would be, cost and meet, with nothing sent.

`ru_sms.send_message` with `dry_run: true` answers, per number: the encoding and the parts
of the text as it would go, the characters that make it UCS-2, its cost (the gateway's own
price where it tells one without sending, else the price per part it told last, else
unknown), whether the number and the sender pass our checks, and what the storm guard and
the spending limits would do with it. The parts with and without typographic replacement
are both shown, to tell what the option saves.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from homeassistant.core import HomeAssistant

from .errors import error_details
from .guard import GuardAction, Guarded, Plan, StormGuard, parts_of
from .providers import InvalidSenderError, SendOptions, SmsGateway, SmsGatewayError
from .providers.base import check_sender
from .providers.phone import normalize_phone
from .providers.segments import count_segments, ucs2_characters
from .providers.translit import transliterate
from .providers.typography import replace_typography
from .spending import DailySpending
from .validation import PREPARE_IN_LOOP, check_text


async def async_dry_run(
    hass: HomeAssistant,
    gateway: SmsGateway,
    guard: StormGuard,
    spending: DailySpending,
    *,
    phones: list[str],
    message: str,
    options: SendOptions,
    title: str | None = None,
    critical: bool = False,
) -> dict[str, Any]:
    """What sending `message` to `phones` would do now; nothing is sent or counted."""
    check_text(message, title)
    if title:
        message = f"{title}\n{message}"
    if len(phones) > PREPARE_IN_LOOP:
        checked = await hass.async_add_executor_job(_numbers, phones)
    else:
        checked = _numbers(phones)
    numbers = list(dict.fromkeys(n for n in checked.values() if n is not None))
    problem: str | None = None
    text = _as_sent(message, options)
    try:
        if numbers:
            numbers, text = gateway.prepare(numbers, message, options)
    except SmsGatewayError as err:
        problem = err.problem.value if err.problem else error_details(err)
    plan = guard.plan(numbers, text, options, critical=critical)
    cost, source, cost_error = await _async_cost(gateway, spending, numbers, text, options)
    going = {phone: sent for sent, group in plan.send.items() for phone in group}
    guarded = {g.phone: g for g in plan.guarded if g.action is not GuardAction.SUMMARISED}
    notes = {g.phone: g for g in plan.guarded if g.action is GuardAction.SUMMARISED}
    base_parts = parts_of(text, options)
    recipients = [
        _recipient(
            raw,
            number,
            text=going.get(number or "", text),
            options=options,
            base_parts=base_parts,
            cost=cost.get(number or ""),
            guarded=guarded.get(number or "") or notes.get(number or ""),
        )
        for raw, number in checked.items()
    ]
    sender_ok, sender_problem = _sender(gateway, options)
    plain = replace(options, replace_typography=False)
    cheaper = replace(options, replace_typography=True)
    return {
        "dry_run": True,
        "message": text,
        **_encoding(text, options),
        "replace_typography": options.replace_typography,
        "parts_without_replacement": parts_of(_as_sent(message, plain), plain),
        "parts_with_replacement": parts_of(_as_sent(message, cheaper), cheaper),
        "sender": options.sender,
        "sender_ok": sender_ok,
        "sender_problem": sender_problem,
        "problem": problem,
        "cost": _total(cost, numbers),
        "cost_source": source,
        "cost_error": cost_error,
        "priority": "critical" if critical else "normal",
        "spending": {**spending.as_dict(), "would_hold": _limit(plan)},
        "recipients": recipients,
    }


def _numbers(phones: list[str]) -> dict[str, str | None]:
    """Each number as written, normalised (None: our checks refuse it)."""
    checked: dict[str, str | None] = {}
    for raw in phones:
        try:
            checked[raw] = normalize_phone(raw)
        except SmsGatewayError:
            checked[raw] = None
    return checked


def _as_sent(message: str, options: SendOptions) -> str:
    """The text as the gateway sends it (its own transliteration included), for counting."""
    text = replace_typography(message) if options.replace_typography else message
    return transliterate(text) if options.transliterate else text


def _encoding(text: str, options: SendOptions) -> dict[str, Any]:
    """Encoding, length, parts and the characters that make it UCS-2."""
    counted = transliterate(text) if options.transliterate else text
    info = count_segments(counted)
    return {
        "encoding": "GSM-7" if info.encoding.value == "gsm7" else "UCS-2",
        "characters": len(counted),
        "parts": max(1, info.segments),
        "ucs2_characters": ucs2_characters(counted),
    }


def _sender(gateway: SmsGateway, options: SendOptions) -> tuple[bool, str | None]:
    """Whether the sender passes our checks, and the problem when it does not."""
    if not options.sender:
        if gateway.capabilities.sender_required:
            return False, "sender_required"
        return True, None
    try:
        check_sender(options.sender, gateway.capabilities.max_sender_length)
    except InvalidSenderError:
        return False, "invalid_sender"
    return True, None


async def _async_cost(
    gateway: SmsGateway,
    spending: DailySpending,
    numbers: list[str],
    text: str,
    options: SendOptions,
) -> tuple[dict[str, Decimal | None], str | None, str | None]:
    """Per number, what the text would cost; where the figure comes from; why not the gateway's.

    The gateway's own price where it tells one without sending; else the price per
    part it told last; else unknown.
    """
    parts = parts_of(text, options)
    error: str | None = None
    if numbers and gateway.capabilities.quote:
        try:
            quote = await gateway.quote(numbers, text, options)
        except SmsGatewayError as err:
            error = error_details(err)
        else:
            if quote.segments:
                spending.learn_quote(quote.cost, quote.segments)
            per = {r.phone: r.cost if r.accepted else None for r in quote.recipients}
            if not per and len(numbers) == 1:
                per = {numbers[0]: quote.cost}
            return {n: per.get(n) for n in numbers}, "gateway", None
    known = spending.expected_cost(parts)
    if known is None:
        return dict.fromkeys(numbers), None, error
    return dict.fromkeys(numbers, known), "known_price", error


def _total(cost: dict[str, Decimal | None], numbers: list[str]) -> float | None:
    """The cost over every number, when each one's is known."""
    values = [cost.get(n) for n in numbers]
    if not values or any(v is None for v in values):
        return None
    return float(sum((v for v in values if v is not None), Decimal(0)))


def _limit(plan: Plan) -> str | None:
    return None if plan.limit is None else plan.limit.value


def _recipient(
    raw: str,
    number: str | None,
    *,
    text: str,
    options: SendOptions,
    base_parts: int,
    cost: Decimal | None,
    guarded: Guarded | None,
) -> dict[str, Any]:
    """One number of the dry run."""
    encoding = _encoding(text, options)
    if cost is not None and encoding["parts"] != base_parts:
        cost = cost / base_parts * encoding["parts"]  # a note made it a part longer
    return {
        "phone": raw,
        "number": number,
        "number_ok": number is not None,
        "number_problem": None if number is not None else "invalid_phone",
        **encoding,
        "cost": None if cost is None or number is None else float(cost),
        "guard": "send" if number is not None and guarded is None else _action(guarded),
        "guard_reason": None if guarded is None else guarded.reason,
        "guard_count": None if guarded is None else guarded.count,
        "release_at": None
        if guarded is None or guarded.release_at is None
        else guarded.release_at.isoformat(),
    }


def _action(guarded: Guarded | None) -> str | None:
    return None if guarded is None else guarded.action.value
