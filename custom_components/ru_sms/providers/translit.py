"""Transliteration of Cyrillic text to Latin, for gateways that do not do it themselves.

The scheme is Wikipedia's romanisation of Russian (https://iuliia.ru/wikipedia/), as
implemented by the `iuliia` library: it reads naturally (`Щукин` → `Shchukin`, `ёжик` →
`yozhik`). Typographic characters outside the GSM alphabet become their plain look-alikes
(`№` → `N`, `«»` → `"`, `—` → `-`: the table of `typography`), so that the text goes
as cheap GSM-7.
"""

from __future__ import annotations

import iuliia

from .typography import PLAIN_TABLE

SCHEME = iuliia.WIKIPEDIA


def preload() -> None:
    """Read the scheme's definition file now (it is otherwise read on first use)."""
    _ = SCHEME.description


def transliterate(text: str) -> str:
    """Cyrillic to Latin, typographic characters to plain ones; the rest unchanged."""
    return str(SCHEME.translate(text)).translate(PLAIN_TABLE)


preload()  # at import, which Home Assistant runs in an executor
