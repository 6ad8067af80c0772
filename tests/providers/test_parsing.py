"""Lenient readers of gateway answers."""

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
import json
from typing import Any

import pytest

from custom_components.ru_sms.providers import parsing
from custom_components.ru_sms.providers.parsing import (
    MOSCOW,
    format_local,
    loads_lenient,
    loads_lenient_in_turns,
    parse_id_list,
    parse_iso,
    parse_ms_date,
    parse_timestamp,
    to_decimal,
    to_int,
    to_str,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("\ufeff [1, 2] ", [1, 2]),
        ('"Z5CYSZEKDL1DPICU37WEHQVOYKP0T1GSLHX1"', "Z5CYSZEKDL1DPICU37WEHQVOYKP0T1GSLHX1"),
        ("20015.3", 20015.3),
        (
            '{ Code: 4, Desc: "Invalid user login or password" }',
            {"Code": 4, "Desc": "Invalid user login or password"},
        ),
        ("[“371324579”]", ["371324579"]),
        ('{"a": 1, "b": [1, 2,],}', {"a": 1, "b": [1, 2]}),
        (
            '{"State":0,"ReportedDateUtc":"\\Date(1377761466000)\\","StateDescription":"Delivered"}',
            {
                "State": 0,
                "ReportedDateUtc": "/Date(1377761466000)/",
                "StateDescription": "Delivered",
            },
        ),
        (
            '{"CreatedDateUtc":"\\Date(1357536599000)\\\\"}',
            {"CreatedDateUtc": "/Date(1357536599000)/"},
        ),
    ],
)
def test_loads_lenient_repairs_known_faults(text: str, expected: object) -> None:
    assert loads_lenient(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # SMStele's documented answers stop before their last brackets.
        (
            '{"results": [{"id": "7", "stat": "DELIVRD"}',
            {"results": [{"id": "7", "stat": "DELIVRD"}]},
        ),
        # Brackets and escaped quotes inside strings are text.
        ('{"a": ["x]}\\"", "y\\\\"]', {"a": ['x]}"', "y\\"]}),
        # Closed, then repaired: a bare key and a trailing comma besides.
        ("{ Code: [1, 2,]", {"Code": [1, 2]}),
    ],
)
def test_loads_lenient_closes_what_was_left_open(text: str, expected: object) -> None:
    assert loads_lenient(text) == expected


def test_a_long_answer_left_open_is_closed() -> None:
    """Ten thousand numbers under one id, as SMStele's document writes the answer."""
    items = ", ".join(
        f'{{"id": "7", "phone": "7916{n:07d}", "stat": "DELIVRD", "err": "0"}}'
        for n in range(10_000)
    )
    answer = loads_lenient('{"cnt": "10000", "results": [' + items)
    assert len(answer["results"]) == 10_000
    assert answer["results"][-1]["phone"] == "79160009999"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "<html>502</html>",
        '{"id": 12, "cnt"',
        '{"a": "1"',  # cut inside a value: not guessed at
        '{"a": "1]',  # inside a string
        '{"a": [1}',  # mismatched
        '{"a": 1}}',  # nothing left open
        '{"a": 1,, "b": [2]',  # still broken once closed
        '{"a": ["x\\"]',  # the last quote escaped: inside a string
    ],
)
def test_loads_lenient_refuses_what_cannot_be_read(text: str) -> None:
    with pytest.raises(ValueError):
        loads_lenient(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": "1", "b": [{"c": "2"}, {}]', {"a": "1", "b": [{"c": "2"}, {}]}),
        ('{"a": [{"b": "}]"}]', {"a": [{"b": "}]"}]}),
        ('{"a": [{"b": "say \\"hi\\"]"}]', {"a": [{"b": 'say "hi"]'}]}),
        ('[{"a": 1},]', [{"a": 1}]),
        ('{results: [{"a": “1”}, {}]', {"results": [{"a": "1"}, {}]}),
    ],
)
def test_loads_lenient_closes_what_the_answer_left_open(text: str, expected: object) -> None:
    """SMStele's documented answers stop before their last brackets."""
    assert loads_lenient(text) == expected


