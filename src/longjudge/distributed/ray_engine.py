"""The Ray engine: one scoring job spread over Ray actors, written as one run directory.

The driver locks the run directory, makes the local engine's first pass over the inputs
(:func:`~longjudge.scoring.inputs.scan_input`: ids, positions and digests, never the texts),
builds the scorer once without calling anything (a dry-run client) for the setup fingerprint,
claims the directory for that setup and drops the candidates whose stored reward has a
matching fingerprint (:func:`~longjudge.scoring.inputs.plan_input`, the decisions of the local
engine). It then streams the prompts left to the actors in chunks of whole prompts (all
candidates of a prompt stay together, so its per-prompt work is still done once): each
prompt is read again (:func:`~longjudge.scoring.inputs.iter_groups`) only when its chunk is
sent, each actor holds :data:`~.shards.CHUNKS_AHEAD` chunks at once, and the next chunk goes
to whichever actor finishes one first. So the driver holds one chunk at a time and an actor
the prompts it was sent, not the job. Each actor holds its own
:class:`~longjudge.scoring.ScoringContext` built from the spec and the config (judges hold
connections or models and are never pickled) for all its chunks, and runs the ordinary async
runner on each into ``OUT/shards/<actor>-<chunk>/``. The judge's ``max_concurrency`` is split
across the actors, so the requests in flight against one endpoint stay within it in total.
The judge cache is one SQLite file (WAL) shared by path; the driver resolves the path before
dispatch. As each chunk returns, its records are appended to ``OUT/rewards.jsonl`` and
``OUT/errors.jsonl`` and its shard directory removed; usage and counters are summed into
``summary.json`` at the end.

``ray`` is imported inside functions only. With no address (argument or ``$RAY_ADDRESS``) a
local Ray instance is started for the job and stopped after it.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ScoreConfig
from ..errors import ConfigError, MissingDependencyError
from ..runtime.cache import default_cache_path
from ..runtime.fingerprint import Setup
from ..runtime.rundir import RunDir
from ..runtime.usage import UsageTracker
from ..scoring.context import ScoringContext
from ..scoring.inputs import PromptRef, StreamedInput, plan_input, scan_input
from ..scoring.job import JobOutcome, ScoreJob
from ..scoring.record import finish_rundir, input_errors_of, start_rundir, summary_entry
from ..scoring.runner import Group, RunResult, score_groups
from ..types import Candidate, Example
from .shards import (
    SHARDS,
    chunk_size,
    merge_shards,
    split_concurrency,
)
from .stream import Feed, GroupDump, stream_chunks


@dataclass
class RayOptions:
    """How the job is spread; :attr:`ScoreJob.ray_address` fills ``address``."""

    address: str | None = None
    #: Actors to start; None: one per CPU of the cluster (capped by concurrency and prompts).
    workers: int | None = None
    #: CPUs each actor reserves.
    cpus_per_worker: float = 1.0
    #: Prompts per chunk sent to an actor; None: :func:`~.shards.chunk_size`.
    chunk_prompts: int | None = None


class ShardWorker:
    """Scores the chunks of prompts it is sent. Wrapped with ``ray.remote`` by the driver;
    usable without Ray.

    Holds one :class:`ScoringContext` (one client, limiter and cache) for all its chunks,
    which may run at once on the actor's event loop; :meth:`finish` closes it."""

    def __init__(self, spec: str, method: str, config: dict[str, Any], out: str) -> None:
        self.config = ScoreConfig.model_validate(config)
        self.out = Path(out)  # the shards folder; one run directory per chunk under it
        self.context = ScoringContext(spec, method, self.config)

    def describe(self) -> dict[str, Any]:
        return self.context.scorer.describe()

    def setup(self) -> dict[str, str]:
        return self.context.scorer.setup().to_dict()

    async def run(self, name: str, dumps: list[GroupDump]) -> dict[str, Any]:
        """Score one chunk into ``OUT/shards/<name>/``; return its records and counts.

        An async method: Ray runs the actor's methods on its event loop. Each prompt is
        rebuilt from its dump when the runner admits it, and dropped once scored."""
        pending = deque(dumps)
        dumps.clear()
        total = sum(len(cs) for _, cs in pending)

        def groups() -> Iterator[Group]:
            while pending:
                e, cs = pending.popleft()
                yield Example.model_validate(e), [Candidate.model_validate(c) for c in cs]

        shard = RunDir(self.out / name)
        result = await score_groups(
            self.context.scorer, groups(), total, shard, self.config.run, RunResult()
        )
        return {
            "result": result.to_dict(),
            "rewards": [r.model_dump(mode="json") for r in shard.rewards()],
            "errors": shard.errors(),
        }

    async def finish(self) -> dict[str, Any]:
        """Close the context; return its usage and the scorer's counters."""
        usage, stats = self.context.usage(), self.context.scorer.stats()
        await self.context.aclose()
        return {"usage": usage, "stats": stats}


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray", "the Ray engine") from exc
    return ray


