"""The Ray engine's pure parts: concurrency split, partition of whole prompts, shard merge."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from longjudge.distributed.ray_engine import add_stats
from longjudge.distributed.shards import SHARDS, merge_shards, partition, split_concurrency
from longjudge.runtime.rundir import RunDir
from longjudge.types import Candidate, Example, Reward


@given(st.integers(1, 500), st.integers(1, 64))
def test_split_concurrency_sums_to_the_limit(total: int, workers: int) -> None:
    if workers > total:
        with pytest.raises(ValueError):
            split_concurrency(total, workers)
        return
    shares = split_concurrency(total, workers)
    assert len(shares) == workers and sum(shares) == total
    assert min(shares) >= 1 and max(shares) - min(shares) <= 1


def group(i: int, n: int) -> tuple[Example, list[Candidate]]:
    example = Example(id=f"e{i}", context="c", query="q")
    return example, [Candidate(id=f"e{i}-{k}", example_id=example.id, text="t") for k in range(n)]


@given(st.lists(st.integers(1, 12), min_size=1, max_size=30), st.integers(1, 8))
def test_partition_keeps_prompts_whole_and_balances(sizes: list[int], parts: int) -> None:
    groups = [group(i, n) for i, n in enumerate(sizes)]
    shards = partition(groups, parts)
    assert len(shards) == min(parts, len(groups))
    ids = [e.id for shard in shards for e, _ in shard]
    assert sorted(ids) == sorted(e.id for e, _ in groups)  # each prompt exactly once, whole
    for shard in shards:  # input order is kept inside a shard
        positions = [int(e.id[1:]) for e, _ in shard]
        assert positions == sorted(positions)
    loads = [sum(len(c) for _, c in shard) for shard in shards]
    assert max(loads) - min(loads) <= max(sizes)


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
    order = [("e0", "a"), ("e1", "a"), ("e2", "a")]
    assert merge_shards(main, order) == 2
    assert not (tmp_path / SHARDS).exists()
    assert [(r.example_id, r.total) for r in main.rewards()] == [
        ("e0", 1.0), ("e1", 2.0), ("e2", 3.0)
    ]
    assert [e["reason"] for e in main.errors()] == ["boom"]
    # a merge interrupted after appending is finished by the next one without duplicates
    again = RunDir(tmp_path / SHARDS / "0")
    again.append_reward(reward("e1", "a", 2.0))
    again.append_error({"kind": "internal", "id": "e1", "reason": "boom"})
    assert merge_shards(main, order) == 0
    assert len((tmp_path / "rewards.jsonl").read_text().splitlines()) == 3
    assert len(main.errors()) == 1
    assert merge_shards(main, order) == 0  # nothing to merge


def test_scorer_counters_add_over_workers() -> None:
    total: dict[str, object] = {}
    add_stats(total, {"truncated": 2, "by": {"a": 1}, "name": "x", "flag": True})
    add_stats(total, {"truncated": 3, "by": {"a": 1, "b": 0.5}, "name": "y"})
    assert total == {"truncated": 5, "by": {"a": 2, "b": 0.5}, "name": "x", "flag": True}
