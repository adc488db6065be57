"""Shared fixtures. The mock judge (longjudge.judges.mock.MockJudge) is the one fake judge."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from longjudge.config import RetryConfig
from longjudge.judges.mock import MockJudge, Script
from longjudge.runtime.cache import JudgeCache
from longjudge.runtime.client import JudgeClient

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
EXAMPLES = REPO / "examples"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's judge cache."""
    monkeypatch.setenv("LONGJUDGE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[JudgeCache]:
    c = JudgeCache(tmp_path / "judge.sqlite")
    yield c
    c.close()


FAST_RETRY = RetryConfig(
    max_attempts=4, max_total_seconds=20, initial_backoff=0.01, max_backoff=0.05, jitter=0.01
)


def make_client(script: Script | None = None, cache: JudgeCache | None = None) -> JudgeClient:
    """A JudgeClient over a MockJudge with a fast retry policy."""
    return JudgeClient(MockJudge(script), retry=FAST_RETRY, cache=cache)


@pytest.fixture
def fast_retry() -> RetryConfig:
    return FAST_RETRY
