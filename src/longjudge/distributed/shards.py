"""Helpers of the Ray engine: split concurrency, size the chunks, merge shard runs, add counters.

A worker scores each chunk of prompts it is sent into an ordinary run directory under
``OUT/shards/<worker>-<chunk>/`` and also returns the chunk's records to the driver (the shard
may sit on another machine's disk). :func:`merge_records` appends one chunk's records to
``OUT`` (rewards in the chunk's input order), after which the driver removes the chunk's
directory; :func:`merge_shards` folds in, line by line, the shard directories an interrupted
invocation left behind, and removes them. The run directory ends in the same format as the
single-process engine's, and a merge interrupted half-way is finished by the next invocation:
a reward already in ``OUT`` is never appended twice.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..runtime.rundir import REWARDS, RunDir
from ..runtime.stored import read_rewards
from ..types import Reward

SHARDS = "shards"


def split_concurrency(total: int, workers: int) -> list[int]:
    """``workers`` shares of ``total`` judge requests in flight, each >= 1, summing to ``total``.

    ``workers`` must not exceed ``total`` (the engine caps it).
    """
    if not 1 <= workers <= total:
        raise ValueError(f"cannot split {total} requests in flight over {workers} workers")
    base, extra = divmod(total, workers)
    return [base + (1 if k < extra else 0) for k in range(workers)]


#: Chunks a worker holds at once: one being scored while the next is already admitted, so
#: the judge does not wait between chunks.
CHUNKS_AHEAD = 2
#: Most prompts in one chunk.
MAX_CHUNK = 16


def chunk_size(share: int, prompts: int, workers: int) -> int:
    """Prompts per chunk for a worker allowed ``share`` requests in flight: a quarter of its
    share (a prompt in flight has at least one request; :data:`CHUNKS_AHEAD` chunks give the
    worker half its share in prompts), at most :data:`MAX_CHUNK`, and small enough that the
    ``prompts`` of the job spread over every worker."""
    spread = -(-prompts // (workers * CHUNKS_AHEAD))
    return max(1, min(-(-share // 4), MAX_CHUNK, spread))


def add_stats(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Sum a worker's scorer counters into ``total`` (numbers add, mappings recurse)."""
    for key, value in part.items():
        mine = total.get(key)
        if isinstance(value, dict):
            nested = mine if isinstance(mine, dict) else {}
            add_stats(nested, value)
            total[key] = nested
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            total[key] = (mine if isinstance(mine, (int, float)) else 0) + value
        else:
            total.setdefault(key, value)


def shard_dirs(out: Path) -> list[Path]:
    root = out / SHARDS
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name)


def _line_digest(reward: Reward) -> bytes:
    return hashlib.blake2b(reward.model_dump_json().encode(), digest_size=8).digest()


def merge_shards(rundir: RunDir) -> int:
    """Fold every shard run left under ``rundir`` (by an interrupted invocation) into it,
    remove the shards; return rewards added.

    Read line by line: a reward equal to the one ``rundir`` already holds for its candidate
    (a merge cut short half-way) is not appended again; for that, an 8-byte digest per
    candidate of ``rundir`` is held while merging."""
    dirs = shard_dirs(rundir.path)
    if not dirs:
        shutil.rmtree(rundir.path / SHARDS, ignore_errors=True)  # an empty folder
        return 0
    rundir.flush()
    known: dict[tuple[str, str], bytes] = {
        (r.example_id, r.candidate_id): _line_digest(r)
        for r in read_rewards(rundir.path / REWARDS)
    }
    appended = 0
    for path in dirs:
        shard = RunDir(path)
        shard.flush()
        for reward in read_rewards(path / REWARDS):
            key, digest = (reward.example_id, reward.candidate_id), _line_digest(reward)
            if known.get(key) != digest:
                rundir.append_reward(reward)
                known[key] = digest
                appended += 1
        merge_records(rundir, [], shard.errors(), dedupe_errors=True)
    shutil.rmtree(rundir.path / SHARDS)
    return appended


def merge_records(
    rundir: RunDir,
    rewards: Sequence[Reward],
    errors: Sequence[dict[str, Any]],
    order: Sequence[tuple[str, str]] = (),
    dedupe_errors: bool = False,
) -> int:
    """Append one chunk's ``rewards`` and ``errors`` to ``rundir``; return rewards added.

    Rewards go in ``order`` (example id, candidate id) first, then the others. With
    ``dedupe_errors`` an error already recorded is not appended again (the leftovers of an
    interrupted merge; errors.jsonl is read for it)."""
    incoming = {(r.example_id, r.candidate_id): r for r in rewards}
    keys = [k for k in order if k in incoming]
    listed = set(keys)
    keys += [k for k in incoming if k not in listed]
    for key in keys:
        rundir.append_reward(incoming[key])
    seen: set[str] = set()
    if dedupe_errors and errors:
        seen = {json.dumps(e, sort_keys=True, default=str) for e in rundir.errors()}
    for error in errors:
        text = json.dumps(error, sort_keys=True, default=str)
        if text not in seen:
            seen.add(text)
            rundir.append_error(error)
    return len(keys)


__all__ = [
    "CHUNKS_AHEAD",
    "MAX_CHUNK",
    "SHARDS",
    "add_stats",
    "chunk_size",
    "merge_records",
    "merge_shards",
    "shard_dirs",
    "split_concurrency",
]
