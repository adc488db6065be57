"""Resume reuses a reward only when its fingerprint matches; one directory never mixes two
setups; the exit code and errors.jsonl tell the truth on every rerun.

Each case runs ``longjudge score`` in a subprocess against the fake judge server on loopback,
as a user would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer

from .data import (
    error_lines,
    latest,
    read_rewards,
    run_cli,
    said,
    score_command,
    write_config,
    write_inputs,
)
from .scripted import TextScript, helpfulness_of, scripted

pytestmark = pytest.mark.reliability

SECTIONS = {"longreward": {"dimensions": ["helpfulness", "faithfulness"]}}


def _rewrite_answers(cand: Path, prefix: str, suffix: str) -> dict[str, str]:
    """Append ``suffix`` to the answers of ids starting with ``prefix``; return the new texts."""
    rows = [json.loads(line) for line in cand.read_text().splitlines()]
    changed = {}
    for row in rows:
        if row["idx"].startswith(prefix):
            row["answer"] += suffix
            changed[row["idx"]] = row["answer"]
    cand.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return changed


@pytest.mark.timeout(120)
def test_changed_texts_are_rescored_and_another_judge_is_refused(tmp_path: Path) -> None:
    from longjudge.runtime.fingerprint import text_digest

    ex, cand = write_inputs(tmp_path, examples=2, candidates=5, sentences=4)
    out = tmp_path / "run"
    with FakeJudgeServer(FakeJudgeConfig(), script=scripted(TextScript())) as server:
        cfg = write_config(tmp_path / "c.yaml", server.base_url, tmp_path / "c.sqlite", **SECTIONS)
        command = score_command(ex, cand, cfg, out)
        first = run_cli(command)
        assert first.returncode == 0, first.stderr[-2000:]
        before = latest(out / "rewards.jsonl")
        assert len(before) == 10 and all(r.fingerprint is not None for r in before.values())

        # 1. New texts for the five answers of p0: exactly those are scored again.
        changed = _rewrite_answers(cand, "p0-", " It rained a great deal that year.")
        second = run_cli(command)
        assert second.returncode == 0, second.stderr[-2000:]
        assert "rescored 5: candidate text changed 5" in said(second), second.stderr
        assert "already done 5" in said(second)
        after = latest(out / "rewards.jsonl")
        for (example_id, candidate_id), reward in after.items():
            text = changed.get(candidate_id)
            fingerprint = reward.fingerprint
            assert fingerprint is not None
            if text is None:
                assert reward == before[(example_id, candidate_id)]
                continue
            assert fingerprint.candidate == text_digest(text)
            assert reward.dimensions["helpfulness"].score == helpfulness_of(text)

        # 2. Another judge into the same directory: refused, nothing written.
        rewards_bytes = (out / "rewards.jsonl").read_bytes()
        config_bytes = (out / "config.yaml").read_bytes()
        other = run_cli([*command, "--judge", "openai/other-judge"])
        assert other.returncode == 2, other.stderr[-2000:]
        assert "another setup (judge changed 10)" in said(other), other.stderr
        assert "--rescore" in said(other)
        assert (out / "rewards.jsonl").read_bytes() == rewards_bytes
        assert (out / "config.yaml").read_bytes() == config_bytes

        # 3. Another scoring config: refused as well.
        cfg2 = write_config(
            tmp_path / "c2.yaml",
            server.base_url,
            tmp_path / "c.sqlite",
            longreward={"dimensions": ["helpfulness"]},
        )
        narrower = run_cli(score_command(ex, cand, cfg2, out))
        assert narrower.returncode == 2 and "scoring config changed 10" in said(narrower)

        # 4. --rescore: the old results move aside, config.yaml describes the new ones only.
        rescored = run_cli([*score_command(ex, cand, cfg2, out), "--rescore"])
        assert rescored.returncode == 0, rescored.stderr[-2000:]
    (moved,) = (out / "superseded").iterdir()
    assert (moved / "rewards.jsonl").read_bytes() == rewards_bytes
    config = yaml.safe_load((out / "config.yaml").read_text())
    now = read_rewards(out / "rewards.jsonl")
    assert len(now) == 10
    setups = {(f.config, f.judge, f.prompts) for f in (r.fingerprint for r in now) if f}
    stated = config["fingerprint"]
    assert setups == {(stated["config"], stated["judge"], stated["prompts"])}
    assert config["longreward"]["dimensions"] == ["helpfulness"]
    assert all(set(r.dimensions) == {"helpfulness"} for r in now)
    print("5 changed texts rescored, 5 reused; another judge and another config refused "
          "(exit 2, directory unchanged); --rescore moved 10 results to superseded/")


@pytest.mark.timeout(120)
def test_changed_example_and_old_files_without_fingerprint(tmp_path: Path) -> None:
    ex, cand = write_inputs(tmp_path, examples=2, candidates=3, sentences=4)
    out = tmp_path / "run"
    with FakeJudgeServer(FakeJudgeConfig(), script=scripted(TextScript())) as server:
        cfg = write_config(tmp_path / "c.yaml", server.base_url, tmp_path / "c.sqlite", **SECTIONS)
        command = score_command(ex, cand, cfg, out)
        assert run_cli(command).returncode == 0
        rows = [json.loads(line) for line in ex.read_text().splitlines()]
        rows[1]["context"] += " The district was renamed in year 2011."
        ex.write_text("".join(json.dumps(r) + "\n" for r in rows))
        again = run_cli(command)
        assert again.returncode == 0, again.stderr[-2000:]
        assert "rescored 3: example changed 3" in said(again), again.stderr

        # A rewards file from a version without fingerprints is never trusted.
        lines = [json.loads(x) for x in (out / "rewards.jsonl").read_text().splitlines()]
        for line in lines:
            line.pop("fingerprint")
        (out / "rewards.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        old = run_cli(command)
        assert old.returncode == 2, old.stderr[-2000:]
        assert "no fingerprint (written by an older version)" in said(old)


@pytest.mark.timeout(120)
def test_unscored_candidates_fail_every_rerun_and_are_listed_in_errors(tmp_path: Path) -> None:
    ex, cand = write_inputs(tmp_path, examples=2, candidates=5, sentences=4)
    out = tmp_path / "run"
    down = FakeJudgeConfig(fault_rate=1.0, fault_mix={"auth": 1.0})  # every call: 401
    with FakeJudgeServer(down, script=scripted(TextScript())) as server:
        cfg = write_config(tmp_path / "c.yaml", server.base_url, tmp_path / "c.sqlite", **SECTIONS)
        command = score_command(ex, cand, cfg, out)
        first = run_cli(command)
        assert first.returncode == 3, first.stderr[-2000:]
        unscored = [e for e in error_lines(out) if e["kind"] == "unscored"]
        ids = {candidate for _, candidate in latest(out / "rewards.jsonl")}
        assert {e["candidate_id"] for e in unscored} == ids
        assert len(unscored) == 10 and all("judge error" in e["reason"] for e in unscored)

        again = run_cli(command)
        assert again.returncode == 3, again.stderr[-2000:]
        assert "already done 10 (10 of them unscored)" in said(again), again.stderr
        assert "INCOMPLETE" in said(again)
        assert len([e for e in error_lines(out) if e["kind"] == "unscored"]) == 10  # not doubled

        server.app.config.fault_rate = 0.0  # the judge is back
        retried = run_cli([*command, "--retry-unscored"])
        assert retried.returncode == 0, retried.stderr[-2000:]
        assert "rescored 10: unscored before 10" in said(retried)
        assert not [e for e in error_lines(out) if e["kind"] == "unscored"]
        assert all(r.status == "scored" for r in latest(out / "rewards.jsonl").values())

        final = run_cli(command)
        assert final.returncode == 0 and "already done 10," in said(final)
    print("judge down: exit 3 on the run and on the rerun, 10 unscored lines in errors.jsonl; "
          "judge back: --retry-unscored scored 10, errors.jsonl emptied, exit 0")
