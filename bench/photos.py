"""Scenario 4, photos: posts with 4 photos each, through the whole pipeline.

Two runs of the same number of posts, queued through the service layer (each photo verified,
stripped and re-encoded: ``media.ingest_photo``) and published through Mastodon's upload API:

- **shared**: every post carries the same 4 photos. Redis keeps photo bytes once per SHA-256
  (``herald:photo:{sha}``, reference-counted), so queueing sends them once;
- **distinct**: every post carries 4 photos of its own (the reference: no de-duplication).

Measured from Redis's own counters (``INFO stats`` total_net_input/output_bytes, ``INFO
memory`` used_memory) around queueing and around publishing. Then the cost of a per-platform
rendition (``media.render_for``) of one of these photos, next to the cost of ingesting it.
"""

from __future__ import annotations

import io
import random
import statistics
import time

import redis

from bench.measure import net_bytes, used_memory
from bench.plan import Plan
from bench.results import Outcome, Spec
from bench.rig import Rig, at_epoch

KB = 1000
DRAIN_TIMEOUT_SECONDS = 120.0
#: Platforms whose rendition is timed: two that take these photos unchanged, two that do not
#: (Bluesky's 1 MB cap, Instagram's 1440 px width).
RENDITION_PLATFORMS = ("x", "mastodon", "bluesky", "instagram")
RENDITION_REPEATS = 3


def _specs(plan: Plan) -> dict[str, Spec]:
    sc = f"photos ({plan.photo_posts} posts × 4, {plan.photo_size[0]}×{plan.photo_size[1]})"
    ref = "4 distinct photos per post"
    specs = {
        "in": Spec(sc, "bytes into Redis per post (queueing), shared photos", "KB", ref),
        "mem": Spec(sc, "Redis memory per queued post, shared photos", "KB", ref),
        "out": Spec(sc, "bytes out of Redis per post (publishing), shared photos", "KB", ref),
        "queue": Spec(sc, "queueing time per post, shared photos", "ms", ref),
        "publish": Spec(sc, "publish time per post (drain ÷ posts), shared photos", "ms", ref),
    }
    for p in RENDITION_PLATFORMS:
        specs[f"render {p}"] = Spec(sc, f"rendition for {p}, per photo", "ms", "ingest per photo")
    return specs


def specs(plan: Plan) -> list[Spec]:
    return list(_specs(plan).values())


# -- photos ----------------------------------------------------------------------------------------


