"""Prompt admission (runtime/pipeline.py) and the concurrency summary of a scoring job."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from longjudge.config import ScoreConfig, build_config
from longjudge.runtime.limiter import AdaptiveLimiter
from longjudge.runtime.pipeline import pipelined
from longjudge.runtime.rundir import RunDir
from longjudge.scoring import ScoreJob, run_job
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from tests.lr_script import LRScript, server_script
from tests.reliability.data import write_inputs


def _prompt_job(limiter: AdaptiveLimiter, calls: int, log: list[int], active: list[int]):  # type: ignore[no-untyped-def]
    """A prompt that makes ``calls`` sequential judge calls (one slot each)."""

    async def start(item: int) -> None:
        active[0] += 1
        log.append(active[0])
        try:
            for _ in range(calls):
                async with limiter.slot():
                    await asyncio.sleep(0.001)
        finally:
            active[0] -= 1

    return start


def test_prompts_are_admitted_while_the_judge_has_free_slots() -> None:
    async def go() -> tuple[int, list[int], AdaptiveLimiter]:
        limiter = AdaptiveLimiter(12, initial=12, clock=lambda: 0.0)
        log: list[int] = []
        peak = await pipelined(range(60), _prompt_job(limiter, 3, log, [0]), limiter)
        return peak, log, limiter

    peak, log, limiter = asyncio.run(go())
    assert len(log) == 60  # every prompt ran
    # one request at a time per prompt: it takes about as many prompts as slots to fill them
    assert 6 <= peak <= 12 and limiter.peak_in_flight == 12


def test_a_prompt_slow_to_ask_holds_the_next_one_back_until_it_asks() -> None:
    # a prompt that works a while before its first request (a client short of CPU) must not
    # let the others in meanwhile: the queue only looks empty
    async def go() -> list[int]:
        limiter = AdaptiveLimiter(64, initial=64, clock=lambda: 0.0)
        not_yet_asked: list[int] = [0]
        seen: list[int] = []

        async def start(item: int) -> None:
            not_yet_asked[0] += 1
            seen.append(not_yet_asked[0])
            await asyncio.sleep(0.01)  # its own work first
            not_yet_asked[0] -= 1
            for _ in range(3):
                async with limiter.slot():
                    await asyncio.sleep(0.005)

        await pipelined(range(12), start, limiter)
        return seen

    assert max(asyncio.run(go())) == 1  # one prompt at a time before its first request


def test_a_hard_cap_bounds_the_prompts_in_flight() -> None:
    async def go() -> int:
        limiter = AdaptiveLimiter(64, clock=lambda: 0.0)
        return await pipelined(range(40), _prompt_job(limiter, 2, [], [0]), limiter, 3)

    assert asyncio.run(go()) == 3


def test_prompts_that_never_call_the_judge_still_all_run() -> None:
    done: list[int] = []

    async def start(item: int) -> None:
        done.append(item)

    async def go() -> int:
        return await pipelined(range(2000), start, AdaptiveLimiter(4))

    peak = asyncio.run(go())
    assert done == list(range(2000)) and peak <= 4


def test_an_error_escaping_a_prompt_is_raised_after_the_others_finish() -> None:
    done: list[int] = []

    async def start(item: int) -> None:
        await asyncio.sleep(0.001)
        if item == 3:
            raise ValueError("prompt 3 broke")
        done.append(item)

    with pytest.raises(ValueError, match="prompt 3"):
        asyncio.run(pipelined(range(10), start, AdaptiveLimiter(4)))
    assert sorted(done) == [0, 1, 2, 4, 5, 6, 7, 8, 9]


def test_a_job_pipelines_prompts_and_records_the_limit_in_its_summary(tmp_path: Path) -> None:
    ex, cand = write_inputs(tmp_path, 12, 4, sentences=6)
    server_config = FakeJudgeConfig(latency=0.02, capacity=8, overflow="reject", retry_after=0.02)
    with FakeJudgeServer(server_config, script=server_script(LRScript())) as server:
        config = build_config(
            ScoreConfig,
            {
                "judge": {"base_url": server.base_url},  # default ceiling, adaptive limit
                "cache": {"enabled": False},
                "retry": {"initial_backoff": 0.01, "max_backoff": 0.05, "jitter": 0.01},
                "run": {"progress": False},
            },
        )
        assert config.run.max_examples_in_flight is None and config.judge.max_concurrency == 256
        job = ScoreJob(ex, cand, "openai/fake-judge", "longreward", config, tmp_path / "run")
        outcome = asyncio.run(run_job(job))
    assert outcome.result.scored == 48 and outcome.result.failed_groups == 0
    (entry,) = RunDir(tmp_path / "run").read_summary()["invocations"]
    assert entry["peak_prompts_in_flight"] > 1  # prompts overlapped without being told to
    concurrency = entry["concurrency"]
    assert concurrency["ceiling"] == 256 and concurrency["history"][0] == [0.0, 32]
    assert concurrency["overloads"] > 0  # it met the server's capacity of 8 ...
    assert concurrency["limit"] <= 12  # ... and came down to it, far below the ceiling
