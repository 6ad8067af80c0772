"""Stream Telecom: the REST API at `https://gateway.api.sc/rest/`.

What it shares with Devino (sessions, errors, per-segment ids) is in `restapi.py`; here
are its paths (with their trailing slashes), parameter names, states and its HLR lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC
from typing import Any

from .description import (
    LOGIN_AND_PASSWORD,
    Endpoint,
    GatewayDescription,
    HttpMethod,
    StatusMode,
    StatusPolicy,
)
from .errors import InvalidRequestError
from .http import HttpAnswer, unreadable
from .models import Capabilities, DeliveryState, LookupResult, LookupState, Provider
from .parsing import to_int, to_str
from .phone import normalize_phones
from .restapi import RestApiForms, RestApiGateway, check_answer, field, read_ids

STREAM_STATES: Mapping[int, DeliveryState] = {
    -1: DeliveryState.SENT,
    0: DeliveryState.DELIVERED,
    42: DeliveryState.FAILED,
    46: DeliveryState.EXPIRED,
    255: DeliveryState.UNKNOWN,  # status unavailable (archived)
}
"""Stream's `State` codes, normalised."""

HLR_STATES: Mapping[int, LookupState] = {
    -1: LookupState.PENDING,
    0: LookupState.REACHABLE,
    42: LookupState.UNREACHABLE,
}
"""Stream's HLR `State` codes; any other is a failed lookup."""


FORMS = RestApiForms(
    login="Session/session.php",
    balance="Balance/balance.php",
    state="State/state.php",
    incoming="Incoming/",
    statistics="Statistic/",
    session="sessionId",
    send_one="Send/SendSms/",
    send_many="Send/SendBulk/",
    send_local_time="Send/SendByTime/",
    destination="destinationAddress",
    destinations="destinationAddresses",
    destinations_joined=True,
    data="data",
    source="sourceAddress",
    validity="validity",
    send_date="sendDate",
    send_date_tz=UTC,
    # `Send/SendBulk/` lists no `sendDate` (3.3.3): a timed send goes one number a request.
    bulk_takes_send_date=False,
    statistics_tz=UTC,
    max_statistics_period=None,
    failed=("NotDelivered",),
    in_progress=("InProgress",),
)
"""Stream's paths and field names (`streamtelecom-rest.txt` 3.1 to 3.3.7)."""


class StreamClient(RestApiGateway):
    """A Stream Telecom account (login and password; a session id signs each call)."""

    forms = FORMS
    description = GatewayDescription(
        id=Provider.STREAM,
        name="Stream Telecom",
        fields=LOGIN_AND_PASSWORD,
        # One state request per segment id; flood errors ask to wait a minute.
        status=StatusPolicy(StatusMode.SEGMENT),
        # A lookup answers within about half a minute.
        lookup_wait=(2.0, 3.0, 5.0, 10.0, 10.0),
        # Where the document gives a GET and a POST form (session, balance, state), the
        # POST one, the session id in the body; incoming and statistics are GET only.
        endpoints=(
            Endpoint(FORMS.login, HttpMethod.POST, "streamtelecom-rest.txt 3.1.1"),
            Endpoint(FORMS.balance, HttpMethod.POST, "streamtelecom-rest.txt 3.2.1"),
            Endpoint(FORMS.send_one, HttpMethod.POST, "streamtelecom-rest.txt 3.3.1"),
            Endpoint(FORMS.send_local_time, HttpMethod.POST, "streamtelecom-rest.txt 3.3.2"),
            Endpoint(FORMS.send_many, HttpMethod.POST, "streamtelecom-rest.txt 3.3.3"),
            Endpoint(FORMS.state, HttpMethod.POST, "streamtelecom-rest.txt 3.3.5"),
            Endpoint(FORMS.incoming, HttpMethod.GET, "streamtelecom-rest.txt 3.3.6.1"),
            Endpoint(FORMS.statistics, HttpMethod.GET, "streamtelecom-rest.txt 3.3.7"),
            Endpoint("Send/SendHLR/", HttpMethod.POST, "provider notes: HLR (a paid request)"),
            # [guess] the only known form is `State/HLR/?messageId=`, a query.
            Endpoint("State/HLR/", HttpMethod.GET, "provider notes: HLR state"),
        ),
    )
    default_base_url = "https://gateway.api.sc/rest/"
    capabilities = Capabilities(
        sender_required=True,
        balance=True,
        lookup=True,
        lookup_is_deferred=True,
        incoming=True,
        statistics=True,
        recipient_local_time=True,
        # Undocumented: Devino's limit, same API family. [guess]
        max_text_length=2000,
    )
    state_table = STREAM_STATES

    # -- HLR --------------------------------------------------------------------------

    async def lookup(self, phones: Iterable[str]) -> list[LookupResult]:
        """Start an HLR request per number (`Send/SendHLR/`); the results are pending.

        Numbers the gateway refuses come back failed with the reason's code; when every
        number fails, the error is raised.
        """
        numbers = normalize_phones(phones)
        return await self._fan_out(
            numbers,
            self._start_lookup,
            lambda phone, err: LookupResult(
                phone=phone, state=LookupState.FAILED, error_code=err.code
            ),
        )

    async def _start_lookup(self, phone: str) -> LookupResult:
        def read(answer: HttpAnswer) -> LookupResult:
            ids = read_ids(answer, phones=(phone,))
            return LookupResult(phone=phone, state=LookupState.PENDING, request_id=ids[0])

        # A lookup is charged: like a send, it is not repeated when it may have gone through.
        return await self._request(
            "Send/SendHLR/", [("destinationAddress", phone)], read, may_deliver=True
        )

    async def lookup_result(self, pending: Sequence[LookupResult]) -> list[LookupResult]:
        """Ask `State/HLR/` about each pending lookup; final ones are returned as they are."""
        asking = [p for p in pending if not p.is_final and p.request_id]
        answers = await self._fan_out(
            asking,
            self._lookup_state,
            lambda item, err: replace(item, state=LookupState.FAILED, error_code=err.code),
            tolerate=InvalidRequestError,
            all_failed_raises=False,
        )
        by_item = {id(item): answer for item, answer in zip(asking, answers, strict=True)}
        return [by_item.get(id(item), item) for item in pending]

    async def _lookup_state(self, item: LookupResult) -> LookupResult:
        def read(answer: HttpAnswer) -> LookupResult:
            result = read_hlr_state(check_answer(answer, may_deliver=False), item)
            if result is None:
                raise unreadable(answer, may_deliver=False)
            return result

        return await self._request("State/HLR/", [("messageId", item.request_id or "")], read)


def read_hlr_state(data: Any, item: LookupResult) -> LookupResult | None:
    """The lookup's answer from `State/HLR/`, or None when the answer has no state."""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict):
        return None
    code = to_int(field(data, "State"))
    if code is None:
        return None
    port = to_int(field(data, "Port"))
    error = to_str(field(data, "Error"))
    return LookupResult(
        phone=item.phone,
        state=HLR_STATES.get(code, LookupState.FAILED),
        request_id=item.request_id,
        imsi=to_str(field(data, "IMSI")),
        msc=to_str(field(data, "MSC")),
        ported=None if port is None else port == 1,
        raw_code=str(code),
        error_code=None if error in (None, "0") else error,
    )