def _base(size: tuple[int, int]) -> object:
    """A photo-like image: gradients plus coarse and fine noise (compresses like a photo)."""
    from PIL import Image, ImageChops

    w, h = size
    ramp = Image.linear_gradient("L")
    across = ramp.rotate(90).resize(size)
    down = ramp.resize(size)
    coarse = Image.effect_noise((max(1, w // 12), max(1, h // 12)), 40).resize(size, Image.Resampling.BICUBIC)
    texture = ImageChops.add(coarse, Image.effect_noise(size, 6), scale=1.0, offset=-128)
    return Image.merge(
        "RGB", [ImageChops.add(b, texture, offset=-128) for b in (across, down, across.rotate(180))]
    )


def make_photos(size: tuple[int, int], count: int, seed: int) -> list[bytes]:
    """``count`` different JPEGs of ``size`` (one base image, a distinct patch on each)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    base = _base(size)
    assert isinstance(base, Image.Image)
    out = []
    for _ in range(count):
        img = base.copy()
        draw = ImageDraw.Draw(img)
        x, y = rng.randrange(size[0] - 64), rng.randrange(size[1] - 64)
        draw.rectangle(
            (x, y, x + 63, y + 63), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256))
        )
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


#: The least time between queueing photo posts and their due instant, seconds.
PHOTO_LEAD_SECONDS = 2.0

# -- one run ---------------------------------------------------------------------------------------


def _queue_and_publish(
    rig: Rig, r: redis.Redis, label: str, photos: list[list[bytes]], per_post: float, lead: float
) -> dict[str, float]:
    """Queue one post per entry of ``photos`` due once all are queued (``per_post``: the
    expected queueing seconds per post), wait until all are out; Redis bytes and times per post."""
    from herald.service import PhotoInput

    n = len(photos)
    # No ledger reset here: the long-delay demonstration's posts may be arriving meanwhile.
    prefix = f"photos {label}"
    in0, out0 = net_bytes(r)
    mem0 = used_memory(r)
    t0 = time.perf_counter()
    at = time.time() + lead + per_post * n * 1.5
    for i, four in enumerate(photos):
        inputs = [
            PhotoInput(data, f"p{i}-{k}.jpg", alt_text=f"photo {k} of post {i}")
            for k, data in enumerate(four)
        ]
        rig.queue_post(rig.accounts[i % len(rig.accounts)].channel, f"{prefix} #{i}", at_epoch(at), inputs)
    queued = time.perf_counter() - t0
    if time.time() > at:
        raise RuntimeError(f"queueing {n} posts with photos overran the due instant ({queued:.1f} s)")
    in1, out1 = net_bytes(r)
    mem1 = used_memory(r)
    if not rig.wait_out(prefix, n, DRAIN_TIMEOUT_SECONDS):
        raise RuntimeError(
            f"only {rig.count(prefix)}/{n} posts with photos out after {DRAIN_TIMEOUT_SECONDS} s"
        )
    got = rig.received(prefix)
    drain = max(min(t) for t in got.values()) - at
    in2, out2 = net_bytes(r)
    return {
        "in": (in1 - in0) / n,
        "mem": (mem1 - mem0) / n,
        "out": (out2 - out1) / n,
        "queue": queued / n,
        "publish": drain / n,
    }


def _renditions(photo: bytes) -> tuple[float, dict[str, tuple[float, bool]]]:
    """Seconds to ingest ``photo``, and per platform (seconds to render, unchanged?)."""
    from herald.media import ingest_photo, render_for
    from herald.platforms import connector_class

    ingest = []
    for _ in range(RENDITION_REPEATS):
        t0 = time.perf_counter()
        clean = ingest_photo(photo, "bench.jpg")
        ingest.append(time.perf_counter() - t0)
    out = {}
    for p in RENDITION_PLATFORMS:
        times = []
        unchanged = True
        for _ in range(RENDITION_REPEATS):
            t0 = time.perf_counter()
            rendition = render_for(clean.data, clean.mime_type, connector_class(p).photo_rules)
            times.append(time.perf_counter() - t0)
            unchanged = rendition.unchanged
        out[p] = (statistics.median(times), unchanged)
    return statistics.median(ingest), out


def run(plan: Plan, rig: Rig) -> Outcome:
    n = plan.photo_posts
    shared_four = make_photos(plan.photo_size, 4, seed=1)
    distinct = make_photos(plan.photo_size, 4 * n, seed=2)
    r = rig.cluster.redis()
    ingest, renders = _renditions(shared_four[0])
    # Queueing ingests every photo (shared or not: de-duplication happens after): ~4 ingests.
    per_post = 4 * ingest + 0.02
    # Cleaning photos is CPU work: on a busy machine queueing them takes longer than the plan's
    # lead, so they get at least two seconds before they are due.
    lead = max(plan.lead_seconds, PHOTO_LEAD_SECONDS)
    shared = _queue_and_publish(rig, r, "shared", [shared_four] * n, per_post, lead)
    own = _queue_and_publish(
        rig, r, "distinct", [distinct[4 * i : 4 * i + 4] for i in range(n)], per_post, lead
    )
    sp = _specs(plan)
    out = Outcome()
    size_kb = statistics.mean(len(p) for p in shared_four) / KB
    out.put(sp["in"], shared["in"] / KB, own["in"] / KB, f"uploads ~{size_kb:.0f} KB each before ingest")
    out.put(sp["mem"], shared["mem"] / KB, own["mem"] / KB)
    photo_kb = own["out"] / 4 / KB  # a distinct post reads its 4 photos once
    out.put(
        sp["out"],
        shared["out"] / KB,
        own["out"] / KB,
        f"workers read {shared['out'] / KB / photo_kb:.1f} photos per post from Redis when all "
        f"posts share 4 ({photo_kb:.0f} KB each after ingest); 4.0 would be no reuse at all",
    )
    out.put(
        sp["queue"], 1000 * shared["queue"], 1000 * own["queue"], "4 photos verified + re-encoded per post"
    )
    out.put(sp["publish"], 1000 * shared["publish"], 1000 * own["publish"], "4 uploads + 1 status per post")
    for p, (secs, unchanged) in renders.items():
        out.put(
            sp[f"render {p}"],
            1000 * secs,
            1000 * ingest,
            "unchanged (fits already)" if unchanged else "re-encoded to fit",
        )
    return out
