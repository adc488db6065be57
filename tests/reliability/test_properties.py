"""Properties (hypothesis): parsing never raises anything but ParseError on arbitrary text, and
cache keys change exactly when an output-changing field changes."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from longjudge.config import JudgeConfig, RetryConfig
from longjudge.errors import ParseError
from longjudge.judges.base import JudgeRequest, JudgeResponse
from longjudge.judges.mock import MockJudge
from longjudge.prompts.base import Prompt, extract_json
from longjudge.runtime.cache import JudgeCache, cache_key
from longjudge.runtime.client import JudgeClient
from longjudge.scorers.longreward import outputs
from longjudge.scorers.s2l.verifier import VerifyOut

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(60)]

OUTPUTS: list[type[BaseModel]] = [
    *(getattr(outputs, name) for name in outputs.__all__ if name.endswith("Out")),
    VerifyOut,
]
KEYS = sorted({key for model in OUTPUTS for key in model.model_fields} | {"1", "2"})
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)
#: Objects with the output models' own keys (and batch ids) holding arbitrary values, nested.
LOOKALIKE = st.recursive(
    st.dictionaries(st.sampled_from(KEYS), JSONISH, max_size=4),
    lambda children: st.dictionaries(st.sampled_from(KEYS), children | JSONISH, max_size=3),
    max_leaves=8,
)
TEXT = st.one_of(
    st.text(),
    st.builds(lambda a, j, b: f"{a}{j}{b}", st.text(max_size=20), JSONISH.map(repr), st.text()),
    st.builds(lambda s: '{"analysis": ' + s, st.text()),
    JSONISH.map(json.dumps),
    st.builds(
        lambda a, j, b, fence: f"{a}{'```json' if fence else ''}\n{j}\n{'```' if fence else ''}{b}",
        st.text(max_size=10),
        LOOKALIKE.map(json.dumps),
        st.text(max_size=10),
        st.booleans(),
    ),
)


@settings(max_examples=300, deadline=None)
@given(TEXT, st.sampled_from(["stop", "length", None]))
def test_parsing_never_raises_anything_but_parse_error(text: str, finish: str | None) -> None:
    """Every judge output model (LongReward's steps, the S2L verifier) on arbitrary text."""
    for model in OUTPUTS:
        prompt = Prompt("any", model)
        response = JudgeResponse(texts=[text], finish_reasons=[finish])
        try:
            out = prompt.parse(response)
        except ParseError as exc:
            assert exc.reason
        else:
            assert isinstance(out, model)
    try:
        extract_json(text)
    except ParseError:
        pass


BASE: dict[str, Any] = {
    "messages": ({"role": "user", "content": "hello"},),
    "schema": {"type": "object"},
    "schema_name": "out",
    "temperature": 0.0,
    "max_tokens": 100,
    "seed": 1,
    "top_p": None,
    "n": 1,
    "stop": (),
}
CHANGES = {
    "messages": ({"role": "user", "content": "hello!"},),
    "schema": {"type": "object", "required": ["a"]},
    "schema_name": "other",
    "temperature": 0.7,
    "max_tokens": 101,
    "seed": 2,
    "top_p": 0.9,
    "n": 2,
    "stop": ("\n\n",),
}
IDENTITY = {"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1"}


@settings(max_examples=200, deadline=None)
@given(st.sets(st.sampled_from(sorted(CHANGES))), st.sampled_from(["model", "base_url", None]))
def test_cache_keys_differ_exactly_when_an_output_changing_field_differs(
    changed: set[str], identity_field: str | None
) -> None:
    a = JudgeRequest(**BASE)
    b = JudgeRequest(**{**BASE, **{k: CHANGES[k] for k in changed}})
    other = dict(IDENTITY)
    if identity_field:
        other[identity_field] = other[identity_field] + "-other"
    same = not changed and identity_field is None
    assert (cache_key(IDENTITY, a.cache_payload()) == cache_key(other, b.cache_payload())) == same


MESSAGES = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant"]), "content": st.text()}
    ),
    min_size=1,
    max_size=3,
).map(tuple)


@settings(max_examples=200, deadline=None)
@given(MESSAGES, MESSAGES, st.booleans())
def test_cache_keys_of_arbitrary_messages_match_exactly_when_they_are_equal(
    first: tuple[dict[str, str], ...], second: tuple[dict[str, str], ...], copy: bool
) -> None:
    second = tuple(dict(m) for m in first) if copy else second
    a = JudgeRequest(**{**BASE, "messages": first}).cache_payload()
    b = JudgeRequest(**{**BASE, "messages": second}).cache_payload()
    assert (cache_key(IDENTITY, a) == cache_key(IDENTITY, b)) == (first == second)


RETRIES = st.builds(
    RetryConfig,
    max_attempts=st.integers(1, 10),
    max_total_seconds=st.floats(1, 1000),
    initial_backoff=st.floats(0.01, 10),
    max_backoff=st.floats(10, 100),
    jitter=st.floats(0, 5),
    parse_retries=st.integers(0, 3),
)
JUDGE_CONFIGS = st.builds(
    JudgeConfig,
    base_url=st.just("http://127.0.0.1:1/v1"),
    timeout=st.floats(0.1, 1000),
    max_concurrency=st.integers(1, 512),
    api_key_env=st.sampled_from(["OPENAI_API_KEY", "OTHER_KEY"]),
)


@settings(max_examples=50, deadline=None)
@given(JUDGE_CONFIGS, JUDGE_CONFIGS)
def test_timeouts_and_limits_are_not_part_of_the_key(a: JudgeConfig, b: JudgeConfig) -> None:
    from longjudge.judges.openai import OpenAIJudge

    request = JudgeRequest(**BASE).cache_payload()
    first, second = OpenAIJudge("m", a), OpenAIJudge("m", b)
    assert cache_key(first.identity(), request) == cache_key(second.identity(), request)


@settings(max_examples=20, deadline=None)
@given(RETRIES, st.integers(1, 64))
def test_retry_settings_are_not_part_of_the_key(retry: RetryConfig, concurrency: int) -> None:
    """A client with other retry and concurrency settings answers from the first one's cache
    without calling its judge."""
    with tempfile.TemporaryDirectory() as folder:
        cache = JudgeCache(Path(folder) / "judge.sqlite")
        request = JudgeRequest(**BASE)
        try:
            first = JudgeClient(MockJudge(), cache=cache)
            expected = asyncio.run(first.complete(request, step="s", parse=_text))
            judge = MockJudge()
            other = JudgeClient(judge, retry=retry, cache=cache, max_concurrency=concurrency)
            assert asyncio.run(other.complete(request, step="s", parse=_text)) == expected
        finally:
            cache.close()
    assert judge.requests == [] and other.usage.total().cache_hits == 1


def _text(response: JudgeResponse) -> str:
    return response.text
