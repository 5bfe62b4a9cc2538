"""How much memory does a web worker need for the photos of parallel reports?

A gunicorn process runs 4 threads (docs/scaling.md). The worst upload the form accepts is
a photo just under the pixel limit that compresses to almost nothing: a PNG of zeros. This
runs, in a fresh child process, 4 threads that each check 3 such photos at once (4 reports
with 3 photos, sent at the same moment) and prints the child's peak resident memory (VmHWM)
and what it still holds afterwards.

    .venv/bin/python bench/meldpunt_photo_memory.py      (BENCH_SMOKE=1 for a tiny run)

The ceiling that ``REGIOHUB_MELDPUNT_PHOTO_MEMORY_MB`` promises (docs/configuration.md) is
for the photos; the process itself (Python, Django, the app) adds its own ~100 MB, shown as
"baseline".
"""

from __future__ import annotations

import gc
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SMOKE, table

REPORTS = 2 if SMOKE else 4  # parallel requests in one process (gunicorn threads)
PHOTOS = 3  # per report (REGIOHUB_MELDPUNT_MAX_PHOTOS)
# 7296 x 5472 = 39.9 MP, just under the 40 MP that was the limit before.
SIZE = (1200, 900) if SMOKE else (7296, 5472)


def rss_mb() -> float:
    """The resident memory of this process now, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    """The peak resident memory of this process (VmHWM; getrusage's ru_maxrss would start
    at the peak of the parent that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def zeros_png(size: tuple[int, int], mode: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def child(path: str) -> None:
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regiohub.settings")
    import django

    django.setup()
    from django.core.exceptions import ValidationError

    from regiohub.meldpunt.photos import process_photo

    data = Path(path).read_bytes()
    gc.collect()
    baseline = rss_mb()
    outcomes: list[str] = []

    def report() -> None:
        for _ in range(PHOTOS):
            try:
                photo = process_photo(io.BytesIO(data), name="zeros.png")
                outcomes.append(f"stored {photo.width}x{photo.height}")
            except ValidationError as error:
                outcomes.append(f"refused ({error.code})")

    started = time.perf_counter()
    threads = [threading.Thread(target=report) for _ in range(REPORTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    gc.collect()
    print(
        json.dumps(
            {
                "png_kb": round(len(data) / 1024),
                "baseline_mb": round(baseline),
                "peak_mb": round(peak_mb()),
                "after_mb": round(rss_mb()),
                "seconds": round(seconds, 2),
                "outcomes": sorted(set(outcomes)),
            }
        )
    )


def main() -> None:
    rows = []
    for mode in ("RGBA", "RGB", "L"):
        # Made here, not in the child: the child's memory is the photos' alone.
        with tempfile.NamedTemporaryFile(suffix=".png") as upload:
            upload.write(zeros_png(SIZE, mode))
            upload.flush()
            out = subprocess.run(  # noqa: S603 - this very script
                [sys.executable, __file__, "--child", upload.name],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        rows.append(
            [
                f"{mode} {SIZE[0]}x{SIZE[1]} PNG of zeros ({result['png_kb']} KB)",
                f"{result['baseline_mb']} MB",
                f"{result['peak_mb']} MB",
                f"{result['after_mb']} MB",
                f"{result['seconds']} s",
                ", ".join(result["outcomes"]),
            ]
        )
    print(f"{REPORTS} reports x {PHOTOS} photos at once, in one process:")
    print(table(["upload", "baseline", "peak RSS", "RSS after", "time", "outcome"], rows))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
