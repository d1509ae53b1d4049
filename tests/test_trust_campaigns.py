"""Threat: a misspelt ``--campaign`` silently made a new campaign, with none of the real one's
safety settings (alt text required, faces protected, approval). A post now names a campaign
that exists or is refused, through every door, naming the ones there are; nothing changes."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from herald.cli import app as cli
from tests.web import add_channels

runner = CliRunner()


def test_a_misspelt_campaign_is_refused_with_the_names_there_are(herald: Any, tmp_path: Any) -> None:
    add_channels(herald)
    herald.set_campaign("unification", protect_faces="blur", require_alt_text=True)
    before = (herald.list_posts(), herald.list_campaigns())
    res = runner.invoke(
        cli, ["post", "add", "--channel", "m1", "--text", "평화", "--campaign", "unifcation", "--now"]
    )
    assert res.exit_code != 0
    assert "no campaign named 'unifcation'" in res.output and "unification" in res.output
    assert "herald campaign set" in res.output
    # A CSV import with the typo in one row queues none of its rows.
    plan = tmp_path / "plan.csv"
    plan.write_text("channels,at,text,campaign\nm1,now,first,unification\nm1,now,second,unifcation\n")
    res = runner.invoke(cli, ["post", "import", str(plan)])
    assert res.exit_code != 0 and "unifcation" in res.output
    assert (herald.list_posts(), herald.list_campaigns()) == before
    # Made first, it is used.
    assert runner.invoke(cli, ["campaign", "set", "unifcation"]).exit_code == 0
    res = runner.invoke(
        cli, ["post", "add", "--channel", "m1", "--text", "평화", "--campaign", "unifcation", "--now"]
    )
    assert res.exit_code == 0, res.output
