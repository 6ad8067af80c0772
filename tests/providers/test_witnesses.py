"""Code nobody on this project wrote, against our emulators: third-party clients as witnesses.

If an emulator only understood what our client sends, these would fail: they write their
requests their own way (GET with everything in the query, fmt 3 or none at all, Devino's
paths in lower case, `sessionId`, `Validity=0`, `time=0`, a status asked in list form).

- PyPI `smsc` 0.1.1: SMSC.ru by GET, fmt=3; send, price, status (a list of one), balance.
- PyPI `smsc-client` 0.0.1: SMSC.ru by POST with no fmt (the text answer,
  `OK - 1 SMS, ID - 1001`); send.
- PyPI `sw-python-sms-devino` 0.0.2: Devino's session, balance and state by GET, sends by
  POST, paths as `/user/sessionId`, `/sms/sendBulk`.

They are blocking (requests): each call runs in a worker thread while the emulator serves
on the event loop. Where a client hard-codes the gateway's address, it is pointed at the
emulator (a module attribute), nothing else of it is touched.
"""

from __future__ import annotations

import asyncio
import logging
from types import ModuleType
from typing import Any
import uuid

import pytest

from custom_components.ru_sms.providers.models import GatewayId
from tests.emulators.devino import DevinoEmulator
from tests.emulators.smsc import SmscEmulator

PHONE = "79161234567"
OTHER = "79162223344"


@pytest.fixture
async def smsc_gateway(emulators: Any) -> SmscEmulator:
    """The fixture checks that no documented limit was broken."""
    emulator: SmscEmulator = await emulators(GatewayId.SMSC)
    return emulator


@pytest.fixture
async def devino_gateway(emulators: Any) -> DevinoEmulator:
    emulator: DevinoEmulator = await emulators(GatewayId.DEVINO)
    return emulator


@pytest.fixture
def smsc_api() -> ModuleType:
    """PyPI `smsc`'s api module (importing it calls `logging.basicConfig`: undone)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    from smsc import api  # here: its side effect is undone at once

    root.handlers[:] = handlers
    root.setLevel(level)
    return api


async def run(call: Any, *args: Any, **kwargs: Any) -> Any:
    """A blocking call of a witness, in a worker thread."""
    return await asyncio.to_thread(call, *args, **kwargs)


async def test_pypi_smsc(
    smsc_gateway: SmscEmulator, smsc_api: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smsc.messages import SMSMessage

    monkeypatch.setattr(smsc_api.SMSC, "_url", smsc_gateway.base_url)
    client = smsc_api.SMSC(login="alerts", password="s3cret-pass", sender="HomeAlert")

    sent = await run(client.send, to=PHONE, message=SMSMessage(text="Протечка на кухне"))
    price = await run(client.get_cost, to=[PHONE, OTHER], message=SMSMessage(text="Two"))
    smsc_gateway.advance(10)
    (status,) = await run(client.get_status, to=PHONE, msg_id=str(sent.message_id))
    balance = await run(client.get_balance)

    assert (sent.error, sent.message_id, sent.count, sent.cost) == (None, 1001, 1, 1.9)
    assert smsc_gateway.messages[(1001, PHONE)].text == "Протечка на кухне"
    assert (price.error, price.count, price.cost) == (None, 2, 3.8)
    assert (status.error, status.status.status_id, status.status.name) == (None, 1, "Доставлено")
    assert status.data["phone"] == PHONE
    assert (balance.error, balance.balance, balance.currency) == (None, 98.1, "RUB")
    methods = {(r.method, r.path.rsplit("/", 1)[1]) for r in smsc_gateway.requests}
    assert methods == {("GET", "send.php"), ("GET", "status.php"), ("GET", "balance.php")}


async def test_pypi_smsc_client(smsc_gateway: SmscEmulator) -> None:
    from smsc_client import SMSCAPI

    api = SMSCAPI(login="alerts", password="s3cret-pass")
    api._domain = smsc_gateway.base_url.removesuffix("sys/")  # its hard-coded https://smsc.ru/

    sent = await run(
        api.default.send, phones=PHONE, mes="Boiler failure", id=uuid.uuid4(), sender="HomeAlert"
    )

    assert (sent.OK, sent.ID) == ("1 SMS", "1001")
    (request,) = smsc_gateway.requests
    assert request.method == "POST"
    assert "fmt" not in request.form  # fmt 0: the text answer
    assert request.form["time"] == "0"


async def test_pypi_sw_python_sms_devino(devino_gateway: DevinoEmulator) -> None:
    from sms_devino.client import DevinoClient

    client = DevinoClient("user", "secret-pass", url=devino_gateway.base_url.rstrip("/"))

    balance = await run(client.get_balance)
    one = await run(client.send_one, "ALERTS", PHONE, "Water leak")
    bulk = await run(client.send_bulk, "ALERTS", [PHONE, OTHER], "Water leak")
    devino_gateway.advance(120)
    state = await run(client.get_state, one.sms_ids[0])

    assert balance == 100.0
    assert (one.address, len(one.sms_ids)) == (PHONE, 1)
    assert [(r.address, len(r.sms_ids)) for r in bulk] == [(PHONE, 1), (OTHER, 1)]
    assert (state.code, state.description, state.price) == (0, "Delivered", 1.5)
    assert state.reported_dt is not None
    assert [(r.method, r.path) for r in devino_gateway.requests] == [
        ("GET", "/rest/user/sessionId"),
        ("GET", "/rest/user/balance"),
        ("POST", "/rest/sms/send"),
        ("POST", "/rest/sms/sendBulk"),
        ("GET", "/rest/sms/state"),
    ]
