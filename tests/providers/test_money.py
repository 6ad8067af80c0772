"""What a text costs: typographic replacement, UCS-2, the parts billed, SMSC.ru's price.

The characters that force UCS-2, the parts the emulators bill, and SMSC.ru's price without
sending (`cost=1`).
"""

from __future__ import annotations

from decimal import Decimal
import random

import aiohttp
import pytest

from custom_components.ru_sms.providers import (
    GATEWAY_TYPES,
    Credentials,
    GatewayId,
    GatewayResponseError,
    InvalidRecipientError,
    NotSupportedError,
    SendOptions,
    build_gateway,
)
from custom_components.ru_sms.providers.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    count_segments,
    ucs2_characters,
)
from custom_components.ru_sms.providers.smsc import SmscClient
from custom_components.ru_sms.providers.translit import transliterate
from custom_components.ru_sms.providers.typography import PLAIN, replace_typography
from tests.emulators.base import Fault, gateway_segments
from tests.emulators.smsc import SmscEmulator
from tests.providers import test_smsc

PHONE = "79161234567"
OTHER = "79162223344"
EM_DASH_ALERT = "Boiler room — water on the floor, pump stopped at 03:12; check the valve."
"""73 characters: one em dash makes it UCS-2 (two parts of 67), plain it is one part of 160."""

pytestmark = pytest.mark.usefixtures("no_client_retry_delay")
emulator = test_smsc.emulator
client = test_smsc.client
"""SMSC.ru's emulator and a client of it: the fixtures of its own tests."""


# -- typography ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (EM_DASH_ALERT, EM_DASH_ALERT.replace("—", "-")),
        ("«Door» open… № 3 – “now”", '"Door" open... N 3 - "now"'),
        ("Gate\u00a0open", "Gate open"),
        ("Already plain - nothing to do", "Already plain - nothing to do"),
        # Still UCS-2 after the replacement: left as it was (nothing would be saved).
        ("Котёл — авария", "Котёл — авария"),
        ("Fire 🔥 — kitchen", "Fire 🔥 — kitchen"),
    ],
)
def test_replacement_only_where_it_makes_the_text_gsm7(text: str, plain: str) -> None:
    assert replace_typography(text) == plain


def test_the_issue_s_characters_are_all_in_the_table() -> None:
    for character in "«»“”—–…№\u00a0":
        assert character in PLAIN
        assert not ucs2_characters(PLAIN[character])


def test_transliteration_uses_the_same_table() -> None:
    assert transliterate("Котёл №2 — «стоп»") == 'Kotyol N2 - "stop"'


def test_replacement_halves_the_parts_of_an_english_alert_with_an_em_dash() -> None:
    before, after = count_segments(EM_DASH_ALERT), count_segments(replace_typography(EM_DASH_ALERT))
    assert (before.encoding.value, before.segments) == ("ucs2", 2)
    assert (after.encoding.value, after.segments) == ("gsm7", 1)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("plain text {with} [escapes] €", []),
        ("«x» — y «z»", ["«", "»", "—"]),
        ("Котёл", ["К", "о", "т", "ё", "л"]),
        ("Fire 🔥", ["🔥"]),
        ("tick `x`", ["`"]),
    ],
)
def test_the_characters_that_force_ucs2(text: str, found: list[str]) -> None:
    assert ucs2_characters(text) == found


async def test_prepare_replaces_where_asked(http_session: aiohttp.ClientSession) -> None:
    for gateway in GATEWAY_TYPES:
        client = build_gateway(gateway, http_session, Credentials(login="a", password="b"))
        options = SendOptions(sender="ALERTS", replace_typography=True)
        assert client.prepare([PHONE], EM_DASH_ALERT, options)[1] == replace_typography(
            EM_DASH_ALERT
        )
        plain = SendOptions(sender="ALERTS")
        assert client.prepare([PHONE], EM_DASH_ALERT, plain)[1] == EM_DASH_ALERT


# -- the parts the emulators bill --------------------------------------------------------


BOUNDARIES = [
    "a" * 160,
    "a" * 161,
    "я" * 70,
    "я" * 71,
    "a" * 152 + "{" + "a" * 152,
    "я" * 66 + "🔥" + "я" * 66,
    "🔥" * 35,
    "🔥" * 36,
    EM_DASH_ALERT,
]


