"""The Ray engine: one scoring job spread over Ray actors, written as one run directory.

The driver locks the run directory, reads the inputs, builds the scorer once without calling
anything (a dry-run client) for the setup fingerprint, claims the directory for that setup and
drops the candidates whose stored reward has a matching fingerprint (the same
:func:`~longjudge.scoring.runner.plan_run` as the local engine), and splits the
remaining prompts into shards of whole prompts (all candidates of a prompt stay together, so
its per-prompt work is still done once). Each shard goes to one actor, which holds its own
:class:`~longjudge.scoring.ScoringContext` built from the spec and the config (judges hold
connections or models and are never pickled) and runs the ordinary async runner into
``OUT/shards/<k>/``. The judge's
``max_concurrency`` is split across the actors, so the requests in flight against one endpoint
stay within it in total. The judge cache is one SQLite file (WAL) shared by path; the driver
resolves the path before dispatch. At the end the shards are merged into ``OUT/rewards.jsonl``
and ``OUT/errors.jsonl`` and usage is summed into ``summary.json``.

``ray`` is imported inside functions only. With no address (argument or ``$RAY_ADDRESS``) a
local Ray instance is started for the job and stopped after it.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import RunConfig, ScoreConfig
from ..errors import ConfigError, MissingDependencyError
from ..runtime.cache import default_cache_path
from ..runtime.fingerprint import Setup
from ..runtime.progress import Progress
from ..runtime.rundir import REWARDS, RunDir
from ..runtime.usage import UsageTracker
from ..scoring.context import ScoringContext
from ..scoring.job import JobOutcome, ScoreJob, load_groups
from ..scoring.record import finish_rundir, input_errors_of, start_rundir, summary_entry
from ..scoring.runner import Group, RunResult, plan_run, run_scoring
from ..types import Candidate, Example, Reward
from .shards import SHARDS, merge_records, merge_shards, partition, split_concurrency

GroupDump = tuple[dict[str, Any], list[dict[str, Any]]]


@dataclass
class RayOptions:
    """How the job is spread; :attr:`ScoreJob.ray_address` fills ``address``."""

    address: str | None = None
    #: Actors to start; None: one per CPU of the cluster (capped by concurrency and prompts).
    workers: int | None = None
    #: CPUs each actor reserves.
    cpus_per_worker: float = 1.0


class ShardWorker:
    """One shard of the job. Wrapped with ``ray.remote`` by the driver; usable without Ray.

    Holds a :class:`ScoringContext` from start to the end of :meth:`run`, which closes it."""

    def __init__(self, spec: str, method: str, config: dict[str, Any], out: str) -> None:
        self.config = ScoreConfig.model_validate(config)
        self.out = out
        self.context = ScoringContext(spec, method, self.config)

    def describe(self) -> dict[str, Any]:
        return self.context.scorer.describe()

    def setup(self) -> dict[str, str]:
        return self.context.scorer.setup().to_dict()

    async def run(self, dumps: list[GroupDump]) -> dict[str, Any]:
        """Score the shard into its run directory; return its records, counts and usage.

        An async method: Ray runs the actor's methods on its event loop.
        """
        groups: list[Group] = [
            (Example.model_validate(e), [Candidate.model_validate(c) for c in cs])
            for e, cs in dumps
        ]
        shard = RunDir(self.out)
        async with self.context as context:
            result = await run_scoring(context.scorer, groups, shard, self.config.run)
        return {
            "result": result.to_dict(),
            "usage": context.usage(),
            "stats": context.scorer.stats(),
            "rewards": [r.model_dump(mode="json") for r in shard.rewards()],
            "errors": shard.errors(),
        }


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
    update = {
        "judge": config.judge.model_copy(update={"max_concurrency": share}),
        "cache": config.cache.model_copy(update={"path": str(Path(cache_path).resolve())}),
        "run": config.run.model_copy(update={"progress": False}),
    }
    return config.model_copy(update=update).model_dump(mode="json")


def _dump(groups: list[Group]) -> list[GroupDump]:
    return [
        (e.model_dump(mode="json"), [c.model_dump(mode="json") for c in cs]) for e, cs in groups
    ]


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
        groups, read_errors = load_groups(job)
        setup, described, own_errors = driver_setup(job)
        input_errors = [*own_errors, *read_errors]
        order = [(e.id, c.id) for e, cs in groups for c in cs]
        merge_shards(rundir, order)  # what an interrupted invocation left behind
        superseded = start_rundir(rundir, job, described, input_errors, setup)
        todo, result = plan_run(setup, groups, rundir, job.config.run)
        usage = UsageTracker()
        workers: dict[str, Any] = {"workers": 0, "concurrency": []}
        stats: dict[str, Any] = {}
        if todo:
            workers, stats = _dispatch(job, options, todo, rundir, setup, result, usage)
            merge_shards(rundir, order)
        result.seconds = time.monotonic() - started
        usage_dict = usage.to_dict()
        entry = summary_entry(job, result, input_errors, usage_dict, stats, **workers)
        state = finish_rundir(rundir, groups, setup, entry)
    return JobOutcome(result, usage_dict, input_errors, len(groups), state, stats, superseded)


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


def _wait_with_progress(
    ray: Any, refs: list[Any], rundir: RunDir, total: int, config: RunConfig
) -> None:
    """Wait for every shard, counting the rewards the workers append as they go."""
    start = _shard_lines(rundir)
    with Progress(total, enabled=config.progress, label="scoring (ray)") as progress:
        pending = list(refs)
        while pending:
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=1.0)
            progress.update(min(total, _shard_lines(rundir) - start))


def _dispatch(
    job: ScoreJob,
    options: RayOptions,
    todo: list[Group],
    rundir: RunDir,
    setup: Setup,
    result: RunResult,
    usage: UsageTracker,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the actors, score the shards, merge what they return, count results and usage.
    Returns the workers' part of the summary entry and the summed scorer counters."""
    ray = _import_ray()
    started_ray = connect(options.address)
    actors: list[Any] = []
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        wanted = options.workers or max(1, int(cpus // options.cpus_per_worker))
        workers = min(wanted, job.config.judge.max_concurrency, len(todo))
        shards = partition(todo, workers)
        shares = split_concurrency(job.config.judge.max_concurrency, len(shards))
        remote = ray.remote(num_cpus=options.cpus_per_worker)(ShardWorker)
        for k, share in enumerate(shares):
            out = (rundir.path / SHARDS / str(k)).resolve()
            config = _worker_config(job.config, share)
            actors.append(remote.remote(job.judge, job.method, config, str(out)))
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
        refs = [actor.run.remote(_dump(shard)) for actor, shard in zip(actors, shards)]
        _wait_with_progress(ray, refs, rundir, sum(len(c) for _, c in todo), job.config.run)
        rewards: list[Reward] = []
        errors: list[dict[str, Any]] = []
        stats: dict[str, Any] = {}
        for ref, shard in zip(refs, shards):
            try:
                part = ray.get(ref)
            except ray.exceptions.RayError as exc:
                result.failed_groups += len(shard)
                rundir.append_error(
                    {
                        "kind": "internal",
                        "id": None,
                        "reason": f"ray worker failed: {type(exc).__name__}",
                        "examples": [e.id for e, _ in shard],
                        "traceback": str(exc),
                    }
                )
                continue
            result.add(RunResult.from_dict(part["result"]))
            usage.merge(UsageTracker.from_dict(part["usage"]))
            add_stats(stats, part["stats"])
            rewards += [Reward.model_validate(r) for r in part["rewards"]]
            errors += part["errors"]
        merge_records(rundir, rewards, errors, [(e.id, c.id) for e, cs in todo for c in cs])
        return {"workers": len(shards), "concurrency": shares}, stats
    finally:
        for actor in actors:
            ray.kill(actor)
        if started_ray:
            ray.shutdown()


__all__ = ["RayOptions", "ShardWorker", "connect", "run_ray", "run_ray_job"]
