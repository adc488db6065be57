"""Partial work is never a full score: completeness with a failed key-point window is unscored
(and retried, failed windows only, by --retry-unscored); statements beyond the cap are counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer

from .data import (
    error_lines,
    essence,
    latest,
    run_cli,
    said,
    score_command,
    write_config,
    write_inputs,
)
from .scripted import TextScript, scripted

pytestmark = pytest.mark.reliability

PROMPTS, PER_PROMPT = 3, 4
WINDOWED = {
    "longreward": {"dimensions": ["helpfulness", "completeness"], "completeness_window_tokens": 64}
}


@pytest.mark.timeout(150)
def test_failed_key_point_window_leaves_completeness_unscored_until_retried(
    tmp_path: Path,
) -> None:
    ex, cand = write_inputs(tmp_path, examples=PROMPTS, candidates=PER_PROMPT, sentences=12)
    script = TextScript()
    with FakeJudgeServer(FakeJudgeConfig(), script=scripted(script)) as server:
        url = server.base_url
        base_cfg = write_config(tmp_path / "b.yaml", url, tmp_path / "b.sqlite", **WINDOWED)
        base = run_cli(score_command(ex, cand, base_cfg, tmp_path / "base"))
        assert base.returncode == 0, base.stderr[-2000:]
        base_rewards = latest(tmp_path / "base" / "rewards.jsonl").values()
        expected = sorted(map(essence, base_rewards))
        windows = {r.dimensions["completeness"].details["windows"] for r in base_rewards}
        assert min(windows) >= 3  # several windows per prompt, one of which will fail

        # The judge answers the key-point step unusably for the window holding year 2005.
        script.fail_window = "year 2005"
        cfg = write_config(tmp_path / "c.yaml", url, tmp_path / "c.sqlite", **WINDOWED)
        out = tmp_path / "run"
        command = score_command(ex, cand, cfg, out)
        broken = run_cli(command)
        assert broken.returncode == 3, broken.stderr[-2000:]
        rewards = latest(out / "rewards.jsonl")
        assert len(rewards) == PROMPTS * PER_PROMPT
        for reward in rewards.values():
            completeness = reward.dimensions["completeness"]
            assert reward.status == "unscored" and completeness.status == "unscored"
            assert completeness.reason and "key points missing from 1 of" in completeness.reason
            assert completeness.reason.startswith("completeness.extract")
            assert len(completeness.details["failed_windows"]) == 1
            assert reward.dimensions["helpfulness"].status == "scored"
        unscored = [e for e in error_lines(out) if e["kind"] == "unscored"]
        assert len(unscored) == PROMPTS * PER_PROMPT
        assert all("completeness unscored" in e["reason"] for e in unscored)

        # The judge is fixed. A plain rerun does not hide the unscored results ...
        script.fail_window = None
        again = run_cli(command)
        assert again.returncode == 3 and "of them unscored" in said(again), again.stderr
        # ... and --retry-unscored asks only the failed windows again (the rest are cached).
        before = script.calls.get("lr_keypoints", 0)
        retried = run_cli([*command, "--retry-unscored"])
        assert retried.returncode == 0, retried.stderr[-2000:]
        assert script.calls["lr_keypoints"] - before == PROMPTS
    assert sorted(map(essence, latest(out / "rewards.jsonl").values())) == expected
    assert not [e for e in error_lines(out) if e["kind"] == "unscored"]
    print(
        f"1 failed key-point window per prompt: {PROMPTS * PER_PROMPT} of {PROMPTS * PER_PROMPT} "
        f"rewards unscored (exit 3, twice); --retry-unscored re-asked {PROMPTS} windows and "
        "ended equal to the fault-free run"
    )


@pytest.mark.timeout(120)
def test_statements_beyond_the_cap_are_counted(tmp_path: Path) -> None:
    ex, cand = write_inputs(tmp_path, examples=2, candidates=3, sentences=4)
    capped = {"longreward": {"dimensions": ["faithfulness"], "max_statements": 1}}
    with FakeJudgeServer(FakeJudgeConfig(), script=scripted(TextScript())) as server:
        cfg = write_config(tmp_path / "c.yaml", server.base_url, tmp_path / "c.sqlite", **capped)
        out = tmp_path / "run"
        done = run_cli(score_command(ex, cand, cfg, out))
    assert done.returncode == 0, done.stderr[-2000:]
    # every answer has two sentences, the scripted judge lists both, one is over the cap
    assert "max_statements dropped: 6 in 6 responses" in said(done), done.stderr
    for reward in latest(out / "rewards.jsonl").values():
        faithfulness = reward.dimensions["faithfulness"]
        assert faithfulness.status == "scored"
        assert faithfulness.details["statements_dropped"] == 1
        assert len(faithfulness.details["statements"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["invocations"][-1]["scorer"]["statements_dropped"] == 6
