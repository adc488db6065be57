"""The local backend: llama.cpp in-process on the packaged Gemma 3 270M GGUF, schema enforced."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from longjudge.config import JudgeConfig
from longjudge.judges.base import Judge
from longjudge.judges.registry import create_judge
from longjudge.prompts.base import Prompt, data_block
from longjudge.prompts.check import CHECK_PROMPT, DEFAULT_QUESTION, check_request
from longjudge.runtime.cache import JudgeCache
from longjudge.runtime.check import run_check
from longjudge.runtime.client import JudgeClient
from longjudge.scorers.longreward.outputs import HelpfulnessOut
from tests.conftest import FAST_RETRY

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_judge() -> Iterator[Judge]:
    # One thread: two contend badly when other work shares the 2 cores (20 s vs 1 s a call).
    judge = create_judge("local/gemma-3-270m", JudgeConfig(local={"n_ctx": 2048, "n_threads": 1}))
    yield judge
    asyncio.run(judge.aclose())


def test_structured_output_validates(local_judge: Judge) -> None:
    response = asyncio.run(local_judge.generate(check_request()))
    assert CHECK_PROMPT.parse(response).answer in ("yes", "no")
    assert response.structured and response.finish_reasons == ["stop"]
    assert response.prompt_tokens > 0 and response.completion_tokens > 0


def test_a_longreward_step_schema_validates(local_judge: Judge) -> None:
    prompt = Prompt("lr_helpfulness", HelpfulnessOut, max_tokens=160,
                    max_chars={"analysis": 80})
    request = prompt.request("en", {
        "question": data_block("QUESTION", "How many ships does the harbour handle?"),
        "answer": data_block("ANSWER", "It handles thirty ships a year."),
    })
    response = asyncio.run(local_judge.generate(request))
    out = prompt.parse(response)  # a base model: any valid verdict proves the path
    assert 0 <= out.score <= 10


def test_through_the_client_a_second_call_is_served_from_the_cache(
    local_judge: Judge, tmp_path: Path
) -> None:
    cache = JudgeCache(tmp_path / "judge.sqlite")
    client = JudgeClient(local_judge, retry=FAST_RETRY, cache=cache)
    assert client.max_concurrency == 1  # llama.cpp runs one generation at a time

    async def go() -> None:
        first = await client.complete(check_request(), step="check", parse=CHECK_PROMPT.parse)
        again = await client.complete(check_request(), step="check", parse=CHECK_PROMPT.parse)
        assert first == again

    asyncio.run(go())
    usage = client.usage.total()
    assert (usage.calls, usage.cache_hits) == (1, 1)
    identity = local_judge.identity()
    assert identity["file"].endswith(".gguf") and identity["size"] > 0
    cache.close()


def test_check_judge_reports_the_grammar(local_judge: Judge) -> None:
    result = asyncio.run(run_check(local_judge, DEFAULT_QUESTION, 64))
    assert result.problem is None and result.answer is not None
    assert result.dialect == "json_object (grammar)"
    assert local_judge.tokenize_count("Hello there, judge.") in range(2, 12)
