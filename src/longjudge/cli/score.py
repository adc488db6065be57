"""``longjudge score``: score responses with LongReward or S2L-RM into a run directory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer
from rich.table import Table

from ..config import ScoreConfig, build_config, load_yaml
from ..errors import ConfigError
from ..runtime.rundir import RunDir
from ..types import Reward
from .app import app, console, flag_layer, out

if TYPE_CHECKING:
    from ..runtime.job import JobOutcome

#: Exit code when the job finished but some records were bad or some candidates unscored.
EXIT_PARTIAL = 3


@app.command("score")
def score(
    input: Path = typer.Argument(..., help="Examples: JSONL, Parquet or a saved HF dataset."),
    responses: Path = typer.Option(..., "--responses", "-r", help="Candidates to score."),
    judge: str = typer.Option("local/gemma-3-270m", "--judge", "-j", help="Judge spec."),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible URL."),
    method: str = typer.Option("longreward", "--method", "-m", help="longreward or s2l."),
    rm: str | None = typer.Option(None, "--rm", help="S2L reward model: hf/PATH or http/URL."),
    variant: str | None = typer.Option(None, "--variant", help="S2L: r(q,y), +ref, +ref+trust."),
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML config file."),
    out_dir: Path | None = typer.Option(None, "--out", "-o", help="Run directory."),
    concurrency: int | None = typer.Option(None, "--concurrency", help="Judge requests in flight."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    retry_unscored: bool = typer.Option(False, "--retry-unscored", help="Re-score unscored ones."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count calls and tokens; call nothing."),
    engine: str = typer.Option("local", "--engine", help="local, or ray: prompts over Ray actors."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster (default $RAY_ADDRESS, else a local one)."
    ),
) -> None:
    """Score every response of INPUT's examples; resumes when --out already holds results."""
    from ..runtime.job import ScoreJob, run_job_sync  # the scorers' imports, only when used

    flags = flag_layer(
        judge__base_url=base_url,
        judge__max_concurrency=concurrency,
        cache__enabled=False if no_cache else None,
        run__retry_unscored=True if retry_unscored else None,
        s2l__rm=rm,
        s2l__variant=variant,
    )
    cfg = build_config(ScoreConfig, load_yaml(config) if config else None, flags)
    if out_dir is None and not dry_run:
        out_dir = Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    if engine not in ("local", "ray"):
        raise ConfigError(f"--engine must be 'local' or 'ray', not {engine!r}")
    kind: Literal["local", "ray"] = "ray" if engine == "ray" else "local"
    job = ScoreJob(input, responses, judge, method, cfg, out_dir, dry_run, kind, ray_address)
    outcome = run_job_sync(job)
    if dry_run:
        _print_dry_run(outcome)
        return
    assert out_dir is not None
    _print_results(RunDir(out_dir), outcome, out_dir)
    if outcome.input_errors or outcome.result.unscored or outcome.result.failed_groups:
        raise typer.Exit(EXIT_PARTIAL)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def rewards_table(rewards: list[Reward]) -> Table:
    """One row per candidate: dimension scores and total, best and worst of each prompt marked."""
    dims: list[str] = []
    for reward in rewards:
        dims += [d for d in reward.dimensions if d not in dims]
    table = Table("example", "candidate", *dims, "total", "status", "")
    by_example: dict[str, list[Reward]] = {}
    for reward in rewards:
        by_example.setdefault(reward.example_id, []).append(reward)
    for example_id, group in by_example.items():
        picks = [r for r in group if r.selectable and r.total is not None]
        best = max(picks, key=lambda r: r.total or 0.0) if len(picks) > 1 else None
        worst = min(picks, key=lambda r: r.total or 0.0) if len(picks) > 1 else None
        for r in group:
            mark = ""
            if best is not None and worst is not None and best.total != worst.total:
                mark = "best" if r is best else "worst" if r is worst else ""
            cells = [_fmt(r.dimensions[d].score) if d in r.dimensions else "" for d in dims]
            status = r.status if r.status == "scored" else f"unscored ({(r.reason or '')[:40]})"
            table.add_row(example_id, r.candidate_id, *cells, _fmt(r.total), status, mark)
    return table


