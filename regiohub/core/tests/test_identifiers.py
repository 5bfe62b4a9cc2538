"""Belgian national register and enterprise numbers: the check digits as the registers
compute them (both centuries, bis numbers, the 1-series of enterprises), the spellings
people type, a message that says what is wrong, and masks for pages and logs."""

from __future__ import annotations

import pytest
from django.utils import translation

from regiohub.core.identifiers import (
    IdentifierError,
    enterprise_number,
    mask_national_number,
    national_number,
)
from regiohub.core.redact import redact


@pytest.mark.parametrize(
    ("value", "after_2000"),
    [
        ("93051822361", False),
        ("85.07.15-123.97", False),  # as the eID prints it; a remainder of 0 checks as 97
        ("850715 124 96", False),
        ("00012556777", True),  # born in 2000: the check is computed with a 2 in front
        ("01030400246", True),
        ("10010102297", True),
        ("85471512386", False),  # a bis number: month + 40
        ("85271512343", False),  # a bis number: month + 20
        ("85000012313", False),  # birth date unknown
    ],
)
def test_valid_national_numbers(value, after_2000):
    found = national_number(value)
    assert len(found.digits) == 11 and found.born_2000_or_later is after_2000
    assert found.formatted.replace(".", "").replace("-", "") == found.digits
    assert found.digits[:6] not in found.masked and found.masked.endswith(found.digits[-2:])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("85071512398", "check the last two digits"),
        ("84022711080", "check the last two digits"),  # a placeholder of the eBox docs
        ("8507151239", "has 11 digits"),
        ("850715123977", "has 11 digits"),
        ("85131512342", "does not start with a birth date"),  # month 13
        ("85023012397", "does not start with a birth date"),  # 30 February, check digits right
        ("８５０７１５１２３９７", "has 11 digits"),  # full-width digits are not digits here
        ("85O71512397", "has 11 digits"),
        ("", "has 11 digits"),
    ],
)
def test_wrong_national_numbers_say_why(value, message):
    with translation.override("en"), pytest.raises(IdentifierError) as refused:
        national_number(value)
    assert message in str(refused.value)


def test_no_number_checks_for_both_centuries():
    # 2e9 mod 97 is not 0: one of the two rules can hold, never both.
    assert 2_000_000_000 % 97 != 0


@pytest.mark.parametrize(
    ("value", "formatted"),
    [
        ("0566988259", "0566.988.259"),
        ("BE 0406.798.006", "0406.798.006"),
        ("406798006", "0406.798.006"),  # an old nine-digit number
        ("1000000021", "1000.000.021"),  # the 1-series (since 2023)
    ],
)
def test_valid_enterprise_numbers(value, formatted):
    assert enterprise_number(value).formatted == formatted


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0852093432", "check the last two digits"),
        ("0123456789", "check the last two digits"),
        ("2406798048", "starts with 0 or 1"),
        ("04067980", "has 10 digits"),
        ("0406.798.00x", "has 10 digits"),
    ],
)
def test_wrong_enterprise_numbers_say_why(value, message):
    with translation.override("en"), pytest.raises(IdentifierError) as refused:
        enterprise_number(value)
    assert message in str(refused.value)


def test_a_national_number_never_reaches_a_log_line():
    for spelled in ("85071512397", "85.07.15-123.97", "850715 123 97", "85071512398"):
        line = redact(f"letter for {spelled} refused")
        assert "850715" not in line.replace(".", "").replace(" ", "")
        assert line.endswith("•23.97 refused") or line.endswith("•23.98 refused")
    # Times, dates and other numbers stay readable.
    assert redact("at 2026-12-07 19:00:01.123456") == "at 2026-12-07 19:00:01.123456"
    assert redact("order 123456789012345") == "order 123456789012345"
    assert mask_national_number("85071512397") == "••.••.••-•23.97"
