"""The top of the hour (issue 19): a campaign posts at the same slot on every channel at once,
"09:00 Seoul on every account", with each platform's real posting limits.

``tophour_channels`` channels (100) spread evenly over Mastodon, Bluesky, Telegram and X,
``tophour_posts`` posts (20) on each, all due at one instant. The four platforms are those
whose limits let 20 posts on one account go out at once: Mastodon 300 statuses per 3 h per
account, Bluesky 5,000 write points per hour (a post costs 3), Telegram 20 messages a minute
per chat (exactly 20: the tightest), X 100 posts per 15 min per user. Instagram (100 a day) and
Threads (250 a day) would allow 20 too, but publish through two-step containers that a bare
loop would have to reimplement; Facebook and LinkedIn publish no limit to be measured against.
Each Telegram channel has its own bot: one bot for all 25 would put 500 messages on its 30 a
second, a limit across channels that no per-channel window can keep (see the report).

Herald's channels keep their platform's own posting window (no ``rate_limit`` option) and no
minimum gap (a new channel's default); the simulator counts every post against the platforms'
limits (``herald.simulator.limits``) and refuses one over them, so that "nothing over a rate
limit" is what the platforms saw. Three systems send the same posts, one after the other, the
simulator's windows and ledger reset between them:

1. the bare loop, one thread (``bench.bare --jobs``): the posts in the order they were queued
   (post 1 on every channel, then post 2...), no rate limiting of its own;
2. plain Celery, an ``apply_async(eta=due)`` per post, in the same order;
3. Herald: the posts queued in one bulk ``add_posts`` call (each post on every channel, the
   campaign's shape) before the instant, then the stock ``herald worker`` and ``herald
   scheduler`` publish them.

Measured from the simulator's ledger: the drain (due → last post out), each channel's first
post out (its lateness, p99 over channels), posts that reached their channel before one queued
ahead of them, posts over a platform's limit (the simulator's count) and duplicates.

Herald's workers are warmed up on these channels first (``WARMUP_POSTS`` each: connectors
built, Bluesky sessions opened, as in a worker that has been running), and its timed run waits
until those posts have left every posting window they would crowd (Telegram's minute).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import burst
from bench.baseline import EtaClient, run_bare_jobs
from bench.measure import CpuMeter, Procs, percentile, sleep_until
from bench.plan import Plan
from bench.results import Outcome, Spec, Target
from bench.rig import PlatformAccount, Rig, at_epoch

#: The platforms, in the order channels are spread over them.
PLATFORMS = ("mastodon", "bluesky", "telegram", "x")
#: Channel names: ``top-mastodon-00``...
PREFIX = "top"
#: Posts per channel through Herald before anything is timed. A worker process builds its own
#: connector for a channel (and opens its Bluesky session, reads its X user) on its first post
#: there, and each post goes to either process: with 2, a quarter of the (channel, process)
#: pairs were still cold at the instant (measured: 15 of 50 per platform); with 6, ~1 in 64.
WARMUP_POSTS = 6
#: Deliveries queued (due at once, not timed) to measure bulk queueing right now.
CALIBRATION_DELIVERIES = 100
#: Margin on the calibrated queueing time (the machine is shared and noisy).
QUEUE_MARGIN = 1.5
#: How long a run may take to drain before it is given up (seconds, plus per post).
DRAIN_TIMEOUT_SECONDS = 60.0
DRAIN_TIMEOUT_PER_POST = 0.05

_INDEX = re.compile(r"#(\d+)\Z")


# -- what one system's run looked like -------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """One post as the platform received it: its channel, its place in that channel's queue,
    when it arrived, and its place in the simulator's ledger (the order of the commits)."""

    channel: str
    index: int
    received_at: float
    position: int


