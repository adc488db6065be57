"""S2L-RM: the factual verifier (mock judge), the variants, the trust region and the reward
records, with a real reward model server on 127.0.0.1 and the real runner."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from longjudge.config import RunConfig
from longjudge.errors import ConfigError, FatalJudgeError
from longjudge.judges.base import JudgeRequest
from longjudge.judges.mock import MockJudge
from longjudge.runtime.client import JudgeClient
from longjudge.runtime.rundir import RunDir
from longjudge.scorers.registry import build_scorer
from longjudge.scorers.s2l.scorer import S2LScorer
from longjudge.scoring.runner import run_scoring
from longjudge.types import Candidate, Example, Reward
from tests.conftest import FAST_RETRY
from tests.rm_server import ServerState, running_server

QUERY = "Which datasets did the authors build from scratch?"
REFERENCE = "Five: MultiFieldQA-en, MultiFieldQA-zh, PassageCount, PassageRetrieval-en and -zh."
EXAMPLE = Example(id="e1", context="(long document)", query=QUERY, reference=REFERENCE)


def verdicts(request: JudgeRequest) -> str:
    """Scripted verifier: the answer's own words decide the verdict or the failure."""
    text = request.messages[-1]["content"]
    if "GARBAGE" in text:
        return "I think it is fine"
    if "BADVERDICT" in text:
        return json.dumps({"reasoning": "unsure", "verdict": "maybe"})
    verdict = "contradicts" if "WRONG" in text else "consistent"
    return json.dumps({"reasoning": f"checked the list: {verdict}", "verdict": verdict})


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, ServerState]]:
    with running_server() as running:
        yield running


@pytest.fixture
def rm_url(server: tuple[str, ServerState]) -> str:
    url, state = server
    state.requests.clear()
    state.fail_next = 0
    return f"{url}/score"


def make(rm_url: str, script: object = verdicts, **cfg: object) -> tuple[S2LScorer, MockJudge]:
    judge = MockJudge(script)  # type: ignore[arg-type]
    scorer = build_scorer("s2l", JudgeClient(judge, retry=FAST_RETRY), {"rm": f"http/{rm_url}",
                                                                          **cfg})
    assert isinstance(scorer, S2LScorer)
    return scorer, judge


def cands(*texts: str, example_id: str = "e1") -> list[Candidate]:
    return [Candidate(id=f"{example_id}-{i}", example_id=example_id, text=t)
            for i, t in enumerate(texts)]


def test_verifier_verdicts_and_record_shape(rm_url: str) -> None:
    scorer, judge = make(rm_url)
    ok, bad = scorer.score_sync(EXAMPLE, cands("SCORE=4 five datasets", "SCORE=6 WRONG four"))
    assert ok.status == bad.status == "scored"
    assert ok.total == 4.5 and bad.total == 6.5  # the raw reward model score, reference given
    assert ok.excluded is None and ok.selectable
    assert bad.excluded == "outside_trust_region: checked the list: contradicts"
    assert not bad.selectable
    v_ok, v_bad = ok.dimensions["verifier"], bad.dimensions["verifier"]
    assert (v_ok.score, v_ok.details) == (10.0, {"verdict": "consistent",
                                                 "reasoning": "checked the list: consistent"})
    assert (v_bad.score, v_bad.details["verdict"]) == (0.0, "contradicts")
    assert v_ok.prompt_hashes.keys() == {"s2l.verify"} and v_ok.usage.calls == 1
    assert ok.meta == {"variant": "+ref+trust", "rm": f"http/{rm_url}", "rm_score": 4.5,
                       "baseline_score": None, "truncated": False, "language": "en"}
    assert judge.calls == 2
    request = judge.requests[0]
    assert request.schema_ is not None
    assert request.schema_["properties"]["verdict"]["enum"] == ["consistent", "contradicts"]
    assert list(request.schema_["properties"]) == ["reasoning", "verdict"]  # reasoning first
    user = request.messages[-1]["content"]
    for label, text in (("QUESTION", QUERY), ("REFERENCE", REFERENCE), ("ANSWER", "SCORE=4")):
        assert f"<<<{label} " in user and text in user
    assert "not a wrong one" in user  # omissions are not contradictions, says the prompt


