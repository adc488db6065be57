"""The streaming summary's counters: quantiles from a two-decimal histogram equal those of the
sorted scores, printed; the last line per candidate wins; best/worst counted as picks does."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from longjudge.preference.picks import best_and_worst
from longjudge.preference.tally import RewardTally, Scores, latest_lines, read_tally
from longjudge.runtime.rundir import RunDir
from longjudge.types import DimensionScore, Reward


@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=200))
def test_histogram_quantiles_print_as_the_sorted_scores_do(values: list[float]) -> None:
    scores = Scores()
    for v in values:
        scores.add(v)
    ordered = sorted(values)
    for q in (0.0, 0.25, 0.5, 0.75, 1.0):
        expected = ordered[min(len(ordered) - 1, int(q * len(ordered)))]
        assert f"{scores.quantile(q):.2f}" == f"{expected:.2f}"
    assert scores.count == len(values)


def _reward(example: str, candidate: str, total: float | None) -> Reward:
    if total is None:
        dim = DimensionScore(name="helpfulness", status="unscored", reason="parse: bad")
        return Reward(example_id=example, candidate_id=candidate, method="m",
                      status="unscored", reason="helpfulness: parse: bad",
                      dimensions={"helpfulness": dim})
    dim = DimensionScore(name="helpfulness", status="scored", score=total)
    return Reward(example_id=example, candidate_id=candidate, method="m", status="scored",
                  total=total, dimensions={"helpfulness": dim})


def test_the_last_line_per_candidate_wins_and_best_worst_follows_picks(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    lines = [
        _reward("a", "1", None), _reward("a", "2", 4.0), _reward("b", "1", 5.0),
        _reward("b", "2", 5.0), _reward("a", "1", 7.0),  # a/1 scored on resume: 7 wins
        _reward("c", "1", 3.0), _reward("b", "2", None),  # b/2 unscored at last
    ]
    for reward in lines:
        run.append_reward(reward)
    run.flush()
    latest = latest_lines(tmp_path / "rewards.jsonl")
    assert (latest.candidates, latest.lines) == (5, 7)
    tally = read_tally(tmp_path / "rewards.jsonl", latest)
    rows = run.rewards()  # the eager reading, for reference
    assert tally.candidates == len(rows) == 5
    assert tally.totals.count == 4 and tally.totals.unscored == 1
    assert tally.totals.quantile(0.0) == 3.0 and tally.totals.quantile(1.0) == 7.0
    assert dict(tally.reasons) == {"helpfulness": 1}
    groups: dict[str, list[Reward]] = {}
    for r in rows:
        groups.setdefault(r.example_id, []).append(r)
    expected = sum(best_and_worst(g) is not None for g in groups.values())
    assert tally.distinct_best_worst == expected == 1  # a: 7 vs 4; b: one scored; c: one
    assert RewardTally.of(rows).totals.histogram == tally.totals.histogram