def arrivals(ledger: Iterable[Any], prefix: str, channels: Mapping[str, str]) -> list[Arrival]:
    """The posts of one run (``prefix``) on the scenario's channels (name → platform), from
    ``Simulator.ledger()`` entries (Any: ``LedgerEntry``). The text ends in ``#k``: the post's
    place in its channel's queue."""
    out = []
    for position, e in enumerate(ledger):
        if e.account in channels and e.text.startswith(prefix):
            m = _INDEX.search(e.text)
            if m:
                out.append(Arrival(e.account, int(m.group(1)), e.received_at, position))
    return out


def out_of_order(posts: Iterable[Arrival]) -> int:
    """Posts that reached their channel before a post queued ahead of them there (a copy
    counts once, at its first arrival): 0 when every channel's posts went out in order."""
    first: dict[tuple[str, int], int] = {}
    for a in posts:
        key = (a.channel, a.index)
        first[key] = min(first.get(key, a.position), a.position)
    by_channel: dict[str, list[tuple[int, int]]] = {}
    for (channel, index), position in first.items():
        by_channel.setdefault(channel, []).append((index, position))
    late = 0
    for queue in by_channel.values():
        latest = -1
        for _, position in sorted(queue):
            if position < latest:
                late += 1
            latest = max(latest, position)
    return late


def duplicates(posts: Iterable[Arrival]) -> int:
    """Copies beyond the first of each (channel, post)."""
    seen: dict[tuple[str, int], int] = {}
    for a in posts:
        seen[(a.channel, a.index)] = seen.get((a.channel, a.index), 0) + 1
    return sum(n - 1 for n in seen.values())


def first_lateness(posts: Iterable[Arrival], due: float) -> dict[str, float]:
    """Per channel: seconds from the due instant until its first post reached the platform."""
    first: dict[str, float] = {}
    for a in posts:
        first[a.channel] = min(first.get(a.channel, a.received_at), a.received_at)
    return {channel: at - due for channel, at in first.items()}


@dataclass
class Run:
    """One system's figures. ``by_platform``: platform → (drain, p99 first-post lateness)."""

    drain: float
    p50: float
    first_p99: float
    order: int
    over: int
    dupes: int
    queue_seconds: float = 0.0
    #: Herald's: the lowest and highest delivery id of the run.
    ids: tuple[int, int] = (0, 0)
    by_platform: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: CPU seconds by process from the due instant to the last post (simulator: this process).
    cpu: dict[str, float] = field(default_factory=dict)
    note: str = ""


def judge(posts: Sequence[Arrival], due: float, channels: Mapping[str, str], over: int) -> Run:
    """The figures of a run from its arrivals (first copies count for lateness)."""
    first_copy: dict[tuple[str, int], float] = {}
    for a in posts:
        key = (a.channel, a.index)
        first_copy[key] = min(first_copy.get(key, a.received_at), a.received_at)
    late = [at - due for at in first_copy.values()]
    firsts = first_lateness(posts, due)
    by_platform = {}
    for platform in sorted(set(channels.values())):
        mine = [at - due for (ch, _), at in first_copy.items() if channels[ch] == platform]
        theirs = [x for ch, x in firsts.items() if channels[ch] == platform]
        if mine:
            by_platform[platform] = (max(mine), percentile(theirs, 99))
    return Run(
        drain=max(late),
        p50=percentile(late, 50),
        first_p99=percentile(firsts.values(), 99),
        order=out_of_order(posts),
        over=over,
        dupes=duplicates(posts),
        by_platform=by_platform,
    )


# -- rows ------------------------------------------------------------------------------------------


def _specs(plan: Plan) -> dict[str, Spec]:
    sc = f"top of the hour {plan.tophour_channels}×{plan.tophour_posts}"
    one, eta = "bare loop, 1 thread", "plain Celery ETA"
    return {
        "drain": Spec(sc, "drain time (due → last post out)", "s", one, Target("ratio", 1.0)),
        "drain_eta": Spec(sc, "drain time vs Celery ETA", "s", eta),
        "p50": Spec(sc, "p50 lateness", "s", one),
        "first": Spec(sc, "p99 lateness of each channel's first post", "s", one, Target("value", 1.0)),
        "first_eta": Spec(sc, "p99 first-post lateness vs Celery ETA", "s", eta),
        "order": Spec(sc, "posts out of their channel's queued order", "posts", eta, Target("value", 0)),
        "over": Spec(sc, "posts over a platform's rate limit (simulator)", "posts", eta, Target("value", 0)),
        "dupes": Spec(sc, "duplicate publishes", "posts", eta, Target("value", 0)),
        "queue": Spec(sc, "queueing time per post (before due)", "ms", "Celery apply_async"),
    }


