"""Checking and cleaning the photos citizens add to a report.

Every photo is decoded and saved again as a fresh JPEG before we store it. Two reasons:

Privacy. Phones write metadata into every photo: EXIF with the make and model of the
phone, the time, and often the GPS position where the photo was taken. A citizen who
photographs a broken street light from their window gives away where they live. The
photos are seen by staff, handed over to other organisations and sometimes shown in
public overviews, so nothing but the pixels may leave this module: no EXIF, GPS, XMP,
ICC profile or comment.

Security. We decide what a file is by looking at its content, never at its name or the
content type the browser sends. A file can be a valid image and something else at the
same time (a "polyglot": a JPEG with PHP or HTML appended or hidden in a comment).
Re-encoding the pixels throws away everything that is not the picture itself. Before
decoding we also check the pixel count, so a small file that unpacks into gigabytes of
pixels (a "decompression bomb") is refused without being unpacked.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

# Formats we decode. Pillow reads MPO (JPEGs from iPhones and some cameras, with extra
# images inside) through its JPEG reader, so MPO is allowed but not a format to open with.
OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
ALLOWED_FORMATS = (*OPEN_FORMATS, "MPO")
# Refuse larger images before decoding them: 40 megapixels is more than any phone camera
# delivers in its normal mode and still fits comfortably in memory.
MAX_PIXELS = 40_000_000
# Longest side of the stored photo, in pixels.
MAX_SIDE = 2560
JPEG_QUALITY = 85

# HEIC/HEIF files start with an "ftyp" box naming one of these brands.
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1")


@dataclass(frozen=True)
class ProcessedPhoto:
    content: bytes  # the re-encoded JPEG
    content_type: str  # always "image/jpeg"
    width: int
    height: int
    sha256: str  # of content


def process_photo(
    upload: IO[bytes] | UploadedFile, *, name: str = "", max_bytes: int | None = None
) -> ProcessedPhoto:
    """Check an uploaded photo and return it as a clean JPEG without any metadata.

    Raises ValidationError with a message for the citizen and one of the codes "empty",
    "too_large", "not_an_image", "heic", "damaged" or "too_many_pixels". The message names
    the file when `name` is given (or the upload is a Django UploadedFile).
    """
    if max_bytes is None:
        max_bytes = settings.MELDPUNT_PHOTO_MAX_MB * 1024 * 1024
    if not name and isinstance(upload, UploadedFile):
        name = upload.name or ""

    data = _read_at_most(upload, max_bytes, name)
    image = _open_and_decode(data, name)
    clean = _clean_copy(image)

    buffer = io.BytesIO()
    clean.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    content = buffer.getvalue()
    return ProcessedPhoto(
        content=content,
        content_type="image/jpeg",
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(content).hexdigest(),
    )


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
    if width * height > MAX_PIXELS:
        raise _error("too_many_pixels", _too_many_pixels_reason(), name)

    try:
        image.verify()
        # verify() leaves the image unusable; open it again to decode the pixels. For
        # animated GIF and WebP this is the first frame.
        image = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
        if image.format in ("JPEG", "MPO"):
            # Let the JPEG decoder scale down by 1/2, 1/4 or 1/8 while decoding: a 40 MP
            # photo then never sits in memory at full size.
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))
        image.load()
    except (OSError, SyntaxError, ValueError):
        raise _error("damaged", _damaged_reason(), name) from None
    return image


def _clean_copy(image: Image.Image) -> Image.Image:
    """Upright RGB pixels at most MAX_SIDE wide or high, in a new image without metadata."""
    # Turn the pixels as the EXIF orientation says, before the EXIF goes away. If the EXIF
    # cannot be read, keep the photo as it is rather than refuse it.
    with contextlib.suppress(OSError, SyntaxError, ValueError, KeyError, TypeError):
        image = ImageOps.exif_transpose(image)

    # Scale down first: every step below copies the pixels once more.
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)

    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    else:
        image = image.convert("RGB")

    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A new image from the raw pixels: nothing of the original `info` (EXIF, ICC profile,
    # XMP, comments) can be carried over when saving.
    return Image.frombytes("RGB", image.size, image.tobytes())


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


def _too_many_pixels_reason() -> str:
    return _(
        "the photo has more than %(megapixels)s million pixels. Take a screenshot of the "
        "photo and send that."
    ) % {"megapixels": MAX_PIXELS // 1_000_000}
