"""SMS segment counting: GSM-7 and UCS-2, escape and surrogate pairs never split."""

import pytest

from custom_components.ru_sms.providers.segments import Encoding, count_segments, encoding_of


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", Encoding.GSM7, 0, 0),
        ("Hello", Encoding.GSM7, 5, 1),
        ("a" * 160, Encoding.GSM7, 160, 1),
        ("a" * 161, Encoding.GSM7, 161, 2),
        ("a" * 306, Encoding.GSM7, 306, 2),
        ("a" * 307, Encoding.GSM7, 307, 3),
        ("{" * 80, Encoding.GSM7, 160, 1),  # extension characters take two places
        ("€" * 81, Encoding.GSM7, 162, 2),
        ("Привет", Encoding.UCS2, 6, 1),
        ("я" * 70, Encoding.UCS2, 70, 1),
        ("я" * 71, Encoding.UCS2, 71, 2),
        ("я" * 134, Encoding.UCS2, 134, 2),
        ("я" * 135, Encoding.UCS2, 135, 3),
        ("Boiler №1", Encoding.UCS2, 9, 1),  # one non-GSM character makes the whole text UCS-2
        ("`", Encoding.UCS2, 1, 1),
        ("«x» — y", Encoding.UCS2, 7, 1),
        ("🔥" * 35, Encoding.UCS2, 70, 1),  # an emoji takes two units
        ("🔥" * 36, Encoding.UCS2, 72, 2),
        ("a\ud83d", Encoding.UCS2, 2, 1),  # a lone surrogate: one unit, as the gateways count
        ("{\f€^x", Encoding.GSM7, 9, 1),
        ("🔥" * 35 + "{", Encoding.UCS2, 71, 2),  # not GSM-7: the brace takes one unit
    ],
)
def test_count(text: str, encoding: Encoding, units: int, segments: int) -> None:
    info = count_segments(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_escape_pair_is_not_split_across_parts() -> None:
    # 152 plain characters then `{`: the pair does not fit in the first part's 153 places.
    text = "a" * 152 + "{" + "a" * 10
    info = count_segments(text)
    assert info.units == 164
    assert info.segments == 2
    # Without the pair rule, 152 + 2 + 152 would fit two parts; with it, the third starts.
    text = "a" * 152 + "{" + "a" * 152
    assert count_segments(text).segments == 3


def test_surrogate_pair_is_not_split_across_parts() -> None:
    text = "я" * 66 + "🔥" + "я" * 66  # 66 + 2 + 66 = 134 units = two full parts if split
    assert count_segments(text).units == 134
    assert count_segments(text).segments == 3


def test_per_segment_capacity() -> None:
    assert count_segments("a").per_segment == 160
    assert count_segments("a" * 200).per_segment == 153
    assert count_segments("я").per_segment == 70
    assert count_segments("я" * 100).per_segment == 67


def test_encoding_of_gsm_specials() -> None:
    assert (
        encoding_of("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà")
        is Encoding.GSM7
    )
    assert encoding_of("^{}\\[~]|€\f") is Encoding.GSM7
    assert encoding_of("ё") is Encoding.UCS2