def specs(plan: Plan) -> list[Spec]:
    return list(_specs(plan).values())


# -- the three systems -----------------------------------------------------------------------------


def _jobs(rig: Rig, accounts: Sequence[PlatformAccount], posts: int, prefix: str) -> list[dict[str, Any]]:
    """The posts in the order they are queued: post 0 on every channel, then post 1..."""
    sim = rig.cluster.sim
    return [
        {
            "platform": a.platform,
            "url": sim.url_for(a.platform),
            "credentials": dict(a.credentials),
            "text": f"{prefix} #{k}",
        }
        for k in range(posts)
        for a in accounts
    ]


def _drain_timeout(n: int) -> float:
    return DRAIN_TIMEOUT_SECONDS + DRAIN_TIMEOUT_PER_POST * n


def _finish(rig: Rig, prefix: str, n: int, due: float, channels: Mapping[str, str]) -> Run:
    """Wait for ``n`` posts of ``prefix``; judge them. Raises if some never arrived."""
    note = ""
    if not rig.wait_out(prefix, n, timeout=_drain_timeout(n)):
        note = f"only {rig.count(prefix)}/{n} out after {_drain_timeout(n):.0f} s; "
    sim = rig.cluster.sim
    posts = arrivals(sim.ledger(), prefix, channels)
    over = sum(1 for v in sim.rate_violations() if v.account in channels)
    if len({(a.channel, a.index) for a in posts}) < n:
        refused = f"; {over} posts refused over a rate limit" if over else ""
        raise RuntimeError(note or f"{len(posts)}/{n} posts reached the platforms{refused}")
    run = judge(posts, due, channels, over)
    run.note = note
    return run


def bare(rig: Rig, accounts: Sequence[PlatformAccount], plan: Plan, channels: Mapping[str, str]) -> Run:
    prefix = "bare top"
    jobs = _jobs(rig, accounts, plan.tophour_posts, prefix)
    rig.reset_ledger()
    at = time.time() + plan.lead_seconds
    meter = CpuMeter({"simulator": os.getpid()}).start()
    out = run_bare_jobs(rig, jobs, threads=1, at=at)
    cpu = {**meter.stop(), "bare loop": out.cpu_seconds}
    # If the loop's interpreter took longer than the lead to start, its clock starts when it did.
    run = _finish(rig, prefix, len(jobs), max(at, out.started), channels)
    run.cpu = cpu
    return run


def celery_eta(
    rig: Rig,
    eta: EtaClient,
    eta_pids: Procs,
    accounts: Sequence[PlatformAccount],
    plan: Plan,
    channels: Mapping[str, str],
) -> Run:
    # Warm: the worker's threads import the sender, open connections and Bluesky sessions.
    # (The simulator forgets the bare loop's posts first: they fill Telegram's minute.)
    rig.reset_ledger()
    warm = _jobs(rig, accounts, 1, "warm eta top")
    eta.schedule_jobs(warm, time.time())
    if not rig.wait_out("warm eta top", len(warm), timeout=90):
        raise RuntimeError(f"plain Celery did not deliver its warm-up posts:\n{rig.cluster.logs()[-2000:]}")
    per_post = burst.calibrate(rig, eta)
    prefix = "eta top"
    jobs = _jobs(rig, accounts, plan.tophour_posts, prefix)
    n = len(jobs)
    rig.reset_ledger()
    # The workers must have received every message before the due instant: leave them time.
    at = time.time() + plan.lead_seconds + 2 * per_post * n + 0.0005 * n
    queued = eta.schedule_jobs(jobs, at)
    note = f"apply_async overran the due instant by {time.time() - at:.1f} s; " if time.time() > at else ""
    sleep_until(at)
    meter = CpuMeter({"eta worker": eta_pids, "redis": rig.pids()["redis"], "simulator": os.getpid()}).start()
    run = _finish(rig, prefix, n, at, channels)
    run.cpu = meter.stop()
    run.queue_seconds, run.note = queued, note + run.note
    return run