def connect(address: str | None) -> bool:
    """Join the cluster at ``address`` (or ``$RAY_ADDRESS``), else start a local instance.

    Returns True when this call started Ray (the caller shuts it down).
    """
    ray = _import_ray()
    if ray.is_initialized():
        return False
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        elif os.environ.get("RAY_ADDRESS"):
            ray.init(log_to_driver=False)  # Ray reads $RAY_ADDRESS itself
        else:
            ray.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, log_to_driver=False)
    except (OSError, RuntimeError, ValueError) as exc:  # ConnectionError, TimeoutError ...
        raise ConfigError(start_failure(address, exc)) from exc
    return True


def start_failure(address: str | None, exc: BaseException) -> str:
    """One line saying why the Ray engine could not start, in longjudge's own flags."""
    why = str(exc).strip().split(". ")[0].splitlines()[0].rstrip(".") if str(exc).strip() else ""
    why = why or type(exc).__name__
    if address:
        return (
            f"--engine ray: no Ray cluster could be joined at --ray-address {address} ({why}); "
            "start one (`ray start --head`) or leave --ray-address out to start a local one"
        )
    if os.environ.get("RAY_ADDRESS"):
        return (
            f"--engine ray: no Ray cluster could be joined at $RAY_ADDRESS "
            f"{os.environ['RAY_ADDRESS']} ({why}); unset it to start a local one, or pass "
            "--ray-address"
        )
    return f"--engine ray: a local Ray instance could not be started ({why}); use --engine local"


def worker_error(exc: BaseException) -> str:
    """The last ``SomeError: message`` line of a Ray error's text (the worker's own
    exception), without its module path; else the error's first line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for line in reversed(lines):
        match = re.match(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception)): (.+)$", line)
        if match:
            return f"{match.group(1)}: {match.group(2)}"
    return lines[0] if lines else type(exc).__name__


def _worker_config(config: ScoreConfig, share: int) -> dict[str, Any]:
    cache_path = config.cache.path or str(default_cache_path())
    judge = {"max_concurrency": share}
    initial = config.judge.initial_concurrency
    if initial is not None:  # the same share of the starting limit
        judge["initial_concurrency"] = max(1, initial * share // config.judge.max_concurrency)
    update = {
        "judge": config.judge.model_copy(update=judge),
        "cache": config.cache.model_copy(update={"path": str(Path(cache_path).resolve())}),
        "run": config.run.model_copy(update={"progress": False}),
    }
    return config.model_copy(update=update).model_dump(mode="json")


def driver_setup(job: ScoreJob) -> tuple[Setup, dict[str, Any], list[dict[str, Any]]]:
    """The job's setup fingerprint, described settings and the scorer's own input errors,
    from a scoring context on a dry-run client (no cache, nothing called; a local judge's
    model is loaded once more here)."""
    config = job.config.model_copy(
        update={"cache": job.config.cache.model_copy(update={"enabled": False})}
    )
    context = ScoringContext(job.judge, job.method, config, dry_run=True)
    try:
        scorer = context.scorer
        return scorer.setup(), scorer.describe(), input_errors_of(scorer, [])
    finally:
        context.close()


async def run_ray(job: ScoreJob) -> JobOutcome:
    """The ``ray`` engine (:data:`longjudge.scoring.engines.ENGINES`): :func:`run_ray_job`
    in a worker thread, so the caller's event loop is not blocked."""
    return await asyncio.to_thread(run_ray_job, job)


