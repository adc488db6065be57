"""``longjudge eval ...``: agreement, ranking, best-of-n, judge, faithbench.

Everything heavy (scipy, matplotlib, the evaluation modules) is imported inside the commands.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ..config import ScoreConfig, load_config
from ..evaluation.ranking import DEFAULT_SUBSET_SAMPLES, DEFAULT_SUBSET_SEED
from ..runtime.rundir import REWARDS, RunDir
from .app import HELP_MARKUP, app, console, out
from .tables import results_table

if TYPE_CHECKING:
    from ..evaluation.runs import Overlap

eval_app = typer.Typer(
    name="eval",
    help="Evaluate reward methods: agreement with people, Kendall tau, Best-of-N, "
    "LongBench-Chat-style judging.",
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(eval_app, name="eval")


def _write_json(path: Path | None, payload: Any) -> None:
    if path is None:
        return
    from ..evaluation.runs import write_json

    write_json(path, payload)
    console.print(f"wrote {path}")


def _table(*headers: str) -> Table:
    """A results table for 80 columns: the first column (names) folds, numbers never wrap."""
    return results_table(*headers, text=(0,))


def _f(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ci(ci: tuple[float, float] | None, scale: float = 1.0) -> str:
    return "—" if ci is None else f"{scale * ci[0]:.2f}–{scale * ci[1]:.2f}"


def _ids(ids: list[str], most: int = 5) -> str:
    shown = ids[:most]
    return ", ".join(shown) + (f" … ({len(ids) - most} more)" if len(ids) > most else "")


def print_overlap(overlap: Overlap) -> None:
    """Say which prompts and candidates only one of a run and the gold run has."""
    name = overlap.name
    if overlap.not_in_gold:
        console.print(
            f"[yellow]{len(overlap.not_in_gold)} prompt(s) of {name} are not in the gold run:"
            f"[/yellow] {_ids(overlap.not_in_gold)}"
        )
    if overlap.not_in_run:
        console.print(
            f"[yellow]{len(overlap.not_in_run)} prompt(s) of the gold run are not in {name}:"
            f"[/yellow] {_ids(overlap.not_in_run)}"
        )
    if overlap.lone_candidates:
        console.print(
            f"[yellow]{len(overlap.lone_candidates)} candidate(s) of shared prompts are in only "
            f"one of {name} and the gold run:[/yellow] {_ids(overlap.lone_candidates)}"
        )


def _subsets_note(config: Any) -> str:
    """The subset setting (a SubsetConfig), as the report states it too."""
    return f"subsets: {config.describe()}"


# Options shared by several commands.
Runs = Annotated[list[Path], typer.Argument(help="Run directories to evaluate.")]
Gold = Annotated[Path, typer.Option("--gold", help="The gold run directory.")]
Samples = Annotated[int, typer.Option("--samples", help="Random subsets per prompt and N.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the subsets and the bootstrap.")]
Resamples = Annotated[int, typer.Option("--resamples", help="Bootstrap resamples (0: none).")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="Also write the result here.")]
PlotOut = Annotated[Path | None, typer.Option("--plot", help="Also draw the curves (.svg).")]
MaybePath = Path | None


@eval_app.command("agreement")
def agreement_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run directory with rewards.jsonl.")],
    human: Annotated[Path, typer.Option("--human", help="Human preferences (docs/evaluation.md).")],
    tie_tolerance: Annotated[
        float, typer.Option("--tie-tolerance", help="Scores closer than this are a tie.")
    ] = 0.0,
    resamples: Resamples = 1000,
    seed: Seed = 0,
    json_out: JsonOut = None,
) -> None:
    """Accuracy of the total, of each dimension, and of each one-dimension ablation against
    human preferences."""
    from ..evaluation.agreement import AgreementConfig
    from ..evaluation.human import read_human
    from ..evaluation.metrics import BootstrapConfig
    from ..evaluation.runs import run_agreement

    prefs = read_human(human)
    for error in prefs.errors[:5]:
        console.print(f"[yellow]skipped[/yellow] {error.source}:{error.line}: {error.reason}")
    config = AgreementConfig(
        tie_tolerance=tie_tolerance, bootstrap=BootstrapConfig(resamples=resamples, seed=seed)
    )
    report = run_agreement(run_dir, prefs.pairs, config)
    table = _table(
        "view", "accuracy", "95% CI", "decided", "right", "wrong", "ties", "unsc.", "h.ties"
    )
    for row in report.rows:
        r = row.result
        table.add_row(
            row.name,
            _f(r.accuracy),
            _ci(r.ci),
            str(r.decided),
            str(r.correct),
            str(r.wrong),
            str(r.score_ties),
            str(r.unscored),
            f"{r.human_ties} ({r.human_ties_model_tied})",
        )
    out.print(table)
    out.print(
        "ties: decided pairs the scorer tied (a miss); unsc.: pairs with an unscored "
        "candidate; h.ties: pairs people tied (the scorer tied too)",
        highlight=False,
    )
    console.print(
        f"{report.human_pairs} human judgements ({len(prefs.errors)} bad lines), "
        f"{report.missing} about candidates without a reward, {report.examples} "
        "prompts."
    )
    _write_json(json_out, report)


@eval_app.command("ranking")
def ranking_cmd(
    run_dirs: Runs,
    gold: Gold,
    samples: Samples = DEFAULT_SUBSET_SAMPLES,
    seed: Seed = DEFAULT_SUBSET_SEED,
    resamples: Resamples = 1000,
    json_out: JsonOut = None,
    plot: PlotOut = None,
) -> None:
    """Mean Kendall tau between each run's and the gold run's rankings, by subset size N."""
    from ..evaluation.metrics import BootstrapConfig
    from ..evaluation.ranking import SubsetConfig
    from ..evaluation.runs import compare_with_gold, curves_payload, ranking_curves

    config = SubsetConfig(
        samples=samples,
        seed=seed,
        bootstrap=BootstrapConfig(resamples=resamples, seed=seed),
    )
    comparison = compare_with_gold(run_dirs, gold)
    for overlap in comparison.overlaps:
        print_overlap(overlap)
    curves = ranking_curves(comparison, config)
    table = _table("run", "N", "mean tau", "95% CI", "prompts", "subsets", "undefined")
    for curve in curves:
        for p in curve.points:
            table.add_row(
                curve.scorer,
                str(p.n),
                _f(p.tau),
                _ci(p.ci),
                str(p.prompts),
                str(p.subsets),
                str(p.undefined),
            )
    out.print(table)
    out.print(_subsets_note(config), highlight=False)
    _write_json(json_out, curves_payload(gold, curves))
    if plot is not None:
        from ..evaluation.report.plots import tau_curves

        plot.write_text(tau_curves(curves, gold.resolve().name), encoding="utf-8")
        console.print(f"wrote {plot}")


@eval_app.command("best-of-n")
def best_of_n_cmd(
    run_dirs: Runs,
    gold: Gold,
    n: Annotated[
        list[int] | None, typer.Option("--n", help="An N (repeat); default 2, 4, 8 ...")
    ] = None,
    samples: Samples = DEFAULT_SUBSET_SAMPLES,
    seed: Seed = DEFAULT_SUBSET_SEED,
    resamples: Resamples = 1000,
    json_out: JsonOut = None,
    plot: PlotOut = None,
) -> None:
    """Gold score of the candidate each run picks as best and as worst among N (stored scores
    only; no judge is called)."""
    from ..evaluation.best_of_n import BestOfNConfig
    from ..evaluation.metrics import BootstrapConfig
    from ..evaluation.runs import best_of_n_curves, compare_with_gold, curves_payload

    config = BestOfNConfig(
        ns=n or None,
        samples=samples,
        seed=seed,
        bootstrap=BootstrapConfig(resamples=resamples, seed=seed),
    )
    comparison = compare_with_gold(run_dirs, gold)
    for overlap in comparison.overlaps:
        print_overlap(overlap)
    curves = best_of_n_curves(comparison, config)
    table = _table("run", "N", "best", "95% CI", "worst", "95% CI", "prompts", "no pick")
    for curve in curves:
        label = f"{curve.scorer} (reference)" if curve.reference else curve.scorer
        for p in curve.points:
            table.add_row(
                label,
                str(p.n),
                _f(p.best),
                _ci(p.best_ci),
                _f(p.worst),
                _ci(p.worst_ci),
                str(p.prompts),
                str(p.no_pick),
            )
    out.print(table)
    out.print(
        f"best / worst: mean gold score of the candidate picked as best / worst among N; "
        f"{_subsets_note(config)}",
        highlight=False,
    )
    _write_json(json_out, curves_payload(gold, curves))
    if plot is not None:
        from ..evaluation.report.plots import bon_curves

        plot.write_text(bon_curves(curves, gold.resolve().name), encoding="utf-8")
        console.print(f"wrote {plot}")


@eval_app.command("judge")
def judge_cmd(
    input: Annotated[Path, typer.Argument(help="Examples with a reference answer.")],
    responses: Annotated[Path, typer.Option("--responses", "-r", help="Responses to rate.")],
    judge: Annotated[str, typer.Option("--judge", "-j", help="Judge spec, e.g. openai/gpt-4o.")],
    examples_file: Annotated[
        MaybePath, typer.Option("--examples-file", help="Rated example answers (JSONL).")
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI URL.")] = None,
    config: Annotated[
        MaybePath,
        typer.Option("--config", "-c", help="YAML: judge/cache/retry/run, longbench_chat."),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Run directory.")] = Path(
        "runs/lbc-judge"
    ),
    language: Annotated[str | None, typer.Option("--language", help="auto, en, zh.")] = None,
    max_shots: Annotated[int | None, typer.Option("--max-shots", help="Rated examples.")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", help="Most judge requests in flight (adaptive below it)."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the cache.")] = False,
) -> None:
    """Rate each response 1-10 against the reference answer (LongBench-Chat style) into a run
    directory usable as --gold."""
    from ..evaluation.longbench_chat import LbcJob, run_lbc_job

    flags: dict[str, Any] = {"judge": {}, "cache": {}, "longbench_chat": {}}
    if base_url is not None:
        flags["judge"]["base_url"] = base_url
    if concurrency is not None:
        flags["judge"]["max_concurrency"] = concurrency
        flags["judge"]["initial_concurrency"] = concurrency
    if no_cache:
        flags["cache"]["enabled"] = False
    for key, value in (("language", language), ("max_shots", max_shots)):
        if value is not None:
            flags["longbench_chat"][key] = value
    if examples_file is not None:  # absolute: config.yaml records it for use from anywhere
        flags["longbench_chat"]["examples_file"] = str(examples_file.resolve())
    job = LbcJob(  # absolute paths: config.yaml records them for use from anywhere
        input=input.resolve(),
        responses=responses.resolve(),
        judge=judge,
        out=out_dir,
        config=load_config(ScoreConfig, config, flags),
    )
    entry = asyncio.run(run_lbc_job(job))
    from .tables import rewards_table, table_notes

    rewards = RunDir(out_dir).rewards()
    out.print(rewards_table(rewards))
    for note in table_notes(rewards):
        out.print(note, highlight=False)
    usage = entry["usage"]["total"]
    console.print(
        f"rated {entry['scored']}, unscored {entry['unscored']}, already done "
        f"{entry['skipped']}; judge calls {usage['calls']}, cache hits "
        f"{usage['cache_hits']}; results in {out_dir / REWARDS}"
    )
    if entry["input_errors"] or entry["failed_groups"] or not entry["directory"]["complete"]:
        raise typer.Exit(3)


@eval_app.command("faithbench")
def faithbench_cmd(
    root: Annotated[Path, typer.Argument(help="FaithBench folder (holds data_for_release/).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where the three JSONL files go.")],
) -> None:
    """Convert FaithBench's span labels into human preferences, examples and candidates."""
    from ..evaluation.faithbench import convert_faithbench, read_faithbench, write_faithbench

    data = convert_faithbench(read_faithbench(root))
    paths = write_faithbench(data, out_dir)
    pairs, ties = data.pair_counts()
    console.print(
        f"{len(data.examples)} sources, {len(data.candidates)} summaries, "
        f"{pairs} human pairs ({pairs - ties} decided, {ties} ties)"
    )
    for name, path in paths.items():
        console.print(f"{name}: {path}")


__all__ = ["MaybePath", "Samples", "Seed", "eval_app", "print_overlap"]
