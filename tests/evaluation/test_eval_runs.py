"""evaluation/runs: the work behind ``longjudge eval`` on run directories, without the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from longjudge.errors import InputError
from longjudge.evaluation.agreement import (
    AgreementConfig,
    config_for_run,
    run_renormalizes,
)
from longjudge.evaluation.best_of_n import BestOfNConfig
from longjudge.evaluation.human import HumanPair
from longjudge.evaluation.metrics import BootstrapConfig
from longjudge.evaluation.ranking import SubsetConfig
from longjudge.evaluation.runs import (
    best_of_n_curves,
    compare_with_gold,
    curves_payload,
    overlap,
    ranking_curves,
    run_agreement,
    run_names,
    run_rewards,
    write_json,
)
from longjudge.runtime.rundir import RunDir
from longjudge.types import DimensionScore, Reward

NO_CI = BootstrapConfig(resamples=0)


def scored(cid: str, total: float, eid: str = "e") -> Reward:
    return Reward(example_id=eid, candidate_id=cid, method="t", status="scored", total=total)


def run(path: Path, rewards: list[Reward], config: dict | None = None) -> Path:
    rundir = RunDir(path)
    for reward in rewards:
        rundir.append_reward(reward)
    if config is not None:
        rundir.write_config(config)
    return path


def three_dims(cid: str, h: float, f: float, c: float | None) -> Reward:
    dims = {
        "helpfulness": DimensionScore.scored("helpfulness", h),
        "faithfulness": DimensionScore.scored("faithfulness", f),
        "completeness": DimensionScore.scored("completeness", c) if c is not None
        else DimensionScore.unscored("completeness", "completeness.extract: not_json"),
    }
    if c is None:
        return Reward(example_id="e", candidate_id=cid, method="longreward", status="unscored",
                      reason="completeness unscored", dimensions=dims)
    return Reward(example_id="e", candidate_id=cid, method="longreward", status="scored",
                  total=(h + f + c) / 3, dimensions=dims)


def test_run_renormalizes_reads_the_runs_longreward_section() -> None:
    assert run_renormalizes({"longreward": {"renormalize": True}}) is True
    assert run_renormalizes({"longreward": {"renormalize": False}}) is False
    assert run_renormalizes({"longreward": None}) is False
    assert run_renormalizes({}) is False
    base = AgreementConfig(tie_tolerance=0.5, renormalize=True)
    cfg = config_for_run(base, {})
    assert cfg.renormalize is False and cfg.tie_tolerance == 0.5


@pytest.mark.parametrize("renormalize,unscored", [(True, 0), (False, 1)])
def test_run_agreement_ablates_as_the_run_renormalised(
    tmp_path: Path, renormalize: bool, unscored: int
) -> None:
    rewards = [three_dims("c1", 9, 9, None), three_dims("c2", 2, 2, 2)]
    path = run(tmp_path / "r", rewards, {"longreward": {"renormalize": renormalize}})
    human = [HumanPair("e", "c1", "c2", "a")]
    report = run_agreement(path, human, AgreementConfig(bootstrap=NO_CI))
    # Without helpfulness, c1 keeps faithfulness and an unscored completeness: its ablated
    # mean exists only when the run renormalised over the scored dimensions.
    row = report.row("without helpfulness").result
    assert row.unscored == unscored
    assert row.correct == 1 - unscored


def test_run_rewards_refuses_a_directory_without_rewards(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a run directory"):
        run_rewards(tmp_path)
    with pytest.raises(InputError, match="is not a run directory"):
        RunDir.existing(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()  # refused before anything is created


def test_run_names_are_unique_and_avoid_the_reference_curves(tmp_path: Path) -> None:
    paths = [tmp_path / "a" / "r1", tmp_path / "b" / "r1", tmp_path / "x" / "oracle"]
    assert run_names(paths) == ["r1", "b/r1", "x/oracle"]
    same = [tmp_path / "a" / "r1", tmp_path / "a" / "r1"]
    assert run_names(same) == ["r1", "a/r1"]


def test_overlap_names_prompts_and_candidates_on_one_side_only() -> None:
    mine = [scored("c1", 1, "e1"), scored("c2", 2, "e1"), scored("c1", 1, "e2")]
    gold = [scored("c1", 1, "e1"), scored("c3", 3, "e1"), scored("c1", 1, "e3")]
    found = overlap("mine", mine, gold)
    assert found.not_in_gold == ["e2"] and found.not_in_run == ["e3"]
    assert found.lone_candidates == ["e1/c2", "e1/c3"]
    assert found.shared is True
    assert overlap("x", [scored("c9", 1, "e1")], gold).shared is False


def test_curves_against_a_gold_run(tmp_path: Path) -> None:
    gold = run(tmp_path / "gold", [scored("a", 1), scored("b", 2), scored("c", 3)])
    good = run(tmp_path / "good", [scored("a", 0.1), scored("b", 0.2), scored("c", 0.3)])
    comparison = compare_with_gold([good], gold)
    assert list(comparison.runs) == ["good"] and comparison.overlaps[0].shared
    curves = ranking_curves(comparison, SubsetConfig(bootstrap=NO_CI))
    assert [p.tau for p in curves[0].points] == [1.0, 1.0]
    bon = best_of_n_curves(comparison, BestOfNConfig(ns=[3], bootstrap=NO_CI))
    assert [c.scorer for c in bon] == ["good", "oracle", "random"]
    assert (bon[0].points[0].best, bon[0].points[0].worst) == (3.0, 1.0)
    payload = curves_payload(gold, bon)
    write_json(tmp_path / "out.json", payload)
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["gold"] == str(gold) and data["curves"][0]["points"][0]["best"] == 3.0


def test_nothing_in_common_with_the_gold_run_is_an_input_error(tmp_path: Path) -> None:
    gold = run(tmp_path / "gold", [scored("a", 1), scored("b", 2)])
    other = run(tmp_path / "other", [scored("x", 1, "f"), scored("y", 2, "f")])
    comparison = compare_with_gold([other], gold)
    assert comparison.overlaps[0].not_in_gold == ["f"]
    with pytest.raises(InputError, match="no prompt has two candidates scored in both"):
        ranking_curves(comparison, SubsetConfig(bootstrap=NO_CI))
    with pytest.raises(InputError, match="no run picked a candidate the gold run scored"):
        best_of_n_curves(comparison, BestOfNConfig(bootstrap=NO_CI))
