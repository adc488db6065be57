"""The Ray engine's pure parts: concurrency split, chunk size, shard merge."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from longjudge.distributed.shards import (
    CHUNKS_AHEAD,
    MAX_CHUNK,
    SHARDS,
    add_stats,
    chunk_size,
    merge_shards,
    split_concurrency,
)
from longjudge.runtime.rundir import RunDir
from longjudge.types import Reward


@given(st.integers(1, 500), st.integers(1, 64))
def test_split_concurrency_sums_to_the_limit(total: int, workers: int) -> None:
    if workers > total:
        with pytest.raises(ValueError):
            split_concurrency(total, workers)
        return
    shares = split_concurrency(total, workers)
    assert len(shares) == workers and sum(shares) == total
    assert min(shares) >= 1 and max(shares) - min(shares) <= 1


@given(st.integers(1, 512), st.integers(1, 20_000), st.integers(1, 16))
def test_chunks_are_bounded_and_spread_the_job(share: int, prompts: int, workers: int) -> None:
    size = chunk_size(share, prompts, workers)
    assert 1 <= size <= MAX_CHUNK
    assert size <= max(1, -(-share // 4))  # a worker holds about half its share in prompts
    # the chunks a job starts with reach every worker when there are prompts enough
    if prompts >= workers * CHUNKS_AHEAD:
        assert size * workers * CHUNKS_AHEAD >= min(prompts, workers * CHUNKS_AHEAD)
        assert -(-prompts // size) >= workers


def reward(e: str, c: str, total: float) -> Reward:
    return Reward(example_id=e, candidate_id=c, method="m", status="scored", total=total)


def test_merge_appends_in_order_once_and_removes_shards(tmp_path: Path) -> None:
    main = RunDir(tmp_path)
    main.append_reward(reward("e0", "a", 1.0))
    first, second = RunDir(tmp_path / SHARDS / "0"), RunDir(tmp_path / SHARDS / "1")
    second.append_reward(reward("e2", "a", 3.0))
    first.append_reward(reward("e1", "a", 2.0))
    first.append_reward(reward("e0", "a", 1.0))  # already in main: not appended again
    first.append_error({"kind": "internal", "id": "e1", "reason": "boom"})
    assert merge_shards(main) == 2
    assert not (tmp_path / SHARDS).exists()
    assert [(r.example_id, r.total) for r in main.rewards()] == [
        ("e0", 1.0), ("e1", 2.0), ("e2", 3.0)
    ]
    assert [e["reason"] for e in main.errors()] == ["boom"]
    # a merge interrupted after appending is finished by the next one without duplicates
    again = RunDir(tmp_path / SHARDS / "0")
    again.append_reward(reward("e1", "a", 2.0))
    again.append_error({"kind": "internal", "id": "e1", "reason": "boom"})
    assert merge_shards(main) == 0
    assert len((tmp_path / "rewards.jsonl").read_text().splitlines()) == 3
    assert len(main.errors()) == 1
    assert merge_shards(main) == 0  # nothing to merge


def test_scorer_counters_add_over_workers() -> None:
    total: dict[str, object] = {}
    add_stats(total, {"truncated": 2, "by": {"a": 1}, "name": "x", "flag": True})
    add_stats(total, {"truncated": 3, "by": {"a": 1, "b": 0.5}, "name": "y"})
    assert total == {"truncated": 5, "by": {"a": 2, "b": 0.5}, "name": "x", "flag": True}


def test_each_worker_starts_at_its_share_of_a_given_start() -> None:
    from longjudge.config import ScoreConfig, build_config
    from longjudge.distributed.ray_engine import _worker_config

    given_start = build_config(
        ScoreConfig, {"judge": {"max_concurrency": 128, "initial_concurrency": 128}}
    )
    judge = _worker_config(given_start, 64)["judge"]
    assert (judge["max_concurrency"], judge["initial_concurrency"]) == (64, 64)
    default = _worker_config(build_config(ScoreConfig, {}), 128)["judge"]
    assert (default["max_concurrency"], default["initial_concurrency"]) == (128, None)
