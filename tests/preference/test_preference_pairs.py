"""Pair selection (every strategy and edge case), the TRL dataset on disk, and Best-of-N."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from longjudge.errors import ConfigError, InputError
from longjudge.preference.dataset import load_pairs, trl_rows, write_pairs
from longjudge.preference.pairs import PairConfig, make_pairs, select_pair
from longjudge.preference.picks import best_candidates
from longjudge.preference.run_inputs import RunData, load_run
from longjudge.runtime.rundir import RunDir
from longjudge.types import Candidate, Example, Reward


def lr(cid: str, total: float | None, eid: str = "e") -> Reward:
    if total is None:
        return Reward(example_id=eid, candidate_id=cid, method="longreward",
                      status="unscored", reason="helpfulness: not_json")
    return Reward(example_id=eid, candidate_id=cid, method="longreward", status="scored",
                  total=total)


def s2l(cid: str, total: float | None, base: float | None = None, outside: bool = False,
        eid: str = "e") -> Reward:
    meta: dict[str, Any] = {"variant": "+ref+trust", "baseline_score": base}
    if total is None:
        return Reward(example_id=eid, candidate_id=cid, method="s2l", status="unscored",
                      reason="verifier: not_json", meta=meta)
    return Reward(example_id=eid, candidate_id=cid, method="s2l", status="scored", total=total,
                  excluded="outside_trust_region: contradicts" if outside else None, meta=meta)


def ids(pick: object) -> tuple[str, str]:
    assert not isinstance(pick, str), pick
    return pick.chosen.candidate_id, pick.rejected.candidate_id  # type: ignore[attr-defined]


BW = PairConfig()


def test_best_worst_takes_highest_and_lowest_and_skips_unscored() -> None:
    pick = select_pair([lr("a", 5.0), lr("b", None), lr("c", 8.5), lr("d", 2.0)], BW)
    assert ids(pick) == ("c", "d")
    assert not isinstance(pick, str) and (pick.chosen_score, pick.rejected_score) == (8.5, 2.0)


@pytest.mark.parametrize(
    ("rewards", "config", "reason"),
    [
        ([lr("a", 6.0), lr("b", 6.0), lr("c", 6.0)], BW, "tie"),
        ([lr("a", None), lr("b", None)], BW, "no_scored"),
        ([lr("a", 7.0), lr("b", None), lr("c", None)], BW, "too_few_scored"),
        ([lr("a", 7.0), lr("b", 6.0)], PairConfig(min_scored=3), "too_few_scored"),
        ([lr("a", 7.0), lr("b", 6.5)], PairConfig(min_margin=1.0), "below_margin"),
        ([s2l("a", 3.0, outside=True), s2l("b", 1.0, outside=True)],
         PairConfig(strategy="s2l"), "empty_trust_region"),
        ([s2l("a", 3.0), s2l("b", 1.0, outside=True)], PairConfig(strategy="s2l"),
         "too_few_scored"),
        ([], BW, "no_scored"),
    ],
)
def test_prompts_without_a_pair_say_why(rewards: list[Reward], config: PairConfig,
                                        reason: str) -> None:
    assert select_pair(rewards, config) == reason


def test_margin_at_the_threshold_makes_a_pair() -> None:
    assert ids(select_pair([lr("a", 7.0), lr("b", 6.0)], PairConfig(min_margin=1.0))) == (
        "a", "b")


def test_equal_best_scores_pick_the_first_in_order() -> None:
    assert ids(select_pair([lr("a", 3.0), lr("b", 9.0), lr("c", 9.0), lr("d", 3.0)], BW)) == (
        "b", "a")


BM = PairConfig(strategy="best-median")


def test_best_median_rejects_the_lower_median_of_the_scored() -> None:
    rewards = [lr("a", 9.0), lr("b", 2.0), lr("u", None), lr("c", 5.0), lr("d", 7.0),
               lr("e", 4.0)]
    pick = select_pair(rewards, BM)  # ranked 2, 4, 5, 7, 9: the median is 5
    assert ids(pick) == ("a", "c")
    assert not isinstance(pick, str) and (pick.chosen_score, pick.rejected_score) == (9.0, 5.0)
    # an even count takes the lower of the two middle ones; two candidates: best-worst
    assert ids(select_pair(rewards[:2] + rewards[3:5], BM)) == ("a", "c")
    assert ids(select_pair([lr("a", 1.0), lr("b", 3.0)], BM)) == ("b", "a")
    # the median scored as high as the best: a tie, never a pair of equals
    assert select_pair([lr("a", 8.0), lr("b", 8.0), lr("c", 1.0)], BM) == "tie"
    assert select_pair([lr("a", 8.0), lr("b", 7.5), lr("c", 1.0)],
                       PairConfig(strategy="best-median", min_margin=1.0)) == "below_margin"
    assert select_pair([lr("a", 8.0), lr("u", None)], BM) == "too_few_scored"


def test_best_median_pairs_of_a_run() -> None:
    data = RunData(
        rewards=[lr(c, t, eid=e) for e, c, t in [("e1", "a", 9.0), ("e1", "b", 1.0),
                                                  ("e1", "c", 6.0), ("e2", "d", 3.0),
                                                  ("e2", "f", 3.0)]],
        examples={e: Example(id=e, context="ctx", query="q?") for e in ("e1", "e2")},
        candidates={(e, c): Candidate(example_id=e, id=c, text=f"answer {c}")
                    for e, c in [("e1", "a"), ("e1", "b"), ("e1", "c"), ("e2", "d"),
                                 ("e2", "f")]},
    )
    result = make_pairs(data, BM)
    assert [(p.chosen_id, p.rejected_id, p.strategy) for p in result.pairs] == [
        ("a", "c", "best-median")]
    assert result.summary["no_pair"] == {"tie": 1}


def test_s2l_uses_only_the_trust_region() -> None:
    rewards = [s2l("in-hi", 4.0), s2l("out-top", 9.0, outside=True), s2l("in-lo", 1.0),
               s2l("out-low", -5.0, outside=True), s2l("un", None)]
    assert ids(select_pair(rewards, PairConfig(strategy="s2l"))) == ("in-hi", "in-lo")


def test_s2l_baseline_rejects_the_lowest_baseline_score_even_outside_the_region() -> None:
    rewards = [s2l("a", 4.0, base=2.0), s2l("b", 1.0, base=0.5),
               s2l("out", 9.0, base=-3.0, outside=True), s2l("un", None, base=-9.0)]
    pick = select_pair(rewards, PairConfig(strategy="s2l-baseline"))
    assert ids(pick) == ("a", "out")
    assert not isinstance(pick, str)
    assert (pick.chosen_score, pick.rejected_score, pick.score_field) == (
        2.0, -3.0, "baseline_score")
    inside = select_pair(rewards, PairConfig(strategy="s2l-baseline", baseline_pool="trust_region"))
    assert ids(inside) == ("a", "b")


def test_s2l_baseline_edge_cases() -> None:
    cfg = PairConfig(strategy="s2l-baseline")
    # the S2L best is also the baseline's worst
    assert select_pair([s2l("a", 5.0, base=-1.0), s2l("b", 2.0, base=3.0)], cfg) == (
        "chosen_is_baseline_worst")
    # equal baseline scores: the other candidate is taken, and it is a tie
    assert select_pair([s2l("a", 5.0, base=1.0), s2l("b", 2.0, base=1.0)], cfg) == "tie"
    assert select_pair([s2l("a", 5.0, outside=True, base=1.0)], cfg) == "empty_trust_region"
    assert select_pair([s2l("a", 5.0), s2l("b", 2.0)], cfg) == "no_baseline_score"
    assert select_pair([s2l("a", 5.0, base=1.0)], cfg) == "too_few_scored"


def data_for(rewards: list[Reward], examples: list[Example], texts: dict[str, str]) -> RunData:
    candidates = {(r.example_id, r.candidate_id): Candidate(
        id=r.candidate_id, example_id=r.example_id, text=texts[r.candidate_id])
        for r in rewards if r.candidate_id in texts}
    return RunData(rewards, {e.id: e for e in examples}, candidates)


EX = [Example(id=i, context=f"Context {i}.", query=f"Question {i}?") for i in ("e1", "e2", "e3")]


def sample_data() -> RunData:
    rewards = [lr("e1-0", 8.0, "e1"), lr("e1-1", 3.0, "e1"), lr("e1-2", None, "e1"),
               lr("e2-0", 5.0, "e2"), lr("e2-1", 5.0, "e2"),
               lr("e3-0", None, "e3")]
    texts = {r.candidate_id: f"text of {r.candidate_id}" for r in rewards}
    return data_for(rewards, EX, texts)


def test_make_pairs_summary_counts_reasons() -> None:
    result = make_pairs(sample_data(), BW)
    assert [(p.example_id, p.chosen_id, p.rejected_id) for p in result.pairs] == [
        ("e1", "e1-0", "e1-1")]
    assert result.pairs[0].chosen == "text of e1-0" and result.pairs[0].margin == 5.0
    assert result.summary["prompts"] == 3 and result.summary["pairs"] == 1
    assert result.summary["no_pair"] == {"no_scored": 1, "tie": 1}


def test_missing_texts_and_examples_are_counted() -> None:
    rewards = [lr("x-0", 8.0, "x"), lr("x-1", 1.0, "x"), lr("e1-0", 8.0, "e1"),
               lr("e1-1", 1.0, "e1")]
    data = data_for(rewards, EX, {"x-0": "a", "x-1": "b", "e1-0": "c"})
    assert make_pairs(data, BW).summary["no_pair"] == {"missing_example": 1, "missing_text": 1}


def test_s2l_strategies_need_s2l_rewards() -> None:
    with pytest.raises(ConfigError, match="best-worst"):
        make_pairs(sample_data(), PairConfig(strategy="s2l"))
    data = data_for([s2l("e1-0", 1.0, eid="e1"), s2l("e1-1", 0.0, eid="e1")], EX, {})
    with pytest.raises(ConfigError, match="baseline"):
        make_pairs(data, PairConfig(strategy="s2l-baseline"))


def rows() -> list[dict[str, Any]]:
    data = sample_data()
    return trl_rows(make_pairs(data, BW).pairs, data.examples)


def test_rows_are_conversational_with_metadata() -> None:
    (row,) = rows()
    assert row["prompt"] == [{"role": "user", "content": "Context e1.\n\nQuestion e1?"}]
    assert row["chosen"] == [{"role": "assistant", "content": "text of e1-0"}]
    assert row["rejected"] == [{"role": "assistant", "content": "text of e1-1"}]
    assert {k: row[k] for k in ("example_id", "chosen_id", "rejected_id", "chosen_score",
                                "rejected_score", "margin", "strategy", "score_field")} == {
        "example_id": "e1", "chosen_id": "e1-0", "rejected_id": "e1-1", "chosen_score": 8.0,
        "rejected_score": 3.0, "margin": 5.0, "strategy": "best-worst", "score_field": "total"}


@pytest.mark.parametrize("name", ["pairs.jsonl", "pairs.parquet", "pairs_dir"])
def test_written_pairs_load_with_datasets_as_nested_messages(tmp_path: Path, name: str) -> None:
    import datasets

    path = write_pairs(tmp_path / name, rows())
    if name.endswith(".jsonl"):
        loaded = datasets.load_dataset("json", data_files=str(path), split="train",
                                       cache_dir=str(tmp_path / "hf"))
    elif name.endswith(".parquet"):
        loaded = datasets.load_dataset("parquet", data_files=str(path), split="train",
                                       cache_dir=str(tmp_path / "hf"))
    else:
        loaded = datasets.load_from_disk(str(path))
    assert loaded[0] == rows()[0]
    assert load_pairs(path)[0] == rows()[0]


def test_write_pairs_rejects_unknown_suffix_and_load_reports_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        write_pairs(tmp_path / "p.csv", rows())
    with pytest.raises(InputError):
        load_pairs(tmp_path / "nothing.jsonl")


def test_empty_pairs_still_write_a_typed_table(tmp_path: Path) -> None:
    path = write_pairs(tmp_path / "none.parquet", [])
    import pyarrow.parquet as pq

    assert pq.read_table(path).num_rows == 0
    assert "prompt" in pq.read_table(path).column_names


def test_best_of_n_picks_top_selectable() -> None:
    rewards = [s2l("a", 4.0, eid="e1"), s2l("b", 9.0, outside=True, eid="e1"),
               s2l("c", 6.0, eid="e1"), s2l("d", 1.0, outside=True, eid="e2"),
               s2l("f", None, eid="e3")]
    data = data_for(rewards, EX, {c: c.upper() for c in "abcdf"})
    result = best_candidates(data)
    assert [(r["example_id"], r["candidate_id"], r["score"], r["text"]) for r in result.rows] == [
        ("e1", "c", 6.0, "C")]
    assert result.summary["no_pick"] == {"empty_trust_region": 1, "no_scored": 1}


def test_load_run_follows_the_recorded_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    monkeypatch.chdir(tmp_path)
    Path("ex.jsonl").write_text(json.dumps({"idx": "e1", "context": "C", "query": "Q?"}) + "\n")
    Path("resp.jsonl").write_text(json.dumps({"idx": "e1-0", "answer": "A"}) + "\n")
    run = RunDir("run")
    run.write_config({"input": "ex.jsonl", "responses": "resp.jsonl"})
    run.append_reward(lr("e1-0", 5.0, "e1"))
    data = load_run("run")
    assert data.text(data.rewards[0]) == "A" and set(data.examples) == {"e1"}
    with pytest.raises(InputError, match="not a run directory"):
        load_run("elsewhere")
    run.write_config({"input": "gone.jsonl", "responses": "resp.jsonl"})
    with pytest.raises(InputError, match=r"gone\.jsonl"):
        load_run("run")
    assert load_run("run", examples="ex.jsonl").examples["e1"].query == "Q?"


def test_rewards_of_changed_texts_are_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    from typer.testing import CliRunner

    from longjudge.cli import app
    from longjudge.runtime.fingerprint import Setup

    monkeypatch.chdir(tmp_path)
    example = Example(id="e1", context="C", query="Q?")
    texts = {"e1-0": "A", "e1-1": "B"}
    Path("ex.jsonl").write_text(json.dumps({"idx": "e1", "context": "C", "query": "Q?"}) + "\n")
    setup = Setup.of({"method": "longreward"}, {"backend": "mock"}, {"p": "1"})
    run = RunDir("run")
    run.write_config({"input": "ex.jsonl", "responses": "resp.jsonl"})
    for cid, total in (("e1-0", 8.0), ("e1-1", 2.0)):
        candidate = Candidate(id=cid, example_id="e1", text=texts[cid])
        reward = lr(cid, total, "e1").model_copy(
            update={"fingerprint": setup.fingerprint(example, candidate)})
        run.append_reward(reward)
    rows = [{"idx": cid, "answer": text} for cid, text in texts.items()]
    Path("resp.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert load_run("run").stale == [] and len(load_run("run").rewards) == 2

    rows[0]["answer"] = "A, edited after scoring"  # the pair would train on a text never judged
    Path("resp.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = load_run("run")
    assert data.stale == [("e1", "e1-0")] and [r.candidate_id for r in data.rewards] == ["e1-1"]
    result = CliRunner().invoke(app, ["pairs", "run", "--out", "pairs.jsonl"])
    assert result.exit_code == 0, result.output
    assert "1 reward(s) left out" in result.output and "e1/e1-0" in result.output
    assert "0 pairs from 1 prompts" in result.output
