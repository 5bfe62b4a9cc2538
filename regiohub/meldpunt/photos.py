"""Checking and cleaning the photos citizens add to a report.

Every photo is decoded and saved again as a fresh JPEG before we store it. Two reasons:

Privacy. Phones write metadata into every photo: EXIF with the make and model of the
phone, the time, and often the GPS position where the photo was taken. A citizen who
photographs a broken street light from their window gives away where they live. The
photos are seen by staff, handed over to other organisations and sometimes shown in
public overviews, so nothing but the pixels may be stored: no EXIF, GPS, XMP, ICC
profile or comment.

Position. The one thing read from the metadata before it goes is the GPS position
(:attr:`ProcessedPhoto.position`, :func:`photo_position`): the report form offers it as the
place of the problem, and it is kept only if the citizen confirms it. It is never part of
the stored photo.

Security. We decide what a file is by looking at its content, never at its name or the
content type the browser sends. A file can be a valid image and something else at the
same time (a "polyglot": a JPEG with PHP or HTML appended or hidden in a comment).
Re-encoding the pixels throws away everything that is not the picture itself. Before
decoding we also check the pixel count, so a small file that unpacks into gigabytes of
pixels (a "decompression bomb") is refused without being unpacked.

Memory. Decoded pixels take far more room than the file: a 40 megapixel PNG of zeros is
155 KB on disk and 160 MB decoded. So that a web process stays under a known ceiling
whatever is uploaded (docs/configuration.md, ``REGIOHUB_MELDPUNT_PHOTO_MEMORY_MB``):

- the photo's header tells its size before anything is decoded, and a photo whose decoding
  would need more than the memory budget is refused (:func:`pixel_limit`, from the bytes
  per pixel that each kind of photo costs, measured in ``bench/meldpunt_photo_memory.py``);
- JPEGs are decoded straight at the smallest size that still fills the stored photo (the
  decoder scales by 1/2, 1/4 or 1/8), and everything else is scaled down before it is
  turned, converted or copied;
- one photo at a time is decoded per process (:data:`_DECODING`): parallel uploads queue
  instead of adding up, and the memory is handed back to the system after each photo.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import io
import math
import numbers
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import ExifTags, Image

# Formats we decode. Pillow reads MPO (JPEGs from iPhones and some cameras, with extra
# images inside) through its JPEG reader, so MPO is allowed but not a format to open with.
OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
ALLOWED_FORMATS = (*OPEN_FORMATS, "MPO")
# Refuse larger images before decoding them: 40 megapixels is more than any phone camera
# delivers in its normal mode. The memory budget may set a lower limit (pixel_limit).
MAX_PIXELS = 40_000_000
# Longest side of the stored photo, in pixels.
MAX_SIDE = 2560
JPEG_QUALITY = 85

# Modes that are scaled down as they are; the others are converted to RGB(A) first, at full
# size (a palette image would otherwise be scaled with the nearest pixel only).
SCALABLE_MODES = ("RGB", "RGBA", "L", "LA", "CMYK")
# Peak bytes per pixel of the header's size while a photo is decoded and scaled down, with
# Pillow 13 (bench/meldpunt_photo_memory.py): Pillow keeps 8-bit modes in one byte per
# pixel, 16-bit grey in two and everything else in four; converting to RGB adds four.
# WebP is decoded by libwebp into its own canvas, copied out as bytes and then into the
# image: up to 14 bytes per pixel next to the image while loading, 8 of them kept after.
WEBP_LOAD_BYTES = 14
WEBP_KEPT_BYTES = 8
# A progressive JPEG keeps every DCT coefficient of the whole image until the last scan:
# two bytes per coefficient, whatever size it is decoded at.
COEFFICIENT_BYTES = 2
# What the scaled-down photo costs next to the full-size one (the resize output, RGBA).
SCALED_BYTES = MAX_SIDE * MAX_SIDE * 4

# One photo at a time per process: four threads each decoding three photos would need
# twelve times the budget; queued, they need it once.
_DECODING = threading.Lock()

# HEIC/HEIF files start with an "ftyp" box naming one of these brands.
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1")


@dataclass(frozen=True)
class ProcessedPhoto:
    content: bytes  # the re-encoded JPEG
    content_type: str  # always "image/jpeg"
    width: int
    height: int
    sha256: str  # of content
    # Where the photo was taken, (latitude, longitude) in WGS84 decimal degrees, from its
    # EXIF GPS; None when it has none that makes sense. Not in `content`: an offer to the
    # citizen, kept only if they confirm it.
    position: tuple[float, float] | None = None


def process_photo(
    upload: IO[bytes] | UploadedFile, *, name: str = "", max_bytes: int | None = None
) -> ProcessedPhoto:
    """Check an uploaded photo and return it as a clean JPEG without any metadata, with the
    position the photo's EXIF GPS gives (read before the metadata is dropped).

    Raises ValidationError with a message for the citizen and one of the codes "empty",
    "too_large", "not_an_image", "heic", "damaged" or "too_many_pixels". The message names
    the file when `name` is given (or the upload is a Django UploadedFile).
    """
    if max_bytes is None:
        max_bytes = settings.MELDPUNT_PHOTO_MAX_MB * 1024 * 1024
    if not name and isinstance(upload, UploadedFile):
        name = upload.name or ""

    with _DECODING:
        try:
            data = _read_at_most(upload, max_bytes, name)
            image = _open_and_decode(data, name)
            del data
            position = _position(image)
            try:
                clean = _clean_copy(image)
            finally:
                image.close()
                del image
            buffer = io.BytesIO()
            clean.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
            clean.close()
            content = buffer.getvalue()
            del buffer
        finally:
            _release_memory()
    return ProcessedPhoto(
        content=content,
        content_type="image/jpeg",
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(content).hexdigest(),
        position=position,
    )


def photo_position(
    upload: IO[bytes] | UploadedFile, *, max_bytes: int | None = None
) -> tuple[float, float] | None:
    """Where an uploaded photo was taken, from its EXIF GPS: (latitude, longitude) in WGS84
    decimal degrees, or None.

    For the report form, which offers the place as soon as a photo is chosen. Reads the
    headers only, never the pixels, so it needs no turn at decoding (:data:`_DECODING`). A
    photo that :func:`process_photo` would refuse before decoding (empty, too large, HEIC,
    not an allowed format, too many pixels) gives None; so does anything unexpected: this
    never raises for what was uploaded.
    """
    if max_bytes is None:
        max_bytes = settings.MELDPUNT_PHOTO_MAX_MB * 1024 * 1024
    try:
        data = _read_at_most(upload, max_bytes, "")
        if _is_heif(data):
            return None
        with Image.open(io.BytesIO(data), formats=OPEN_FORMATS) as image:
            if image.format not in ALLOWED_FORMATS:
                return None
            if image.width * image.height > pixel_limit(image):
                return None
            if image.format == "PNG" and "exif" not in image.info:
                # No eXIf chunk before the pixels: to look for one after them, Pillow would
                # decode the pixels.
                return None
            return _position(image)
    except Exception:  # bad input of any kind: no position, never an error page
        return None


def _read_at_most(upload: IO[bytes] | UploadedFile, max_bytes: int, name: str) -> bytes:
    if upload.seekable():
        upload.seek(0)
    # One byte more than allowed tells us the file is too large without reading all of it.
    data = upload.read(max_bytes + 1)
    if not data:
        raise _error("empty", _("the file is empty. Choose the photo again."), name)
    if len(data) > max_bytes:
        megabytes = max_bytes / (1024 * 1024)
        limit = number_format(megabytes, decimal_pos=0 if megabytes.is_integer() else 1)
        reason = _(
            "the file is larger than %(megabytes)s MB. Choose a smaller photo, or take a "
            "screenshot of the photo and send that."
        ) % {"megabytes": limit}
        raise _error("too_large", reason, name)
    return data


def _open_and_decode(data: bytes, name: str) -> Image.Image:
    if _is_heif(data):
        raise _error("heic", _heic_reason(), name)

    with warnings.catch_warnings():
        # Pillow only warns about very large images; we want an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Image.open reads only the header; nothing is decoded yet.
            image = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _error("too_many_pixels", _too_many_pixels_reason(), name) from None
        except (OSError, SyntaxError, ValueError):
            if _has_image_signature(data):
                raise _error("damaged", _damaged_reason(), name) from None
            raise _error("not_an_image", _not_an_image_reason(), name) from None

    if image.format not in ALLOWED_FORMATS:
        raise _error("not_an_image", _not_an_image_reason(), name)
    width, height = image.size
    limit = pixel_limit(image)
    if width * height > limit:
        raise _error("too_many_pixels", _too_many_pixels_reason(limit), name)

    try:
        image.verify()
        # verify() leaves the image unusable; open it again to decode the pixels. For
        # animated GIF and WebP this is the first frame.
        image = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
        if image.format in ("JPEG", "MPO"):
            # Let the JPEG decoder scale down by 1/2, 1/4 or 1/8 while decoding: a 40 MP
            # photo then never sits in memory at full size.
            image.draft("RGB", _fitted(image.size))
        image.load()
    except (OSError, SyntaxError, ValueError):
        raise _error("damaged", _damaged_reason(), name) from None
    return image


def _fitted(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` scaled down (never up) to fit in MAX_SIDE x MAX_SIDE, keeping its shape."""
    width, height = size
    scale = min(1.0, MAX_SIDE / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _bytes_per_pixel(mode: str) -> int:
    """What Pillow keeps per pixel of ``mode`` in memory."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def decode_cost(image: Image.Image) -> int:
    """Bytes that decoding and scaling down ``image`` (opened, not loaded) needs at most."""
    width, height = image.size
    mode = image.mode
    at_load = kept = 0  # what the decoder needs next to the image while / after loading
    if image.format in ("JPEG", "MPO"):
        if image.info.get("progressive"):
            at_load = _coefficients(image) * COEFFICIENT_BYTES
        # Decoded at the smallest scale that still fills the stored size (see draft()).
        fitted = _fitted(image.size)
        scale = min(width // fitted[0], height // fitted[1])
        scale = max(s for s in (1, 2, 4, 8) if s <= max(1, scale))
        width, height = -(-width // scale), -(-height // scale)
        mode = mode if mode in ("L", "CMYK") else "RGB"
    elif image.format == "WEBP":
        at_load = width * height * WEBP_LOAD_BYTES
        kept = width * height * WEBP_KEPT_BYTES
    pixels = width * height
    held = pixels * _bytes_per_pixel(mode) + kept
    peak = pixels * _bytes_per_pixel(mode) + at_load
    if mode not in SCALABLE_MODES:  # converted to RGB(A) at full size, the original dropped
        peak = max(peak, held + pixels * 4)
        held = pixels * 4
        mode = "RGBA" if "transparency" in image.info or mode.endswith("A") else "RGB"
    # Resizing RGBA premultiplies the alpha in a full-size copy, and works in two passes
    # with an intermediate image of the new width and the old height (or the reverse).
    premultiplied = pixels * 4 if mode in ("RGBA", "LA") else 0
    new_width, new_height = _fitted((width, height))
    intermediate = max(new_width * height, width * new_height) * 4
    peak = max(peak, held + premultiplied + intermediate)
    return peak + SCALED_BYTES


def _coefficients(image: Image.Image) -> int:
    """DCT coefficients of a JPEG (per component, after chroma subsampling)."""
    width, height = image.size
    layers: list[Any] = getattr(image, "layer", None) or [("", 1, 1, 0)] * 3
    h_max = max(layer[1] for layer in layers) or 1
    v_max = max(layer[2] for layer in layers) or 1
    return sum(-(-width * layer[1] // h_max) * -(-height * layer[2] // v_max) for layer in layers)


def memory_budget() -> int:
    """Bytes one photo may take while it is decoded (REGIOHUB_MELDPUNT_PHOTO_MEMORY_MB)."""
    return int(settings.MELDPUNT_PHOTO_MEMORY_MB) * 1024 * 1024


def pixel_limit(image: Image.Image) -> int:
    """The most pixels a photo of this kind (format, mode, JPEG layout) may have: the lower
    of MAX_PIXELS and what fits in the memory budget."""
    width, height = image.size
    pixels = max(1, width * height)
    cost = decode_cost(image)
    if cost <= memory_budget():
        return MAX_PIXELS
    # The cost grows about linearly with the pixels (a little less): scale down to fit.
    fits = pixels * (memory_budget() - SCALED_BYTES) // (cost - SCALED_BYTES)
    return max(0, min(MAX_PIXELS, pixels - 1, fits))


# Orientation tag of EXIF -> the transposition that makes the photo upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION = 0x0112


def _orientation(image: Image.Image) -> Image.Transpose | None:
    """How to turn the photo upright, as its EXIF says. If the EXIF cannot be read, keep
    the photo as it is rather than refuse it."""
    try:
        return _UPRIGHT.get(int(image.getexif().get(_ORIENTATION) or 1))
    except (OSError, SyntaxError, ValueError, KeyError, TypeError):
        return None


# Closer to (0, 0) than this (about a metre) is "null island": phones write zeros when they
# had no fix.
_NULL_ISLAND = 1e-5


def _position(image: Image.Image) -> tuple[float, float] | None:
    """(latitude, longitude) from the EXIF GPS of ``image`` (opened or loaded), or None.
    Never raises: a photo with odd EXIF is still a photo."""
    try:
        return _gps_position(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:  # Pillow's EXIF reader raises all sorts on damaged data
        return None


def _gps_position(gps: Mapping[int, Any]) -> tuple[float, float] | None:
    """(latitude, longitude) from an EXIF GPS IFD, or None if it has no usable position."""
    if _gps_text(gps.get(ExifTags.GPS.GPSStatus)) == "V":  # "void": no fix
        return None
    latitude = _gps_coordinate(
        gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "N", "S", 90
    )
    longitude = _gps_coordinate(
        gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "E", "W", 180
    )
    if latitude is None or longitude is None:
        return None
    if abs(latitude) < _NULL_ISLAND and abs(longitude) < _NULL_ISLAND:
        return None
    return latitude, longitude


def _gps_coordinate(
    value: Any, ref: Any, positive: str, negative: str, limit: float
) -> float | None:
    """Signed decimal degrees from EXIF's (degrees, minutes, seconds) and hemisphere."""
    hemisphere = _gps_text(ref)
    if hemisphere not in (positive, negative):
        return None  # without it, the sign is a guess
    if not isinstance(value, tuple | list) or len(value) != 3:
        return None
    degrees, minutes, seconds = (_gps_number(part) for part in value)
    if degrees is None or minutes is None or seconds is None:
        return None
    if degrees < 0 or not (0 <= minutes <= 60 and 0 <= seconds <= 60):
        return None
    coordinate = degrees + minutes / 60 + seconds / 3600
    if not coordinate <= limit:
        return None
    return -coordinate if hemisphere == negative else coordinate


def _gps_number(value: Any) -> float | None:
    """A finite number from an EXIF rational: Pillow's IFDRational, or (numerator,
    denominator) as older readers give it."""
    try:
        if isinstance(value, tuple | list) and len(value) == 2:
            numerator, denominator = (_gps_number(part) for part in value)
            if numerator is None or not denominator:
                return None
            number = numerator / denominator
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            number = float(value)  # an IFDRational with denominator 0 gives NaN
        else:
            return None
    except (ArithmeticError, ValueError, TypeError):  # e.g. an integer too large for a float
        return None
    return number if math.isfinite(number) else None


def _gps_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ").upper()


def _clean_copy(image: Image.Image) -> Image.Image:
    """Upright RGB pixels at most MAX_SIDE wide or high, in a new image without metadata.

    Scaled down first, so every later step (turning, flattening, copying) works on the
    small image; the full-size pixels are dropped as soon as the small ones exist."""
    # Read before anything else: a converted or scaled copy no longer carries the EXIF.
    upright = _orientation(image)

    full = image
    if full.mode not in SCALABLE_MODES:
        full = _replace(image, image.convert("RGBA" if image.has_transparency_data else "RGB"))
    # The box is square, so turning the photo afterwards gives the same size as turning it
    # first. Without reducing_gap: a reduced copy would cost memory for little speed.
    small = _replace(full, full.resize(_fitted(full.size), Image.Resampling.LANCZOS))
    if upright is not None:
        small = _replace(small, small.transpose(upright))

    if small.has_transparency_data or small.mode in ("RGBA", "LA"):
        rgba = small.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        rgba.close()
        small = _replace(small, flat)
    elif small.mode != "RGB":
        small = _replace(small, small.convert("RGB"))
    # A new image from the raw pixels: nothing of the original `info` (EXIF, ICC profile,
    # XMP, comments) can be carried over when saving.
    return _replace(small, Image.frombytes("RGB", small.size, small.tobytes()))


def _replace(old: Image.Image, new: Image.Image) -> Image.Image:
    """``new``, after dropping the pixels of ``old``: no step keeps two copies alive."""
    if old is not new:
        old.close()
    return new


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None


_malloc_trim = _load_malloc_trim()


def _release_memory() -> None:
    """Give the freed pixel memory back to the system. Pillow frees it, but glibc keeps
    large freed blocks in its per-thread arenas for reuse: without this, a web process
    stays at its peak long after the upload (626 MB after four parallel reports)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _is_heif(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS


def _has_image_signature(data: bytes) -> bool:
    """Whether the file starts like one of the allowed formats (so it is probably damaged)."""
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    )


def _error(code: str, reason: str, name: str) -> ValidationError:
    if name:
        # Translators: "reason" is one of the sentences below, starting in lower case.
        message = _("“%(name)s” is not a photo we can use: %(reason)s")
    else:
        message = _("This is not a photo we can use: %(reason)s")
    return ValidationError(message, code=code, params={"name": name, "reason": reason})


def _heic_reason() -> str:
    return _(
        "it is a HEIC photo, which we cannot open. In the camera settings of your phone, "
        "choose “Most compatible” or JPEG (on an iPhone: Settings, Camera, Formats) and "
        "take the photo again. Or take a screenshot of the photo and send that."
    )


def _not_an_image_reason() -> str:
    return _("this file is not a photo. Send a photo in JPG, PNG, WebP or GIF format.")


def _damaged_reason() -> str:
    return _("the file is damaged or incomplete. Try to add it again, or take a new photo.")


def _too_many_pixels_reason(limit: int = MAX_PIXELS) -> str:
    megapixels = limit / 1_000_000
    shown = number_format(megapixels, decimal_pos=0 if megapixels >= 10 else 1)
    return _(
        "the photo has more than %(megapixels)s million pixels. Take a screenshot of the "
        "photo and send that."
    ) % {"megapixels": shown}
