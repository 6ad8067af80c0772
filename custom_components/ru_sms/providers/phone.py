"""Phone number normalisation and validation, with Google's libphonenumber metadata.

Numbers go to the gateways as digits in international form without `+` (`79161234567`).
Users type them as people in Russia write them: `+7 (916) 123-45-67`, `8 916 123 45 67`,
`9161234567`, `495 123-45-67`, `8 10 375 29 1234567`; numbers of other countries with
their country code (with or without `+`, or after `00`).
"""

from __future__ import annotations

from collections.abc import Iterable
import functools
import re

import phonenumbers

from .errors import InvalidRecipientError, SendProblem

_SEPARATORS = re.compile(r"[\s().\-‐‑‒–—/]")
_ALLOWED = re.compile(r"\+?\d+")


def preload() -> None:
    """Load the numbering metadata of every country (reads many small modules).

    Call it once off the event loop before validating numbers inside one: otherwise
    libphonenumber imports a country's metadata the first time it meets the country.
    """
    phonenumbers.PhoneMetadata.load_all()


def normalize_phone(raw: str) -> str:
    """Return `raw` as international digits without `+`, or raise `InvalidRecipientError`."""
    return _normalize(str(raw))


@functools.lru_cache(maxsize=4096)
def _normalize(raw: str) -> str:
    """Libphonenumber takes ~150 µs a number: alerts go to the same few again and again."""
    text = _SEPARATORS.sub("", raw)
    if not text:
        raise InvalidRecipientError(
            "Empty phone number", phones=(str(raw),), problem=SendProblem.INVALID_PHONE
        )
    if not _ALLOWED.fullmatch(text):
        raise InvalidRecipientError(
            f"Not a phone number: {raw!r} (only digits, spaces, brackets, dashes and a leading +)",
            phones=(str(raw),),
            problem=SendProblem.INVALID_PHONE,
        )
    number = _parse(text[1:], None) if text.startswith("+") else _read_as_typed_in_russia(text)
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidRecipientError(
            f"Not a valid phone number: {raw!r} (check the country code and the length)",
            phones=(str(raw),),
            problem=SendProblem.INVALID_PHONE,
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def _read_as_typed_in_russia(digits: str) -> phonenumbers.PhoneNumber | None:
    """A number without `+`, as a person in Russia means it.

    Libphonenumber decides first, with Russia's dialling rules: the `8` trunk prefix,
    the `7` country code, the `8 10` international prefix, ten digits of a mobile or a
    landline (`495 123-45-67` is Moscow). What it cannot read as a valid number is taken
    as a foreign one whose country code was written without `+` (or after `00`).
    """
    number = _parse(digits, "RU")
    if number is not None and phonenumbers.is_valid_number(number):
        return number
    return _parse(digits.removeprefix("00"), None)


def _parse(digits: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """Libphonenumber's reading of bare digits (`+` added without a region), or None."""
    try:
        return phonenumbers.parse(digits if region else "+" + digits, region)
    except phonenumbers.NumberParseException:
        return None


def normalize_phones(raw_numbers: Iterable[str]) -> list[str]:
    """Normalise many numbers, dropping repeats; name every bad one in a single error."""
    normalized: dict[str, None] = {}  # a set that keeps the order given
    bad: list[str] = []
    for raw in raw_numbers:
        try:
            phone = normalize_phone(raw)
        except InvalidRecipientError:
            bad.append(_shown(str(raw)))
            continue
        normalized[phone] = None
    if bad:
        raise InvalidRecipientError(
            f"Not valid phone numbers: {', '.join(bad)}",
            phones=tuple(bad),
            problem=SendProblem.INVALID_PHONE,
        )
    if not normalized:
        raise InvalidRecipientError("No phone numbers given", problem=SendProblem.NO_PHONES)
    return list(normalized)


_SHOWN_LENGTH = 40


def _shown(raw: str) -> str:
    """A bad number as an error may show it: printable (no lone surrogate), not too long."""
    text = raw.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 1] + "…"


preload()  # at import, which Home Assistant runs in an executor


def phone_digits(value: object) -> str:
    """A number as a gateway's answer may write it, as bare digits to compare.

    The `8` trunk prefix of a Russian number becomes `7`; anything not a digit (`+`,
    spaces) is dropped; None is the empty string.
    """
    text = str(value or "")
    # Gateways' answers mostly hold bare digits already: one C-level check, no copy.
    digits = text if text.isdigit() else "".join(ch for ch in text if ch.isdigit())
    if len(digits) == 11 and digits[0] == "8":
        return "7" + digits[1:]
    return digits


def mask_phone(phone: str) -> str:
    """A number with its middle hidden, for logs (`7916***4567`)."""
    if len(phone) <= 6:
        return "***"
    return f"{phone[:4]}***{phone[-4:]}"