@pytest.mark.parametrize(
    ("text", "reason"),
    [("GARBAGE", "not_json"), ("BADVERDICT", "schema_invalid")],
)
def test_unusable_verifier_output_is_unscored(rm_url: str, text: str, reason: str) -> None:
    scorer, judge = make(rm_url)
    (reward,) = scorer.score_sync(EXAMPLE, cands(f"SCORE=5 {text}"))
    assert reward.status == "unscored" and reward.total is None
    assert reward.reason is not None and reward.reason.startswith("verifier unscored: ")
    assert reason in reward.reason
    verifier = reward.dimensions["verifier"]
    assert verifier.status == "unscored" and verifier.score is None
    assert reward.meta["rm_score"] == 5.5  # what was computed is kept
    assert judge.calls == 2  # asked once more, bypassing the cache


def test_chinese_prompt_is_picked_by_language(rm_url: str) -> None:
    scorer, judge = make(rm_url)
    example = Example(
        id="z", context="文档", query="港口每年接待多少艘船？", reference="大约三百艘。"
    )
    (reward,) = scorer.score_sync(example, cands("SCORE=1 三百艘", example_id="z"))
    assert reward.meta["language"] == "zh" and reward.status == "scored"
    user = judge.requests[0].messages[-1]["content"]
    assert "不算矛盾" in user and "大约三百艘。" in user


def test_judge_failure_is_unscored_not_a_crash(rm_url: str) -> None:
    scorer, _ = make(rm_url, script=[FatalJudgeError("auth failed")])
    (reward,) = scorer.score_sync(EXAMPLE, cands("SCORE=5 fine"))
    assert reward.status == "unscored" and "judge error: auth failed" in (reward.reason or "")


def test_verifier_failure_under_ref_is_recorded_but_not_fatal(rm_url: str) -> None:
    scorer, _ = make(rm_url, variant="+ref", verify=True)
    good, broken = scorer.score_sync(EXAMPLE, cands("SCORE=1 WRONG", "SCORE=2 GARBAGE"))
    assert good.status == broken.status == "scored"
    assert good.excluded is None  # +ref records the verdict, never excludes
    assert good.dimensions["verifier"].details["verdict"] == "contradicts"
    assert broken.dimensions["verifier"].status == "unscored"


def test_variants_and_baseline(rm_url: str, server: tuple[str, ServerState]) -> None:
    _, state = server
    texts = ("SCORE=1 a", "SCORE=2 b WRONG", "SCORE=3 c")
    plain, judge = make(rm_url, variant="r(q,y)")
    rewards = plain.score_sync(EXAMPLE, cands(*texts))
    assert [r.total for r in rewards] == [1.0, 2.0, 3.0]  # no reference in the input
    assert all(r.meta["baseline_score"] == r.total and not r.dimensions for r in rewards)
    assert all(r.selectable for r in rewards) and judge.calls == 0
    ref, judge = make(rm_url, variant="+ref")
    assert [r.total for r in ref.score_sync(EXAMPLE, cands(*texts))] == [1.5, 2.5, 3.5]
    assert judge.calls == 0
    state.requests.clear()
    trust, _ = make(rm_url, with_baseline=True)
    rewards = trust.score_sync(EXAMPLE, cands(*texts))
    assert [r.meta["baseline_score"] for r in rewards] == [1.0, 2.0, 3.0]
    assert [r.meta["rm_score"] for r in rewards] == [1.5, 2.5, 3.5]
    assert [r.selectable for r in rewards] == [True, False, True]
    # all candidates of the prompt, with and without the reference, in one request
    assert [len(body["items"]) for _, body in state.requests] == [6]


