"""Belgian identifiers of people and enterprises: checked, written the way people read
them, and masked wherever a page or a log would otherwise show them.

- The **national register number** (rijksregisternummer, INSZ/NISS, SSIN): 11 digits
  ``YYMMDD SSS CC``; ``CC = 97 - (first nine digits mod 97)``, or, for people born in 2000
  or later, of the same digits with a 2 in front (the century is not in the number: one
  of the two rules holds, never both). A bis number (for people not in the register)
  adds 20 or 40 to the month. Written ``85.07.15-123.97`` on the eID.
- The **enterprise number** (KBO/BCE, ondernemingsnummer): 10 digits starting with 0 or 1
  (the 1-series since 2023); ``last two = 97 - (first eight digits mod 97)``. Written
  ``0406.798.006``; "BE" in front for VAT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

_NOISE = re.compile(r"[\s.\-/]")


class IdentifierError(ValueError):
    """A number that is not what it says it is, in words for the person who typed it."""


@dataclass(frozen=True)
class NationalNumber:
    """A valid national register (or bis) number."""

    digits: str
    born_2000_or_later: bool

    @property
    def formatted(self) -> str:
        d = self.digits
        return f"{d[:2]}.{d[2:4]}.{d[4:6]}-{d[6:9]}.{d[9:]}"

    @property
    def masked(self) -> str:
        """What a page or a log may show: the last two digits of the counter and the
        check, never the birth date (``••.••.••-•12.97``)."""
        return mask_national_number(self.digits)

    @property
    def is_bis(self) -> bool:
        return int(self.digits[2:4]) > 12


def national_number(value: str) -> NationalNumber:
    """The national register number ``value`` spells (dots, dashes and spaces allowed),
    or :class:`IdentifierError` saying what is wrong."""
    digits = _NOISE.sub("", str(value or ""))
    if not digits.isascii() or not digits.isdigit() or len(digits) != 11:
        raise IdentifierError(_("A national register number has 11 digits."))
    month, day = int(digits[2:4]), int(digits[4:6])
    if not (month <= 12 or 20 <= month <= 32 or 40 <= month <= 52) or day > 31:
        raise IdentifierError(_("This national register number does not start with a birth date."))
    check = int(digits[9:])
    before_2000 = 97 - int(digits[:9]) % 97 == check
    after_2000 = 97 - int("2" + digits[:9]) % 97 == check
    if not (before_2000 or after_2000):
        raise IdentifierError(
            _("This national register number is not valid: check the last two digits.")
        )
    if 1 <= month <= 12 and day:
        century = 2000 if after_2000 else 1900
        try:  # a real date (a bis number's month is shifted, and 00 means unknown)
            date(century + int(digits[:2]), month, day)
        except ValueError as error:
            raise IdentifierError(
                _("This national register number does not start with a birth date.")
            ) from error
    return NationalNumber(digits, born_2000_or_later=after_2000)


def mask_national_number(value: str) -> str:
    """``value`` (valid or not) with everything but its last four digits hidden: for
    pages and logs, which never show a whole national register number."""
    digits = _NOISE.sub("", str(value or ""))
    if len(digits) < 4:
        return "•" * len(digits)
    tail = digits[-4:]
    return f"••.••.••-•{tail[:2]}.{tail[2:]}"


@dataclass(frozen=True)
class EnterpriseNumber:
    """A valid KBO/BCE enterprise number (10 digits)."""

    digits: str

    @property
    def formatted(self) -> str:
        d = self.digits
        return f"{d[:4]}.{d[4:7]}.{d[7:]}"


def enterprise_number(value: str) -> EnterpriseNumber:
    """The enterprise number ``value`` spells (``BE`` in front, dots and spaces allowed;
    an old 9-digit number gets its leading 0), or :class:`IdentifierError`."""
    text = _NOISE.sub("", str(value or "")).upper().removeprefix("BE")
    if not text.isascii() or not text.isdigit() or len(text) not in (9, 10):
        raise IdentifierError(_("An enterprise number has 10 digits, such as 0406.798.006."))
    digits = text.zfill(10)
    if digits[0] not in "01":
        raise IdentifierError(_("An enterprise number starts with 0 or 1."))
    if 97 - int(digits[:8]) % 97 != int(digits[8:]):
        raise IdentifierError(_("This enterprise number is not valid: check the last two digits."))
    return EnterpriseNumber(digits)
