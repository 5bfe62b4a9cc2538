"""Vectorised parsing of text values into numbers, booleans, dates and timestamps.

Every function takes a pyarrow string array (or chunked array) and returns the parsed
values and a mask of the values that do not parse, so 10 million cells are checked
without a Python loop. infer.py runs them on a sample, convert.py on every value.

Belgian conventions are the default: `1.234,56`, `31/12/2025`, day before month, local
times in Europe/Brussels.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

BRUSSELS = "Europe/Brussels"
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")

TRUE_WORDS = ("ja", "true", "waar", "oui", "vrai", "yes", "1", "x", "✓", "✔")
FALSE_WORDS = ("nee", "neen", "false", "onwaar", "non", "faux", "no", "0")
#: A column ticked with marks only (`x` or empty): an empty cell there means no.
MARKS = ("x", "✓", "✔")

_GROUP = "[ \u00a0\u202f]"  # thousands separated by a (no-break, narrow no-break) space
# A first thousands group never starts with 0: "0.123" is not a hundred and twenty-three.
NUMBER_PATTERNS = {
    ",": rf"^[+-]?(?:\d+|[1-9]\d{{0,2}}(?:\.\d{{3}})+|[1-9]\d{{0,2}}(?:{_GROUP}\d{{3}})+)"
    r"(?:,\d+)?$",
    ".": rf"^[+-]?(?:\d+|[1-9]\d{{0,2}}(?:,\d{{3}})+|[1-9]\d{{0,2}}(?:{_GROUP}\d{{3}})+)"
    r"(?:\.\d+)?(?:[eE][+-]?\d+)?$",
}
FRACTION_PATTERNS = {",": r",\d+$", ".": r"(?:\.\d+|[eE][+-]?\d+)$"}
THOUSANDS_PATTERNS = {",": "[. \u00a0\u202f]", ".": "[, \u00a0\u202f]"}
LEADING_ZERO_PATTERN = r"^[+-]?0\d"
MAX_INTEGER_DIGITS = 18

_BELGIAN_DATE = (
    r"^(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
)
_ISO_DATE = (
    r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?"
    r"(?P<Z>Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_US_PER_SECOND = 1_000_000


def not_null(values) -> pa.ChunkedArray | pa.Array:
    return pc.is_valid(values)


def failed(values, ok) -> pa.Array | pa.ChunkedArray:
    """True where a value is present but did not parse."""
    return pc.fill_null(pc.and_(pc.is_valid(values), pc.invert(ok)), False)


def matches(values, pattern: str):
    return pc.fill_null(pc.match_substring_regex(values, pattern), False)


def parse_number(values, decimal: str, integer: bool):
    """(int64 or float64 values, failed mask) under the decimal convention "," or ".".

    The mask is None when every value parsed.
    """
    target = pa.int64() if integer else pa.float64()
    fast = _fast_number(values, decimal, target)
    if fast is not None:
        return fast, None
    values = pc.utf8_trim_whitespace(values)
    ok = matches(values, NUMBER_PATTERNS[decimal])
    if integer:
        ok = pc.and_(ok, pc.invert(matches(values, FRACTION_PATTERNS[decimal])))
    plain = pc.replace_substring_regex(values, THOUSANDS_PATTERNS[decimal], "")
    if decimal == ",":
        plain = pc.replace_substring(plain, ",", ".")
    if integer:
        digits = pc.utf8_length(pc.replace_substring_regex(plain, r"^[+-]", ""))
        ok = pc.and_(ok, pc.fill_null(pc.less_equal(digits, MAX_INTEGER_DIGITS), False))
    plain = pc.if_else(ok, plain, pa.scalar(None, pa.string()))
    return pc.cast(plain, target), failed(values, ok)


def _fast_number(values, decimal: str, target: pa.DataType):
    """Most columns are plain (`1234`, `0.87`, or `0,87`): one cast, no regular expressions."""
    if decimal == ",":
        if pc.any(pc.match_substring(values, ".")).as_py():
            return None  # thousands dots: the slow path strips them after checking them
        values = pc.replace_substring(values, ",", ".")
        if target == pa.int64():
            return (
                None if pc.any(pc.match_substring(values, ".")).as_py() else _cast(values, target)
            )
    return _cast(values, target)


def _cast(values, target):
    """The one-cast fast path: the typed values, or None when some value does not cast
    plainly, so that the caller takes the checking path that names each failing row."""
    try:
        result = pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if target == pa.float64() and not pc.all(pc.fill_null(pc.is_finite(result), True)).as_py():
        return None  # "nan" and "inf" are not numbers a person writes
    return result


def parse_boolean(values):
    lower = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    true = pc.is_in(lower, value_set=pa.array(TRUE_WORDS))
    false = pc.is_in(lower, value_set=pa.array(FALSE_WORDS))
    result = pc.if_else(true, True, pc.if_else(false, False, pa.scalar(None, pa.bool_())))
    return result, failed(values, pc.or_(true, false))


def only_marks(values) -> bool:
    """True when every non-empty value is a tick mark (`x`): empty cells then mean no."""
    present = pc.drop_null(values)
    if len(present) == 0:
        return False
    lower = pc.utf8_lower(pc.utf8_trim_whitespace(present))
    return bool(pc.all(pc.is_in(lower, value_set=pa.array(MARKS))).as_py())


def is_leading_zero_code(values):
    """Values like `01234` or `02000`: identifiers (NIS, postal codes), never integers."""
    return matches(values, LEADING_ZERO_PATTERN)


class Temporal:
    """Dates and times in a column, split into parts and checked.

    `ok` is true where a value is a real date (31/02 is not), `has_time` where it has a
    time of day, `nonexistent` where a Belgian local time falls in the hour skipped when
    the clocks go forward.
    """

    def __init__(self, values) -> None:
        values = pc.utf8_trim_whitespace(values)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        self.values = values
        belgian = pc.extract_regex(values, _BELGIAN_DATE)
        iso = pc.extract_regex(values, _ISO_DATE)
        is_belgian = pc.fill_null(pc.is_valid(belgian), False)
        matched = pc.or_(is_belgian, pc.fill_null(pc.is_valid(iso), False))

        def part(name: str):
            from_iso = pc.fill_null(pc.struct_field(iso, name), "")
            if name in ("F", "Z"):
                return pc.if_else(is_belgian, "", from_iso)
            return pc.if_else(is_belgian, pc.struct_field(belgian, name), from_iso)

        def number(name: str):
            return pc.cast(pc.binary_join_element_wise("0", part(name), ""), pa.int64())

        year, month, day = number("y"), number("m"), number("d")
        hour, minute, second = number("H"), number("M"), number("S")
        self.has_time = pc.and_(matched, pc.not_equal(part("H"), ""))
        self.days = _days_from_civil(year, pc.max_element_wise(month, 1), day)
        date = pc.cast(pc.cast(self.days, pa.int32()), pa.date32())
        real = pc.and_(
            pc.and_(pc.equal(pc.month(date), month), pc.equal(pc.day(date), day)),
            pc.and_(
                pc.and_(pc.less_equal(hour, 23), pc.less_equal(minute, 59)),
                pc.less_equal(second, 59),
            ),
        )
        self.ok = pc.fill_null(pc.and_(matched, real), False)
        self.date = date
        fraction = pc.utf8_slice_codeunits(pc.utf8_rpad(part("F"), 6, "0"), 0, 6)
        self.micros = pc.add(
            pc.multiply(
                pc.add(
                    pc.add(pc.multiply(self.days, 86_400), pc.multiply(hour, 3600)),
                    pc.add(pc.multiply(minute, 60), second),
                ),
                _US_PER_SECOND,
            ),
            pc.cast(fraction, pa.int64()),
        )
        self._zone = part("Z")
        self.nonexistent = None

    def timestamps(self) -> pa.Array:
        """UTC timestamps; values without a zone are Belgian local time."""
        zone = self._zone
        aware = pc.not_equal(zone, "")
        naive = pc.cast(pc.if_else(self.ok, self.micros, None), pa.timestamp("us"))
        local = pc.assume_timezone(naive, BRUSSELS, ambiguous="earliest", nonexistent="earliest")
        # A local time in the skipped hour comes back as another local time.
        self.nonexistent = pc.fill_null(
            pc.and_(pc.invert(aware), pc.not_equal(pc.local_timestamp(local), naive)), False
        )
        if pc.any(aware).as_py():
            offset = _offset_seconds(zone)
            utc_micros = pc.subtract(self.micros, pc.multiply(offset, _US_PER_SECOND))
            explicit = pc.cast(
                pc.cast(pc.if_else(self.ok, utc_micros, None), pa.timestamp("us")),
                TIMESTAMP_TYPE,
            )
            local = pc.if_else(aware, explicit, pc.cast(local, TIMESTAMP_TYPE))
        return pc.cast(local, TIMESTAMP_TYPE)


def _days_from_civil(year, month, day):
    """Days since 1970-01-01 (Howard Hinnant's algorithm; years 0-9999 here)."""
    year = pc.subtract(year, pc.cast(pc.less_equal(month, 2), pa.int64()))
    era = pc.divide(year, 400)
    year_of_era = pc.subtract(year, pc.multiply(era, 400))
    shifted_month = pc.if_else(pc.greater(month, 2), pc.subtract(month, 3), pc.add(month, 9))
    day_of_year = pc.add(
        pc.divide(pc.add(pc.multiply(shifted_month, 153), 2), 5), pc.subtract(day, 1)
    )
    day_of_era = pc.add(
        pc.add(pc.multiply(year_of_era, 365), pc.divide(year_of_era, 4)),
        pc.subtract(day_of_year, pc.divide(year_of_era, 100)),
    )
    return pc.subtract(pc.add(pc.multiply(era, 146_097), day_of_era), 719_468)


def _offset_seconds(zone):
    """Seconds east of UTC from "Z", "+02", "+0200" or "+02:00"."""
    digits = pc.replace_substring(pc.if_else(pc.equal(zone, "Z"), "+0000", zone), ":", "")
    digits = pc.if_else(
        pc.equal(pc.utf8_length(digits), 3), pc.binary_join_element_wise(digits, "00", ""), digits
    )
    digits = pc.if_else(pc.equal(digits, ""), "+0000", digits)
    hours = pc.cast(pc.utf8_slice_codeunits(digits, 1, 3), pa.int64())
    minutes = pc.cast(pc.utf8_slice_codeunits(digits, 3, 5), pa.int64())
    seconds = pc.add(pc.multiply(hours, 3600), pc.multiply(minutes, 60))
    return pc.if_else(pc.starts_with(digits, "-"), pc.negate(seconds), seconds)


def local_to_utc(naive):
    """(UTC timestamps, nonexistent mask) for naive Belgian local times.

    In the hour that occurs twice when the clocks go back, the first (summer time) is
    taken: the file cannot tell us which one is meant.
    """
    utc = pc.assume_timezone(naive, BRUSSELS, ambiguous="earliest", nonexistent="earliest")
    # A local time in the skipped spring hour comes back as another local time.
    nonexistent = pc.fill_null(pc.not_equal(pc.local_timestamp(utc), naive), False)
    return pc.cast(utc, TIMESTAMP_TYPE), nonexistent


_FAST_BELGIAN = re.compile(r"^\d{1,2}([/.-])\d{1,2}\1\d{4}(?:([ T])\d{1,2}:\d{2}(:\d{2})?)?$")
_FAST_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:([ T])\d{2}:\d{2}(:\d{2})?)?$")


