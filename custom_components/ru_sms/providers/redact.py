"""Scrubbing secrets out of texts, in every form a gateway may echo them back.

A gateway that repeats the request in its error text repeats the password as it went
over the wire: URL-encoded (with `+` or `%20` for a space, hex digits in either case),
in windows-1251 percent-encoding, JSON-escaped, or as the base64 of `login:password`.
`Redactor` knows all these forms of an account's secrets and replaces each by `***`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
import json
import re
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 3
"""Shorter values are not scrubbed: they would mask ordinary words and digits."""


def secret_forms(secret: str) -> set[str]:
    """Every text `secret` can take on the wire or in an answer (the raw one included)."""
    forms = {secret}
    for encoding in ("utf-8", "cp1251"):
        try:
            secret.encode(encoding)
        except UnicodeEncodeError:
            continue
        forms.add(quote_plus(secret, encoding=encoding))
        forms.add(quote(secret, safe="", encoding=encoding))
        forms.add(quote(secret, encoding=encoding))
    forms.add(json.dumps(secret)[1:-1])
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    if _encodable(secret):
        forms.add(base64.b64encode(secret.encode()).decode())
    return {form for form in forms if form}


def basic_auth_forms(login: str, password: str) -> set[str]:
    """The base64 of `login:password` (HTTP basic authentication), padded and not."""
    if not (_encodable(login) and _encodable(password)):
        return set()
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {token, token.rstrip("=")}


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


class Redactor:
    """Replaces every form of a set of secrets in texts (hex case ignored)."""

    def __init__(self, secrets: Iterable[str], extra_forms: Iterable[str] = ()) -> None:
        """Know `secrets` in all their forms, and `extra_forms` as they are."""
        forms: set[str] = set(extra_forms)
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                forms |= secret_forms(secret)
        forms = {form for form in forms if len(form) >= MIN_SECRET_LENGTH}
        # Longest first: a raw secret inside its own encoding must not leave a part behind.
        self._pattern = (
            re.compile(
                "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)),
                re.IGNORECASE,
            )
            if forms
            else None
        )

    def __bool__(self) -> bool:
        """Whether there is anything to scrub."""
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        """`text` with every form of every secret masked."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)
