"""Devino Telecom: the REST API at `https://integrationapi.net/rest/`.

What it shares with Stream (sessions, errors, per-segment ids) is in `restapi.py`; here
are its paths, parameter names and delivery states. Its document stops after SendBulk:
state, incoming messages and statistics follow the provider notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from .description import (
    LOGIN_AND_PASSWORD,
    Endpoint,
    GatewayDescription,
    HttpMethod,
    StatusMode,
    StatusPolicy,
)
from .models import Capabilities, DeliveryState, Provider, SendOptions, Statistics
from .parsing import MOSCOW
from .restapi import Form, RestApiGateway, count_of, delivery_ratio, format_date, wall_clock

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


class DevinoClient(RestApiGateway):
    """A Devino Telecom account (login and password; a session id signs each call)."""

    login_path = "user/sessionid"
    balance_path = "User/Balance"
    state_path = "Sms/State"
    incoming_path = "Sms/In"
    statistics_path = "Sms/Statistics"
    description = GatewayDescription(
        id=Provider.DEVINO,
        name="Devino Telecom",
        fields=LOGIN_AND_PASSWORD,
        # One state request per segment id; flood errors ask to wait a minute.
        status=StatusPolicy(StatusMode.SEGMENT),
        # The document gives the session and the balance as GET requests only (the login
        # and password in the query), the sends as POST; it stops before the rest, which
        # every client of it reads with GET.
        endpoints=(
            Endpoint(login_path, HttpMethod.GET, "devino-rest.txt: authentication, table 1"),
            Endpoint(balance_path, HttpMethod.GET, "devino-rest.txt: balance, table 2"),
            Endpoint("Sms/Send", HttpMethod.POST, "devino-rest.txt: one number, table 3"),
            Endpoint("Sms/SendByTimeZone", HttpMethod.POST, "devino-rest.txt: local time, table 4"),
            Endpoint("Sms/SendBulk", HttpMethod.POST, "devino-rest.txt: several numbers, table 5"),
            Endpoint(state_path, HttpMethod.GET, "provider notes: state (clients use GET)"),
            Endpoint(incoming_path, HttpMethod.GET, "provider notes: incoming (clients use GET)"),
            Endpoint(
                statistics_path, HttpMethod.GET, "provider notes: statistics (clients use GET)"
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
    session_field = "SessionID"
    state_table = DEVINO_STATES
    # The document gives every other local date in Moscow time. [guess]
    statistics_tz = MOSCOW
    max_statistics_period: ClassVar[timedelta | None] = timedelta(days=90)

    def _chunk_size(self, options: SendOptions) -> int:
        """One number per request at the recipient's local time (no bulk form of it)."""
        return 1 if options.recipient_local_time else self.max_recipients_per_request

    def _send_request(self, phones: list[str], text: str, options: SendOptions) -> tuple[str, Form]:
        """`Sms/Send` for one number, `Sms/SendBulk` for several, `Sms/SendByTimeZone`."""
        if options.recipient_local_time:
            path = "Sms/SendByTimeZone"
            form: Form = [("DestinationAddress", phones[0])]
        elif len(phones) == 1:
            path = "Sms/Send"
            form = [("DestinationAddress", phones[0])]
        else:
            path = "Sms/SendBulk"
            form = [("DestinationAddresses", phone) for phone in phones]
        form.append(("Data", text))
        form += self._sender_form(("SourceAddress", "Validity"), options)
        if options.send_at is not None:
            when = (
                wall_clock(options.send_at)
                if options.recipient_local_time
                else format_date(options.send_at, MOSCOW)
            )
            form.append(("SendDate", when))
        return path, form

    def _read_statistics(self, data: Mapping[str, Any]) -> Statistics:
        """`Sent, Delivered, Errors, InProcess, Expired, Rejected`: errors and rejected fail."""
        sent = count_of(data, "Sent")
        delivered = count_of(data, "Delivered")
        return Statistics(
            sent=sent,
            delivered=delivered,
            failed=count_of(data, "Errors", "Rejected"),
            in_progress=count_of(data, "InProcess"),
            expired=count_of(data, "Expired"),
            delivery_ratio=delivery_ratio(data, delivered, sent),
            raw=dict(data),
        )
