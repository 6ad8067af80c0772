"""Shared models and errors."""

from dataclasses import MISSING, fields, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from custom_components.ru_sms.providers.errors import (
    GatewayUnavailableError,
    InvalidRecipientError,
    RateLimitedError,
    SmsGatewayError,
)
from custom_components.ru_sms.providers.models import (
    DeliveryState,
    ErrorKind,
    LookupResult,
    LookupState,
    RecipientResult,
    SendOptions,
    SendResult,
    combine_states,
)

D = DeliveryState


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], D.UNKNOWN),
        ([D.DELIVERED], D.DELIVERED),
        ([D.DELIVERED, D.DELIVERED], D.DELIVERED),
        ([D.DELIVERED, D.SENT], D.SENT),
        ([D.DELIVERED, D.QUEUED, D.SENT], D.QUEUED),
        ([D.DELIVERED, D.UNKNOWN], D.UNKNOWN),
        ([D.DELIVERED, D.FAILED], D.FAILED),
        ([D.DELIVERED, D.EXPIRED], D.EXPIRED),
        ([D.EXPIRED, D.FAILED], D.FAILED),
        ([D.FAILED, D.SENT], D.SENT),  # not final until every segment is
    ],
)
def test_combine_segment_states(states: list[DeliveryState], expected: DeliveryState) -> None:
    assert combine_states(states) is expected


def test_final_states() -> None:
    assert {s for s in DeliveryState if s.is_final} == {D.DELIVERED, D.FAILED, D.EXPIRED}


def test_send_result_totals() -> None:
    result = SendResult(
        recipients=(
            RecipientResult("79161234567", True, ("1",), 2, Decimal("3.80")),
            RecipientResult("79161234568", True, ("2",), 2, Decimal("3.80")),
            RecipientResult("79161234569", False, error_kind=ErrorKind.INVALID_RECIPIENT),
        )
    )
    assert result.segments == 4
    assert result.cost == Decimal("7.60")
    assert [r.phone for r in result.rejected] == ["79161234569"]
    unknown_cost = SendResult(recipients=(RecipientResult("79161234567", True, ("1",), 1),))
    assert unknown_cost.cost is None
    assert SendResult(recipients=()).cost is None


def test_lookup_final() -> None:
    assert not LookupResult("79161234567", LookupState.PENDING).is_final
    assert LookupResult("79161234567", LookupState.REACHABLE).is_final


def test_error_texts_carry_code_and_gateway_text() -> None:
    assert (
        str(SmsGatewayError("Refused", code=7, text="bad number")) == "Refused (code 7: bad number)"
    )
    assert str(SmsGatewayError("Refused")) == "Refused"
    assert str(SmsGatewayError("Refused", text="why")) == "Refused (why)"
    err = RateLimitedError("Slow down", retry_after=60, code=9)
    assert (err.retry_after, err.code, err.kind) == (60, "9", ErrorKind.RATE_LIMITED)
    assert InvalidRecipientError("x", phones=("1",)).phones == ("1",)
    assert GatewayUnavailableError("x").may_have_been_accepted is False


def test_options_with_our_id_keep_every_other_field() -> None:
    """`with_client_message_id` is `dataclasses.replace` spelled out: no field is left behind."""
    options = SendOptions(
        sender="HomeAlert",
        client_message_id="theirs",
        send_at=datetime(2026, 12, 6, 9, 0, tzinfo=UTC),
        recipient_local_time=True,
        validity=timedelta(hours=2),
        flash=True,
        transliterate=True,
        replace_typography=True,
    )
    # Every field differs from its default here: a field added later must be added above.
    assert all(
        f.default is not MISSING and getattr(options, f.name) != f.default
        for f in fields(SendOptions)
    )
    ours = options.with_client_message_id("rs0123456789abcdef09")
    assert ours == replace(options, client_message_id="rs0123456789abcdef09")