def fast_temporal(values):
    """Naive timestamps when every value has the format of the first one, else None.

    The common case (one format in the whole column) costs one strptime instead of the
    regular expressions of Temporal. strptime rolls 30/02 over to 02/03, so the day of
    the month is compared with the day in the text.
    """
    first = values.drop_null()
    if len(first) == 0:
        return None
    text = first[0].as_py().strip()
    if match := _FAST_BELGIAN.match(text):
        separator, time_separator, seconds = match.groups()
        format = f"%d{separator}%m{separator}%Y"
        day = pc.replace_substring(pc.utf8_slice_codeunits(values, 0, 2), separator, "")
    elif match := _FAST_ISO.match(text):
        time_separator, seconds = match.groups()
        format = "%Y-%m-%d"
        day = pc.utf8_slice_codeunits(values, 8, 10)
    else:
        return None
    if time_separator:
        format += f"{time_separator}%H:%M" + (":%S" if seconds else "")
    parsed = pc.strptime(values, format, "us", error_is_null=True)
    if parsed.null_count != values.null_count:
        return None
    try:
        same_day = pc.equal(pc.day(parsed), pc.cast(day, pa.int64()))
    except pa.ArrowInvalid:
        return None
    if not pc.all(same_day).as_py():
        return None
    return parsed
