"""A fifth gateway, made up here: nothing in custom_components/ knows about it.

"Pigeon SMS" has a client class, its declared description and an emulator, all in this
file. It is registered the way `providers/` registers the real four, then taken through
the config flow, a send, delivery status until final, the balance and a lookup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
import json
from typing import Any

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.providers import (
    AccountField,
    Balance,
    Capabilities,
    DeliveryState,
    DeliveryStatus,
    FieldType,
    GatewayDescription,
    LookupResult,
    LookupState,
    MessageRef,
    RecipientResult,
    SendOptions,
    SendResult,
    SmsGateway,
    StatusMode,
    StatusPolicy,
    normalize_phones,
    register,
    unregister,
)
from custom_components.ru_sms.providers.base import segments_of
from custom_components.ru_sms.providers.errors import (
    AuthenticationError,
    ErrorCode,
    ErrorTable,
    GatewayResponseError,
    InsufficientFundsError,
    error_for,
)
from custom_components.ru_sms.providers.http import unreadable
from tests.emulators.base import EmulatedGateway, json_response

LOGIN = "pigeon"
PASSWORD = "coo-coo-42"
IVAN = "79161234567"

# -- the gateway's side: emulator ----------------------------------------------------------


class PigeonEmulator(EmulatedGateway):
    """Pigeon SMS: form POSTs under `/api/`, JSON answers; delivered on the second ask."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: dict[str, int] = {}
        self.lookups: dict[str, str] = {}

    def setup_routes(self) -> None:
        def signed(handler: Any) -> Any:
            async def check(request: web.Request) -> web.Response:
                form = request["form"]
                if (form.get("login"), form.get("password")) != (LOGIN, PASSWORD):
                    return json_response({"code": 1, "error": "wrong login"}, status=401)
                response: web.Response = await handler(form)
                return response

            return check

        async def send(form: Mapping[str, str]) -> web.Response:
            ids = {
                phone: f"p{len(self.asked) + i}" for i, phone in enumerate(form["to"].split(","))
            }
            self.asked |= dict.fromkeys(ids.values(), 0)
            return json_response({"ids": ids})

        async def status(form: Mapping[str, str]) -> web.Response:
            self.asked[form["id"]] += 1
            state = "delivered" if self.asked[form["id"]] >= 2 else "on_its_way"
            return json_response({"id": form["id"], "state": state})

        async def balance(_form: Mapping[str, str]) -> web.Response:
            return json_response({"balance": "42.50", "currency": "RUB"})

        async def lookup(form: Mapping[str, str]) -> web.Response:
            request_id = f"h{len(self.lookups)}"
            self.lookups[request_id] = form["to"]
            return json_response({"id": request_id})

        async def lookup_result(form: Mapping[str, str]) -> web.Response:
            return json_response({"id": form["id"], "state": "reachable", "operator": "MTS"})

        for path, handler in {
            "send": send,
            "status": status,
            "balance": balance,
            "lookup": lookup,
            "lookup_result": lookup_result,
        }.items():
            self.app.router.add_post(f"/api/{path}", signed(handler))


# -- the client: its description and its requests -------------------------------------------

ERRORS: ErrorTable = {
    1: ErrorCode(AuthenticationError, "Pigeon SMS refused the login"),
    2: ErrorCode(InsufficientFundsError, "Not enough seed on the Pigeon SMS account"),
}
STATES = {"on_its_way": DeliveryState.SENT, "delivered": DeliveryState.DELIVERED}


def pigeon_url(data: Mapping[str, Any]) -> str:
    """Pigeon SMS customers each get a host and a port."""
    return f"http://{data['host']}:{data['port']}/api/"


