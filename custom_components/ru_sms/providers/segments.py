r"""SMS segment counting, the way the gateways count.

GSM-7 text fits 160 characters in one SMS and 153 per part when split; the extension
characters ``^ { } \ [ ~ ] | €`` and form feed take two places. Anything outside GSM-7
makes the whole text UCS-2: 70 units in one SMS, 67 per part; a character outside the
Basic Multilingual Plane (most emoji) takes two units. An escape pair or a surrogate pair
is never split across parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
_GSM7 = GSM7_BASIC | GSM7_EXTENSION


class Encoding(StrEnum):
    """How a text goes over the air."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"


_SINGLE = {Encoding.GSM7: 160, Encoding.UCS2: 70}
_PART = {Encoding.GSM7: 153, Encoding.UCS2: 67}


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """How a text splits into SMS parts."""

    encoding: Encoding
    units: int
    """Septets (GSM-7) or 16-bit units (UCS-2) the text takes."""
    segments: int

    @property
    def per_segment(self) -> int:
        """Units one part holds at this length."""
        return _SINGLE[self.encoding] if self.segments <= 1 else _PART[self.encoding]


def encoding_of(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM alphabet, else UCS-2."""
    return Encoding.GSM7 if _GSM7.issuperset(text) else Encoding.UCS2


def ucs2_characters(text: str) -> list[str]:
    """The characters that make `text` UCS-2 (outside the GSM alphabet), each once, in order."""
    return list(
        dict.fromkeys(ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION)
    )


def _unit_costs(text: str, encoding: Encoding) -> list[int]:
    if encoding is Encoding.GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


@lru_cache(maxsize=512)
def count_segments(text: str) -> SegmentInfo:
    """Count the parts `text` is sent in (0 for an empty text).

    Remembered for the last texts: an alert's parts are asked for on its way by the
    check of its length, the storm guard, the spending limits and the gateway's answer
    (with 200 callers at once, 200 other texts come between its check and its answer).
    """
    encoding = encoding_of(text)
    # The units without a look at each character (what most alerts need: one part).
    if encoding is Encoding.GSM7:
        units = len(text) + sum(text.count(ch) for ch in GSM7_EXTENSION)
    else:
        units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    if units == 0:
        return SegmentInfo(encoding, 0, 0)
    if units <= _SINGLE[encoding]:
        return SegmentInfo(encoding, units, 1)
    limit = _PART[encoding]
    segments, filled = 1, 0
    for cost in _unit_costs(text, encoding):
        # A pair that does not fit whole moves to the next part.
        if filled + cost > limit:
            segments += 1
            filled = 0
        filled += cost
    return SegmentInfo(encoding, units, segments)