def test_the_emulators_bill_as_the_documents_count() -> None:
    """Written apart from the client's counting: the two agree on every text."""
    alphabet = [*sorted(GSM7_BASIC), *sorted(GSM7_EXTENSION), "я", "—", "🔥", "№"]
    rng = random.Random(21)  # noqa: S311 - texts to count, not secrets
    texts = [*BOUNDARIES]
    for _ in range(2000):
        pool = alphabet if rng.random() < 0.5 else sorted(GSM7_BASIC | GSM7_EXTENSION)
        texts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 400))))
    for text in texts:
        assert gateway_segments(text) == max(1, count_segments(text).segments), text


def test_a_plain_count_cuts_pairs() -> None:
    # The REST emulators' reading: units over 153, a pair cut at a part's end.
    assert gateway_segments("a" * 152 + "{" + "a" * 152, cut_pairs=True) == 2
    assert gateway_segments("a" * 152 + "{" + "a" * 152) == 3


# -- SMSC.ru: the price without sending ---------------------------------------------------


@pytest.mark.parametrize("text", BOUNDARIES)
async def test_the_price_is_what_the_send_then_costs(
    client: SmscClient, emulator: SmscEmulator, text: str
) -> None:
    options = SendOptions(sender="HomeAlert")
    quote = await client.quote([PHONE, OTHER], text, options)

    assert emulator.messages == {}  # nothing was sent
    assert emulator.balance == Decimal("100.00")
    parts = gateway_segments(text)
    assert quote.segments == 2 * parts
    assert [(r.phone, r.accepted, r.segments, r.cost) for r in quote.recipients] == [
        (PHONE, True, parts, emulator.price * parts),
        (OTHER, True, parts, emulator.price * parts),
    ]
    result = await client.send([PHONE, OTHER], text, options)
    assert quote.cost == result.cost == Decimal("100.00") - emulator.balance
    (request,) = [r for r in emulator.requests if r.form.get("cost") == "1"]
    assert request.method == "POST"
    assert "id" not in request.form  # a price is asked without our id
    assert emulator.breaches == []


async def test_the_same_question_within_a_minute_is_answered_from_memory(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    """SMSC.ru refuses an identical send request within a minute: no second request."""
    options = SendOptions(sender="HomeAlert")
    first = await client.quote([PHONE], "Door open", options)
    again = await client.quote([PHONE], "Door open", options)
    other = await client.quote([PHONE], "Door closed", options)

    assert again == first
    assert other.cost == first.cost
    assert emulator.count("send.php") == 2
    assert emulator.breaches == []


async def test_a_transliterated_price_counts_the_latin_parts(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    text = "Внимание: протечка воды на кухне, перекройте кран и вызовите сантехника!"  # 72
    quote = await client.quote([PHONE], text, SendOptions(transliterate=True))
    assert quote.recipients[0].segments == 1
    assert quote.cost == emulator.price
    assert emulator.requests[-1].form["translit"] == "1"


async def test_a_number_the_gateway_refuses_is_named(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    emulator.undeliverable_numbers = {OTHER}
    quote = await client.quote([PHONE, OTHER], "Door open", SendOptions())
    ok, refused = quote.recipients
    assert ok.accepted
    assert ok.cost == emulator.price
    assert not refused.accepted
    assert refused.cost is None
    assert refused.error_code == "8"
    assert quote.cost == emulator.price


async def test_every_number_refused_raises(client: SmscClient, emulator: SmscEmulator) -> None:
    emulator.invalid_numbers = {PHONE}
    with pytest.raises(InvalidRecipientError):
        await client.quote([PHONE], "Door open", SendOptions())


async def test_an_answer_without_a_cost_is_unreadable(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    emulator.answer_next({"cnt": 1}, "send.php")
    with pytest.raises(GatewayResponseError, match="cannot be read"):
        await client.quote([PHONE], "Door open", SendOptions())


async def test_a_lost_answer_is_not_asked_again_at_once(
    client: SmscClient, emulator: SmscEmulator
) -> None:
    emulator.inject(Fault.SERVER_ERROR_AFTER, "send.php")
    with pytest.raises(GatewayResponseError, match="server error"):
        await client.quote([PHONE], "Door open", SendOptions())
    assert emulator.count("send.php") == 1


@pytest.mark.parametrize("gateway", [GatewayId.SMSTELE, GatewayId.STREAM, GatewayId.DEVINO])
async def test_the_others_tell_no_price_without_sending(
    http_session: aiohttp.ClientSession, gateway: GatewayId
) -> None:
    client = build_gateway(gateway, http_session, Credentials(login="a", password="b"))
    assert client.capabilities.quote is False
    with pytest.raises(NotSupportedError):
        await client.quote([PHONE], "Door open", SendOptions())
    assert SmscClient.capabilities.quote is True