def warm_herald(rig: Rig, accounts: Sequence[PlatformAccount]) -> float:
    """``WARMUP_POSTS`` posts on every channel through Herald, due now; when the last arrived."""
    from herald.service import PostRequest

    names = [a.channel for a in accounts]
    now = at_epoch(time.time())
    rig.herald.add_posts(
        [PostRequest(channels=names, text=f"warm herald top #{k}", at=now) for k in range(WARMUP_POSTS)]
    )
    n = WARMUP_POSTS * len(names)
    if not rig.wait_out("warm herald top", n, timeout=90):
        got = rig.count("warm herald top")
        raise RuntimeError(f"Herald delivered {got}/{n} warm-up posts:\n{rig.cluster.logs()[-2000:]}")
    last = max(e.received_at for e in rig.cluster.sim.ledger() if e.text.startswith("warm herald top"))
    rig.reset_ledger()
    return last


def windows_clear_at(accounts: Sequence[PlatformAccount], warmed_at: float, posts: int) -> float:
    """When every channel's posting window (Herald's, per platform) has room for ``posts``
    more beside the warm-up's: at once where it already has, else when the warm-up posts have
    left it. Raises if a window is too long to wait for."""
    from herald.platforms import connector_class

    clear = warmed_at
    for platform in {a.platform for a in accounts}:
        window = connector_class(platform).posts_per_window
        if window is None or WARMUP_POSTS + posts <= window[0]:
            continue
        if window[1] > 300:
            raise RuntimeError(f"{platform}'s window ({window[1]:.0f} s) is too long to wait out")
        # Herald's gate counts a post when it is claimed, a little before it arrives.
        clear = max(clear, warmed_at + window[1] + 1.0)
    return clear