def _print_results(rundir: RunDir, outcome: JobOutcome, out_dir: Path) -> None:
    rewards = rundir.rewards()
    if len(rewards) > screenful():
        out.print(rewards_summary(rewards, out_dir))  # one row per candidate would scroll away
    else:
        out.print(rewards_table(rewards))
    result = outcome.result
    total = outcome.usage["total"]
    console.print(
        f"scored {result.scored}, unscored {result.unscored}, already done {result.skipped}, "
        f"bad input records {len(outcome.input_errors)}; judge calls {total['calls']}, "
        f"cache hits {total['cache_hits']}, tokens {total['prompt_tokens']:,} in / "
        f"{total['completion_tokens']:,} out; {result.seconds:.1f} s"
    )
    if result.unscored_reasons:
        console.print(f"unscored by reason: {result.unscored_reasons}")
    console.print(f"results: {out_dir / 'rewards.jsonl'} (errors: {out_dir / 'errors.jsonl'})")


def _print_dry_run(outcome: JobOutcome) -> None:
    table = Table("step", "judge calls", "prompt tokens (est.)", "completion tokens (est.)")
    for step, usage in outcome.usage["steps"].items():
        table.add_row(
            step,
            str(usage["calls"]),
            f"{usage['prompt_tokens']:,}",
            f"{usage['completion_tokens']:,}",
        )
    total = outcome.usage["total"]
    table.add_row(
        "total",
        str(total["calls"]),
        f"{total['prompt_tokens']:,}",
        f"{total['completion_tokens']:,}",
    )
    out.print(table)
    console.print(
        "dry run: no judge was called; cached requests count as free, and completion tokens "
        "and statement counts are placeholders (characters / 4 of schema-valid fillers)."
    )


def screenful() -> int:
    """Candidate rows that fit the terminal (40 when it has no size)."""
    import shutil

    return max(20, shutil.get_terminal_size((100, 48)).lines - 8)


def rewards_summary(rewards: list[Reward], out_dir: Path) -> Table:
    """Past a screenful: per-dimension distribution, unscored by reason, best/worst counted."""
    dims: list[str] = []
    for reward in rewards:
        dims += [d for d in reward.dimensions if d not in dims]
    table = Table(
        "score", "scored", "unscored", "min", "p25", "median", "p75", "max", "mean",
        title=f"{len(rewards)} candidates (every one in {out_dir / 'rewards.jsonl'})",
    )
    for name in [*dims, "total"]:
        if name == "total":
            values = [r.total for r in rewards if r.status == "scored" and r.total is not None]
            unscored = sum(r.status != "scored" for r in rewards)
        else:
            found = [r.dimensions[name] for r in rewards if name in r.dimensions]
            values = [d.score for d in found if d.status == "scored" and d.score is not None]
            unscored = sum(d.status != "scored" for d in found)
        table.add_row(name, str(len(values)), str(unscored), *_distribution(values))
    reasons: dict[str, int] = {}
    for reward in rewards:
        if reward.status != "scored":
            key = (reward.reason or "unknown").split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
    by_example: dict[str, list[float]] = {}
    for reward in rewards:
        if reward.selectable and reward.total is not None:
            by_example.setdefault(reward.example_id, []).append(reward.total)
    prompts = len({r.example_id for r in rewards})
    distinct = sum(len(t) > 1 and max(t) > min(t) for t in by_example.values())
    table.caption = (
        f"{prompts} prompts: {distinct} with a distinct best and worst, "
        f"{prompts - distinct} without (a tie, or fewer than two scored)"
        + (
            "; unscored by reason: "
            + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
            if reasons
            else ""
        )
        + f". Report: longjudge report {out_dir}"
    )
    return table


def _distribution(values: list[float]) -> list[str]:
    if not values:
        return ["—"] * 6
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    mean = sum(ordered) / len(ordered)
    return [_fmt(v) for v in (ordered[0], at(0.25), at(0.5), at(0.75), ordered[-1], mean)]
