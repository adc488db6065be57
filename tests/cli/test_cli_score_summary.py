"""``longjudge score`` output past a screenful: a summary instead of one row per candidate."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from longjudge.cli.tables import rewards_summary, screenful
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
    console.print(rewards_summary(rewards, tmp_path / "run"))
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
