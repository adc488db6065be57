"""The whole loop through the CLI: sample (mock policy) -> score (LongReward, mock judge) ->
pairs -> best-of-n -> train a tiny random Llama; the logged CE term is checked against an
independent NLL and every weight must move."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longjudge.cli import app
from longjudge.judges.base import JudgeRequest, JudgeResponse
from longjudge.judges.mock import register_script
from tests.lr_script import _block
from tests.train.test_train_dpo import build_tiny_lm, chosen_token_nll

pytest.importorskip("trl")

WORDS = ["the", "harbour", "handles", "many", "ships", "every", "year", "and", "fishing",
         "employs", "families"]
_drawn: dict[str, int] = defaultdict(int)


def policy(request: JudgeRequest) -> JudgeResponse:
    """Like llama.cpp: one choice whatever ``n``; answers grow longer, except for prompt c."""
    prompt = request.messages[-1]["content"]
    k = _drawn[prompt]
    _drawn[prompt] += 1
    size = 3 if "Topic c" in prompt else 2 + 2 * k
    return JudgeResponse(texts=[" ".join(WORDS[:size]) + f" ({k})."], finish_reasons=["stop"])


def judge(request: JudgeRequest) -> str:
    """Helpfulness = words in the answer (capped at 10); logicality fixed."""
    answer = _block(request.messages[-1]["content"], "ANSWER")
    if request.schema_name == "lr_helpfulness":
        return json.dumps({"analysis": "ok", "score": min(10, len(answer.split()))})
    assert request.schema_name == "lr_logicality"
    return json.dumps({"errors": [], "analysis": "ok", "score": 8})


register_script("loop-policy", policy)
register_script("loop-judge", judge)


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_sample_score_pairs_train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from longjudge.preference.dataset import load_pairs

    monkeypatch.chdir(tmp_path)
    examples = [{"id": i, "context": f"Topic {i}. The harbour is busy.", "query": f"Tell {i}?"}
                for i in ("a", "b", "c")]
    Path("data.jsonl").write_text("".join(json.dumps(e) + "\n" for e in examples))
    Path("score.yaml").write_text("longreward:\n  dimensions: [helpfulness, logicality]\n")
    Path("train.yaml").write_text(
        "max_steps: 3\nlogging_steps: 1\nper_device_train_batch_size: 8\nmax_length: 512\n"
        "save_strategy: 'no'\nlongjudge:\n  ce_weight: 0.1\n"
    )

    invoke("sample", "data.jsonl", "--policy", "mock/loop-policy", "--n", "3",
           "--out", "cands.jsonl")
    candidates = [json.loads(line) for line in Path("cands.jsonl").read_text().splitlines()]
    assert len(candidates) == 9 and {c["meta"]["policy"] for c in candidates} == {
        "mock/loop-policy"}

    invoke("score", "data.jsonl", "--responses", "cands.jsonl", "--judge", "mock/loop-judge",
           "--config", "score.yaml", "--out", "run")

    invoke("pairs", "run", "--strategy", "best-worst", "--out", "pairs.parquet",
           "--summary", "summary.json")
    summary = json.loads(Path("summary.json").read_text())
    assert summary["pairs"] == 2 and summary["no_pair"] == {"tie": 1}
    rows = load_pairs("pairs.parquet").to_list()
    assert {(r["example_id"], r["chosen_id"], r["rejected_id"]) for r in rows} == {
        ("a", "a-2", "a-0"), ("b", "b-2", "b-0")}
    assert rows[0]["prompt"][0]["content"].startswith("Topic ")

    invoke("best-of-n", "run", "--out", "best.jsonl")
    best = [json.loads(line) for line in Path("best.jsonl").read_text().splitlines()]
    assert {b["example_id"]: b["candidate_id"] for b in best} == {"a": "a-2", "b": "b-2",
                                                                   "c": "c-0"}

    tiny = build_tiny_lm(tmp_path / "tiny")
    expected_ce = chosen_token_nll(tiny, rows)
    output = invoke("train", "pairs.parquet", "--model", tiny, "--out", "model",
                    "--config", "train.yaml")
    assert "trained on 2 of 2 pairs, 3 steps; loss/sft" in output
    record = json.loads(Path("model/longjudge_train.json").read_text())
    assert record["settings"]["loss_weights"] == [1.0, 0.1]
    assert record["settings"]["beta"] == 0.15 and record["pairs"] == 2
    first = record["log_history"][0]
    assert first["loss/sft"] == pytest.approx(expected_ce, rel=1e-4)

    original = dict(AutoModelForCausalLM.from_pretrained(tiny).named_parameters())
    trained = dict(AutoModelForCausalLM.from_pretrained(tmp_path / "model").named_parameters())
    assert original.keys() == trained.keys()
    unchanged = [n for n, p in trained.items() if torch.equal(p, original[n])]
    assert not unchanged
