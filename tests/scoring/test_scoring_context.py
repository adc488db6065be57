"""The scoring context over the fake judge server (real HTTP on loopback) and a real SQLite
cache: it builds judge, cache, client and scorer, and closes them once, in order, on success,
on an error inside the block, and when the scorer cannot be built; plus the one RunResult
serialisation and the engine table."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from longjudge.config import ScoreConfig, build_config
from longjudge.errors import ConfigError, JudgeError
from longjudge.judges.base import Judge, JudgeRequest, JudgeResponse
from longjudge.runtime.cache import JudgeCache
from longjudge.scoring import ENGINES, RunResult, ScoringContext, get_engine
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from longjudge.types import Candidate, Example
from tests.rl_helpers import context, question, score_config

EXAMPLE = Example(id="p0", context=context(0), query=question(0), reference="Many sacks.")
ANSWERS = [Candidate(id=f"p0-{k}", example_id="p0", text=t)
           for k, t in enumerate(["Bend 1 ground two sacks.", "Bend 2 ground four sacks."])]

events: list[str] = []


class CountingJudge(Judge):
    """The real HTTP judge, with its closes counted (and ordered against the cache's)."""

    def __init__(self, inner: Judge) -> None:
        super().__init__(inner.model)
        self.inner = inner
        self.backend = inner.backend

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    def enforces_schema(self) -> bool:
        return self.inner.enforces_schema()

    async def generate(self, request: JudgeRequest) -> JudgeResponse:
        return await self.inner.generate(request)

    def classify_error(self, exc: BaseException) -> JudgeError | None:
        return self.inner.classify_error(exc)

    async def aclose(self) -> None:
        events.append("judge")
        await self.inner.aclose()


class CountingCache(JudgeCache):
    made: ClassVar[list[CountingCache]] = []

    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__(path)
        CountingCache.made.append(self)

    def close(self) -> None:
        events.append("cache")
        super().close()


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer(FakeJudgeConfig()) as server:
        yield server


@pytest.fixture(autouse=True)
def counting(monkeypatch: pytest.MonkeyPatch) -> None:
    events.clear()
    CountingCache.made.clear()
    monkeypatch.setattr("longjudge.scoring.context.JudgeCache", CountingCache)


def config(judge: FakeJudgeServer, tmp_path: Path, **sections: Any) -> ScoreConfig:
    layer = score_config(judge, cache=True)
    layer["cache"]["path"] = str(tmp_path / "judge.sqlite")
    return build_config(ScoreConfig, layer, sections)


def assert_closed(ctx: ScoringContext) -> None:
    inner = ctx.judge.inner  # type: ignore[attr-defined]
    assert inner._pools and all(pool.is_closed for pool in inner._pools)
    assert ctx.cache is not None
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        ctx.cache._conn.execute("SELECT 1")


def test_error_in_the_block_closes_client_then_cache_once(
    judge: FakeJudgeServer, tmp_path: Path
) -> None:
    async def run() -> ScoringContext:
        ctx = ScoringContext("openai/fake-judge", "longreward", config(judge, tmp_path),
                             wrap_judge=CountingJudge)
        with pytest.raises(RuntimeError, match="inside the block"):
            async with ctx:
                rewards = await ctx.scorer.score(EXAMPLE, ANSWERS)
                assert [r.status for r in rewards] == ["scored", "scored"]
                assert ctx.usage()["total"]["calls"] > 0  # real requests went over HTTP
                raise RuntimeError("inside the block")
        assert ctx.closed and events == ["judge", "cache"]
        await ctx.aclose()  # idempotent
        return ctx

    ctx = asyncio.run(run())
    assert events == ["judge", "cache"]
    assert_closed(ctx)


def test_usable_without_a_block_and_closed_once(judge: FakeJudgeServer, tmp_path: Path) -> None:
    ctx = ScoringContext("openai/fake-judge", "longreward", config(judge, tmp_path),
                         wrap_judge=CountingJudge)

    async def owner() -> list[Any]:  # e.g. the server's lifespan or an RL reward function
        rewards = await ctx.scorer.score(EXAMPLE, ANSWERS[:1])
        assert events == [] and not ctx.closed  # a long-lived owner closes when it is done
        await ctx.aclose()
        await ctx.aclose()
        return rewards

    first = asyncio.run(owner())
    assert first[0].status == "scored" and first[0].fingerprint is not None
    ctx.close()  # the synchronous close is a no-op now too
    assert events == ["judge", "cache"]
    assert_closed(ctx)

    # the answers are in the SQLite file: a second context over it calls nothing
    async def again() -> list[Any]:
        async with ScoringContext("openai/fake-judge", "longreward", config(judge, tmp_path)) as c:
            return await c.scorer.score(EXAMPLE, ANSWERS[:1])

    before = len(judge.requests)
    assert asyncio.run(again())[0].total == first[0].total
    assert len(judge.requests) == before


def test_scorer_that_cannot_be_built_leaves_nothing_open(
    judge: FakeJudgeServer, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="needs a reward model"):
        ScoringContext("openai/fake-judge", "s2l", config(judge, tmp_path))
    (cache,) = CountingCache.made
    assert events == ["cache"]
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        cache._conn.execute("SELECT 1")


def test_each_method_gets_its_own_section(judge: FakeJudgeServer, tmp_path: Path) -> None:
    cfg = config(judge, tmp_path, s2l={"rm": "http/http://127.0.0.1:9"},
                 longbench_chat={"max_shots": 1})
    lbc = cfg.section("longbench-chat")
    assert lbc is not None and lbc.model_dump()["max_shots"] == 1
    assert cfg.section("longreward") == cfg.section("longreward")  # absent: the defaults
    assert cfg.sections() == ["longbench_chat", "s2l"]
    # the LongReward scorer is not handed the s2l section (that `else` is gone)
    ctx = ScoringContext("openai/fake-judge", "longbench-chat", cfg)
    assert ctx.scorer.describe()["lbc_judge"]["max_shots"] == 1
    ctx.close()
    with pytest.raises(ConfigError, match="unknown scoring method 'nope'"):
        ScoringContext("openai/fake-judge", "nope", cfg)


def test_run_result_has_one_serialisation() -> None:
    result = RunResult(scored=3, unscored=1, skipped=2, skipped_unscored=1, failed_groups=1,
                       seconds=1.23456, peak_prompts_in_flight=2,
                       unscored_reasons={"judge_error": 1}, rescored=1,
                       rescored_reasons={"judge": 1})
    data = result.to_dict()
    assert "skipped" in data and "skipped_finished" not in data
    assert RunResult.from_dict(data).to_dict() == data
    total = RunResult(skipped=5, unscored_reasons={"judge_error": 2})
    total.add(RunResult.from_dict(data))
    assert (total.scored, total.skipped, total.failed_groups) == (3, 7, 1)
    assert total.unscored_reasons == {"judge_error": 3}
    assert total.peak_prompts_in_flight == 2 and total.seconds == 0.0


def test_engines_by_name() -> None:
    assert ENGINES.names() == ["local", "ray"]
    from longjudge.scoring.local import run_local

    assert get_engine("local") is run_local
    with pytest.raises(ConfigError, match="unknown engine 'spark'; known: local, ray"):
        get_engine("spark")
