"""``longjudge eval judge``: the registered ``longbench-chat`` scorer run as a scoring job into a
run that serves as a gold run: cached, resumable, rated examples from a file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from longjudge.cli import app
from longjudge.runtime.rundir import RunDir
from tests.conftest import EXAMPLES


def test_cli_judge_writes_a_gold_run_cached_and_resumable(tmp_path: Path) -> None:
    rated = tmp_path / "rated.jsonl"
    rated.write_text(json.dumps({"answer": "Build alliances first.", "rating": 6}) + "\n",
                     encoding="utf-8")
    args = ["eval", "judge", str(EXAMPLES / "longreward" / "sft.jsonl"), "--responses",
            str(EXAMPLES / "longreward" / "sampled_responses.jsonl"), "--judge",
            "mock/schema", "--examples-file", str(rated)]
    runner = CliRunner()
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "gold")])
    assert first.exit_code == 0, first.output
    run = RunDir(tmp_path / "gold")
    rewards = run.rewards()
    assert len(rewards) == 10
    assert {r.method for r in rewards} == {"lbc_judge"}
    assert all(r.status == "scored" and 1 <= (r.total or 0) <= 10 for r in rewards)
    assert run.read_config()["examples_file"] == str(rated)
    usage = run.read_summary()["invocations"][0]["usage"]["total"]
    assert (usage["calls"], usage["cache_hits"]) == (10, 0)

    again = runner.invoke(app, [*args, "--out", str(tmp_path / "gold")])  # resume: no work
    assert again.exit_code == 0 and len(RunDir(tmp_path / "gold").rewards()) == 10
    assert RunDir(tmp_path / "gold").read_summary()["invocations"][1]["skipped"] == 10

    fresh = runner.invoke(app, [*args, "--out", str(tmp_path / "copy")])  # same requests
    assert fresh.exit_code == 0
    usage = RunDir(tmp_path / "copy").read_summary()["invocations"][0]["usage"]["total"]
    assert (usage["calls"], usage["cache_hits"]) == (0, 10)
    copy = {r.candidate_id: r.total for r in RunDir(tmp_path / "copy").rewards()}
    assert copy == {r.candidate_id: r.total for r in rewards}

    # The ratings serve as the gold run of best-of-n (the run compared with itself is the
    # oracle).
    out = tmp_path / "bon.json"
    result = runner.invoke(app, ["eval", "best-of-n", str(tmp_path / "copy"), "--gold",
                                 str(tmp_path / "gold"), "--json", str(out)])
    assert result.exit_code == 0, result.output
    curves = json.loads(out.read_text())["curves"]
    assert [c["scorer"] for c in curves] == ["copy", "oracle", "random"]
    assert [p["n"] for p in curves[0]["points"]] == [2, 4, 8]
    for mine, oracle in zip(curves[0]["points"], curves[1]["points"]):
        assert (mine["best"], mine["worst"]) == (oracle["best"], oracle["worst"])
