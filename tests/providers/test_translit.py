"""Our own transliteration (for Devino and Stream)."""

from custom_components.ru_sms.providers.segments import Encoding, encoding_of
from custom_components.ru_sms.providers.translit import transliterate


def test_transliterates_russian_with_the_wikipedia_scheme() -> None:
    assert (
        transliterate("Щукин, ёжик, Юлия, Цой, подъезд")
        == "Shchukin, yozhik, Yuliya, Tsoy, podyezd"
    )


def test_typography_becomes_gsm() -> None:
    text = transliterate("Котёл №2 «Ariston» — авария…")
    assert text == 'Kotyol N2 "Ariston" - avariya...'
    assert encoding_of(text) is Encoding.GSM7


def test_latin_and_digits_stay() -> None:
    assert transliterate("Alarm 42: door open") == "Alarm 42: door open"
