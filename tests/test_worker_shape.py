"""Issue 19, out of the box: ``herald worker`` with no options runs the fast shape for the
machine (a process per usable core, threads in each), which is what ``make bench`` measures."""

from __future__ import annotations

from pathlib import Path

import pytest

from herald.core.errors import ConfigError
from herald.core.settings import Settings
from herald.core.shape import usable_cores, worker_shape


def test_no_options_means_a_process_per_usable_core_with_threads() -> None:
    shape = worker_shape(Settings())
    assert (shape.processes, shape.pool, shape.concurrency) == (usable_cores(), "threads", 4)
    assert "per usable core" in shape.why


def test_prefork_is_one_celery_parent_and_solo_one_slot() -> None:
    assert worker_shape(Settings(), pool="prefork").processes == 1
    assert worker_shape(Settings(), pool="solo", concurrency=8).concurrency == 1


def test_the_command_line_beats_the_settings_which_beat_the_default() -> None:
    s = Settings(worker_processes=3, worker_concurrency=6)
    assert worker_shape(s).processes == 3 and worker_shape(s).concurrency == 6
    assert worker_shape(s, processes=1, concurrency=2).processes == 1
    assert worker_shape(s, processes=1, concurrency=2).concurrency == 2


def test_an_unknown_pool_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="gevent.*threads, prefork, solo"):
        worker_shape(Settings(), pool="gevent")


@pytest.mark.parametrize(
    ("cpu_max", "cap"), [("max 100000\n", None), ("150000 100000\n", 2), ("50000 100000\n", 1)]
)
def test_a_container_cpu_quota_caps_the_processes(tmp_path: Path, cpu_max: str, cap: int | None) -> None:
    f = tmp_path / "cpu.max"
    f.write_text(cpu_max)
    affinity = usable_cores(tmp_path / "absent")
    assert usable_cores(f) == (affinity if cap is None else min(affinity, cap))
