"""A fixed, seeded fuzz corpus for the action and config-flow fields (issue 8).

Deterministic (one seed per field), so that a failure repeats and the run time stays
the same. Each family mixes hand-picked nasty values with generated ones; every list
holds at least `SIZE` inputs.
"""

from __future__ import annotations

import math
import random
from typing import Any

SIZE = 520


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - a corpus that repeats, not a secret


NASTY_TEXTS = [
    "",
    " ",
    "\t\n\r",
    "\x00",
    "\x00abc",
    "\x1b[31mred",
    "\ud800",
    "\udfff",
    "a\ud800b",
    "\udc00\ud800",
    "😀",
    "😀" * 600,
    "ж" * 2000,
    "a" * 10000,
    "%s%n%x{0}{name}",
    "'; DROP TABLE messages; --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "\u202etxet",
    "\ufeffBOM",
    "null",
    "None",
    "0",
    "-1",
    "1e309",
    "NaN",
    "+7 (916) 123-45-67",
    "89161234567",
    "http://u:p@127.0.0.1/",
    "${jndi:ldap://x}",
    "\\",
    '"',
    "\u0301\u0301\u0301",
    "ﷺ" * 50,
    "\U000e0001",
]
NASTY_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    math.nan,
    math.inf,
    -math.inf,
    10**30,
    -(10**30),
    [],
    {},
    ["a"],
    {"a": 1},
    [None],
    b"bytes",
]
_ALPHABETS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
    " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "".join(chr(c) for c in range(32)),
    "\ud800\udbff\udc00\udfff",
    "😀🚨🔥€№«»—\u200b\u00a0",
]


def text(rng: random.Random) -> str:
    """A random text from a mix of alphabets, of a length from 0 to a few thousand."""
    length = rng.choice([0, 1, 3, 11, 12, 70, 71, 160, 161, 500, 1001, 3000])
    alphabet = "".join(rng.sample(_ALPHABETS, rng.randint(1, 3)))
    return "".join(rng.choice(alphabet) for _ in range(length))


def texts(seed: int) -> list[Any]:
    """Texts for a free-text field: the nasty ones, then generated, a few non-texts."""
    rng = _rng(seed)
    corpus: list[Any] = [*NASTY_TEXTS, *NASTY_VALUES]
    while len(corpus) < SIZE:
        corpus.append(text(rng))
    return corpus


def senders(seed: int) -> list[Any]:
    rng = _rng(seed)
    corpus: list[Any] = [*NASTY_TEXTS, *NASTY_VALUES, "ALERTS", "HomeAlert", "123456789012345"]
    while len(corpus) < SIZE:
        corpus.append(
            rng.choice(
                [
                    text(rng)[:20],
                    "".join(rng.choice("AZaz09 ._&!'+-") for _ in range(rng.randint(0, 16))),
                ]
            )
        )
    return corpus


def phones(seed: int) -> list[Any]:
    rng = _rng(seed)
    corpus: list[Any] = [*NASTY_TEXTS, *NASTY_VALUES, ["79161234567"] * 3, ["+7916", "x"]]
    while len(corpus) < SIZE:
        count = rng.choice([1, 1, 2, 5, 40])
        numbers = [
            rng.choice(
                [
                    "7916" + "".join(rng.choice("0123456789") for _ in range(7)),
                    "+" + "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 20))),
                    text(rng)[:20],
                    "8 (916) " + str(rng.randint(0, 10**7)),
                ]
            )
            for _ in range(count)
        ]
        corpus.append(numbers if count > 1 or rng.random() < 0.5 else numbers[0])
    return corpus


