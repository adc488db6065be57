"""``longjudge sample``, ``longjudge pairs`` and ``longjudge best-of-n``: preference data."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..config import build_config, load_config
from ..io import ExampleFields, RecordError, read_examples, write_records
from ..preference.dataset import trl_rows, write_pairs
from ..preference.pairs import PairConfig, make_pairs
from ..preference.picks import best_candidates
from ..preference.run_inputs import RunData, load_run
from ..preference.sampling import SampleConfig, sample_file
from .app import app, console, flag_layer, out

#: Exit code when the command finished but some prompts failed or some records were bad.
EXIT_PARTIAL = 3


def _report_input_errors(errors: list[RecordError]) -> None:
    if not errors:
        return
    console.print(f"[yellow]{len(errors)} input record(s) skipped[/yellow], e.g.:")
    for error in errors[:5]:
        console.print(f"  {error.source}:{error.line} {error.id or ''} {error.reason}")


def _report_stale(data: RunData) -> None:
    if not data.stale:
        return
    shown = ", ".join(f"{e}/{c}" for e, c in data.stale[:5])
    console.print(
        f"[yellow]{len(data.stale)} reward(s) left out[/yellow]: their example or response text "
        f"changed since they were scored (e.g. {shown}); run longjudge score again to rescore them"
    )


@app.command("sample")
def sample(
    input: Annotated[Path, typer.Argument(help="Examples: JSONL, Parquet or a HF dataset dir.")],
    policy: Annotated[str, typer.Option("--policy", "-p", help="Policy spec: openai/MODEL ...")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Candidates JSONL (appended).")],
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible URL.")] = None,
    n: Annotated[int | None, typer.Option("--n", help="Candidates per prompt (10).")] = None,
    temperature: Annotated[float | None, typer.Option(help="Default 1.0.")] = None,
    top_p: Annotated[float | None, typer.Option(help="Nucleus sampling.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Default 1024.")] = None,
    seed: Annotated[int | None, typer.Option(help="Candidate k uses seed + k.")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Most judge requests in flight (adaptive below it).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML SampleConfig.")
    ] = None,
) -> None:
    """Sample N candidates per prompt; re-running with the same --out resumes."""
    flags = flag_layer(
        n=n,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        seed=seed,
        judge__base_url=base_url,
        judge__max_concurrency=concurrency,
        judge__initial_concurrency=concurrency,
    )
    cfg = load_config(SampleConfig, config, flags)
    examples = read_examples(input, build_config(ExampleFields, cfg.example_fields or None))
    _report_input_errors(examples.errors)
    result = asyncio.run(sample_file(examples.records, policy, out_file, cfg))
    total = result.usage.get("total", {})
    server_n = {True: "used", False: "ignored by the server (topped up)", None: "not tried"}
    console.print(
        f"{result.prompts} prompts: {result.written} candidates written, {result.skipped} "
        f"already there; {result.requests} requests, tokens {total.get('prompt_tokens', 0):,} "
        f"in / {total.get('completion_tokens', 0):,} out; n: {server_n[result.n_supported]}; "
        f"{result.seconds:.1f} s -> {out_file}"
    )
    for failure in result.failures[:10]:
        console.print(f"[red]failed[/red] {failure['example_id']}: {failure['reason']}")
    if result.failures or examples.errors:
        raise typer.Exit(EXIT_PARTIAL)


def _print_reasons(title: str, counts: dict[str, int]) -> None:
    if counts:
        table = Table("reason", "prompts", title=title)
        for reason, count in counts.items():
            table.add_row(reason, str(count))
        console.print(table)


@app.command("pairs")
def pairs(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (longjudge score --out).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help=".jsonl, .parquet or a dir.")],
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy", "-s", help="best-worst (default), best-median, s2l, s2l-baseline."
        ),
    ] = None,
    examples: Annotated[Path | None, typer.Option(help="Default: the run's input.")] = None,
    responses: Annotated[Path | None, typer.Option(help="Default: the run's responses.")] = None,
    min_margin: Annotated[float | None, typer.Option(help="Default 0.")] = None,
    min_scored: Annotated[int | None, typer.Option(help="Default 2.")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML PairConfig.")] = None,
    summary_path: Annotated[Path | None, typer.Option("--summary", help="Summary JSON.")] = None,
) -> None:
    """Make one preference pair per prompt from a run's rewards (TRL conversational format)."""
    flags = flag_layer(strategy=strategy, min_margin=min_margin, min_scored=min_scored)
    cfg = load_config(PairConfig, config, flags)
    data = load_run(run_dir, examples, responses)
    _report_input_errors(data.errors)
    _report_stale(data)
    result = make_pairs(data, cfg)
    write_pairs(out_path, trl_rows(result.pairs, data.examples, cfg))
    summary = result.summary
    if summary_path is not None:
        summary_path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    _print_reasons("prompts without a pair", summary["no_pair"])
    margin = summary["mean_margin"]
    out.print(
        f"{summary['pairs']} pairs from {summary['prompts']} prompts ({cfg.strategy}"
        + (f", mean margin {margin:.3f}" if margin is not None else "")
        + f") -> {out_path}"
    )


@app.command("best-of-n")
def best_of_n_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (longjudge score --out).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help=".jsonl, .parquet or a dir.")],
    examples: Annotated[Path | None, typer.Option(help="Default: the run's input.")] = None,
    responses: Annotated[Path | None, typer.Option(help="Default: the run's responses.")] = None,
) -> None:
    """Write the top selectable candidate of every prompt, under any scorer."""
    data = load_run(run_dir, examples, responses)
    _report_input_errors(data.errors)
    _report_stale(data)
    result = best_candidates(data)
    write_records(out_path, result.rows)
    _print_reasons("prompts without a pick", result.summary["no_pick"])
    out.print(
        f"{result.summary['picked']} of {result.summary['prompts']} prompts picked -> {out_path}"
    )
