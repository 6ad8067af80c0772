"""Devino Telecom: the REST API at `https://integrationapi.net/rest/`.

What it shares with Stream (sessions, errors, per-segment ids) is in `restapi.py`; here
are its paths, parameter names and delivery states. Its document stops after SendBulk:
state, incoming messages and statistics follow the provider notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from .description import (
    LOGIN_AND_PASSWORD,
    Endpoint,
    GatewayDescription,
    HttpMethod,
    StatusMode,
    StatusPolicy,
)
from .evidence import EvidencePolicy, EvidenceSource
from .models import Capabilities, DeliveryState, GatewayId
from .parsing import MOSCOW
from .restapi import RestApiForms, RestApiGateway

DEVINO_STATES: Mapping[int, DeliveryState] = {
    -1: DeliveryState.SENT,
    -2: DeliveryState.QUEUED,
    -98: DeliveryState.FAILED,  # stopped
    0: DeliveryState.DELIVERED,
    10: DeliveryState.FAILED,  # bad sender
    11: DeliveryState.FAILED,  # bad recipient
    41: DeliveryState.FAILED,  # forbidden recipient
    42: DeliveryState.FAILED,  # rejected by the SMS centre
    46: DeliveryState.EXPIRED,
    47: DeliveryState.FAILED,  # deleted
    -97: DeliveryState.FAILED,  # deleted
    48: DeliveryState.FAILED,  # rejected by the platform
    69: DeliveryState.FAILED,  # rejected
    99: DeliveryState.UNKNOWN,
    255: DeliveryState.UNKNOWN,  # not known yet, or older than 48 hours
}
"""Devino's `State` codes, normalised."""


FORMS = RestApiForms(
    login="user/sessionid",
    balance="User/Balance",
    state="Sms/State",
    incoming="Sms/In",
    statistics="Sms/Statistics",
    session="SessionID",
    send_one="Sms/Send",
    send_many="Sms/SendBulk",
    send_local_time="Sms/SendByTimeZone",
    destination="DestinationAddress",
    destinations="DestinationAddresses",
    destinations_joined=False,
    data="Data",
    source="SourceAddress",
    validity="Validity",
    send_date="SendDate",
    send_date_tz=MOSCOW,
    bulk_takes_send_date=True,
    # The document gives every other local date in Moscow time. [guess]
    statistics_tz=MOSCOW,
    max_statistics_period=timedelta(days=90),
    failed=("Errors", "Rejected"),
    in_progress=("InProcess",),
)
"""Devino's paths and field names (`devino-rest.txt`, then the provider notes)."""


class DevinoClient(RestApiGateway):
    """A Devino Telecom account (login and password; a session id signs each call)."""

    forms = FORMS
    description = GatewayDescription(
        id=GatewayId.DEVINO,
        name="Devino Telecom",
        fields=LOGIN_AND_PASSWORD,
        # One state request per segment id; flood errors ask to wait a minute.
        status=StatusPolicy(StatusMode.SEGMENT),
        # Only the statistics of a period (`Sms/Statistics`): zero messages since the
        # request proves nothing was taken; any count proves nothing. Counted from the
        # gateway's records, which may lag behind the send: half a minute to settle, a
        # minute before a "nothing" is asked again. [guess]
        evidence=EvidencePolicy((EvidenceSource.PERIOD_COUNT,), settle=30.0, confirm_after=60.0),
        # The document gives the session and the balance as GET requests only (the login
        # and password in the query), the sends as POST; it stops before the rest, which
        # every client of it reads with GET.
        endpoints=(
            Endpoint(FORMS.login, HttpMethod.GET, "devino-rest.txt: authentication, table 1"),
            Endpoint(FORMS.balance, HttpMethod.GET, "devino-rest.txt: balance, table 2"),
            Endpoint(FORMS.send_one, HttpMethod.POST, "devino-rest.txt: one number, table 3"),
            Endpoint(
                FORMS.send_local_time, HttpMethod.POST, "devino-rest.txt: local time, table 4"
            ),
            Endpoint(FORMS.send_many, HttpMethod.POST, "devino-rest.txt: several numbers, table 5"),
            Endpoint(FORMS.state, HttpMethod.GET, "provider notes: state (clients use GET)"),
            Endpoint(FORMS.incoming, HttpMethod.GET, "provider notes: incoming (clients use GET)"),
            Endpoint(
                FORMS.statistics, HttpMethod.GET, "provider notes: statistics (clients use GET)"
            ),
        ),
    )
    default_base_url = "https://integrationapi.net/rest/"
    capabilities = Capabilities(
        sender_required=True,
        balance=True,
        incoming=True,
        statistics=True,
        recipient_local_time=True,
        max_text_length=2000,
    )
    state_table = DEVINO_STATES
