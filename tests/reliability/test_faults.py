"""500+ judged candidates against a fake server that injects 20% mixed faults.

The server answers with a scripted judge (``tests/lr_script.py``) whose scores are known in
advance and never 0: helpfulness = 1 + the candidate's number, every statement's support from its
wording. So any scored dimension whose score differs from the script did not come from a parsed
verdict (a silent 0 or a filler), and the test catches it.

Sized for 2 cores: 52 prompts x 10 candidates with two-sentence answers and six-sentence
contexts, the helpfulness and faithfulness dimensions only (three judge calls per candidate,
~1,600 calls plus ~25% retries), no latency, backoffs of 10-50 ms, and a 0.5 s client timeout so
that the ~60 hangs cost little. About 10 s here.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from longjudge.config import ScoreConfig, build_config
from longjudge.errors import ParseError
from longjudge.judges.base import JudgeRequest, JudgeResponse
from longjudge.prompts.base import extract_json
from longjudge.runtime.rundir import RunDir
from longjudge.scorers.longreward.outputs import BatchSupportOut, HelpfulnessOut, StatementsOut
from longjudge.scoring import ScoreJob, run_job
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from longjudge.types import Reward

from ..lr_script import LRScript, server_script
from .data import write_inputs

pytestmark = pytest.mark.reliability

PROMPTS, PER_PROMPT = 52, 10
FAULTS = (
    "rate_limit",
    "server_error",
    "hang",
    "drop",
    "malformed_json",
    "truncated",
    "schema_invalid",
)
#: What an unscored reward's reason must name: the judge error or the parse failure.
SPECIFIC = re.compile(
    r"judge error: \w+|not_json|schema_invalid|"
    r"truncated_output|empty_output|verdict_ids_mismatch|statements unverified"
)
OUTPUTS: dict[str, type[BaseModel]] = {
    "lr_helpfulness": HelpfulnessOut,
    "lr_statements": StatementsOut,
    "lr_support_batch": BatchSupportOut,
}


def expected_helpfulness(answer: str) -> int:
    """1 + k for the k-th candidate of a prompt (its answer names year 2000 + k): 1..10."""
    year = re.search(r"year (\d{4})", answer)
    assert year, answer
    return 1 + int(year.group(1)) - 2000


def support(statement: str) -> str:
    return "partial" if "busier" in statement else "full"


class Script(LRScript):
    """LRScript with a helpfulness score that depends on the candidate."""

    def __call__(self, request: JudgeRequest) -> str:
        if request.schema_name == "lr_helpfulness":
            user = request.messages[-1]["content"]
            answer = re.search(r"<<<ANSWER (\w+)>>>\n(.*?)\n<<<END ANSWER \1>>>", user, re.S)
            assert answer
            score = expected_helpfulness(answer.group(2))
            return json.dumps({"analysis": f"scripted {score}", "score": score})
        return super().__call__(request)


@pytest.mark.timeout(150)
def test_faults_end_scored_or_unscored_with_a_reason(tmp_path: Path) -> None:
    ex, cand = write_inputs(tmp_path, PROMPTS, PER_PROMPT, sentences=6)
    server_config = FakeJudgeConfig(fault_rate=0.2, retry_after=0.05, seed=11, capacity=64)
    script = server_script(Script(support=support))
    with FakeJudgeServer(server_config, script=script) as server:
        config = build_config(
            ScoreConfig,
            {
                "judge": {"base_url": server.base_url, "timeout": 0.5, "max_concurrency": 32},
                "cache": {"path": str(tmp_path / "cache.sqlite")},
                "retry": {
                    "max_attempts": 4,
                    "initial_backoff": 0.01,
                    "max_backoff": 0.05,
                    "jitter": 0.01,
                    "max_total_seconds": 20,
                },
                "run": {"max_examples_in_flight": 16, "progress": False},
                "longreward": {"dimensions": ["helpfulness", "faithfulness"]},
            },
        )
        job = ScoreJob(ex, cand, "openai/fake-judge", "longreward", config, tmp_path / "run")
        outcome = asyncio.run(run_job(job))
        faults = server.stats["faults"]
    assert sum(faults.values()) > 200 and all(faults.get(k, 0) > 10 for k in FAULTS), faults
    assert outcome.result.failed_groups == 0  # no crash

    rewards = RunDir(tmp_path / "run").rewards()
    assert len(rewards) == PROMPTS * PER_PROMPT >= 500
    assert len({(r.example_id, r.candidate_id) for r in rewards}) == len(rewards)
    reasons: Counter[str] = Counter()
    for reward in rewards:
        _check_reward(reward, reasons)
    scored = sum(r.status == "scored" for r in rewards)
    print(f"faults injected {faults}; scored {scored} of {len(rewards)}; unscored {reasons}")
    assert scored > 0.9 * len(rewards)  # retries recover most faults
    _assert_cache_holds_only_valid_outputs(tmp_path / "cache.sqlite")


def _check_reward(reward: Reward, reasons: Counter[str]) -> None:
    """Scored: every dimension equals the script. Unscored: a specific reason, no score."""
    k = int(reward.candidate_id.rsplit("-", 1)[1])
    for name, dim in reward.dimensions.items():
        if dim.status == "unscored":
            assert dim.score is None and dim.reason and SPECIFIC.search(dim.reason), dim.reason
            reasons[SPECIFIC.search(dim.reason).group(0)] += 1  # type: ignore[union-attr]
            continue
        if name == "helpfulness":
            assert dim.score == 1 + k and dim.analysis == f"scripted {1 + k}"
        else:
            verdicts = dim.details["statements"]
            assert [v["support"] for v in verdicts] == ["full", "partial"], verdicts
            assert dim.score == pytest.approx(7.5)
    if reward.status == "unscored":
        assert reward.total is None and reward.reason and SPECIFIC.search(reward.reason)
        assert any(d.status == "unscored" for d in reward.dimensions.values())
    else:
        assert reward.total == pytest.approx((1 + k + 7.5) / 2)


def _assert_cache_holds_only_valid_outputs(path: Path) -> None:
    """Every cached row is a complete output that validates against its step's schema."""
    connection = sqlite3.connect(path)
    rows = connection.execute("SELECT value FROM responses").fetchall()
    connection.close()
    assert len(rows) >= 3 * PROMPTS * PER_PROMPT * 0.9
    for (value,) in rows:
        response = JudgeResponse.model_validate_json(value)
        assert not response.truncated and response.finish_reasons == ["stop"]
        data = extract_json(response.text)  # raises ParseError on a malformed output
        assert isinstance(data, dict)
        matching = [m for m in OUTPUTS.values() if _valid(m, data)]
        assert matching, json.dumps(data)[:200]


def _valid(model: type[BaseModel], data: dict[str, object]) -> bool:
    try:
        model.model_validate(data)
    except (ValidationError, ParseError):
        return False
    return True