def run_ray_job(job: ScoreJob, options: RayOptions | None = None) -> JobOutcome:
    """Score ``job`` over Ray actors into ``job.out``; resumes like the local engine."""
    options = options or RayOptions(address=job.ray_address)
    if job.out is None:
        raise ConfigError("the ray engine needs a run directory (--out)")
    started = time.monotonic()
    rundir = RunDir(job.out)
    with rundir.lock():
        inputs = scan_input(job.input, job.responses, job.config)
        setup, described, own_errors = driver_setup(job)
        input_errors = [*own_errors, *inputs.errors]
        merge_shards(rundir)  # what an interrupted invocation left behind
        superseded = start_rundir(rundir, job, described, input_errors, setup)
        todo, result = plan_input(setup, inputs, rundir, job.config.run.retry_unscored)
        usage = UsageTracker()
        workers: dict[str, Any] = {"workers": 0, "concurrency": []}
        stats: dict[str, Any] = {}
        if todo:
            workers, stats = _dispatch(job, options, inputs, todo, rundir, setup, result, usage)
            merge_shards(rundir)
        result.seconds = time.monotonic() - started
        usage_dict = usage.to_dict()
        entry = summary_entry(job, result, input_errors, usage_dict, stats, **workers)
        state = finish_rundir(rundir, inputs, setup, entry)
    prompts = len(inputs.prompts)
    return JobOutcome(result, usage_dict, input_errors, prompts, state, stats, superseded)


def _dispatch(
    job: ScoreJob,
    options: RayOptions,
    inputs: StreamedInput,
    todo: list[PromptRef],
    rundir: RunDir,
    setup: Setup,
    result: RunResult,
    usage: UsageTracker,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the actors, stream the chunks to them, append what they return, count results
    and usage. Returns the workers' part of the summary entry and the summed scorer counters."""
    ray = _import_ray()
    started_ray = connect(options.address)
    actors: list[Any] = []
    feed: Feed | None = None
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        wanted = options.workers or max(1, int(cpus // options.cpus_per_worker))
        count = min(wanted, job.config.judge.max_concurrency, len(todo))
        shares = split_concurrency(job.config.judge.max_concurrency, count)
        remote = ray.remote(num_cpus=options.cpus_per_worker)(ShardWorker)
        shards = (rundir.path / SHARDS).resolve()
        for share in shares:
            config = _worker_config(job.config, share)
            actors.append(remote.remote(job.judge, job.method, config, str(shards)))
        try:
            remote_setup = ray.get(actors[0].setup.remote())
        except ray.exceptions.RayError as exc:
            raise ConfigError(
                f"--engine ray: the workers could not start: {worker_error(exc)}"
            ) from exc
        if remote_setup != setup.to_dict():  # e.g. another longjudge version on the cluster
            raise ConfigError(
                f"the Ray workers' setup fingerprint {remote_setup} differs from the driver's "
                f"{setup.to_dict()}: install the same longjudge and data on every node"
            )
        size = options.chunk_prompts or chunk_size(min(shares), len(todo), count)
        feed = Feed(inputs, todo, size)
        total = sum(len(p.candidates) for p in todo)
        stats = stream_chunks(ray, actors, feed, rundir, result, usage, total, job.config.run)
        return {"workers": len(actors), "concurrency": shares, "chunk_prompts": size}, stats
    finally:
        if feed is not None:
            feed.close()
        for actor in actors:
            ray.kill(actor)
        if started_ray:
            ray.shutdown()


__all__ = ["RayOptions", "ShardWorker", "connect", "run_ray", "run_ray_job"]
