"""Kendall tau by N and Best-of-N curves: hand-computed cases, selection rules, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longjudge.cli import app
from longjudge.evaluation.best_of_n import BestOfNConfig, best_of_n_curves, default_ns
from longjudge.evaluation.metrics import BootstrapConfig
from longjudge.evaluation.ranking import SubsetConfig, draw_subsets, ranking_curve
from longjudge.runtime.rundir import RunDir
from longjudge.types import Reward

GOLD = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}
NO_CI = BootstrapConfig(resamples=0)


def rewards(scores: dict[str, float | None], example: str = "e", **excluded: str) -> list[Reward]:
    out = []
    for cid, total in scores.items():
        if total is None:
            out.append(Reward(example_id=example, candidate_id=cid, method="t",
                              status="unscored", reason="judge error"))
        else:
            out.append(Reward(example_id=example, candidate_id=cid, method="t",
                              status="scored", total=total, excluded=excluded.get(cid)))
    return out


def test_draw_subsets_enumerates_or_samples_deterministically() -> None:
    config = SubsetConfig(samples=20, seed=3)
    assert len(draw_subsets(list("abcd"), 2, config, "e")) == 6  # all C(4, 2)
    assert draw_subsets(list("abc"), 4, config, "e") == []
    pool = [f"c{i}" for i in range(10)]
    first = draw_subsets(pool, 3, config, "e1")
    assert first == draw_subsets(pool, 3, config, "e1")
    assert len(first) == len(set(first)) == 20
    assert all(len(s) == 3 and list(s) == sorted(s, key=pool.index) for s in first)
    assert first != draw_subsets(pool, 3, config, "e2")


def test_tau_curve_by_hand() -> None:
    config = SubsetConfig(bootstrap=NO_CI)
    same = ranking_curve(rewards(GOLD), rewards(GOLD), config)
    assert [p.n for p in same.points] == [2, 3, 4]
    assert all(p.tau == pytest.approx(1.0) for p in same.points)
    reverse = ranking_curve(rewards({k: -v for k, v in GOLD.items()}), rewards(GOLD), config)
    assert all(p.tau == pytest.approx(-1.0) for p in reverse.points)
    # b and c swapped: one discordant pair. N=2: (5 - 1) / 6; N=3: subsets abc and bcd have
    # tau 1/3, abd and acd 1: mean 2/3; N=4: (5 - 1) / 6.
    swapped = ranking_curve(rewards({"a": 1, "b": 3, "c": 2, "d": 4}), rewards(GOLD), config)
    assert [p.tau for p in swapped.points] == pytest.approx([2 / 3, 2 / 3, 2 / 3])
    assert [p.subsets for p in swapped.points] == [6, 4, 1]


def test_tau_skips_unscored_and_counts_undefined_subsets() -> None:
    config = SubsetConfig(bootstrap=NO_CI)
    flat = ranking_curve(rewards({"a": 5, "b": 5, "c": 6, "d": None}), rewards(GOLD), config)
    # d is unscored: the pool is a, b, c. At N=2 the pair (a, b) is tied by the scorer.
    two = flat.points[0]
    assert (two.n, two.subsets, two.undefined) == (2, 3, 1)
    assert two.tau == pytest.approx(1.0)
    assert [p.n for p in flat.points] == [2, 3]


def test_excluded_candidates_rank_below_selectable_ones() -> None:
    config = SubsetConfig(bootstrap=NO_CI)
    scorer = rewards({"a": 9, "b": 2, "c": 3, "d": 4}, a="outside_trust_region: x")
    curve = ranking_curve(scorer, rewards(GOLD), config)
    assert all(p.tau == pytest.approx(1.0) for p in curve.points)


def test_best_of_n_by_hand() -> None:
    config = BestOfNConfig(bootstrap=NO_CI)
    anti = rewards({k: -v for k, v in GOLD.items()})
    curves = {c.scorer: c for c in best_of_n_curves({"anti": anti}, rewards(GOLD), config)}
    assert list(curves) == ["anti", "oracle", "random"]
    two, four = curves["anti"].points
    # N=2, all six pairs: the anti scorer picks the gold-worse one as best.
    assert (two.n, two.best, two.worst) == (2, pytest.approx(10 / 6), pytest.approx(20 / 6))
    assert (four.best, four.worst) == (1.0, 4.0)
    oracle = curves["oracle"].points[0]
    assert (oracle.best, oracle.worst) == (pytest.approx(20 / 6), pytest.approx(10 / 6))
    assert curves["random"].points[0].best == pytest.approx(2.5)
    assert curves["random"].points[1].best == pytest.approx(2.5)


def test_best_of_n_picks_only_selectable_and_averages_ties() -> None:
    config = BestOfNConfig(ns=[4], bootstrap=NO_CI)
    scorer = rewards({"a": 7, "b": 7, "c": 1, "d": 9}, d="outside_trust_region: contradicts")
    point = best_of_n_curves({"s": scorer}, rewards(GOLD), config)[0].points[0]
    # d is excluded; a and b tie for best: the mean of their gold scores.
    assert (point.best, point.worst) == (pytest.approx(1.5), 3.0)

    lonely = rewards({"a": None, "b": None, "c": None, "d": 5})
    pts = best_of_n_curves({"s": lonely}, rewards(GOLD),
                           BestOfNConfig(ns=[2], bootstrap=NO_CI))[0].points
    # Only pairs holding d have a pick (3 of 6); d is then both best and worst.
    assert (pts[0].no_pick, pts[0].best, pts[0].worst) == (3, 4.0, 4.0)


def test_default_ns() -> None:
    assert default_ns(10) == [2, 4, 8]
    assert default_ns(1) == []


def test_cli_ranking_and_best_of_n(tmp_path: Path) -> None:
    runs = {}
    for name, scores in {"gold": GOLD, "good": {"a": 1, "b": 3, "c": 2, "d": 4},
                         "bad": {k: -v for k, v in GOLD.items()}}.items():
        run = RunDir(tmp_path / name)
        for example in ("e1", "e2", "e3"):
            for reward in rewards(scores, example):
                run.append_reward(reward)
        runs[name] = str(run.path)
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "ranking", runs["good"], runs["bad"], "--gold",
                                 runs["gold"], "--json", str(tmp_path / "tau.json"), "--plot",
                                 str(tmp_path / "tau.svg"), "--resamples", "100"])
    assert result.exit_code == 0, result.output
    curves = json.loads((tmp_path / "tau.json").read_text())["curves"]
    assert [c["scorer"] for c in curves] == ["good", "bad"]
    assert curves[0]["points"][0]["tau"] == pytest.approx(2 / 3)
    assert curves[1]["points"][-1]["tau"] == pytest.approx(-1.0)
    assert (tmp_path / "tau.svg").read_text().lstrip().startswith("<svg")

    result = runner.invoke(app, ["eval", "best-of-n", runs["good"], runs["bad"], "--gold",
                                 runs["gold"], "--n", "2", "--n", "4", "--json",
                                 str(tmp_path / "bon.json"), "--plot", str(tmp_path / "bon.svg")])
    assert result.exit_code == 0, result.output
    curves = json.loads((tmp_path / "bon.json").read_text())["curves"]
    assert [c["scorer"] for c in curves] == ["good", "bad", "oracle", "random"]
    assert curves[1]["points"][1]["best"] == 1.0
    assert curves[0]["points"][1]["best"] == 4.0
    assert "<svg" in (tmp_path / "bon.svg").read_text()
