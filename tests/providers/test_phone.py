"""Phone number normalisation and validation."""

import pytest

from custom_components.ru_sms.providers.errors import InvalidRecipientError
from custom_components.ru_sms.providers.phone import mask_phone, normalize_phone, normalize_phones

WAYS_RUSSIANS_WRITE_NUMBERS = [
    # A mobile: +7, 7, 8 or nothing before it; spaces, brackets, dashes, dots.
    ("+7 (916) 123-45-67", "79161234567"),
    ("+79161234567", "79161234567"),
    ("7 916 123 45 67", "79161234567"),
    ("79161234567", "79161234567"),
    ("8 916 123 45 67", "79161234567"),
    ("8 (916) 123-45-67", "79161234567"),
    ("89161234567", "79161234567"),
    ("916 123-45-67", "79161234567"),
    ("9161234567", "79161234567"),
    ("+7.916.123.45.67", "79161234567"),
    (" +7 916 123–45–67 ", "79161234567"),  # en dashes
    ("8-916-123-45-67", "79161234567"),
    # A landline: Moscow, St Petersburg, Yekaterinburg, with and without a prefix.
    ("495 123-45-67", "74951234567"),  # was read as German (+49 5...)
    ("(495) 123-45-67", "74951234567"),
    ("8 (495) 123-45-67", "74951234567"),
    ("+7 495 123 45 67", "74951234567"),
    ("7 (495) 123-45-67", "74951234567"),
    ("812 123-45-67", "78121234567"),
    ("8 (812) 123-45-67", "78121234567"),
    ("8 (343) 212-34-56", "73432123456"),
    ("343 212 34 56", "73432123456"),
    ("8 800 123-45-67", "78001234567"),  # free phone
    # Abroad through Russia's international prefix, 8, tone, 10.
    ("8 10 375 29 1234567", "375291234567"),  # Belarus (was refused)
    ("8-10-49-151-23456789", "4915123456789"),  # Germany
    ("810 44 7911 123456", "447911123456"),  # United Kingdom
    # Abroad with a country code: +, 00, or the code written without either.
    ("+7 701 123 4567", "77011234567"),  # Kazakhstan shares +7
    ("7 701 123 4567", "77011234567"),
    ("8 701 123 4567", "77011234567"),  # Kazakhstan dials like Russia
    ("+375 29 123-45-67", "375291234567"),  # Belarus
    ("375291234567", "375291234567"),
    ("00 375 29 123 45 67", "375291234567"),
    ("00 49 151 23456789", "4915123456789"),  # Germany with the 00 prefix
    ("49 151 23456789", "4915123456789"),
    ("+44 7911 123456", "447911123456"),
    ("44 7911 123456", "447911123456"),
    ("+380 67 123 4567", "380671234567"),  # Ukraine
    ("+998 90 123 45 67", "998901234567"),  # Uzbekistan
    ("+1 (212) 555-0123", "12125550123"),  # USA
]


@pytest.mark.parametrize(("raw", "expected"), WAYS_RUSSIANS_WRITE_NUMBERS)
def test_normalize_reads_numbers_as_russians_write_them(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "hello",
        "+7 916 123 45 6",  # one digit short
        "+7 916 123 45 678",  # one digit too many
        "+7 000 000 00 00",  # no such range
        "12345",
        "7916abc4567",
        "+7 916 123 45 67 ext 5",
        "++79161234567",
        "+999 123 456 789",  # no such country
    ],
)
def test_normalize_rejects_garbage(raw: str) -> None:
    with pytest.raises(InvalidRecipientError) as info:
        normalize_phone(raw)
    assert info.value.phones == (raw,)
    assert info.value.kind == "invalid_recipient"


def test_normalize_many_drops_repeats_keeps_order() -> None:
    assert normalize_phones(["+7 916 123-45-67", "+375291234567", "89161234567"]) == [
        "79161234567",
        "375291234567",
    ]


def test_normalize_many_names_every_bad_number() -> None:
    with pytest.raises(InvalidRecipientError) as info:
        normalize_phones(["+79161234567", "abc", "123"])
    assert info.value.phones == ("abc", "123")
    assert "abc" in str(info.value)
    assert "123" in str(info.value)


def test_normalize_many_refuses_an_empty_list() -> None:
    with pytest.raises(InvalidRecipientError, match="No phone numbers"):
        normalize_phones([])


def test_mask_phone_hides_the_middle() -> None:
    assert mask_phone("79161234567") == "7916***4567"
    assert mask_phone("12345") == "***"