def long_status_answer(count: int) -> str:
    """SMStele's status answer about `count` numbers, as its document writes it."""
    items = [
        {"id": "7", "phone": f"7916{n:07d}", "stat": "DELIVRD", "err": "0", "operator": "МТС"}
        for n in range(count)
    ]
    text = json.dumps({"cnt": str(count), "results": [*items, {}]}, ensure_ascii=False, indent=1)
    return text.removesuffix("}").rstrip()


async def turns_while(work: Awaitable[Any]) -> tuple[Any, int]:
    """What `work` gives, and how many times the event loop ran something else meanwhile."""
    loop = asyncio.get_running_loop()
    turns = 0
    done = False

    def tick() -> None:
        nonlocal turns
        if not done:
            turns += 1
            loop.call_soon(tick)

    loop.call_soon(tick)
    try:
        return await work, turns
    finally:
        done = True


async def test_a_long_answer_is_read_in_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop runs while a long answer is read: not one call holding it for the whole."""
    monkeypatch.setattr(parsing, "TURN", 0.0)  # a turn at every look at the clock
    text = long_status_answer(5_000)
    assert len(text) > parsing.LONG_ANSWER

    answer, turns = await turns_while(loads_lenient_in_turns(text))

    assert answer == loads_lenient(text)
    assert len(answer["results"]) == 5_001
    assert turns >= 5_000 // 64


async def test_a_short_answer_is_read_in_one_go(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "TURN", 0.0)
    text = long_status_answer(10)

    answer, turns = await turns_while(loads_lenient_in_turns(text))

    assert answer == loads_lenient(text)
    assert turns == 0


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        "\ufeff [1, 2] ",
        '"Z5CYSZ"',
        "20015.3",
        "[]",
        "{}",
        '{"a": [], "b": {}, "c": [{}]}',
        '{ Code: 4, Desc: "Invalid user login or password" }',
        "[“371324579”]",
        '{"a": 1, "b": [1, 2,],}',
        '{"State":0,"ReportedDateUtc":"\\Date(1377761466000)\\"}',
        '{"results": [{"id": "7", "stat": "DELIVRD"}',
        '{"a": ["x]}\\"", "y\\\\"]',
        "{ Code: [1, 2,]",
        '{"a": "1", "b": [{"c": "2"}, {}]',
        '{"a": [{"b": "}]"}]',
        '[{"a": 1},]',
        '{results: [{"a": “1”}, {}]',
        '[{"a": {"b": [1]}',  # an item cut short: closed
        '[{"a": 1}, {"b": [2, {"c": 3}',
        '{"x": "}", "b": [1]',  # as many brackets as it closes, one inside a string
        '{"a": [1, 2], "a": [3]}',  # the last one wins, as in json.loads
        "",
        "   ",
        "<html>502</html>",
        '{"id": 12, "cnt"',
        '{"a": "1"',
        '{"a": "1]',
        '{"a": [1}',
        '{"a": 1}}',
        '{"a": 1} x',
        '{"a": 1,, "b": [2]',
        '{"a": ["x\\"]',
        '[{"a":1}, {"b": 2',
        "[1 2]",
        '{"a" 1}',
        "{1: [2]",
        '{"a": [1], ',
        '{"a": [',
    ],
)
async def test_read_in_turns_as_in_one_go(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """Whatever the text, the answer (or the refusal) is `loads_lenient`'s."""
    monkeypatch.setattr(parsing, "LONG_ANSWER", 0)
    monkeypatch.setattr(parsing, "TURN", 0.0)
    try:
        expected: Any = loads_lenient(text)
    except ValueError:
        with pytest.raises(ValueError):
            await loads_lenient_in_turns(text)
    else:
        assert await loads_lenient_in_turns(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('["371324579"]', ["371324579"]),
        ('[{"371329058"}, {"371329059"}]', ["371329058", "371329059"]),
        ('[{"371324131"}, "371324132"]', ["371324131", "371324132"]),
        (
            '["SAR-GW01+79160000000-5f3b1972-2-1","SAR-GW01+79160000000-5f3b1972-2-2",\n'
            '["SAR-GW01+79053500000-5d3b1972-2-1","SAR-GW01+79053500000-5d3b1972-2-2]',
            [
                "SAR-GW01+79160000000-5f3b1972-2-1",
                "SAR-GW01+79160000000-5f3b1972-2-2",
                "SAR-GW01+79053500000-5d3b1972-2-1",
                "SAR-GW01+79053500000-5d3b1972-2-2",
            ],
        ),
        ('"GW0261BBD6B3"', ["GW0261BBD6B3"]),
        ("[371324579, 371324580]", ["371324579", "371324580"]),
        ("[]", []),
    ],
)
def test_parse_id_list(text: str, expected: list[str]) -> None:
    assert parse_id_list(text) == expected


