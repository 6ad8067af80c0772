"""One emulated gateway per provider with the credentials and sender it accepts.

Shared by the integration tests, `scripts/benchmark` and `scripts/develop`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from custom_components.ru_sms.providers.models import Credentials, GatewayId
from tests.emulators.base import EmulatedGateway
from tests.emulators.devino import DevinoEmulator
from tests.emulators.restapi import ExpiredAnswer, IdShape
from tests.emulators.smsc import NotFound, SmscEmulator
from tests.emulators.smstele import Cnt, SmsteleEmulator
from tests.emulators.stream import StreamEmulator

type Variant = Mapping[str, Any]
"""Emulator attributes to set: one documented variant of the gateway's answers."""


@dataclass(frozen=True, slots=True)
class EmulatedAccount:
    """An emulator class, the account it knows, and where its requests go."""

    emulator: type[EmulatedGateway]
    credentials: Credentials
    sender: str
    slug: str
    """The slug of the test entry's title (`notify.<slug>`, `sensor.<slug>_balance`)."""
    check_path: str
    """Where the credentials check goes."""
    send_paths: tuple[str, ...]
    fields: tuple[str, str, str]
    """The form fields of a send: text, sender, phones."""
    status_path: str
    balance_path: str | None = None
    incoming_path: str | None = None
    statistics_path: str | None = None
    variants: Mapping[str, Variant] = field(default_factory=dict)
    """Each documented variant of the gateway's answers, by name (the default is `{}`).

    "strictest" is the strictest documented reading of every request the client sends.
    """

    def emulator_for(self, variant: str) -> EmulatedGateway:
        """A new emulator of this gateway answering as `variant` says."""
        emulator = self.emulator()
        for name, value in self.variants.get(variant, {}).items():
            assert hasattr(emulator, name), name
            setattr(emulator, name, value)
        return emulator


ACCOUNTS: dict[GatewayId, EmulatedAccount] = {
    GatewayId.SMSC: EmulatedAccount(
        SmscEmulator,
        Credentials(login="alerts", password="s3cret-pass"),
        "HomeAlert",
        slug="smsc_alerts",
        check_path="balance.php",
        send_paths=("send.php",),
        fields=("mes", "sender", "phones"),
        status_path="/sys/status.php",
        balance_path="balance.php",
        variants={
            "strictest": {},  # its limits as documented, fmt as asked
            "not found as a status item": {"not_found": NotFound.ITEM},
            "numbers as strings": {"stringly": True},
        },
    ),
    GatewayId.SMSTELE: EmulatedAccount(
        SmsteleEmulator,
        Credentials(login="test:http", password="~test123"),
        "ALERTS",
        slug="smstele_test_http",
        check_path="status",
        send_paths=("sendsms",),
        fields=("mes", "sender", "phones"),
        status_path="/cgibin/status",
        variants={
            "strictest": {},  # the answers as the document prints them, cut short
            "clean JSON": {"documented_shapes": False},
            "cnt counts every number": {"cnt": Cnt.ALL},
            "cnt as the document's example 2": {"cnt": Cnt.SEED},
        },
    ),
    GatewayId.STREAM: EmulatedAccount(
        StreamEmulator,
        Credentials(login="user", password="secret-pass"),
        "ALERTS",
        slug="stream_user",
        check_path="Session/session.php",
        send_paths=("Send/SendSms/", "Send/SendBulk/", "Send/SendByTime/"),
        fields=("data", "sourceAddress", "destinationAddress"),
        status_path="/rest/State/state.php",
        balance_path="balance.php",
        incoming_path="Incoming/",
        statistics_path="Statistic/",
        variants={
            "strictest": {},  # names (case and all) and methods as documented
            "ids as the document prints them": {"id_shape": IdShape.DOCUMENT},
            "expired session as code 3": {"expired_answer": ExpiredAnswer.CODE_3},
            "expired session as text": {"expired_answer": ExpiredAnswer.TEXT},
            "session id unquoted": {"quote_session": False},
        },
    ),
    GatewayId.DEVINO: EmulatedAccount(
        DevinoEmulator,
        Credentials(login="user", password="secret-pass"),
        "ALERTS",
        slug="devino_user",
        check_path="user/sessionid",
        send_paths=("Sms/Send", "Sms/SendBulk", "Sms/SendByTimeZone"),
        fields=("Data", "SourceAddress", "DestinationAddress"),
        status_path="/rest/Sms/State",
        balance_path="User/Balance",
        incoming_path="Sms/In",
        statistics_path="Sms/Statistics",
        variants={
            "strictest": {"paths_any_case": False},  # paths as the document spells them
            "ids as the document prints them": {"id_shape": IdShape.DOCUMENT},
            "expired session as code 3": {"expired_answer": ExpiredAnswer.CODE_3},
            "expired session as text": {"expired_answer": ExpiredAnswer.TEXT},
            "session id unquoted": {"quote_session": False},
        },
    ),
}
"""Every emulated gateway: the tests' per-gateway facts are read from here, once."""


def by_gateway[T](read: Callable[[EmulatedAccount], T | None]) -> dict[GatewayId, T]:
    """A fact of every emulated gateway that has it (`by_gateway(lambda a: a.balance_path)`)."""
    return {
        provider: value
        for provider, account in ACCOUNTS.items()
        if (value := read(account)) is not None
    }
