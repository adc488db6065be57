"""``longjudge score``: score responses with LongReward or S2L-RM into a run directory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..components import ENGINES
from ..config import ScoreConfig, load_config
from ..runtime.rundir import RunDir
from ..types import Reward
from .app import app, console, flag_layer, out
from .tables import results_table, rewards_summary, rewards_table, screenful, table_notes

if TYPE_CHECKING:
    from ..scoring.job import JobOutcome

#: Exit code when the job finished but some records were bad or some candidate in the run
#: directory is not scored (unscored, missing, or scored under an old fingerprint).
EXIT_PARTIAL = 3


@app.command("score")
def score(
    input: Path = typer.Argument(..., help="Examples: JSONL, Parquet or a saved HF dataset."),
    responses: Path = typer.Option(..., "--responses", "-r", help="Candidates to score."),
    judge: str = typer.Option("local/gemma-3-270m", "--judge", "-j", help="Judge spec."),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible URL."),
    method: str = typer.Option(
        "longreward", "--method", "-m", help="longreward, s2l or longbench-chat."
    ),
    rm: str | None = typer.Option(None, "--rm", help="S2L reward model: hf/PATH or http/URL."),
    variant: str | None = typer.Option(None, "--variant", help="S2L: r(q,y), +ref, +ref+trust."),
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML config file."),
    out_dir: Path | None = typer.Option(None, "--out", "-o", help="Run directory."),
    concurrency: int | None = typer.Option(None, "--concurrency", help="Judge requests in flight."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    retry_unscored: bool = typer.Option(False, "--retry-unscored", help="Re-score unscored ones."),
    rescore: bool = typer.Option(
        False, "--rescore", help="Move earlier results to OUT/superseded/ and score all again."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count calls and tokens; call nothing."),
    engine: str = typer.Option("local", "--engine", help="local, or ray: prompts over Ray actors."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster (default $RAY_ADDRESS, else a local one)."
    ),
) -> None:
    """Score every response of INPUT's examples; resumes when --out already holds results."""
    # the scorers' imports, only when used
    from ..scoring.engines import run_job_sync
    from ..scoring.job import ScoreJob

    flags = flag_layer(
        judge__base_url=base_url,
        judge__max_concurrency=concurrency,
        judge__initial_concurrency=concurrency,
        cache__enabled=False if no_cache else None,
        run__retry_unscored=True if retry_unscored else None,
        run__rescore=True if rescore else None,
        s2l__rm=rm,
        s2l__variant=variant,
    )
    cfg = load_config(ScoreConfig, config, flags)
    if out_dir is None and not dry_run:
        out_dir = Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    ENGINES.entry(engine)  # an unknown engine is an error listing the known ones
    # Absolute input paths: config.yaml records them, and `pairs`, `report` and resume read
    # them back from any working directory.
    inputs = (input.resolve(), responses.resolve())
    job = ScoreJob(*inputs, judge, method, cfg, out_dir, dry_run, engine, ray_address)
    outcome = run_job_sync(job)
    if dry_run:
        _print_dry_run(outcome)
        return
    assert out_dir is not None
    _print_results(RunDir(out_dir), outcome, out_dir)
    _print_breakdown_hint(out_dir)
    if not outcome.complete:
        raise typer.Exit(EXIT_PARTIAL)


def _print_table(rewards: list[Reward], judge_spec: str) -> None:
    """The rewards table and the lines that explain it."""
    out.print(rewards_table(rewards))
    for note in table_notes(rewards, judge_spec):
        out.print(note, highlight=False)


def _print_breakdown_hint(out_dir: Path) -> None:
    console.print(f"one candidate in detail: longjudge show {out_dir} [--candidate ID]")


def _print_results(rundir: RunDir, outcome: JobOutcome, out_dir: Path) -> None:
    from ..preference.tally import RewardTally, rows_or_tally
    from ..runtime.fingerprint import describe_counts

    found = rows_or_tally(rundir, screenful())
    if isinstance(found, RewardTally):  # one row per candidate would scroll away
        out.print(rewards_summary(found, out_dir))  # counted line by line: counters only
    else:
        _print_table(found, str(rundir.read_config().get("judge_spec") or ""))
    result = outcome.result
    total = outcome.usage["total"]
    done = f"already done {result.skipped}"
    if result.skipped_unscored:
        done += f" ({result.skipped_unscored} of them unscored)"
    console.print(
        f"scored {result.scored}, unscored {result.unscored}, {done}, "
        f"bad input records {len(outcome.input_errors)}; judge calls {total['calls']}, "
        f"cache hits {total['cache_hits']}, tokens {total['prompt_tokens']:,} in / "
        f"{total['completion_tokens']:,} out; {result.seconds:.1f} s"
    )
    if outcome.superseded:
        console.print(f"earlier results moved to {outcome.superseded}")
    if result.rescored:
        console.print(f"rescored {result.rescored}: {describe_counts(result.rescored_reasons)}")
    if result.unscored_reasons:
        console.print(f"unscored by reason: {result.unscored_reasons}")
    dropped = outcome.stats.get("statements_dropped", 0)
    if dropped:
        console.print(
            f"statements beyond longreward.max_statements dropped: {dropped} in "
            f"{outcome.stats.get('responses_over_statement_cap', 0)} responses (counted in "
            "each reward's faithfulness details)"
        )
    if outcome.state is not None:
        console.print(_state_line(outcome))
    console.print(f"results: {out_dir / 'rewards.jsonl'} (errors: {out_dir / 'errors.jsonl'})")


def _state_line(outcome: JobOutcome) -> str:
    state = outcome.state
    assert state is not None
    parts = [f"{state.scored} scored"]
    for count, label in (
        (state.unscored, "unscored"),
        (state.missing, "not scored (failed, see errors.jsonl)"),
        (state.stale, "with an outdated result"),
        (state.others_unscored, "unscored from an earlier input"),
    ):
        if count:
            parts.append(f"{count} {label}")
    verdict = "complete" if outcome.complete else "INCOMPLETE (exit code 3)"
    hint = ""
    if state.unscored or state.others_unscored:
        hint = "; --retry-unscored scores the unscored ones again"
    return f"run directory: {state.candidates} candidates, {', '.join(parts)}: {verdict}{hint}"


def _print_dry_run(outcome: JobOutcome) -> None:
    table = results_table("step", "calls", "tokens in", "tokens out")
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
        "dry run: no judge was called; tokens are estimates: cached requests count as free, "
        "and tokens out and statement counts are placeholders (characters / 4 of "
        "schema-valid fillers)."
    )
