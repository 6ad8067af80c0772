"""Our own ids for messages, which the gateways that keep one (SMSC.ru, SMStele) store."""

from __future__ import annotations

import random
import re

_IDS = random.Random()  # noqa: S311 - an id must be unique, not secret
"""Our own generator of message ids, seeded from the system's randomness at start (no
one else's `random.seed` makes ids repeat)."""

MESSAGE_ID = re.compile(r"rs[0-9a-f]{18}")
"""The shape of the ids `new_message_id` makes."""


def new_message_id() -> str:
    """An id of ours for a message: short, unique, and taken by every gateway that keeps one.

    `rs` and 72 random bits in hex: 20 characters of `[a-z0-9]`, within SMSC.ru's and
    SMStele's id rules. Drawn from our own generator rather than `uuid4`, so that making
    one needs no system call on the way to the first request, where it would hand the
    interpreter to another thread (a storage write) mid-send.
    """
    return f"rs{_IDS.getrandbits(72):018x}"
