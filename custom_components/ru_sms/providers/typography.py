"""Typographic characters and their plain GSM-7 look-alikes.

One typographic character (`—`, `«»`, `№`, a non-breaking space) outside the GSM
alphabet makes a whole text UCS-2: 70 characters per SMS instead of 160. Replaced by its
plain look-alike, an English alert with an em dash goes at half the parts. Transliteration
uses the same table after turning Cyrillic into Latin.
"""

from __future__ import annotations

from .segments import Encoding, encoding_of

PLAIN: dict[str, str] = {
    "№": "N",
    "«": '"',
    "»": '"',
    "„": '"',
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "`": "'",
    "—": "-",
    "–": "-",
    "‐": "-",
    "‑": "-",
    "−": "-",
    "…": "...",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
}
"""Each typographic character and what it becomes."""
PLAIN_TABLE = str.maketrans(PLAIN)


def replace_typography(text: str) -> str:
    """`text` with its typographic characters made plain, where that makes it GSM-7.

    A text that stays UCS-2 anyway (Cyrillic, an emoji) is left as it was: replacing
    its dashes and quotes would save nothing.
    """
    plain = text.translate(PLAIN_TABLE)
    if plain != text and encoding_of(plain) is Encoding.GSM7:
        return plain
    return text
