"""How big each scenario is: the full run (``make bench``, under ~10 minutes on 2 cores) and
``--quick`` (the smoke test in ``make test``, under 60 s)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    quick: bool
    #: Posts per burst, all due at one instant, spread over ``channels`` Mastodon channels.
    bursts: tuple[int, ...]
    #: Single posts due at random times while nothing else happens, and the window they fall in.
    idle_posts: int
    idle_window_seconds: float
    #: Posts queued for the future in the scale scenario, and the samples timed on the slow
    #: paths (extrapolated to ``scale_posts``, and said so in the table).
    scale_posts: int
    scale_service_sample: int
    scale_stage_sample: int
    #: Plain-Celery ETA tasks held for the future, for its memory per post.
    scale_eta_sample: int
    #: Posts with 4 photos each (shared, then distinct photos).
    photo_posts: int
    photo_size: tuple[int, int]
    #: Posts in each recovery run (Redis restarted empty, worker killed).
    recovery_posts: int
    #: Posts due in 12 s in the long-delay demonstration, per system.
    longdelay_posts: int
    #: Posts in the profiled burst (0: no profile).
    profile_posts: int
    #: Posts in the instrumented in-process delivery run (SQL statements, Redis round trips).
    opcount_posts: int
    channels: int = 10
    #: Total worker concurrency of Herald and of plain Celery (threads, split evenly over the
    #: processes), and threads of the pooled bare loop.
    concurrency: int = 8
    #: Warm-up posts per system before anything is timed (connections, imports, caches).
    warmup_posts: int = 40
    #: Seconds between the end of queueing and a burst's due instant (every process idle then).
    lead_seconds: float = 2.0
    #: Seconds the scale scenario lets the scheduler run (consistency checks every 2 s) with the
    #: full queue before sampling memory.
    settle_seconds: float = 6.0
    #: Deliveries in the delivery log scenario (``bench.log_scale``).
    log_deliveries: int = 1_000_000
    #: The top of the hour (``bench.tophour``): channels over four platforms, and posts per
    #: channel, all due at one instant.
    tophour_channels: int = 100
    tophour_posts: int = 20

    @classmethod
    def full(cls) -> Plan:
        return cls(
            quick=False,
            bursts=(2_000, 10_000),
            # "Single posts at random instants over several minutes" (issue 19).
            idle_posts=60,
            idle_window_seconds=180.0,
            scale_posts=1_000_000,
            scale_service_sample=10_000,
            scale_stage_sample=10_000,
            scale_eta_sample=10_000,
            photo_posts=50,
            photo_size=(1600, 1200),
            recovery_posts=1_000,
            longdelay_posts=20,
            profile_posts=2_000,
            opcount_posts=200,
        )

    @classmethod
    def small(cls) -> Plan:
        """``--quick``: every row, smaller numbers (labelled in the table)."""
        return cls(
            quick=True,
            bursts=(300,),
            idle_posts=5,
            idle_window_seconds=4.0,
            scale_posts=20_000,
            scale_service_sample=300,
            scale_stage_sample=2_000,
            scale_eta_sample=1_000,
            photo_posts=4,
            photo_size=(800, 600),
            recovery_posts=150,
            longdelay_posts=5,
            profile_posts=0,
            opcount_posts=20,
            warmup_posts=10,
            lead_seconds=0.5,
            settle_seconds=2.5,
            log_deliveries=20_000,
            tophour_channels=8,
            tophour_posts=3,
        )

    def count(self, n: int) -> str:
        """``n`` for labels: "1M", "10k", "300"."""
        if n >= 1_000_000 and n % 1_000_000 == 0:
            return f"{n // 1_000_000}M"
        if n >= 1_000 and n % 1_000 == 0:
            return f"{n // 1_000}k"
        return str(n)
