"""One emulated gateway per provider with the credentials and sender it accepts.

Shared by the integration tests, `scripts/benchmark` and `scripts/develop`.
"""

from __future__ import annotations

from dataclasses import dataclass

from custom_components.ru_sms.providers.models import Credentials, Provider
from tests.emulators.base import EmulatedGateway
from tests.emulators.devino import DevinoEmulator
from tests.emulators.smsc import SmscEmulator
from tests.emulators.smstele import SmsteleEmulator
from tests.emulators.stream import StreamEmulator


@dataclass(frozen=True, slots=True)
class EmulatedAccount:
    """An emulator class and the account it knows."""

    emulator: type[EmulatedGateway]
    credentials: Credentials
    sender: str


ACCOUNTS: dict[Provider, EmulatedAccount] = {
    Provider.SMSC: EmulatedAccount(
        SmscEmulator, Credentials(login="alerts", password="s3cret-pass"), "HomeAlert"
    ),
    Provider.SMSTELE: EmulatedAccount(
        SmsteleEmulator, Credentials(login="test:http", password="~test123"), "ALERTS"
    ),
    Provider.STREAM: EmulatedAccount(
        StreamEmulator, Credentials(login="user", password="secret-pass"), "ALERTS"
    ),
    Provider.DEVINO: EmulatedAccount(
        DevinoEmulator, Credentials(login="user", password="secret-pass"), "ALERTS"
    ),
}
