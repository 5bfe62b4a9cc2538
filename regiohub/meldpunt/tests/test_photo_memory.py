"""A web process stays under its memory ceiling whatever photos are uploaded (issue 15).

The photos are 40 megapixel PNGs of zeros: 155 KB on disk, 160 MB decoded.
"""

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils.translation import override
from PIL import Image, ImageFile

from regiohub.meldpunt import photos
from regiohub.meldpunt.photos import MAX_PIXELS, pixel_limit, process_photo

# 39.9 MP, the size of the photos, just under MAX_PIXELS.
WIDTH, HEIGHT = 7296, 5472
RGB, RGBA = 2, 6  # PNG colour types


@pytest.fixture(autouse=True)
def english():
    with override("en"):
        yield


def zeros_png(width: int, height: int, colour_type: int) -> bytes:
    """A PNG of zero bytes, written row by row: the pixels never exist in memory here."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    channels = {RGB: 3, RGBA: 4}[colour_type]
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    compressor = zlib.compressobj(1)
    row = bytes(1 + width * channels)  # filter byte + pixels
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_40_megapixel_rgba_png_of_zeros_is_refused_before_decoding(monkeypatch):
    data = zeros_png(WIDTH, HEIGHT, RGBA)
    assert len(data) < 1024 * 1024

    def must_not_decode(self, *args, **kwargs):
        raise AssertionError("the photo was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)

    with pytest.raises(ValidationError) as excinfo:
        process_photo(io.BytesIO(data), name="zeros.png")

    error = excinfo.value
    assert error.code == "too_many_pixels"
    # The limit for this kind of photo, from the memory budget: below the 39.9 MP it has.
    limit = pixel_limit(Image.open(io.BytesIO(data)))
    assert limit < WIDTH * HEIGHT
    assert f"more than {limit // 1_000_000} million pixels" in error.messages[0]
    assert "zeros.png" in error.messages[0]


def test_a_smaller_budget_refuses_smaller_photos(settings):
    buffer = io.BytesIO()
    Image.new("RGB", (2000, 2000)).save(buffer, format="PNG")
    data = buffer.getvalue()
    assert process_photo(io.BytesIO(data)).width == 2000

    # The scaled-down copy alone takes 25 MB: a 40 MB budget leaves 15 MB for 4 MP.
    settings.MELDPUNT_PHOTO_MEMORY_MB = 40
    with pytest.raises(ValidationError) as excinfo:
        process_photo(io.BytesIO(data))
    assert excinfo.value.code == "too_many_pixels"


def test_jpeg_is_judged_at_the_size_it_is_decoded_at():
    """A baseline JPEG is decoded at 1/2 to 1/8 of its size: far cheaper than a PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 4000)).save(buffer, format="JPEG")
    jpeg = Image.open(io.BytesIO(buffer.getvalue()))
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 4000)).save(buffer, format="PNG")
    png = Image.open(io.BytesIO(buffer.getvalue()))

    assert photos.decode_cost(jpeg) < photos.decode_cost(png) / 2
    assert pixel_limit(jpeg) == MAX_PIXELS


def test_one_photo_at_a_time_per_process(monkeypatch):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buffer, format="PNG")
    data = buffer.getvalue()
    decode = photos._open_and_decode
    busy = 0
    most = 0
    guard = threading.Lock()

    def counting(*args, **kwargs):
        nonlocal busy, most
        with guard:
            busy += 1
            most = max(most, busy)
        time.sleep(0.02)
        try:
            return decode(*args, **kwargs)
        finally:
            with guard:
                busy -= 1

    monkeypatch.setattr(photos, "_open_and_decode", counting)
    results = []

    def report():
        for _ in range(3):
            results.append(process_photo(io.BytesIO(data)))

    threads = [threading.Thread(target=report) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 12
    assert most == 1


MEASURE = textwrap.dedent(
    """
    import io, json, sys
    from pathlib import Path
    import django
    django.setup()
    from regiohub.meldpunt import photos

    # VmHWM, not getrusage: that one starts at the forking parent's peak (pytest's).
    def mb(field):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

    data = Path(sys.argv[1]).read_bytes()
    before = max(mb("VmRSS"), mb("VmHWM"))
    photo = photos.process_photo(io.BytesIO(data))
    peak = mb("VmHWM")
    print(json.dumps({"grew_mb": peak - before, "after_mb": mb("VmRSS") - before,
                      "budget_mb": photos.memory_budget() / 2**20, "width": photo.width}))
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux /proc")
def test_40_megapixel_rgb_png_of_zeros_is_processed_within_the_budget(tmp_path):
    """Measured in a fresh process: its peak resident memory is that of the photo alone."""
    upload = tmp_path / "zeros.png"
    upload.write_bytes(zeros_png(WIDTH, HEIGHT, RGB))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "regiohub.test_settings"}

    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(upload)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    measured = json.loads(out.strip().splitlines()[-1])

    assert measured["width"] == 2560
    assert measured["grew_mb"] <= measured["budget_mb"]
    assert measured["grew_mb"] > 100  # it did decode (160 MB of pixels)
    # The memory is handed back afterwards, not kept by the allocator.
    assert measured["after_mb"] < 50
