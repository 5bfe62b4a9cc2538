"""The position a photo's EXIF GPS gives: offered as the place of the problem, never stored.

All images are made here with Pillow; EXIF that Pillow would not write is put together by
hand (:func:`raw_gps_exif`).
"""

import io
import math
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageFile
from PIL.TiffImagePlugin import IFDRational

from regiohub.meldpunt import photos
from regiohub.meldpunt.photos import photo_position, process_photo

# Kortrijk, Grote Markt: 50°49'40.8"N 3°15'53.6"E.
KORTRIJK = (50.828, 3.264889)
KORTRIJK_GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (50.0, 49.0, 40.8),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (3.0, 15.0, 53.6),
}
BLUE = (0, 0, 255)

# The formats that carry EXIF, with what it takes to save each.
FORMATS = pytest.mark.parametrize(
    "format,options",
    [
        ("JPEG", {}),
        ("MPO", {"save_all": True, "append_images": [Image.new("RGB", (60, 40), BLUE)]}),
        ("WEBP", {}),
        ("PNG", {}),  # an eXIf chunk
    ],
)


def photo(gps: dict | None, format: str = "JPEG", **options) -> bytes:
    """A small photo whose EXIF has ``gps`` as its GPS IFD (and a make, as phones write)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SnitchPhone"
    if gps is not None:
        exif[ExifTags.IFD.GPSInfo] = gps
    return encode(Image.new("RGB", (60, 40), (255, 0, 0)), format, exif=exif, **options)


def encode(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


ASCII, SHORT, LONG, RATIONAL = 2, 3, 4, 5


def raw_gps_exif(*entries: tuple[int, int, int, bytes], gps_offset: int | None = None) -> bytes:
    """EXIF as a JPEG's APP1 holds it: a little-endian TIFF whose first IFD points to a GPS
    IFD of ``entries`` (tag, type, count, value bytes). Made by hand, so it can hold what
    Pillow refuses to write: zero denominators, text where numbers belong."""
    ifd0 = struct.pack("<H", 1)
    start = 8 + len(ifd0) + 12 + 4
    ifd0 += struct.pack("<HHII", ExifTags.IFD.GPSInfo, LONG, 1, gps_offset or start) + bytes(4)
    data_at = start + 2 + 12 * len(entries) + 4
    gps, data = struct.pack("<H", len(entries)), b""
    for tag, kind, count, value in entries:
        if len(value) <= 4:
            gps += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            gps += struct.pack("<HHII", tag, kind, count, data_at + len(data))
            data += value + b"\x00" * (len(value) % 2)
    return b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd0 + gps + bytes(4) + data


def rationals(*pairs: int) -> bytes:
    return struct.pack(f"<{len(pairs)}I", *pairs)


def ref(letter: str) -> tuple[int, int, int, bytes]:
    return ASCII, 2, letter.encode() + b"\x00"


LATITUDE_REF = (ExifTags.GPS.GPSLatitudeRef, *ref("N"))
LONGITUDE_REF = (ExifTags.GPS.GPSLongitudeRef, *ref("E"))
LATITUDE = (ExifTags.GPS.GPSLatitude, RATIONAL, 3, rationals(50, 1, 49, 1, 408, 10))
LONGITUDE = (ExifTags.GPS.GPSLongitude, RATIONAL, 3, rationals(3, 1, 15, 1, 536, 10))


def with_raw_exif(exif: bytes, format: str = "JPEG") -> bytes:
    return encode(Image.new("RGB", (60, 40), (255, 0, 0)), format, exif=exif)


def both(data: bytes) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """The position as process_photo and as photo_position read it."""
    return process_photo(io.BytesIO(data)).position, photo_position(io.BytesIO(data))


def assert_kortrijk(position: tuple[float, float] | None) -> None:
    assert position is not None
    assert position == pytest.approx(KORTRIJK, abs=1e-4)


# --- The position is read ----------------------------------------------------------------


@FORMATS
def test_position_is_read_from_the_gps_exif(format, options):
    data = photo(KORTRIJK_GPS, format, **options)
    assert Image.open(io.BytesIO(data)).format == format

    processed, early = both(data)

    assert_kortrijk(processed)
    assert_kortrijk(early)


@pytest.mark.parametrize(
    "latitude_ref,longitude_ref,signs",
    [("S", "E", (-1, 1)), ("N", "W", (1, -1)), ("S", "W", (-1, -1)), ("s", "w", (-1, -1))],
)
def test_south_and_west_are_negative(latitude_ref, longitude_ref, signs):
    gps = {
        **KORTRIJK_GPS,
        ExifTags.GPS.GPSLatitudeRef: latitude_ref,
        ExifTags.GPS.GPSLongitudeRef: longitude_ref,
    }
    expected = (signs[0] * KORTRIJK[0], signs[1] * KORTRIJK[1])

    for position in both(photo(gps, "WEBP")):
        assert position == pytest.approx(expected, abs=1e-4)


def test_position_from_hand_made_rationals():
    data = with_raw_exif(raw_gps_exif(LATITUDE_REF, LATITUDE, LONGITUDE_REF, LONGITUDE))

    for position in both(data):
        assert_kortrijk(position)


def test_django_upload_gives_the_position():
    upload = SimpleUploadedFile("IMG_0001.jpg", photo(KORTRIJK_GPS), content_type="image/jpeg")

    assert_kortrijk(photo_position(upload))
    assert_kortrijk(process_photo(upload).position)  # the same upload, read again


# --- No position -------------------------------------------------------------------------


@FORMATS
def test_photo_without_gps_has_no_position(format, options):
    assert both(photo(None, format, **options)) == (None, None)


def test_photo_without_any_exif_has_no_position():
    data = encode(Image.new("RGB", (60, 40), BLUE), "JPEG")

    assert both(data) == (None, None)


def test_gif_has_no_position():
    data = encode(Image.new("RGB", (60, 40), BLUE), "GIF")

    assert both(data) == (None, None)


def test_null_island_is_no_position():
    """Phones write 0° 0' 0" when they had no fix."""
    zero = (0.0, 0.0, 0.0)
    gps = {**KORTRIJK_GPS, ExifTags.GPS.GPSLatitude: zero, ExifTags.GPS.GPSLongitude: zero}

    assert both(photo(gps)) == (None, None)


