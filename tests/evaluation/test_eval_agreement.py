"""Agreement with human preferences and the dimension ablation, by hand and through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longjudge.cli import app
from longjudge.evaluation.agreement import AgreementConfig, ablated_mean, agreement
from longjudge.evaluation.human import HumanChoice, HumanPair, write_human
from longjudge.evaluation.metrics import BootstrapConfig
from longjudge.runtime.rundir import RunDir
from longjudge.types import DimensionScore, Reward

NO_CI = AgreementConfig(bootstrap=BootstrapConfig(resamples=0))


def lr(cid: str, h: float, f: float | None, **kw: object) -> Reward:
    """A two-dimension reward, weights helpfulness 1 and faithfulness 3."""
    dims = {"helpfulness": DimensionScore.scored("helpfulness", h),
            "faithfulness": DimensionScore.scored("faithfulness", f) if f is not None
            else DimensionScore.unscored("faithfulness", "faithfulness.verify: not_json")}
    total = None if f is None else (h + 3 * f) / 4
    return Reward(example_id="e", candidate_id=cid, method="longreward",
                  status="scored" if total is not None else "unscored", total=total,
                  reason=None if total is not None else "faithfulness unscored",
                  dimensions=dims, meta={"weights": {"helpfulness": 1.0, "faithfulness": 3.0}},
                  **kw)  # type: ignore[arg-type]


REWARDS = [lr("c1", 8, 4), lr("c2", 6, 8), lr("c3", 9, None), lr("c4", 2, 2)]
PAIRS = [
    HumanPair("e", "c1", "c2", "b"),  # total 5.0 < 7.5 right; helpfulness 8 > 6 wrong
    HumanPair("e", "c1", "c3", "a"),  # c3 unscored in total and faithfulness
    HumanPair("e", "c2", "c4", "a"),  # right everywhere
    HumanPair("e", "c1", "c4", "tie"),  # a human tie
    HumanPair("e", "c1", "c9", "a"),  # c9 has no reward in the run
]


def test_accuracy_of_total_dimensions_and_ablations_by_hand() -> None:
    report = agreement(REWARDS, PAIRS, NO_CI)
    assert report.human_pairs == 5 and report.missing == 1 and report.examples == 1
    names = [r.name for r in report.rows]
    assert names == ["total", "helpfulness", "faithfulness", "without helpfulness",
                     "without faithfulness"]
    total = report.row("total").result
    assert (total.decided, total.correct, total.unscored, total.human_ties) == (2, 2, 1, 1)
    assert total.accuracy == 1.0
    helpful = report.row("helpfulness").result
    assert (helpful.decided, helpful.correct, helpful.wrong) == (3, 1, 2)
    assert helpful.accuracy == pytest.approx(1 / 3)
    # Without faithfulness only helpfulness is left; without helpfulness, only faithfulness.
    assert report.row("without faithfulness").result.accuracy == pytest.approx(1 / 3)
    without_h = report.row("without helpfulness").result
    assert (without_h.accuracy, without_h.unscored) == (1.0, 1)


def test_ablated_mean_uses_weights_and_respects_unscored() -> None:
    reward = Reward(
        example_id="e", candidate_id="c", method="longreward", status="unscored",
        reason="completeness unscored",
        dimensions={"helpfulness": DimensionScore.scored("helpfulness", 8),
                    "logicality": DimensionScore.scored("logicality", 4),
                    "faithfulness": DimensionScore.scored("faithfulness", 6),
                    "completeness": DimensionScore.unscored("completeness", "not_json")},
        meta={"weights": {"helpfulness": 1, "logicality": 1, "faithfulness": 2,
                          "completeness": 1}},
    )
    assert ablated_mean(reward, "completeness") == pytest.approx((8 + 4 + 12) / 4)
    assert ablated_mean(reward, "logicality") is None
    assert ablated_mean(reward, "logicality", renormalize=True) == pytest.approx((8 + 12) / 3)


def test_an_excluded_candidate_loses_to_a_selectable_one() -> None:
    s2l = [
        Reward(example_id="e", candidate_id="in", method="s2l", status="scored", total=-3.0),
        Reward(example_id="e", candidate_id="out", method="s2l", status="scored", total=5.0,
               excluded="outside_trust_region: contradicts the reference"),
    ]
    report = agreement(s2l, [HumanPair("e", "in", "out", "a")], NO_CI)
    assert report.row("total").result.correct == 1


def test_score_ties_within_tolerance() -> None:
    rewards = [lr("c1", 5, 5.0), lr("c2", 5, 5.2)]
    pairs = [HumanPair("e", "c1", "c2", "b")]
    strict = agreement(rewards, pairs, NO_CI).row("total").result
    loose = agreement(rewards, pairs, NO_CI.model_copy(update={"tie_tolerance": 0.5}))
    assert strict.correct == 1
    assert loose.row("total").result.score_ties == 1 and loose.row("total").result.accuracy == 0


def test_cli_agreement_writes_json(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    for reward in REWARDS:
        run.append_reward(reward)
    human = tmp_path / "human.jsonl"
    write_human(human, [HumanChoice(example_id=p.example_id, a=p.a, b=p.b, winner=p.winner)
                        for p in PAIRS])
    out = tmp_path / "agreement.json"
    result = CliRunner().invoke(app, ["eval", "agreement", str(run.path), "--human", str(human),
                                      "--json", str(out), "--resamples", "200"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    rows = {r["name"]: r["result"] for r in data["rows"]}
    assert rows["total"]["accuracy"] == 1.0
    assert rows["helpfulness"]["accuracy"] == pytest.approx(1 / 3)
    assert rows["total"]["ci"] == [1.0, 1.0]
    assert data["missing"] == 1