def test_missing_reference_is_a_clear_unscored_reason(rm_url: str) -> None:
    no_ref = Example(id="e2", context="doc", query=QUERY, reference="  ")
    scorer, judge = make(rm_url)
    (reward,) = scorer.score_sync(no_ref, cands("SCORE=1", example_id="e2"))
    assert reward.status == "unscored"
    assert reward.reason == (
        "missing_reference: example 'e2' has no reference answer; variant '+ref+trust' needs one"
    )
    assert judge.calls == 0 and scorer.stats()["missing_reference"] == 1
    plain, _ = make(rm_url, variant="r(q,y)")
    (fine,) = plain.score_sync(no_ref, cands("SCORE=1", example_id="e2"))
    assert fine.status == "scored" and fine.total == 1.0


def test_reward_model_failure_is_unscored(rm_url: str) -> None:
    scorer, _ = make(rm_url)
    (reward,) = scorer.score_sync(EXAMPLE, cands("NULL answer"))
    assert reward.status == "unscored"
    assert (reward.reason or "").startswith("reward_model: ") and reward.meta["rm_score"] is None


def test_trust_region_ranking_through_the_runner(rm_url: str, tmp_path: Path) -> None:
    texts = {
        "hacked": "SCORE=9 WRONG: six datasets, including LCC",  # best RM score, contradicts
        "good": "SCORE=8 the five datasets",
        "middle": "SCORE=5 five, listed",
        "weak": "SCORE=2 five datasets, some unsure",
        "awful": "SCORE=1 WRONG: none of them",  # worst RM score, contradicts
    }
    candidates = [Candidate(id=k, example_id="e1", text=v) for k, v in texts.items()]
    second = Example(id="e2", context="doc", query="How many?", reference="Three.")
    others = cands("SCORE=4 three", "SCORE=3 WRONG four", example_id="e2")
    scorer, _ = make(rm_url, with_baseline=True)
    rundir = RunDir(tmp_path / "run")
    result = asyncio.run(run_scoring(
        scorer, [(EXAMPLE, candidates), (second, others)], rundir, RunConfig(progress=False)
    ))
    assert result.scored == 7 and result.unscored == 0
    rewards = [r for r in rundir.rewards() if r.example_id == "e1"]

    def pick(pool: list[Reward], key: str) -> tuple[str, str]:
        ranked = sorted(pool, key=lambda r: r.meta[key])
        return ranked[-1].candidate_id, ranked[0].candidate_id

    inside = [r for r in rewards if r.selectable]
    assert pick(inside, "rm_score") == ("good", "weak")
    assert {r.candidate_id for r in rewards if not r.selectable} == {"hacked", "awful"}
    assert all(r.excluded and r.excluded.startswith("outside_trust_region") for r in rewards
               if r.candidate_id in ("hacked", "awful"))
    # the baseline, over every candidate, is fooled by the contradicting answer
    assert pick(rewards, "baseline_score") == ("hacked", "awful")
    lines = (tmp_path / "run" / "rewards.jsonl").read_text().splitlines()
    assert len(lines) == 7 and all(json.loads(line)["method"] == "s2l" for line in lines)


def test_config_is_validated(rm_url: str) -> None:
    client = JudgeClient(MockJudge(verdicts), retry=FAST_RETRY)
    for options, match in [
        ({}, "needs a reward model"),
        ({"rm": f"http/{rm_url}", "nope": 1}, "nope"),
        ({"rm": f"http/{rm_url}", "variant": "+trust"}, "variant"),
        ({"rm": f"http/{rm_url}", "variant": "r(q,y)", "verify": True}, "verifier needs"),
        ({"rm": f"http/{rm_url}", "reference_template": "{query} only"}, "reference"),
        ({"rm": "gguf/x"}, "unknown reward model backend"),
    ]:
        with pytest.raises(ConfigError, match=match):
            build_scorer("s2l", client, options)


def test_dry_run_counts_verifier_calls_and_loads_no_model() -> None:
    client = JudgeClient(MockJudge(verdicts), retry=FAST_RETRY, dry_run=True)
    scorer = build_scorer("s2l", client, {"rm": "hf/does/not/exist"})
    assert isinstance(scorer, S2LScorer) and scorer.reward_model is None
    (reward,) = scorer.score_sync(EXAMPLE, cands("anything"))
    assert reward.status == "unscored" and (reward.reason or "").startswith("dry_run")
    assert client.usage.total().calls == 1
