"""500+ judged candidates against a fake server that injects 20% mixed faults.

Sized for 2 cores: 52 prompts x 10 candidates, short contexts, helpfulness + faithfulness (three
judge calls per candidate plus retries), no latency, tiny backoffs, a 0.5 s client timeout so
that hangs cost little.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from longjudge.config import ScoreConfig, build_config
from longjudge.errors import ParseError
from longjudge.judges.base import JudgeResponse
from longjudge.prompts.base import extract_json
from longjudge.runtime.job import ScoreJob, run_job
from longjudge.runtime.rundir import RunDir
from longjudge.scorers.longreward.outputs import BatchSupportOut, HelpfulnessOut, StatementsOut
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer

from .data import write_inputs

pytestmark = pytest.mark.reliability

PROMPTS, PER_PROMPT = 52, 10
SPECIFIC = (
    "judge error",
    "not_json",
    "schema_invalid",
    "truncated_output",
    "empty_output",
    "verdict_ids_mismatch",
    "statements unverified",
)


@pytest.mark.timeout(400)
def test_faults_end_scored_or_unscored_with_a_reason(tmp_path: Path) -> None:
    ex, cand = write_inputs(tmp_path, PROMPTS, PER_PROMPT, sentences=6)
    server_config = FakeJudgeConfig(fault_rate=0.2, retry_after=0.05, seed=11, capacity=64)
    with FakeJudgeServer(server_config) as server:
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
    assert sum(faults.values()) > 100 and all(
        faults[k] > 0
        for k in (
            "rate_limit",
            "server_error",
            "hang",
            "drop",
            "malformed_json",
            "truncated",
            "schema_invalid",
        )
    )
    assert outcome.result.failed_groups == 0  # no crash
    rewards = RunDir(tmp_path / "run").rewards()
    assert len(rewards) == PROMPTS * PER_PROMPT >= 500
    for reward in rewards:
        if reward.status == "unscored":
            assert reward.reason and any(s in reward.reason for s in SPECIFIC), reward.reason
            continue
        helpful = reward.dimensions["helpfulness"]
        assert helpful.analysis is not None and helpful.score in range(11)
        faith = reward.dimensions["faithfulness"]
        values = [s["value"] for s in faith.details["statements"]]
        assert values and None not in values  # a score comes only from parsed verdicts
        assert faith.score == pytest.approx(10 * sum(values) / len(values))
    scored = sum(r.status == "scored" for r in rewards)
    print(f"faults injected {faults}; scored {scored} of {len(rewards)}")
    assert scored > 0.9 * len(rewards)
    _assert_cache_holds_only_valid_outputs(tmp_path / "cache.sqlite")


def _assert_cache_holds_only_valid_outputs(path: Path) -> None:
    models = (HelpfulnessOut, StatementsOut, BatchSupportOut)
    rows = sqlite3.connect(path).execute("SELECT value FROM responses").fetchall()
    assert rows
    for (value,) in rows:
        response = JudgeResponse.model_validate_json(value)
        assert not response.truncated
        data = extract_json(response.text)  # raises ParseError on a malformed output
        assert isinstance(data, dict)
        assert any(_valid(model, data) for model in models), json.dumps(data)[:200]


def _valid(model: type, data: dict[str, object]) -> bool:
    try:
        model.model_validate(data)  # type: ignore[attr-defined]
    except (ValidationError, ParseError):
        return False
    return True