def moments(seed: int) -> list[Any]:
    """Send-at values: dates of every year, zones up to ±14 h, broken strings."""
    rng = _rng(seed)
    corpus: list[Any] = [
        *NASTY_TEXTS,
        *NASTY_VALUES,
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "2100-01-01 00:00",
        "2099-12-31T23:30:00+00:00",
        "1999-12-31 23:59",
        "2027-02-29 10:00",
        "2027-13-01 10:00",
        "2027-01-01 25:00",
        "2027-01-01T10:00:00+25:00",
        "tomorrow",
    ]
    while len(corpus) < SIZE:
        year = rng.choice([1, 2, 1969, 1970, 2000, 2026, 2027, 2030, 2099, 2100, 5000, 9999])
        year = year if rng.random() < 0.7 else rng.randint(1, 9999)
        moment = f"{year:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        moment += rng.choice(["", f" {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"])
        if rng.random() < 0.5 and " " in moment:
            sign = rng.choice("+-")
            moment = moment.replace(" ", "T") + f":00{sign}{rng.randint(0, 14):02d}:00"
        corpus.append(moment if rng.random() < 0.9 else moment + text(rng)[:5])
    return corpus


def periods(seed: int) -> list[Any]:
    """Validity values: period dicts, `HH:MM:SS` texts, seconds, out-of-range numbers."""
    rng = _rng(seed)
    corpus: list[Any] = [
        *NASTY_TEXTS,
        *NASTY_VALUES,
        {"days": 10**9},
        {"weeks": 10**12},
        {"seconds": -5},
        {"hours": math.nan},
        {"minutes": math.inf},
        "99999999999:00:00",
        "00:00:30",
        "24:00:00",
        "24:00:01",
        10**20,
    ]
    units = ["days", "hours", "minutes", "seconds", "milliseconds", "weeks"]
    while len(corpus) < SIZE:
        pick = rng.random()
        if pick < 0.5:
            corpus.append(
                {
                    unit: rng.choice([0, 1, 30, 59, 90, 1440, 10**6, 10**12, -1, 0.5, "7"])
                    for unit in rng.sample(units, rng.randint(1, 3))
                }
            )
        elif pick < 0.8:
            corpus.append(
                f"{rng.randint(0, 10 ** rng.randint(1, 12))}:{rng.randint(0, 99):02d}:{rng.randint(0, 99):02d}"
            )
        else:
            corpus.append(
                rng.choice([rng.randint(-100, 10**15), rng.random() * 10 ** rng.randint(0, 20)])
            )
    return corpus


def flags(seed: int) -> list[Any]:
    """Values for a boolean field."""
    rng = _rng(seed)
    corpus: list[Any] = [*NASTY_TEXTS, *NASTY_VALUES, "on", "off", "yes", "no", "true", "1"]
    while len(corpus) < SIZE:
        corpus.append(rng.choice([True, False, rng.randint(-5, 5), text(rng)[:8], "true", "false"]))
    return corpus


SAFE_HOSTS = ["127.0.0.1", "127.0.0.1:1", "127.0.0.1:0", "127.0.0.1:99999", "127.0.0.1:abc"]
"""Hosts a generated address may name: loopback only (the tests reach nothing else)."""
BAD_HOSTS = [
    "",
    " ",
    "exa mple",
    "ex#ample",
    "ex?ample",
    "\ud800",
    "[::1",
    "[zz]",
    "a" * 300,
    "xn--",
    "ex\x00ample",
    "ex/ample",
    "%31%32%37.0.0.1",
    "..",
]
UNUSABLE_ADDRESSES = [
    "0.0.0.0",  # noqa: S104 - refused, never bound
    "169.254.169.254",
    "[::]",
    "[fe80::1%eth0]",
    "224.0.0.1",
    "255.255.255.255",
    "[::ffff:169.254.169.254]",
]
"""IP addresses no gateway can have, as a host or in a URL."""


def urls(seed: int, emulator_url: str) -> list[Any]:
    """Base URLs: credentials, queries, fragments, schemes, ports, broken hosts."""
    rng = _rng(seed)
    corpus: list[Any] = [
        *NASTY_TEXTS[:6],
        *NASTY_VALUES,
        emulator_url,
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "127.0.0.1/sys/",
        "//127.0.0.1/",
        "http://",
        "https:///path",
        "http://user:pass@127.0.0.1/",
        "http://user@127.0.0.1/",
        "http://127.0.0.1/?psw=secret",
        "http://127.0.0.1/#frag",
        "http://[::1/",
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:-1/",
        "HTTP://127.0.0.1:1/",
        *(f"http://{address}:8881/" for address in UNUSABLE_ADDRESSES),
    ]
    while len(corpus) < SIZE:
        scheme = rng.choice(["http", "https", "HTTPS", "ftp", "", "ws", "h\ud800"])
        userinfo = rng.choice(["", "", "", "u@", "u:p@", "u:p%40x@", ":@", "a:b@c@"])
        host = rng.choice(SAFE_HOSTS * 3 + BAD_HOSTS)
        path = rng.choice(["/", "/sys/", "", "/a b/", "/%zz/", "/ж/", "/../"])
        query = rng.choice(["", "", "", "?", "?a=b", "?psw=x%20y"])
        fragment = rng.choice(["", "", "", "#", "#x"])
        url = f"{scheme}://{userinfo}{host}{path}{query}{fragment}"
        corpus.append(url if rng.random() < 0.9 else url + text(rng)[:6])
    return corpus


def hosts(seed: int) -> list[Any]:
    """SMStele host names: loopback, schemes, credentials, paths, broken names."""
    rng = _rng(seed)
    corpus: list[Any] = [
        *NASTY_TEXTS[:10],
        *NASTY_VALUES,
        *BAD_HOSTS,
        "127.0.0.1",
        "https://127.0.0.1",
        "user:pass@127.0.0.1",
        "127.0.0.1/cgibin/",
        "127.0.0.1?x",
        "127.0.0.1#x",
        "127.0.0.1:8882",
        *UNUSABLE_ADDRESSES,
    ]
    while len(corpus) < SIZE:
        base = rng.choice(["127.0.0.1", *BAD_HOSTS, *UNUSABLE_ADDRESSES])
        prefix = rng.choice(["", "", "http://", "u:p@", " ", "@"])
        suffix = rng.choice(["", "", "/", ":1", "?q", "#f", " ", "\ud800", text(rng)[:4]])
        corpus.append(prefix + base + suffix)
    return corpus


def ports(seed: int) -> list[Any]:
    rng = _rng(seed)
    corpus: list[Any] = [*NASTY_TEXTS[:10], *NASTY_VALUES, 1, 65535, 65536, 0, 8881.5, "8882"]
    while len(corpus) < SIZE:
        corpus.append(
            rng.choice(
                [
                    rng.randint(-(10**6), 10**6),
                    rng.random() * 10 ** rng.randint(0, 30),
                    str(rng.randint(0, 70000)),
                    rng.choice([math.nan, math.inf, -math.inf, 1e308]),
                ]
            )
        )
    return corpus