def test_equator_or_greenwich_alone_is_a_position():
    gps = {**KORTRIJK_GPS, ExifTags.GPS.GPSLongitude: (0.0, 0.0, 0.0)}

    for position in both(photo(gps)):
        assert position == pytest.approx((KORTRIJK[0], 0.0), abs=1e-4)


def test_void_gps_status_is_no_position():
    gps = {**KORTRIJK_GPS, ExifTags.GPS.GPSStatus: "V"}

    assert both(photo(gps)) == (None, None)


@pytest.mark.parametrize(
    "gps",
    [
        {**KORTRIJK_GPS, ExifTags.GPS.GPSLatitude: (999.0, 0.0, 0.0)},
        {**KORTRIJK_GPS, ExifTags.GPS.GPSLatitude: (90.0, 30.0, 0.0)},
        {**KORTRIJK_GPS, ExifTags.GPS.GPSLongitude: (180.0, 0.0, 1.0)},
        {**KORTRIJK_GPS, ExifTags.GPS.GPSLatitude: (50.0, 75.0, 0.0)},  # minutes
        {**KORTRIJK_GPS, ExifTags.GPS.GPSLongitude: (3.0, 15.0, 99.0)},  # seconds
        {**KORTRIJK_GPS, ExifTags.GPS.GPSLatitude: (float("inf"), 0.0, 0.0)},
        {**KORTRIJK_GPS, ExifTags.GPS.GPSLatitude: (IFDRational(50, 0), 49.0, 40.8)},
        {**KORTRIJK_GPS, ExifTags.GPS.GPSLatitudeRef: "X"},
        {**KORTRIJK_GPS, ExifTags.GPS.GPSLongitudeRef: "North"},
        {k: v for k, v in KORTRIJK_GPS.items() if k != ExifTags.GPS.GPSLatitudeRef},
        {k: v for k, v in KORTRIJK_GPS.items() if k != ExifTags.GPS.GPSLongitude},
    ],
    ids=[
        "999-degrees",
        "latitude-past-the-pole",
        "longitude-past-180",
        "75-minutes",
        "99-seconds",
        "infinite",
        "zero-denominator",
        "unknown-hemisphere",
        "hemisphere-as-word",
        "no-latitude-ref",
        "no-longitude",
    ],
)
def test_impossible_gps_is_no_position(gps):
    assert both(photo(gps)) == (None, None)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's "corrupt EXIF" warnings
