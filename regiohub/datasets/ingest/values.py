"""Vectorised parsing of text values into numbers, booleans, dates and timestamps.

Every function takes a pyarrow string array (or chunked array) and returns the parsed
values and a mask of the values that do not parse, so 10 million cells are checked
without a Python loop. infer.py runs them on a sample, convert.py on every value.

Belgian conventions are the default: `1.234,56`, `31/12/2025`, day before month, local
times in Europe/Brussels. The hour that occurs twice when the clocks go back (02:00 to
02:59 on the last Sunday of October) is summer time the first time a file has it and
winter time the next time (see :func:`local_to_utc`); times with an offset (`Z`, `+01:00`)
are what they say.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
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
        if _has_byte(values, b"."):
            return None  # thousands dots: the slow path strips them after checking them
        if target == pa.int64():
            return None if _has_byte(values, b",") else _cast(values, target)
        values = _swap_byte(values, b",", b".")
    return _cast(values, target)


def _has_byte(values, byte: bytes) -> bool:
    """Whether a value holds the (ASCII) byte: a look at the data buffers, no kernel."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for chunk in chunks:
        data = _data(chunk)
        if data is None:
            return bool(pc.any(pc.match_substring(chunk, byte.decode())).as_py())
        if data.size and np.any(data == byte[0]):
            return True
    return False


def _swap_byte(values, old: bytes, new: bytes):
    """The values with one ASCII byte replaced by another, written into a copy of the data
    buffer (an ASCII byte is never part of a longer UTF-8 character)."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    swapped = []
    for chunk in chunks:
        data = _data(chunk, whole=True)
        if data is None:
            swapped.append(pc.replace_substring(chunk, old.decode(), new.decode()))
            continue
        data = data.copy()
        data[data == old[0]] = new[0]
        validity, offsets, _buffer = chunk.buffers()
        swapped.append(
            pa.Array.from_buffers(
                chunk.type,
                len(chunk),
                [validity, offsets, pa.py_buffer(data)],
                chunk.null_count,
                chunk.offset,
            )
        )
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array(swapped, values.type)
    return swapped[0]


def _data(chunk: pa.Array, whole: bool = False) -> np.ndarray | None:
    """The bytes of a string array's values (all of its buffer with ``whole``), or None
    for another layout."""
    if chunk.type not in (pa.string(), pa.large_string()):
        return None
    _validity, offsets, data = chunk.buffers()
    if data is None:
        return np.empty(0, np.uint8)
    array = np.frombuffer(data, np.uint8)
    if whole or not len(chunk):
        return array
    kind = np.int32 if chunk.type == pa.string() else np.int64
    positions = np.frombuffer(
        offsets, kind, count=len(chunk) + 1, offset=chunk.offset * kind(0).nbytes
    )
    return array[positions[0] : positions[-1]]


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

    def timestamps(self, later: Later | None = None) -> pa.Array:
        """UTC timestamps; values without a zone are Belgian local time (``later``: see
        :func:`local_to_utc`)."""
        zone = self._zone
        aware = pc.not_equal(zone, "")
        naive = pc.cast(pc.if_else(self.ok, self.micros, None), pa.timestamp("us"))
        local, nonexistent = local_to_utc(naive, later, aware=aware)
        self.nonexistent = pc.fill_null(pc.and_(pc.invert(aware), nonexistent), False)
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


#: Decides, for the values of a column in the hour that occurs twice, which are winter
#: time: called with their positions in the column (ascending) and their local times (µs),
#: returns a mask. Without one, each is summer time.
Later = Callable[[np.ndarray, np.ndarray], np.ndarray]

_HOUR = 3_600 * _US_PER_SECOND
#: Local times from this day on are looked up per hour: every change of Belgian time
#: since then happened on the hour. Earlier ones ask the time zone database one by one.
_TABLE_FROM = np.datetime64("1900-01-01", "us").astype(np.int64)
#: At most this many hours are looked up at once (57 years).
_TABLE_HOURS = 500_000


def local_to_utc(naive, later: Later | None = None, *, aware=None):
    """(UTC timestamps, nonexistent mask) for naive Belgian local times.

    A local time in the hour that occurs twice when the clocks go back is summer time
    unless ``later`` says it is the second time the file has it (winter time). A local time
    in the hour skipped when the clocks go forward is marked nonexistent. Values where
    ``aware`` is true are left out of both (their offset is applied by the caller).
    """
    if isinstance(naive, pa.ChunkedArray):
        naive = naive.combine_chunks()
    micros = naive.cast(pa.int64())
    valid = pc.is_valid(micros).to_numpy(zero_copy_only=False)
    values = micros.fill_null(0).to_numpy()
    if aware is not None:
        if isinstance(aware, pa.ChunkedArray):
            aware = aware.combine_chunks()
        local = valid & ~pc.fill_null(aware, False).to_numpy(zero_copy_only=False)
    else:
        local = valid
    table = _hour_table(values[local]) if local.any() else None
    if table is None:
        earliest, latest, skipped = _by_value(naive)
    else:
        base, first, second, gap = table
        hours = np.zeros(len(values), np.int64)
        hours[local] = (values[local] - base) // _HOUR
        earliest = values - first[hours]
        latest = values - second[hours]
        skipped = gap[hours]
    doubled = local & (earliest != latest)
    utc = earliest
    if doubled.any():
        positions = np.flatnonzero(doubled)
        winter = np.zeros(len(positions), bool)
        if later is not None:
            winter = np.asarray(later(positions, values[positions]), bool)
        utc = earliest.copy()
        utc[positions[winter]] = latest[positions[winter]]
    mask = None if valid.all() else ~valid
    result = pa.array(utc, pa.int64(), mask=mask).cast(TIMESTAMP_TYPE)
    nonexistent = pa.array(local & skipped)
    return result, nonexistent


def _hour_table(values: np.ndarray):
    """Per hour from the first to the last of ``values`` (local µs): its first hour, and
    the offsets (µs) of its earliest and latest reading and whether it was skipped; None
    when the values reach too far back or span too many hours."""
    low, high = int(values.min()), int(values.max())
    if low < _TABLE_FROM:
        return None
    base = low - low % _HOUR
    count = (high - base) // _HOUR + 1
    if count > _TABLE_HOURS:
        return None
    starts = base + np.arange(count, dtype=np.int64) * _HOUR
    earliest, latest, skipped = _by_value(pa.array(starts, pa.timestamp("us")))
    return base, starts - earliest, starts - latest, skipped


def _by_value(naive: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC µs of the earliest and the latest reading of each local time, and whether it
    falls in a skipped hour (nulls: 0 and false)."""
    first = pc.assume_timezone(naive, BRUSSELS, ambiguous="earliest", nonexistent="earliest")
    second = pc.assume_timezone(naive, BRUSSELS, ambiguous="latest", nonexistent="earliest")
    # A local time in the skipped spring hour comes back as another local time.
    skipped = pc.fill_null(pc.not_equal(pc.local_timestamp(first), naive), False)
    as_int = lambda array: array.cast(pa.int64()).fill_null(0).to_numpy()  # noqa: E731
    return as_int(first), as_int(second), skipped.to_numpy(zero_copy_only=False)


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
