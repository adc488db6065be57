"""``longjudge eval ...`` (agreement, ranking, best-of-n, judge, faithbench) and
``longjudge report``.

Everything heavy (scipy, matplotlib, the evaluation modules) is imported inside the commands.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..config import load_config
from ..errors import InputError
from ..evaluation.ranking import DEFAULT_SUBSET_SAMPLES, DEFAULT_SUBSET_SEED
from ..runtime.rundir import REWARDS, RunDir
from ..types import Reward
from .app import HELP_MARKUP, app, console, out
from .tables import results_table

eval_app = typer.Typer(
    name="eval",
    help="Evaluate reward methods: agreement with people, Kendall tau, Best-of-N, "
    "LongBench-Chat-style judging.",
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(eval_app, name="eval")


def _rewards(path: Path) -> list[Reward]:
    if not (path / REWARDS).exists():
        raise InputError(f"{path} is not a run directory: no {REWARDS}")
    return RunDir(path).rewards()


def run_names(paths: list[Path], taken: tuple[str, ...] = ("oracle", "random")) -> list[str]:
    """A short unique label per run directory (its name; the parent's too when needed)."""
    names: list[str] = []
    for path in paths:
        name = path.resolve().name
        if name in names or name in taken:
            name = f"{path.resolve().parent.name}/{name}"
        while name in names or name in taken:
            name += "'"
        names.append(name)
    return names


def _write_json(path: Path | None, payload: Any) -> None:
    if path is None:
        return
    is_record = dataclasses.is_dataclass(payload) and not isinstance(payload, type)
    data = dataclasses.asdict(payload) if is_record else payload
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=list) + "\n", encoding="utf-8"
    )
    console.print(f"wrote {path}")


def _table(*headers: str) -> Table:
    """A results table for 80 columns: the first column (names) folds, numbers never wrap."""
    return results_table(*headers, text=(0,))