@pytest.mark.parametrize(
    "exif",
    [
        raw_gps_exif(
            LATITUDE_REF,
            (ExifTags.GPS.GPSLatitude, RATIONAL, 3, rationals(50, 0, 49, 0, 408, 0)),
            LONGITUDE_REF,
            LONGITUDE,
        ),
        raw_gps_exif(
            LATITUDE_REF,
            (ExifTags.GPS.GPSLatitude, RATIONAL, 3, rationals(0, 0, 0, 0, 0, 0)),
            LONGITUDE_REF,
            (ExifTags.GPS.GPSLongitude, RATIONAL, 3, rationals(0, 0, 0, 0, 0, 0)),
        ),
        raw_gps_exif(
            LATITUDE_REF,
            (ExifTags.GPS.GPSLatitude, ASCII, 12, b"50 49 40.8N\x00"),
            LONGITUDE_REF,
            LONGITUDE,
        ),
        raw_gps_exif(
            (ExifTags.GPS.GPSLatitudeRef, ASCII, 6, b"\xff\xfeN\x00\x00\x00"),
            LATITUDE,
            LONGITUDE_REF,
            LONGITUDE,
        ),
        raw_gps_exif(
            (ExifTags.GPS.GPSLatitudeRef, SHORT, 1, struct.pack("<H", 78)),  # 78 = "N"
            LATITUDE,
            LONGITUDE_REF,
            LONGITUDE,
        ),
        raw_gps_exif(
            LATITUDE_REF,
            (ExifTags.GPS.GPSLatitude, RATIONAL, 2, rationals(50, 1, 49, 1)),
            LONGITUDE_REF,
            LONGITUDE,
        ),
        raw_gps_exif(
            LATITUDE_REF,
            (ExifTags.GPS.GPSLatitude, RATIONAL, 3_000_000, rationals(50, 1, 49, 1, 408, 10)),
            LONGITUDE_REF,
            LONGITUDE,
        ),
        raw_gps_exif(LATITUDE_REF, LATITUDE, LONGITUDE_REF, LONGITUDE, gps_offset=60_000),
        raw_gps_exif(LATITUDE_REF, LATITUDE, LONGITUDE_REF, LONGITUDE)[:40],
        raw_gps_exif(LATITUDE_REF, LATITUDE, LONGITUDE_REF, LONGITUDE).replace(b"II*", b"MM*"),
    ],
    ids=[
        "zero-denominators",
        "all-zero-over-zero",
        "latitude-as-text",
        "ref-not-ascii",
        "ref-as-number",
        "two-components",
        "count-past-the-end",
        "gps-ifd-past-the-end",
        "cut-off",
        "wrong-byte-order",
    ],
)
@pytest.mark.parametrize("format", ["JPEG", "WEBP"])
def test_garbage_gps_is_no_position_and_no_error(exif, format):
    data = with_raw_exif(exif, format)

    processed = process_photo(io.BytesIO(data))

    assert processed.position is None
    assert processed.width == 60
    assert photo_position(io.BytesIO(data)) is None


@pytest.mark.parametrize(
    "latitude",
    [
        ((50, 1), (49, 1), (408, 10)),  # (numerator, denominator), as older readers give
        [IFDRational(50, 1), IFDRational(49, 1), IFDRational(408, 10)],
        (50, 49, 40.8),
    ],
)
def test_rationals_in_every_shape(latitude):
    gps = {**KORTRIJK_GPS, ExifTags.GPS.GPSLatitude: latitude}

    assert_kortrijk(photos._gps_position(gps))


@pytest.mark.parametrize(
    "part",
    [(50, 0), (0, 0), (1, 2, 3), (True, 1), True, None, "50", b"50", float("nan"), 10**400],
)
def test_odd_rationals_are_no_position(part):
    gps = {**KORTRIJK_GPS, ExifTags.GPS.GPSLatitude: (part, 49.0, 40.8)}

    assert photos._gps_position(gps) is None


# --- The stored photo never has it -------------------------------------------------------


@FORMATS
def test_processed_jpeg_has_no_exif_at_all(format, options):
    data = photo(KORTRIJK_GPS, format, **options)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    processed = process_photo(io.BytesIO(data))

    assert processed.position is not None
    stored = Image.open(io.BytesIO(processed.content))
    assert stored.format == "JPEG"
    assert not stored.getexif()
    assert "exif" not in stored.info
    for secret in (b"Exif", b"GPS", b"SnitchPhone"):
        assert secret not in processed.content