class PigeonClient(SmsGateway):
    """A Pigeon SMS account."""

    description = GatewayDescription(
        id="pigeon",
        name="Pigeon SMS",
        fields=(
            AccountField("username"),
            AccountField("password", secret=True),
            AccountField("host"),
            AccountField("port", default=8080, type=FieldType.NUMBER, minimum=1, maximum=65535),
        ),
        status=StatusPolicy(StatusMode.MESSAGE, first_after=5.0),
        base_url=pigeon_url,
        per_host=True,
        lookup_wait=(0.0, 0.0),
    )
    capabilities = Capabilities(balance=True, lookup=True, lookup_is_deferred=True)
    default_base_url = "http://127.0.0.1:9/api/"

    async def check_credentials(self) -> None:
        await self.balance()

    async def balance(self) -> Balance:
        data = await self._ask("balance", {})
        return Balance(amount=Decimal(data["balance"]), currency=data["currency"])

    async def delivery_status(self, messages: Sequence[MessageRef]) -> list[DeliveryStatus]:
        async def one(ref: MessageRef) -> DeliveryStatus:
            data = await self._ask("status", {"id": ref.message_id})
            return DeliveryStatus(
                message_id=ref.message_id,
                phone=ref.phone,
                state=STATES.get(data["state"], DeliveryState.UNKNOWN),
                raw_code=data["state"],
            )

        return await self._fan_out(
            messages,
            one,
            lambda ref, err: DeliveryStatus(ref.message_id, ref.phone, DeliveryState.UNKNOWN),
        )

    async def lookup(self, phones: Iterable[str]) -> list[LookupResult]:
        async def one(phone: str) -> LookupResult:
            data = await self._ask("lookup", {"to": phone}, may_deliver=True)
            return LookupResult(phone=phone, state=LookupState.PENDING, request_id=data["id"])

        return await self._fan_out(
            normalize_phones(phones),
            one,
            lambda phone, err: LookupResult(phone=phone, state=LookupState.FAILED),
        )

    async def lookup_result(self, pending: Sequence[LookupResult]) -> list[LookupResult]:
        results = []
        for item in pending:
            data = await self._ask("lookup_result", {"id": item.request_id or ""})
            results.append(
                LookupResult(
                    phone=item.phone,
                    state=LookupState(data["state"]),
                    request_id=item.request_id,
                    operator=data["operator"],
                )
            )
        return results

    async def _send_chunk(self, phones: list[str], text: str, options: SendOptions) -> SendResult:
        form = {"to": ",".join(phones), "text": text}
        if options.sender:
            form["from"] = options.sender
        data = await self._ask("send", form, may_deliver=True)
        return SendResult(
            recipients=tuple(
                RecipientResult(
                    phone=phone,
                    accepted=True,
                    message_ids=(data["ids"][phone],),
                    segments=segments_of(text),
                )
                for phone in phones
            )
        )

    async def _ask(
        self, path: str, form: dict[str, str], *, may_deliver: bool = False
    ) -> dict[str, Any]:
        signed = {
            "login": self._credentials.login or "",
            "password": self._credentials.password or "",
            **form,
        }

        async def attempt(base: str) -> dict[str, Any]:
            answer = await self._submit(path, signed, may_deliver=may_deliver, base_url=base)
            try:
                data: dict[str, Any] = json.loads(answer.text)
            except ValueError as err:
                raise unreadable(answer, may_deliver=may_deliver) from err
            if "error" in data:
                entry = ERRORS.get(data["code"], ErrorCode(GatewayResponseError, "Unknown error"))
                raise error_for(entry, code=data["code"], text=data["error"])
            return data

        return await self._call(attempt)


# -- Home Assistant, knowing nothing of it ---------------------------------------------------


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load ru_sms from custom_components/."""


@pytest.fixture
async def pigeon(socket_enabled: None) -> AsyncIterator[PigeonEmulator]:
    """Pigeon SMS registered, its emulator running; both gone after the test."""
    register(PigeonClient)
    emulator = PigeonEmulator()
    emulator.hang_seconds = 1.0
    await emulator.start()
    yield emulator
    await emulator.stop()
    unregister("pigeon")


async def call(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    """Call one of ru_sms's actions and return its response."""
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_a_gateway_declared_in_tests_works_end_to_end(
    hass: HomeAssistant, pigeon: PigeonEmulator, freezer: FrozenDateTimeFactory
) -> None:
    port = int(pigeon.base_url.rsplit(":", 1)[1].strip("/"))
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    picker = result["data_schema"].schema["provider"].config["options"]
    assert {"value": "pigeon", "label": "Pigeon SMS"} in picker

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"provider": "pigeon"}
    )
    assert result["step_id"] == "credentials"
    assert set(result["data_schema"].schema) >= {"username", "password", "host", "port"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"username": LOGIN, "password": PASSWORD, "host": "127.0.0.1", "port": port},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Pigeon SMS ({LOGIN})"
    entry = result["result"]
    assert entry.unique_id == f"pigeon:{LOGIN}:127.0.0.1"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    # The balance sensor shows what the gateway told.
    (balance,) = [
        s.entity_id for s in hass.states.async_all("sensor") if s.entity_id.endswith("_balance")
    ]
    assert hass.states.get(balance).state == "42.50"

    # A send, then its delivery followed until final.
    statuses: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_message_status", statuses.append)
    response = await call(
        hass, "send_message", config_entry_id=entry.entry_id, phones=[IVAN], message="Boiler"
    )
    assert response["accepted"] == 1
    (message_id,) = response["recipients"][0]["message_ids"]
    assert pigeon.count("send") == 1
    await hass.async_block_till_done()  # followed once the caller has its answer

    await tick(hass, freezer, 5)  # the first look, as the gateway declared
    await tick(hass, freezer, 60)
    assert [e.data["state"] for e in statuses][-1] == "delivered"
    assert statuses[-1].data["final"] is True
    asked = pigeon.count("status")
    await tick(hass, freezer, 600)
    assert pigeon.count("status") == asked  # final: never asked again

    status = await call(
        hass, "get_status", config_entry_id=entry.entry_id, message_ids=[message_id]
    )
    assert status["statuses"][0]["state"] == "delivered"

    # A lookup that answers later, waited for as the gateway declared.
    lookup = await call(hass, "lookup_number", config_entry_id=entry.entry_id, phones=[IVAN])
    assert lookup["results"][0]["reachable"] is True
    assert lookup["results"][0]["operator"] == "MTS"

    assert await hass.config_entries.async_unload(entry.entry_id)
