"""Fingerprints and the run directory: resume decisions, one setup per directory, the lock,
errors.jsonl for unscored candidates; partial completeness and the statement cap (mock judge)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from longjudge.errors import RunDirError
from longjudge.judges.base import JudgeRequest
from longjudge.judges.mock import MockJudge
from longjudge.runtime.client import JudgeClient
from longjudge.runtime.fingerprint import Setup, changes, plan_resume, run_state
from longjudge.runtime.rundir import RunDir
from longjudge.scorers.longreward import LongReward, LongRewardConfig
from longjudge.scoring.runner import run_scoring
from longjudge.types import Candidate, Example, Reward
from tests.conftest import FAST_RETRY
from tests.lr_script import LRScript

SETUP = Setup(config="c1", judge="j1", prompts="p1")
EXAMPLE = Example(id="e", context="The mill ground 40 sacks in 1901.", query="How many sacks?")
CANDS = [Candidate(id=f"e-{i}", example_id="e", text=f"It ground {i} sacks.") for i in range(3)]


def reward(candidate: Candidate, setup: Setup = SETUP, status: str = "scored") -> Reward:
    scored = status == "scored"
    return Reward(
        example_id="e",
        candidate_id=candidate.id,
        method="longreward",
        status="scored" if scored else "unscored",
        total=5.0 if scored else None,
        reason=None if scored else "helpfulness unscored: judge error: down",
        fingerprint=setup.fingerprint(EXAMPLE, candidate),
    )


def test_each_part_of_the_fingerprint_names_its_own_reason() -> None:
    base = SETUP.fingerprint(EXAMPLE, CANDS[0])
    assert changes(base, base) == []
    assert changes(None, base) == ["no fingerprint (written by an older version)"]
    other_text = SETUP.fingerprint(EXAMPLE, CANDS[0].model_copy(update={"text": "x"}))
    assert changes(base, other_text) == ["candidate text changed"]
    other_ref = SETUP.fingerprint(EXAMPLE.model_copy(update={"reference": "40"}), CANDS[0])
    assert changes(base, other_ref) == ["example changed"]
    judge = Setup("c1", "j2", "p2").fingerprint(EXAMPLE, CANDS[0])
    assert changes(base, judge) == ["judge changed", "prompts changed"]


def test_plan_reuses_only_matching_fingerprints() -> None:
    stored = [
        reward(CANDS[0]),
        reward(CANDS[1], status="unscored"),
        reward(CANDS[2]).model_copy(update={"fingerprint": None}),
    ]
    plan = plan_resume(stored, [(EXAMPLE, CANDS)], SETUP)
    assert [c.id for _, cs in plan.todo for c in cs] == ["e-2"]
    assert (plan.reused, plan.reused_unscored) == (2, 1)
    assert dict(plan.rescored) == {"no fingerprint (written by an older version)": 1}
    retry = plan_resume(stored, [(EXAMPLE, CANDS)], SETUP, retry_unscored=True)
    assert [c.id for _, cs in retry.todo for c in cs] == ["e-1", "e-2"]
    assert retry.rescored["unscored before"] == 1
    state = run_state(stored, [(EXAMPLE, CANDS)], SETUP)
    assert (state.scored, state.unscored, state.stale, state.complete) == (1, 1, 1, False)


def test_a_directory_holds_one_setup(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.append_reward(reward(CANDS[0]))
    run.claim(SETUP)  # the same setup: fine
    with pytest.raises(RunDirError, match=r"another setup \(judge changed 1\).*--rescore"):
        run.claim(Setup("c1", "j2", "p1"))
    moved = run.claim(Setup("c1", "j2", "p1"), rescore=True)
    assert moved is not None and (Path(moved) / "rewards.jsonl").exists()
    assert run.rewards() == []


def test_the_lock_refuses_a_second_writer_and_names_the_holder(tmp_path: Path) -> None:
    first, second = RunDir(tmp_path), RunDir(tmp_path)
    with first.lock():
        with pytest.raises(RunDirError, match=r"being written by another job \(pid \d+ on "):
            with second.lock():
                pass
    with second.lock():  # released when the holder closes it
        pass


def test_errors_list_exactly_the_unscored_candidates(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.append_error({"kind": "input", "source": "x.jsonl", "line": 3, "reason": "bad"})
    for candidate in CANDS[:2]:
        bad = reward(candidate, status="unscored")
        run.append_reward(bad)
        run.append_unscored(bad)
    run.append_reward(reward(CANDS[0]))  # retried and scored since
    run.settle_errors()
    errors = run.errors()
    assert [e["kind"] for e in errors] == ["input", "unscored"]
    assert errors[1]["candidate_id"] == "e-1" and "judge error" in errors[1]["reason"]


def lr(script: LRScript, **cfg: object) -> LongReward:
    client = JudgeClient(MockJudge(script), retry=FAST_RETRY)
    return LongReward(client, LongRewardConfig.model_validate(cfg))


CONTEXT = " ".join(f"Mill {i} ground {i * 3} sacks in year {1900 + i}." for i in range(60))
LONG = Example(id="e", context=CONTEXT, query="How many sacks did each mill grind?")


class FailOneWindow(LRScript):
    """Key-point extraction of the window holding year 1930 is unusable; the rest is fine."""

    def __call__(self, request: JudgeRequest) -> str:
        user = request.messages[-1]["content"]
        if request.schema_name == "lr_keypoints" and "year 1930" in user:
            return "not json"
        return super().__call__(request)


def test_completeness_with_a_failed_window_is_unscored_not_partial() -> None:
    scorer = lr(FailOneWindow(), dimensions=["completeness"], completeness_window_tokens=128)
    (out,) = scorer.score_sync(LONG, CANDS[:1])
    completeness = out.dimensions["completeness"]
    windows = completeness.details["windows"]
    assert windows >= 3 and len(completeness.details["failed_windows"]) == 1
    assert completeness.status == "unscored" and out.status == "unscored"
    assert f"key points missing from 1 of {windows} windows" in (completeness.reason or "")
    assert out.fingerprint is not None  # Scorer.score stamps what produced the reward


def test_statements_over_the_cap_are_counted(tmp_path: Path) -> None:
    many = LRScript(statements=lambda answer: [f"Claim {i} FULL." for i in range(7)])
    scorer = lr(many, dimensions=["faithfulness"], max_statements=4)
    run = RunDir(tmp_path)
    result = asyncio.run(run_scoring(scorer, [(EXAMPLE, CANDS[:2])], run))
    assert result.scored == 2
    for stored in run.rewards():
        details = stored.dimensions["faithfulness"].details
        assert details["statements_dropped"] == 3 and len(details["statements"]) == 4
    stats = scorer.stats()
    assert (stats["statements_dropped"], stats["responses_over_statement_cap"]) == (6, 2)
    assert json.loads(run.rewards()[0].model_dump_json())["fingerprint"]["judge"]


def test_an_example_digest_follows_its_texts_even_on_the_same_object() -> None:
    from longjudge.runtime.fingerprint import example_digest
    from longjudge.types import Example

    example = Example(id="e", context="The harbour handles ten ships.", query="How many?")
    first = example_digest(example)
    assert example_digest(example) == first  # remembered
    example.context = "The harbour handles eleven ships."  # same object, new text
    assert example_digest(example) != first
    example.reference = "eleven"
    assert example_digest(example) != example_digest(Example(id="x", context=example.context,
                                                             query="How many?"))
    copy = Example(id="e", context="The harbour handles ten ships.", query="How many?")
    assert example_digest(copy) == first  # equal texts, equal digest
