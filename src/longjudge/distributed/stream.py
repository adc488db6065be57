"""Streaming a job's prompts to the Ray actors, a chunk at a time, and taking their records.

:class:`Feed` reads the prompts left to score again (the streamed input's second pass,
:func:`~longjudge.scoring.inputs.iter_groups`), one chunk of whole prompts at a time, in input
order. :func:`stream_chunks` keeps every live actor :data:`~.shards.CHUNKS_AHEAD` chunks ahead
(the next chunk goes to whichever actor returns one first), appends each returned chunk's
records to the run directory and removes its shard directory, counts results, and at the end
collects each actor's usage and scorer counters. A chunk whose actor died is failed prompts
(one ``internal`` error naming them); its slot goes to a live actor, and when none is left the
prompts never sent are failed the same way. The driver holds one chunk at a time.
"""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from typing import Any

from ..config import RunConfig
from ..runtime.progress import Progress
from ..runtime.rundir import REWARDS, RunDir
from ..runtime.usage import UsageTracker
from ..scoring.inputs import PromptRef, StreamedInput, iter_groups
from ..scoring.runner import Group, RunResult
from ..types import Reward
from .shards import CHUNKS_AHEAD, SHARDS, add_stats, merge_records

GroupDump = tuple[dict[str, Any], list[dict[str, Any]]]


def _dump(groups: list[Group]) -> list[GroupDump]:
    return [
        (e.model_dump(mode="json"), [c.model_dump(mode="json") for c in cs]) for e, cs in groups
    ]


def _shard_lines(rundir: RunDir) -> int:
    """Reward lines the workers have written into their shard directories so far."""
    total = 0
    for path in (rundir.path / SHARDS).glob(f"*/{REWARDS}"):
        try:
            with path.open("rb") as handle:
                total += sum(1 for _ in handle)
        except OSError:  # a shard being merged or removed
            continue
    return total


@dataclass
class Chunk:
    """A chunk sent to a worker: which worker, its shard directory's name, its keys."""

    worker: int
    name: str
    examples: list[str]
    keys: list[tuple[str, str]]


class Feed:
    """The prompts left to score, read again one chunk at a time, in input order."""

    def __init__(self, inputs: StreamedInput, todo: list[PromptRef], size: int) -> None:
        self._groups = iter_groups(inputs, todo)
        self.size = size
        self.sent = 0

    def next(self) -> list[Group]:
        chunk = list(itertools.islice(self._groups, self.size))
        self.sent += len(chunk)
        return chunk

    def close(self) -> None:
        self._groups.close()  # type: ignore[attr-defined]


def stream_chunks(
    ray: Any,
    actors: list[Any],
    feed: Feed,
    rundir: RunDir,
    result: RunResult,
    usage: UsageTracker,
    total: int,
    config: RunConfig,
) -> dict[str, Any]:
    """Keep every live actor :data:`CHUNKS_AHEAD` chunks ahead until the feed runs dry,
    appending each chunk's records as it returns; then collect usage and counters."""
    pending: dict[Any, Chunk] = {}
    alive = set(range(len(actors)))
    peaks = [0] * len(actors)
    sequence = itertools.count()
    merged = 0

    def send(worker: int) -> bool:
        groups = feed.next()
        if not groups:
            return False
        name = f"{worker}-{next(sequence)}"
        keys = [(e.id, c.id) for e, cs in groups for c in cs]
        ref = actors[worker].run.remote(name, _dump(groups))
        pending[ref] = Chunk(worker, name, [e.id for e, _ in groups], keys)
        return True

    for _ in range(CHUNKS_AHEAD):
        for worker in range(len(actors)):
            send(worker)
    with Progress(total, enabled=config.progress, label="scoring (ray)") as progress:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                chunk = pending.pop(ref)
                try:
                    part = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    _chunk_failed(rundir, result, chunk, exc)
                    alive.discard(chunk.worker)
                else:
                    done = RunResult.from_dict(part["result"])
                    peaks[chunk.worker] = max(peaks[chunk.worker], done.peak_prompts_in_flight)
                    done.peak_prompts_in_flight = 0
                    result.add(done)
                    rewards = [Reward.model_validate(r) for r in part["rewards"]]
                    merged += merge_records(rundir, rewards, part["errors"], chunk.keys)
                    shutil.rmtree(rundir.path / SHARDS / chunk.name, ignore_errors=True)
                if alive:  # a dead worker's next chunk goes to a live one
                    send(chunk.worker if chunk.worker in alive else min(alive))
            progress.update(min(total, merged + _shard_lines(rundir)))
    result.peak_prompts_in_flight = sum(peaks)
    stats: dict[str, Any] = {}
    for worker in sorted(alive):
        try:
            part = ray.get(actors[worker].finish.remote())
        except ray.exceptions.RayError:
            continue
        usage.merge(UsageTracker.from_dict(part["usage"]))
        add_stats(stats, part["stats"])
    _fail_unsent(rundir, result, feed)
    return stats


def _chunk_failed(rundir: RunDir, result: RunResult, chunk: Chunk, exc: BaseException) -> None:
    result.failed_groups += len(chunk.examples)
    rundir.append_error(
        {
            "kind": "internal",
            "id": None,
            "reason": f"ray worker failed: {type(exc).__name__}",
            "examples": chunk.examples,
            "traceback": str(exc),
        }
    )


def _fail_unsent(rundir: RunDir, result: RunResult, feed: Feed) -> None:
    """Prompts never sent because every worker died: failed, each named in errors.jsonl."""
    while True:
        groups = feed.next()
        if not groups:
            return
        result.failed_groups += len(groups)
        rundir.append_error(
            {
                "kind": "internal",
                "id": None,
                "reason": "ray worker failed: no live worker left",
                "examples": [e.id for e, _ in groups],
            }
        )


__all__ = ["Chunk", "Feed", "GroupDump", "stream_chunks"]