def _f(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ci(ci: tuple[float, float] | None, scale: float = 1.0) -> str:
    return "—" if ci is None else f"{scale * ci[0]:.2f}–{scale * ci[1]:.2f}"


def _ids(ids: set[str], most: int = 5) -> str:
    shown = sorted(ids)[:most]
    return ", ".join(shown) + (f" … ({len(ids) - most} more)" if len(ids) > most else "")


def report_overlap(name: str, rewards: list[Reward], gold: list[Reward]) -> bool:
    """Say which prompts and candidates only one of a run and the gold run has; whether
    they share any candidate at all."""
    mine = {(r.example_id, r.candidate_id) for r in rewards}
    theirs = {(r.example_id, r.candidate_id) for r in gold}
    mine_ex, gold_ex = {e for e, _ in mine}, {e for e, _ in theirs}
    if mine_ex - gold_ex:
        console.print(
            f"[yellow]{len(mine_ex - gold_ex)} prompt(s) of {name} are not in the gold run:"
            f"[/yellow] {_ids(mine_ex - gold_ex)}"
        )
    if gold_ex - mine_ex:
        console.print(
            f"[yellow]{len(gold_ex - mine_ex)} prompt(s) of the gold run are not in {name}:"
            f"[/yellow] {_ids(gold_ex - mine_ex)}"
        )
    shared = mine_ex & gold_ex
    lone = {f"{e}/{c}" for e, c in mine ^ theirs if e in shared}
    if lone:
        console.print(
            f"[yellow]{len(lone)} candidate(s) of shared prompts are in only one of {name} and "
            f"the gold run:[/yellow] {_ids(lone)}"
        )
    return bool(mine & theirs)


def require_points(curves: list[Any], gold: Path) -> None:
    """InputError (exit 2) when no curve has a single point: nothing could be compared."""
    if not any(c.points for c in curves if not getattr(c, "reference", False)):
        raise InputError(
            f"nothing to compare with the gold run {gold}: no prompt has two candidates "
            "scored in both (see the ids above)"
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
    from ..evaluation.agreement import AgreementConfig, agreement
    from ..evaluation.human import read_human
    from ..evaluation.metrics import BootstrapConfig

    prefs = read_human(human)
    for error in prefs.errors[:5]:
        console.print(f"[yellow]skipped[/yellow] {error.source}:{error.line}: {error.reason}")
    renorm = bool((RunDir(run_dir).read_config().get("longreward") or {}).get("renormalize"))
    config = AgreementConfig(
        tie_tolerance=tie_tolerance,
        renormalize=renorm,
        bootstrap=BootstrapConfig(resamples=resamples, seed=seed),
    )
    report = agreement(_rewards(run_dir), prefs.pairs, config)
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
    from ..evaluation.ranking import SubsetConfig, ranking_curve

    config = SubsetConfig(
        samples=samples,
        seed=seed,
        bootstrap=BootstrapConfig(resamples=resamples, seed=seed),
    )
    gold_rewards = _rewards(gold)
    curves = []
    for path, name in zip(run_dirs, run_names(run_dirs)):
        rewards = _rewards(path)
        report_overlap(name, rewards, gold_rewards)
        curves.append(ranking_curve(rewards, gold_rewards, config, name))
    require_points(curves, gold)
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
    _write_json(json_out, {"gold": str(gold), "curves": [dataclasses.asdict(c) for c in curves]})
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
    from ..evaluation.best_of_n import BestOfNConfig, best_of_n_curves
    from ..evaluation.metrics import BootstrapConfig

    config = BestOfNConfig(
        ns=n or None,
        samples=samples,
        seed=seed,
        bootstrap=BootstrapConfig(resamples=resamples, seed=seed),
    )
    runs = {name: _rewards(p) for p, name in zip(run_dirs, run_names(run_dirs))}
    gold_rewards = _rewards(gold)
    for name, rewards in runs.items():
        report_overlap(name, rewards, gold_rewards)
    curves = best_of_n_curves(runs, gold_rewards, config)
    if not any(p.prompts for c in curves if not c.reference for p in c.points):
        raise InputError(
            f"nothing to compare with the gold run {gold}: no run picked a candidate the gold "
            "run scored (see the ids above)"
        )
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
    _write_json(json_out, {"gold": str(gold), "curves": [dataclasses.asdict(c) for c in curves]})
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
        MaybePath, typer.Option("--config", "-c", help="YAML: judge/cache/retry/run, lbc_judge.")
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
    from ..evaluation.longbench_chat import LbcFile, LbcJob, run_lbc_job

    flags: dict[str, Any] = {"judge": {}, "cache": {}}
    if base_url is not None:
        flags["judge"]["base_url"] = base_url
    if concurrency is not None:
        flags["judge"]["max_concurrency"] = concurrency
    if no_cache:
        flags["cache"]["enabled"] = False
    flags["lbc_judge"] = {
        k: v for k, v in (("language", language), ("max_shots", max_shots)) if v is not None
    }
    loaded = load_config(LbcFile, config, flags)
    job = LbcJob(  # absolute paths: config.yaml records them for use from anywhere
        input=input.resolve(),
        responses=responses.resolve(),
        judge=judge,
        out=out_dir,
        config=loaded.score_config(),
        lbc=loaded.lbc_judge,
        examples_file=None if examples_file is None else examples_file.resolve(),
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
        f"{entry['skipped_finished']}; judge calls {usage['calls']}, cache hits "
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
    from ..evaluation.human import pairs_of

    data = convert_faithbench(read_faithbench(root))
    paths = write_faithbench(data, out_dir)
    pairs = [p for record in data.human for p in pairs_of(record)]
    ties = sum(1 for p in pairs if p.winner == "tie")
    console.print(
        f"{len(data.examples)} sources, {len(data.candidates)} summaries, "
        f"{len(pairs)} human pairs ({len(pairs) - ties} decided, {ties} ties)"
    )
    for name, path in paths.items():
        console.print(f"{name}: {path}")


@app.command("report")
def report_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run directory to report on.")],
    out_file: Annotated[
        MaybePath, typer.Option("--out", "-o", help="HTML file (default RUN_DIR/report.html).")
    ] = None,
    human: Annotated[MaybePath, typer.Option("--human", help="Human preferences.")] = None,
    gold: Annotated[MaybePath, typer.Option("--gold", help="Gold run directory.")] = None,
    input: Annotated[MaybePath, typer.Option("--input", help="Examples (default: run's).")] = None,
    responses: Annotated[MaybePath, typer.Option("--responses", help="Responses file.")] = None,
    max_examples: Annotated[int, typer.Option("--max-examples", help="Prompts in detail.")] = 50,
    samples: Samples = DEFAULT_SUBSET_SAMPLES,
    seed: Seed = DEFAULT_SUBSET_SEED,
) -> None:
    """Write one self-contained HTML report about a run (no scripts, works offline)."""
    from ..evaluation.metrics import BootstrapConfig
    from ..evaluation.ranking import SubsetConfig
    from ..evaluation.report import ReportConfig, write_report

    config = ReportConfig(
        run_dir=run_dir,
        human=human,
        gold=gold,
        input=input,
        responses=responses,
        max_examples=max_examples,
        subsets=SubsetConfig(
            samples=samples, seed=seed, bootstrap=BootstrapConfig(seed=seed)
        ),
    )
    path = write_report(config, out_file)
    console.print(f"report: {path}")


__all__ = ["eval_app", "run_names"]
