"""S2L-RM end to end on real local components: the tiny hf reward model through the scorer,
and the ``longjudge score --method s2l`` command with the embedded Gemma judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from longjudge.judges.mock import MockJudge
from longjudge.runtime.client import JudgeClient
from longjudge.runtime.rundir import RunDir
from longjudge.scorers.registry import build_scorer
from longjudge.scorers.reward_models import RMItem, build_messages
from longjudge.scorers.reward_models.hf import HFRewardModel
from longjudge.scorers.reward_models.tiny import build_tiny_reward_model
from longjudge.scorers.s2l.config import DEFAULT_REFERENCE_TEMPLATE
from longjudge.scorers.s2l.scorer import S2LScorer
from longjudge.types import Candidate, Example
from tests.conftest import FAST_RETRY

EXAMPLE = Example(
    id="e1",
    context="The harbour report. " * 50,
    query="How many ships does the harbour handle each year?",
    reference="About three hundred ships a year, most of them fishing boats.",
)
ANSWERS = [
    "About 300 ships a year.",
    "Roughly three hundred ships every year; most are fishing boats, and a few are ferries.",
    "It handles 50 ships.",
]


@pytest.fixture(scope="module")
def tiny_rm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_reward_model(tmp_path_factory.mktemp("tiny-rm"))


def test_hf_model_through_the_scorer(tiny_rm: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_rm)
    items = [RMItem(EXAMPLE.query, ref, text) for text in ANSWERS
             for ref in (EXAMPLE.reference, None)]
    lengths = [len(tokenizer(tokenizer.apply_chat_template(
        build_messages(item, DEFAULT_REFERENCE_TEMPLATE), tokenize=False),
        add_special_tokens=False)["input_ids"]) for item in items]
    limit = sorted(lengths)[len(lengths) // 2]
    expected = [n > limit for n in lengths]
    assert any(expected) and not all(expected)

    consistent = json.dumps({"reasoning": "matches", "verdict": "consistent"})
    client = JudgeClient(MockJudge(lambda _: consistent), retry=FAST_RETRY)
    options = {"rm": f"hf/{tiny_rm}", "with_baseline": True, "max_length": limit}
    scorer = build_scorer("s2l", client, options)
    assert isinstance(scorer, S2LScorer) and isinstance(scorer.reward_model, HFRewardModel)
    candidates = [Candidate(id=f"c{i}", example_id="e1", text=t) for i, t in enumerate(ANSWERS)]
    rewards = scorer.score_sync(EXAMPLE, candidates)
    stats = scorer.reward_model.stats
    assert stats.items == 6 and stats.batches == 1  # 3 candidates x (with, without reference)
    assert all(r.status == "scored" and r.total == r.meta["rm_score"] for r in rewards)
    assert all(isinstance(r.meta["baseline_score"], float) for r in rewards)
    assert all(r.meta["baseline_score"] != r.total for r in rewards)  # other input, other score
    flags = [f for r in rewards for f in (r.meta["truncated"], r.meta["baseline_truncated"])]
    assert flags == expected
    assert scorer.stats()["truncated_inputs"] == sum(expected) == stats.truncated


@pytest.mark.slow
def test_cli_with_the_local_judge(tiny_rm: Path, tmp_path: Path) -> None:
    from longjudge.cli import app

    examples = tmp_path / "examples.jsonl"
    examples.write_text(json.dumps({"idx": "e1", "context": EXAMPLE.context,
                                    "query": EXAMPLE.query, "answer": EXAMPLE.reference}) + "\n")
    responses = tmp_path / "responses.jsonl"
    responses.write_text("".join(
        json.dumps({"idx": f"e1-{i}", "answer": text}) + "\n" for i, text in enumerate(ANSWERS[::2])
    ))
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "judge": {"local": {"n_ctx": 2048, "n_threads": 2}},
        "run": {"progress": False},
        "s2l": {"max_tokens": 160, "reasoning_chars": 200, "with_baseline": True},
    }))
    out = tmp_path / "run"
    result = CliRunner().invoke(app, [
        "score", str(examples), "--responses", str(responses), "--method", "s2l",
        "--rm", f"hf/{tiny_rm}", "--judge", "local/gemma-3-270m", "--variant", "+ref+trust",
        "--config", str(config), "--out", str(out),
    ])
    rewards = RunDir(out).rewards()
    assert len(rewards) == 2, result.output
    for reward in rewards:
        assert reward.method == "s2l" and reward.meta["variant"] == "+ref+trust"
        assert isinstance(reward.meta["rm_score"], float)
        assert isinstance(reward.meta["baseline_score"], float)
        verifier = reward.dimensions["verifier"]
        assert verifier.status == "scored", verifier.reason
        assert verifier.details["verdict"] in ("consistent", "contradicts")
        assert (reward.excluded is not None) == (verifier.details["verdict"] == "contradicts")
        assert verifier.usage.calls == 1 and verifier.usage.prompt_tokens > 0
    assert result.exit_code == 0, result.output
