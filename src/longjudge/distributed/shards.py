"""Pure helpers of the Ray engine: partition prompts, split concurrency, merge shard runs.

Each worker writes an ordinary run directory under ``OUT/shards/<k>/`` and also returns its
records to the driver (the shard may sit on another machine's disk). :func:`merge_records` folds
them into ``OUT`` (rewards in input order, errors once); :func:`merge_shards` does the same from
the shard directories the driver can see, and removes them. The run directory ends in the same
format as the single-process engine's, and a merge interrupted half-way is finished by the next
invocation: a reward already in ``OUT`` is never appended twice.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..runtime.rundir import RunDir
from ..scoring.runner import Group
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


def partition(groups: Sequence[Group], parts: int) -> list[list[Group]]:
    """``parts`` lists of whole groups with about as many candidates each.

    A prompt's candidates are never split (its per-prompt work is shared). Greedy: the largest
    group goes to the lightest part; each part keeps the input order.
    """
    order = sorted(range(len(groups)), key=lambda i: -len(groups[i][1]))
    loads = [0] * parts
    members: list[list[int]] = [[] for _ in range(parts)]
    for index in order:
        k = min(range(parts), key=lambda p: (loads[p], p))
        loads[k] += len(groups[index][1])
        members[k].append(index)
    return [[groups[i] for i in sorted(m)] for m in members if m]


def shard_dirs(out: Path) -> list[Path]:
    root = out / SHARDS
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name)


def merge_shards(rundir: RunDir, order: Sequence[tuple[str, str]] = ()) -> int:
    """Fold every shard run under ``rundir`` into it, remove the shards; return rewards added."""
    dirs = shard_dirs(rundir.path)
    if not dirs:
        return 0
    rewards: list[Reward] = []
    errors: list[dict[str, Any]] = []
    for path in dirs:
        shard = RunDir(path)
        rewards += shard.rewards()
        errors += shard.errors()
    appended = merge_records(rundir, rewards, errors, order)
    shutil.rmtree(rundir.path / SHARDS)
    return appended


def merge_records(
    rundir: RunDir,
    rewards: Sequence[Reward],
    errors: Sequence[dict[str, Any]],
    order: Sequence[tuple[str, str]] = (),
) -> int:
    """Append ``rewards`` and ``errors`` to ``rundir`` unless already there; return rewards added.

    Rewards go in ``order`` (example id, candidate id) first, then the others; a reward equal to
    the one ``rundir`` already holds for that candidate is not appended again, nor is an error
    already recorded.
    """
    current = {(r.example_id, r.candidate_id): r for r in rundir.rewards()}
    incoming = {(r.example_id, r.candidate_id): r for r in rewards}
    keys = [k for k in order if k in incoming]
    listed = set(keys)
    keys += [k for k in incoming if k not in listed]
    appended = 0
    for key in keys:
        if current.get(key) != incoming[key]:
            rundir.append_reward(incoming[key])
            current[key] = incoming[key]
            appended += 1
    seen = {json.dumps(e, sort_keys=True, default=str) for e in rundir.errors()}
    for error in errors:
        text = json.dumps(error, sort_keys=True, default=str)
        if text not in seen:
            seen.add(text)
            rundir.append_error(error)
    return appended


__all__ = [
    "SHARDS",
    "merge_records",
    "merge_shards",
    "partition",
    "shard_dirs",
    "split_concurrency",
]
