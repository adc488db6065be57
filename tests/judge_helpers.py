"""Helpers shared by the judge-backend tests: the fake server, clients over it, cache rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from longjudge.config import JudgeConfig, RetryConfig
from longjudge.judges.base import JudgeResponse
from longjudge.judges.openai import OpenAIJudge
from longjudge.prompts.check import CHECK_PROMPT
from longjudge.runtime.cache import JudgeCache
from longjudge.runtime.client import JudgeClient
from longjudge.testing.fake_config import FakeJudgeConfig, FaultKind
from longjudge.testing.fake_judge import FakeJudgeServer
from tests.conftest import FAST_RETRY


def fault_config(kind: FaultKind | None = None, **fields: Any) -> FakeJudgeConfig:
    """Every request faulty with ``kind`` (or none), unless ``max_faults`` stops it."""
    if kind is None:
        return FakeJudgeConfig(**fields)
    return FakeJudgeConfig(fault_rate=1.0, fault_mix={kind: 1.0}, **fields)


def openai_judge(server: FakeJudgeServer, **judge: Any) -> OpenAIJudge:
    config = JudgeConfig(base_url=server.base_url, **judge)
    return OpenAIJudge("fake-judge", config)


def openai_client(
    server: FakeJudgeServer,
    *,
    cache: JudgeCache | None = None,
    retry: RetryConfig = FAST_RETRY,
    **judge: Any,
) -> JudgeClient:
    """A JudgeClient over the openai backend pointed at ``server``."""
    return JudgeClient(openai_judge(server, **judge), retry=retry, cache=cache)


def cache_values(path: Path) -> list[JudgeResponse]:
    """Every response stored in a cache file, read with plain sqlite3."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT value FROM responses").fetchall()
    return [JudgeResponse.model_validate_json(row[0]) for row in rows]


def assert_cache_holds_only_valid(path: Path) -> int:
    """Every cached output parses with the check prompt; returns how many there are."""
    values = cache_values(path)
    for response in values:
        CHECK_PROMPT.parse(response)  # raises ParseError on a failed output
        assert not response.truncated
    return len(values)