def calibrate_bulk(rig: Rig) -> float:
    """Seconds to queue one delivery now through a bulk ``add_posts`` (posts on the rig's
    Mastodon channels, due at once, delivered and forgotten before returning)."""
    from herald.service import PostRequest

    names = [a.channel for a in rig.accounts]
    posts = max(1, CALIBRATION_DELIVERIES // len(names))
    now = at_epoch(time.time())
    t0 = time.perf_counter()
    rig.herald.add_posts([PostRequest(channels=names, text=f"calib bulk #{k}", at=now) for k in range(posts)])
    took = time.perf_counter() - t0
    if not rig.wait_out("calib bulk", posts * len(names), timeout=60):
        raise RuntimeError("bulk calibration posts were not delivered")
    rig.reset_ledger()
    return took / (posts * len(names))


def herald(
    rig: Rig, accounts: Sequence[PlatformAccount], plan: Plan, channels: Mapping[str, str], clear_at: float
) -> Run:
    from herald.service import PostRequest

    sleep_until(clear_at)
    per_delivery = calibrate_bulk(rig)
    prefix = "herald top"
    names = [a.channel for a in accounts]
    n = len(names) * plan.tophour_posts
    rig.reset_ledger()
    at = time.time() + plan.lead_seconds + QUEUE_MARGIN * per_delivery * n
    due = at_epoch(at)
    reqs = [PostRequest(channels=names, text=f"{prefix} #{k}", at=due) for k in range(plan.tophour_posts)]
    t0 = time.perf_counter()
    post_ids = rig.herald.add_posts(reqs)
    queued = time.perf_counter() - t0
    note = ""
    if time.time() > at:
        note = f"queueing overran the due instant by {time.time() - at:.1f} s (lateness includes it); "
    sleep_until(at)
    meter = CpuMeter(rig.pids()).start()
    run = _finish(rig, prefix, n, at, channels)
    run.cpu = meter.stop()
    run.queue_seconds, run.note = queued, note + run.note
    ids = [e.delivery_id for p in post_ids for e in rig.herald.delivery_log(post_id=p)]
    run.ids = (min(ids), max(ids))
    return run


def _order_note(her: Run, one: Run) -> str:
    """What the order row needs to be read: the due set breaks ties between deliveries due at
    the same instant by their ids as strings, so a run whose ids gain a digit is handed out in
    string order ("1000" before "741") before any concurrency reorders it further."""
    lo, hi = her.ids
    crossing = len(str(lo)) != len(str(hi))
    return (
        f"posts that reached their channel before one queued ahead of them; Herald's delivery ids "
        f"{lo}–{hi}"
        + (" (gaining a digit: handed out in string order)" if crossing else "")
        + f"; bare loop: {one.order}"
    )


# -- the scenario ----------------------------------------------------------------------------------


def run(plan: Plan, rig: Rig, eta: EtaClient, eta_pids: Procs) -> Outcome:
    accounts = rig.add_platform_channels(PLATFORMS, plan.tophour_channels, PREFIX)
    channels = {a.channel: a.platform for a in accounts}
    n = len(accounts) * plan.tophour_posts
    warmed_at = warm_herald(rig, accounts)
    one = bare(rig, accounts, plan, channels)
    plain = celery_eta(rig, eta, eta_pids, accounts, plan, channels)
    her = herald(rig, accounts, plan, channels, windows_clear_at(accounts, warmed_at, plan.tophour_posts))
    sp = _specs(plan)
    out = Outcome()
    out.put(sp["drain"], her.drain, one.drain, her.note)
    out.put(sp["drain_eta"], her.drain, plain.drain, plain.note)
    out.put(sp["p50"], her.p50, one.p50)
    out.put(
        sp["first"],
        her.first_p99,
        one.first_p99,
        f"the first post of each of {len(accounts)} channels to reach the platform, from the due instant",
    )
    out.put(sp["first_eta"], her.first_p99, plain.first_p99)
    out.put(
        sp["order"],
        her.order,
        plain.order,
        _order_note(her, one),
    )
    out.put(
        sp["over"],
        her.over,
        plain.over,
        f"counted (and refused with a 429) by the simulator; bare loop: {one.over}",
    )
    out.put(sp["dupes"], her.dupes, plain.dupes)
    out.put(
        sp["queue"],
        1000 * her.queue_seconds / n,
        1000 * plain.queue_seconds / n,
        f"Herald: {her.queue_seconds:.1f} s for {n} deliveries in one bulk add_posts "
        f"({plan.tophour_posts} posts × {len(accounts)} channels); Celery: {plain.queue_seconds:.1f} s "
        f"for {n} apply_async calls",
    )
    out.sections[f"Top of the hour by platform ({n} posts)"] = _by_platform(
        {"Herald": her, "plain Celery ETA": plain, "bare loop, 1 thread": one}
    )
    return out


def _by_platform(runs: Mapping[str, Run]) -> str:
    rows = [
        "Seconds after the due instant; each system alone on the simulator.",
        "",
        "| system | platform | drain (s) | p99 first post per channel (s) |",
        "|---|---|---|---|",
    ]
    for system, r in runs.items():
        for platform, (drain, first) in r.by_platform.items():
            rows.append(f"| {system} | {platform} | {drain:.3f} | {first:.3f} |")
    rows += [
        "",
        "| system | out of order | over a rate limit | duplicates |",
        "|---|---|---|---|",
    ]
    rows += [f"| {system} | {r.order} | {r.over} | {r.dupes} |" for system, r in runs.items()]
    rows += [
        "",
        "CPU seconds from the due instant to the last post (the simulator runs in the benchmark "
        "process, the bare loop in its own):",
        "",
        "| system | process | CPU (s) |",
        "|---|---|---|",
    ]
    rows += [
        f"| {system} | {proc} | {secs:.2f} |"
        for system, r in runs.items()
        for proc, secs in sorted(r.cpu.items())
    ]
    return "\n".join(rows)