def test_sha256_does_not_depend_on_the_position():
    """The stored photo is the same with or without a position: nothing of it is inside."""
    image = Image.new("RGB", (60, 40), (255, 0, 0))
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = KORTRIJK_GPS

    with_gps = process_photo(io.BytesIO(encode(image, "PNG", exif=exif)))
    without = process_photo(io.BytesIO(encode(image, "PNG")))

    assert with_gps.position is not None
    assert without.position is None
    assert with_gps.sha256 == without.sha256
    assert with_gps.content == without.content


# --- Reading it costs no decoding --------------------------------------------------------


@FORMATS
def test_photo_position_does_not_decode_the_pixels(format, options, monkeypatch):
    data = photo(KORTRIJK_GPS, format, **options)

    def must_not_decode(self, *args, **kwargs):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)
    monkeypatch.setattr(Image.Image, "verify", must_not_decode)

    assert_kortrijk(photo_position(io.BytesIO(data)))


@pytest.mark.parametrize("format", ["JPEG", "PNG"])
def test_process_photo_decodes_the_pixels_once(format, monkeypatch):
    data = photo(KORTRIJK_GPS, format)
    decoders = []
    get_decoder = Image._getdecoder

    def counting(mode, decoder_name, *args, **kwargs):
        if decoder_name != "raw":  # "raw" only copies pixels (the clean copy's frombytes)
            decoders.append(decoder_name)
        return get_decoder(mode, decoder_name, *args, **kwargs)

    monkeypatch.setattr(Image, "_getdecoder", counting)

    assert_kortrijk(process_photo(io.BytesIO(data)).position)
    assert decoders == [{"JPEG": "jpeg", "PNG": "zip"}[format]]


def png_with_exif_after_the_pixels() -> bytes:
    """A PNG whose eXIf chunk comes after IDAT, which the PNG specification allows."""
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = KORTRIJK_GPS
    data = encode(Image.new("RGB", (60, 40), (255, 0, 0)), "PNG")
    payload = exif.tobytes()[6:]  # without the "Exif\0\0" of JPEG's APP1
    kind = b"eXIf"
    crc = zlib.crc32(kind + payload)
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)
    end = data.rindex(b"IEND") - 4
    return data[:end] + chunk + data[end:]


def test_png_with_exif_after_the_pixels(monkeypatch):
    data = png_with_exif_after_the_pixels()

    # process_photo decodes anyway, and then finds it.
    assert_kortrijk(process_photo(io.BytesIO(data)).position)

    # photo_position would have to decode to reach it: it does not look.
    def must_not_decode(self, *args, **kwargs):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)
    assert photo_position(io.BytesIO(data)) is None


# --- photo_position never raises ---------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"Dear municipality, the street light is broken.\n",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        b"\xff\xd8\xff",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200,
        encode(Image.new("RGB", (40, 40)), "BMP"),
        encode(Image.new("RGB", (40, 40)), "TIFF"),
    ],
    ids=["empty", "text", "pdf", "jpeg-signature-only", "heic", "bmp", "tiff"],
)
def test_photo_position_of_a_non_photo_is_none(data):
    assert photo_position(io.BytesIO(data)) is None


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("keep", [0.05, 0.1, 0.3, 0.6, 0.9])
@pytest.mark.parametrize("format", ["JPEG", "WEBP", "PNG"])
def test_photo_position_of_a_truncated_file_does_not_raise(format, keep):
    data = photo(KORTRIJK_GPS, format)

    position = photo_position(io.BytesIO(data[: int(len(data) * keep)]))

    # Cut in the pixels, the EXIF before them may still be whole; cut before, nothing.
    assert position is None or position == pytest.approx(KORTRIJK, abs=1e-4)


def test_photo_position_of_a_too_large_file_is_none():
    data = photo(KORTRIJK_GPS)

    assert photo_position(io.BytesIO(data), max_bytes=len(data) - 1) is None
    assert_kortrijk(photo_position(io.BytesIO(data), max_bytes=len(data)))


def test_photo_position_of_too_many_pixels_is_none(monkeypatch):
    data = photo(KORTRIJK_GPS, "PNG")
    monkeypatch.setattr(photos, "pixel_limit", lambda image: 60 * 40 - 1)

    assert photo_position(io.BytesIO(data)) is None


def test_photo_position_of_a_closed_upload_is_none():
    upload = io.BytesIO(photo(KORTRIJK_GPS))
    upload.close()

    assert photo_position(upload) is None


def test_position_is_finite_decimal_degrees():
    latitude, longitude = photo_position(io.BytesIO(photo(KORTRIJK_GPS)))

    assert isinstance(latitude, float) and isinstance(longitude, float)
    assert math.isfinite(latitude) and math.isfinite(longitude)
