"""The chaos suite, short form (``make chaos`` runs the long form): real worker and scheduler
processes, a private Redis that is killed, platform faults. 0 lost, 0 duplicated, every uncertain
case flagged, and the delivery log agrees with what the platforms received."""

from __future__ import annotations

import os

import pytest

from bench import chaos

POSTS = int(os.environ.get("HERALD_CHAOS_POSTS", "60"))


@pytest.mark.parametrize("scenario", list(chaos.SCENARIOS))
def test_chaos(scenario: str) -> None:
    outcome = chaos.SCENARIOS[scenario](POSTS)
    summary = chaos.table([outcome])
    assert outcome.deliveries == 2 * POSTS, summary
    assert outcome.lost == 0, summary
    assert outcome.duplicated == 0, summary
    assert outcome.log_agrees, summary
    assert "did not settle" not in outcome.note, summary
    if scenario == "cancel":
        assert outcome.cancelled + outcome.published + outcome.uncertain == 2 * POSTS, summary
    elif scenario != "faults":
        assert outcome.uncertain <= 2 * POSTS * 0.1, summary
