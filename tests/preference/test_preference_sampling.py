"""Sampling N candidates per prompt: n choices, top-up, seeds, resume, failures, the prompt."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from longjudge.errors import ConfigError, FatalJudgeError
from longjudge.judges.base import JudgeRequest, JudgeResponse
from longjudge.preference.sampling import (
    CandidateFile,
    PromptConfig,
    SampleConfig,
    Sampler,
    render_prompt,
)
from longjudge.types import Example
from tests.conftest import make_client

EXAMPLES = [
    Example(id="a", context="The river {is} long.", query="How long is the river?"),
    Example(id="b", context="The hill is high.", query="How high is the hill?"),
]


class Policy:
    """A scripted policy: numbered texts, optionally fewer choices than asked for."""

    def __init__(self, max_choices: int | None = None) -> None:
        self.max_choices = max_choices
        self.drawn = 0

    def __call__(self, request: JudgeRequest) -> JudgeResponse:
        count = request.n if self.max_choices is None else min(request.n, self.max_choices)
        texts = []
        for _ in range(count):
            texts.append(f"draw {self.drawn} seed {request.seed}")
            self.drawn += 1
        return JudgeResponse(texts=texts, model="policy-x", finish_reasons=["stop"] * count)


def run(policy: object, out: Path, examples: list[Example] = EXAMPLES, **cfg: object):
    client = make_client(policy)  # type: ignore[arg-type]
    config = SampleConfig.model_validate(cfg)
    sampler = Sampler(client, config, "mock/policy")
    result = asyncio.run(sampler.run(examples, CandidateFile(out)))
    return result, client.judge


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_one_request_per_prompt_when_the_server_returns_n_choices(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    result, judge = run(Policy(), out, n=3, temperature=0.7, top_p=0.9, max_tokens=50)
    assert result.written == 6 and result.requests == 2 and result.n_supported is True
    assert [r.n for r in judge.requests] == [3, 3]
    rows = lines(out)
    assert sorted(r["id"] for r in rows) == ["a-0", "a-1", "a-2", "b-0", "b-1", "b-2"]
    assert len({r["text"] for r in rows}) == 6
    meta = rows[0]["meta"]
    assert meta == {
        "policy": "mock/policy", "model": "policy-x", "temperature": 0.7, "top_p": 0.9,
        "max_tokens": 50, "seed": None, "finish_reason": "stop",
    }
    request = judge.requests[0]
    assert (request.temperature, request.top_p, request.max_tokens) == (0.7, 0.9, 50)


def test_server_that_ignores_n_is_topped_up_then_asked_one_at_a_time(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    result, judge = run(Policy(max_choices=1), out, n=4, max_examples_in_flight=1)
    assert result.written == 8 and result.n_supported is False
    ns = [r.n for r in judge.requests]
    # first prompt: asks 4, gets 1, learns; then single requests for everything else
    assert ns[0] == 4 and all(n == 1 for n in ns[1:]) and len(ns) == 8
    assert sorted(r["id"] for r in lines(out) if r["example_id"] == "a") == [
        "a-0", "a-1", "a-2", "a-3"
    ]


def test_partial_choices_fill_the_first_missing_ids(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    result, judge = run(Policy(max_choices=2), out, examples=EXAMPLES[:1], n=5)
    assert result.written == 5
    assert [r.n for r in judge.requests] == [5, 1, 1, 1]


def test_seed_gives_one_request_per_candidate_with_seed_plus_k(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    _, judge = run(Policy(), out, examples=EXAMPLES[:1], n=3, seed=100)
    assert [(r.n, r.seed) for r in judge.requests] == [(1, 100), (1, 101), (1, 102)]
    by_id = {r["id"]: r for r in lines(out)}
    assert [by_id[f"a-{k}"]["meta"]["seed"] for k in range(3)] == [100, 101, 102]
    assert by_id["a-2"]["text"].endswith("seed 102")


def test_resume_skips_existing_ids_and_repairs_a_torn_line(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    run(Policy(), out, examples=EXAMPLES[:1], n=2)
    with out.open("a") as handle:
        handle.write('{"id": "b-0", "example_id": "b", "te')  # a crash mid-line
    result, judge = run(Policy(), out, n=3)
    assert result.skipped == 2 and result.written == 4
    assert [r.n for r in judge.requests] == [1, 3]  # a-2 only, then all of b
    ids = [r["id"] for r in lines(out)]
    assert sorted(ids) == ["a-0", "a-1", "a-2", "b-0", "b-1", "b-2"] and len(ids) == 6
    again, judge = run(Policy(), out, n=3)
    assert again.written == 0 and again.skipped == 6 and judge.calls == 0


def test_a_failing_prompt_is_reported_and_the_others_finish(tmp_path: Path) -> None:
    def policy(request: JudgeRequest) -> JudgeResponse:
        if "hill" in request.messages[-1]["content"]:
            raise FatalJudgeError("context length exceeded")
        return JudgeResponse(texts=["ok"] * request.n, finish_reasons=["stop"] * request.n)

    out = tmp_path / "c.jsonl"
    result, _ = run(policy, out, n=2)
    assert result.failures == [{"example_id": "b", "reason": "context length exceeded"}]
    assert sorted(r["id"] for r in lines(out)) == ["a-0", "a-1"]


def test_no_cache_every_draw_is_fresh(tmp_path: Path, cache) -> None:  # type: ignore[no-untyped-def]
    policy = Policy()
    client = make_client(policy, cache=cache)
    sampler = Sampler(client, SampleConfig(n=2), "mock/policy")
    asyncio.run(sampler.run(EXAMPLES[:1], CandidateFile(tmp_path / "one.jsonl")))
    asyncio.run(sampler.run(EXAMPLES[:1], CandidateFile(tmp_path / "two.jsonl")))
    assert policy.drawn == 4  # the second file got new draws, not cached ones
    assert client.usage.total().calls == 2


def test_prompt_is_context_blank_line_query_and_braces_survive() -> None:
    messages = render_prompt(EXAMPLES[0])
    assert messages == [
        {"role": "user", "content": "The river {is} long.\n\nHow long is the river?"}
    ]
    custom = PromptConfig(
        prompt_template="Q: {query}\n{context} {other}", system_prompt="Be brief."
    )
    assert render_prompt(EXAMPLES[0], custom) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Q: How long is the river?\nThe river {is} long. {other}"},
    ]
    with pytest.raises(ValueError, match="query"):
        PromptConfig(prompt_template="{context} only")


def test_output_must_be_jsonl(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="jsonl"):
        CandidateFile(tmp_path / "c.parquet")


@pytest.mark.slow
def test_local_model_samples_two_short_candidates(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    from longjudge.io import read_candidates
    from longjudge.preference.sampling import sample_file

    example = Example(id="s1", context="Paris is the capital of France.", query="Capital?")
    config = SampleConfig.model_validate(
        {"n": 2, "max_tokens": 24, "temperature": 1.0, "seed": 7,
         "judge": {"local": {"n_ctx": 512, "n_threads": 2}}}
    )
    out = tmp_path / "local.jsonl"
    result = asyncio.run(sample_file([example], "local/gemma-3-270m", out, config))
    assert result.written == 2 and not result.failures
    rows = lines(out)
    assert [r["id"] for r in rows] == ["s1-0", "s1-1"]
    assert [r["meta"]["seed"] for r in rows] == [7, 8]
    assert all(r["meta"]["policy"] == "local/gemma-3-270m" for r in rows)
    assert result.usage["total"]["completion_tokens"] <= 2 * 24
    # the file is a valid candidates file for `longjudge score`
    read = read_candidates(out)
    assert {c.example_id for c in read.records} <= {"s1"}