def test_parse_id_list_refuses_nothing() -> None:
    with pytest.raises(ValueError):
        parse_id_list("  [ ] , ")


@pytest.mark.parametrize(
    "value",
    [
        "/Date(1377761466000)/",
        "\\/Date(1377761466000)\\/",
        "\\Date(1377761466000)\\",
        "/Date(1377761466000+0300)/",
        1377761466000,
        "2013-08-29T07:31:06",
        "2013-08-29T07:31:06Z",
    ],
)
def test_parse_ms_date(value: object) -> None:
    assert parse_ms_date(value) == datetime(2013, 8, 29, 7, 31, 6, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", "soon", [], {"a": 1}])
def test_parse_ms_date_unreadable_is_none(value: object) -> None:
    assert parse_ms_date(value) is None


def test_parse_iso_with_short_offset() -> None:
    assert parse_iso("2018-06-04 18:41:09+03") == datetime(2018, 6, 4, 15, 41, 9, tzinfo=UTC)
    assert parse_iso("2018-06-04 18:41:09", default_tz=MOSCOW) == datetime(
        2018, 6, 4, 15, 41, 9, tzinfo=UTC
    )
    assert parse_iso("garbage") is None
    assert parse_iso(17) is None


def test_parse_timestamp() -> None:
    assert parse_timestamp("1577550022") == datetime(2019, 12, 28, 16, 20, 22, tzinfo=UTC)
    assert parse_timestamp(0) is None
    assert parse_timestamp("x") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.90", Decimal("1.90")),
        ("1,90", Decimal("1.90")),
        (2, Decimal(2)),
        (0.5, Decimal("0.5")),
        ("1 234.50", Decimal("1234.50")),
        ("", None),
        ("abc", None),
        (None, None),
        (True, None),
        ("NaN", None),
    ],
)
def test_to_decimal(value: object, expected: Decimal | None) -> None:
    assert to_decimal(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("-99", -99), (3, 3), ("3.0", 3), ("3.5", None), ("", None), (None, None), (False, None)],
)
def test_to_int(value: object, expected: int | None) -> None:
    assert to_int(value) == expected


def test_to_str() -> None:
    assert to_str("  mMTS ") == "mMTS"
    assert to_str("") is None
    assert to_str(None) is None
    assert to_str([1]) is None
    assert to_str(25001) == "25001"


def test_format_local_converts_to_the_zone() -> None:
    moment = datetime(2026, 1, 2, 9, 30, tzinfo=timezone(timedelta(hours=5)))
    assert format_local(moment, MOSCOW) == "2026-01-02T07:30:00"
    assert format_local(moment, UTC, "%d%m%y%H%M") == "0201260430"
    with pytest.raises(ValueError):
        format_local(datetime(2026, 1, 2, 9, 30), MOSCOW)
