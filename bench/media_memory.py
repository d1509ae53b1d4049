"""Peak memory of photo ingest and renditions on a large camera-sized photo.

``python -m bench.media_memory`` generates a 50-megapixel JPEG (8660x5773: colour gradients
plus fine and coarse noise, so it compresses like a photo, to 15-25 MB), then in a fresh
subprocess per case measures the peak resident set size (``VmHWM``; see ``_peak_rss_bytes``
for why not ``ru_maxrss``) above the process's baseline (interpreter, Pillow and the input
bytes already loaded):

- ``ingest``: ``ingest_photo`` on the generated JPEG;
- ``render:<platform>``: ``render_for`` on the ingested (clean) photo, as a worker does.

It prints a Markdown table with the peak in MB and its ratio to the photo's raw RGB pixel buffer
(width x height x 3 bytes). ``--quick`` uses a 12-megapixel photo. ``run(quick)`` returns the
rows as dicts for ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

FULL_SIZE = (8660, 5773)  # 50.0 MP, a 50 MP camera's 3:2 frame
QUICK_SIZE = (4243, 2828)  # 12.0 MP, a phone's
CASES = ("ingest", "render:instagram", "render:bluesky", "render:mastodon")
MB = 1_000_000


def make_photo(size: tuple[int, int], path: Path) -> int:
    """Write a photo-like JPEG of ``size`` to ``path``; return its size in bytes."""
    from PIL import Image, ImageChops

    w, h = size
    ramp = Image.linear_gradient("L")
    across = ramp.rotate(90).resize(size, Image.Resampling.BILINEAR)
    down = ramp.resize(size, Image.Resampling.BILINEAR)
    # Coarse noise (texture, blown up from a small field) and fine noise (sensor grain).
    coarse = Image.effect_noise((max(1, w // 12), max(1, h // 12)), 40).resize(size, Image.Resampling.BICUBIC)
    fine = Image.effect_noise(size, 6)
    texture = ImageChops.add(coarse, fine, scale=1.0, offset=-128)
    channels = [
        ImageChops.add(base, texture, scale=1.0, offset=-128) for base in (across, down, across.rotate(180))
    ]
    img = Image.merge("RGB", channels)
    img.save(path, "JPEG", quality=92)
    return path.stat().st_size


def _peak_rss_bytes() -> int:
    """This process's peak resident set size, bytes.

    Linux: ``VmHWM`` from /proc/self/status. ``ru_maxrss`` would be the same figure, except that
    Linux carries a parent's high-water mark into a child across fork and exec, so a child of a
    process that held the generated photo starts with that peak and shows nothing of its own.
    Elsewhere: ``ru_maxrss`` (KiB on Linux and the BSDs, bytes on macOS).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def _child(case: str, source: Path, output: Path) -> dict[str, Any]:
    """Run one case in this (fresh) process and measure it."""
    from herald.media import ingest_photo, render_for
    from herald.platforms import connector_class

    data = source.read_bytes()
    baseline = _peak_rss_bytes()
    start = time.perf_counter()
    if case == "ingest":
        photo = ingest_photo(data, "bench.jpg")
        out, size = photo.data, (photo.width, photo.height)
        output.write_bytes(out)
    else:
        rendition = render_for(data, "image/jpeg", connector_class(case.split(":", 1)[1]).photo_rules)
        out, size = rendition.data, (rendition.width, rendition.height)
    seconds = time.perf_counter() - start
    return {
        "peak_bytes": _peak_rss_bytes() - baseline,
        "seconds": seconds,
        "output_bytes": len(out),
        "output_size": f"{size[0]}x{size[1]}",
    }


def _measure(case: str, source: Path, output: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.media_memory", "--child", case, str(source), str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{case} failed:\n{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure every case on a generated 50 MP photo (12 MP if ``quick``); one dict a case."""
    size = QUICK_SIZE if quick else FULL_SIZE
    raw_rgb = size[0] * size[1] * 3
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="herald-media-bench-") as tmp:
        upload, clean = Path(tmp) / "upload.jpg", Path(tmp) / "clean.jpg"
        upload_bytes = make_photo(size, upload)
        for case in CASES:
            source = upload if case == "ingest" else clean
            measured = _measure(case, source, clean)
            rows.append(
                {
                    "case": case,
                    "megapixels": round(size[0] * size[1] / 1e6, 1),
                    "input_mb": round((upload_bytes if case == "ingest" else clean.stat().st_size) / MB, 1),
                    "peak_mb": round(measured["peak_bytes"] / MB, 1),
                    "raw_rgb_mb": round(raw_rgb / MB, 1),
                    "ratio": round(measured["peak_bytes"] / raw_rgb, 2),
                    "seconds": round(measured["seconds"], 2),
                    "output": f"{measured['output_size']}, {measured['output_bytes'] / MB:.2f} MB",
                }
            )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| case | photo | input | peak RSS above baseline | raw RGB buffer | ratio | time | output |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['megapixels']} MP | {r['input_mb']} MB | {r['peak_mb']} MB "
            f"| {r['raw_rgb_mb']} MB | {r['ratio']} | {r['seconds']} s | {r['output']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.media_memory", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 12 MP photo instead of 50 MP")
    parser.add_argument("--child", nargs=3, metavar=("CASE", "SOURCE", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        case, source, output = args.child
        sys.stdout.write(json.dumps(_child(case, Path(source), Path(output))) + "\n")
        return 0
    rows = run(args.quick)
    sys.stdout.write(table(rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
