"""``longjudge score`` output past a screenful: a summary instead of one row per candidate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from typer.testing import CliRunner

from longjudge.cli import app
from longjudge.cli.tables import rewards_summary, screenful
from longjudge.preference.tally import RewardTally, read_tally
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from longjudge.types import DimensionScore, Reward


def _reward(example: int, k: int) -> Reward:
    if k == 9:  # one unscored candidate per prompt
        dim = DimensionScore(name="helpfulness", status="unscored", reason="judge error: 500")
        return Reward(example_id=f"p{example}", candidate_id=f"c{k}", method="longreward",
                      status="unscored", reason="helpfulness: judge error: 500",
                      dimensions={"helpfulness": dim})
    score = float(k) if example % 2 else 5.0  # odd prompts spread, even prompts all tie
    dim = DimensionScore(name="helpfulness", status="scored", score=score)
    return Reward(example_id=f"p{example}", candidate_id=f"c{k}", method="longreward",
                  status="scored", total=score, dimensions={"helpfulness": dim})


def test_summary_counts_distribution_reasons_and_best_worst(tmp_path: Path) -> None:
    rewards = [_reward(e, k) for e in range(300) for k in range(10)]
    assert len(rewards) > screenful()
    console = Console(width=200, record=True)
    console.print(rewards_summary(RewardTally.of(rewards), tmp_path / "run"))
    text = console.export_text()
    lines = text.splitlines()
    assert len(lines) < 20  # a screen, not 3,000 rows
    helpfulness = next(line for line in lines if line.strip().startswith("helpfulness"))
    # 2,700 scored, 300 unscored; min 0, max 8 (odd prompts 0..8, even prompts 5)
    assert "2700" in helpfulness and "300" in helpfulness
    assert "0.00" in helpfulness and "8.00" in helpfulness
    words = " ".join(text.split())
    assert "300 prompts: 150 with a distinct best and worst, 150 without" in words
    assert "unscored by reason: helpfulness 300" in words
    assert str(tmp_path / "run" / "rewards.jsonl") in "".join(text.split())


Expected = tuple[int, dict[str, list[str]], int, int, dict[str, int]]


def _expected_rows(rewards_file: Path) -> Expected:
    """What the summary must say, worked out from the file with plain json and sorting: the
    last line per candidate wins."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for line in rewards_file.read_text().splitlines():
        row = json.loads(line)
        latest[(row["example_id"], row["candidate_id"])] = row
    rows = list(latest.values())
    columns: dict[str, list[str]] = {}
    names = list(dict.fromkeys(d for r in rows for d in r["dimensions"]))
    for name in [*names, "total"]:
        if name == "total":
            values = [r["total"] for r in rows if r["status"] == "scored"]
            unscored = sum(r["status"] != "scored" for r in rows)
        else:
            dims = [r["dimensions"][name] for r in rows if name in r["dimensions"]]
            values = [d["score"] for d in dims if d["status"] == "scored"]
            unscored = sum(d["status"] != "scored" for d in dims)
        ordered = sorted(values)
        cells = [str(len(values)), str(unscored)]
        if ordered:
            picks = [ordered[0], *(ordered[min(len(ordered) - 1, int(q * len(ordered)))]
                                   for q in (0.25, 0.5, 0.75)), ordered[-1]]
            cells += [f"{v:.2f}" for v in picks] + [f"{sum(ordered) / len(ordered):.2f}"]
        columns[name] = cells
    by_prompt: dict[str, list[float]] = {}
    for r in rows:
        if r["status"] == "scored" and r.get("excluded") is None:
            by_prompt.setdefault(r["example_id"], []).append(r["total"])
    distinct = sum(len(t) >= 2 and min(t) != max(t) for t in by_prompt.values())
    reasons: dict[str, int] = {}
    for r in rows:
        if r["status"] != "scored":
            key = r["reason"].split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
    prompts = len({r["example_id"] for r in rows})
    return len(rows), columns, prompts, distinct, reasons


def _score(*args: str) -> str:
    result = CliRunner().invoke(app, ["score", *args], terminal_width=200)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.output


def _check_summary(output: str, rewards_file: Path) -> None:
    candidates, columns, prompts, distinct, reasons = _expected_rows(rewards_file)
    assert candidates > screenful()
    lines = output.splitlines()
    assert f"{candidates} candidates" in output
    assert len(lines) < 40  # a summary, not a row per candidate
    for name, cells in columns.items():
        row = next(line.split() for line in lines if line.split()[:1] == [name])
        assert row[1:] == cells, (name, row, cells)
    words = " ".join(output.split())
    assert f"{prompts} prompts: {distinct} with a distinct best and worst" in words
    for reason, count in reasons.items():
        assert f"{reason} {count}" in words


def test_score_prints_a_summary_read_in_one_pass_matching_the_rewards_file(
    tmp_path: Path,
) -> None:
    examples, responses = tmp_path / "examples.jsonl", tmp_path / "responses.jsonl"
    with examples.open("w") as ex, responses.open("w") as rs:
        for i in range(6):
            context = " ".join(f"Note {i}.{j}: mill {j} ground {i + j} sacks." for j in range(15))
            ex.write(json.dumps({"id": f"p{i}", "context": context, "query": f"Mills ({i})?"})
                     + "\n")
            for k in range(10):
                rs.write(json.dumps({"example_id": f"p{i}", "id": f"c{k}",
                                     "text": f"Mill {k} ground {i + k} sacks. It was busy."})
                         + "\n")
    out = tmp_path / "run"
    config = tmp_path / "config.yaml"  # an answer that breaks the schema is not asked again
    config.write_text("retry: {max_attempts: 1, parse_retries: 0}\n"
                      "longreward: {retrieval: {method: bm25}}\n")
    common = ["--responses", str(responses), "--judge", "openai/fake-judge", "--no-cache",
              "--config", str(config), "--out", str(out), str(examples)]
    # some answers break the schema (those candidates are unscored), then the faults stop
    faulty = FakeJudgeConfig(fault_rate=0.1, fault_mix={"schema_invalid": 1.0}, seed=5,
                             max_faults=8)
    rewards_file = out / "rewards.jsonl"
    with FakeJudgeServer(faulty) as server:
        output = _score("--base-url", server.base_url, *common)
        assert "unscored by reason" in output
        _check_summary(output, rewards_file)
        # resumed with --retry-unscored: the unscored get a second line, the last one wins
        output = _score("--base-url", server.base_url, "--retry-unscored", *common)
    assert len(rewards_file.read_text().splitlines()) > 60  # some candidates have two lines
    _check_summary(output, rewards_file)
    tally = read_tally(rewards_file)
    assert tally.candidates == 60 and len(tally.prompts) == 6
