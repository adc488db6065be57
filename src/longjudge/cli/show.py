"""``longjudge show``: one candidate's reward in detail, read from a run directory.

What the judge did for one response: each dimension's score and analysis; for faithfulness the
factual statements with their verdicts and the character offsets of the evidence windows; for
completeness the key points found and which of them the response covers; for S2L the verifier's
verdict and the reward model's scores; then the judge calls and tokens of each step. Everything
comes from ``rewards.jsonl`` (and ``summary.json`` for the per-prompt steps): nothing is re-run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..preference.picks import find_reward
from ..runtime.rundir import RunDir
from ..types import DimensionScore, Reward, Usage
from .app import app, out
from .tables import fmt, results_table

#: Steps done once per prompt and shared by its candidates: their usage is the run's.
SHARED_STEPS = ("completeness.extract",)


def _heading(dim: DimensionScore) -> str:
    score = fmt(dim.score) if dim.status == "scored" else f"unscored: {dim.reason}"
    return f"[bold]{escape(dim.name)}[/bold] {escape(score)}"


def _analysis(text: str, indent: str = "  ") -> None:
    if text.strip():
        line = Text(f"analysis: {text.strip()}")
        out.print(Padding(line, (0, 0, 0, len(indent)), expand=False))


def _items(rows: list[tuple[str, str]]) -> None:
    """Numbered items whose text wraps under itself, not under the number."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, justify="right")
    grid.add_column()
    for number, text in rows:
        grid.add_row(Text(number), Text(text))
    out.print(Padding(grid, (0, 0, 0, 2), expand=False))


def _faithfulness(dim: DimensionScore) -> None:
    details = dim.details
    statements: list[dict[str, Any]] = details.get("statements") or []
    if details.get("no_factual_statements"):
        out.print("  no factual statements: the score is the configured no-statement score")
        return
    out.print(f"  {len(statements)} factual statement(s) ({details.get('mode', '')} mode):")
    rows: list[tuple[str, str]] = []
    for i, item in enumerate(statements, start=1):
        support = item.get("support")
        verdict = f"{support} ({item.get('value'):g})" if support else "no verdict"
        rows.append((f"{i}.", f"[{verdict}] {item.get('statement', '')}"))
        windows = ", ".join(f"{ev['start']}–{ev['end']}" for ev in item.get("evidence") or [])
        rows.append(("", f"evidence (context characters): {windows or 'none found'}"))
        if item.get("reason"):
            rows.append(("", f"why no verdict: {item['reason']}"))
        if str(item.get("analysis") or "").strip():
            rows.append(("", f"analysis: {str(item['analysis']).strip()}"))
    _items(rows)


def _completeness(dim: DimensionScore) -> None:
    details = dim.details
    points: list[str] = details.get("key_points") or []
    covered = set(details.get("covered") or [])
    graded = dim.status == "scored"
    windows, failed = details.get("windows"), details.get("failed_windows") or []
    out.print(
        f"  {len(points)} key point(s) found in {windows} window(s) of the context"
        + (f", {len(failed)} window(s) failed" if failed else "")
        + (f"; the response covers {len(covered)}" if graded else "; coverage not graded")
        + ":"
    )
    marks = {True: "[covered] ", False: "[missing] "}
    _items(
        [
            (f"{i}.", (marks[i in covered] if graded else "") + point)
            for i, point in enumerate(points, start=1)
        ]
    )


def _logicality(dim: DimensionScore) -> None:
    errors: list[str] = dim.details.get("errors") or []
    out.print(f"  logical errors: {len(errors)}")
    for error in errors:
        out.print(f"  - {escape(error)}")


def _verifier(dim: DimensionScore) -> None:
    verdict = dim.details.get("verdict")
    if verdict:
        out.print(f"  verdict against the reference: {escape(str(verdict))}")


DETAIL = {
    "faithfulness": _faithfulness,
    "completeness": _completeness,
    "logicality": _logicality,
    "verifier": _verifier,
}


def _usage_table(reward: Reward, summary: dict[str, Any]) -> None:
    steps: dict[str, dict[str, Any]] = reward.meta.get("usage_steps") or {}
    if not steps:  # rewards written before per-step usage was recorded: per dimension
        steps = {name: d.usage.model_dump() for name, d in reward.dimensions.items()}
    table = results_table("step", "calls", "cached", "tokens in", "tokens out")
    for step, raw in steps.items():
        table.add_row(*_usage_cells(step, Usage.model_validate(raw)))
    table.add_row(*_usage_cells("this candidate", reward.usage))
    shared = _shared_usage(summary)
    for step, usage in shared.items():
        table.add_row(*_usage_cells(f"{step} *", usage))
    out.print("judge calls and tokens per step:")
    out.print(table)
    if shared:
        out.print("* once per prompt for the whole run, shared by all its candidates")


def _usage_cells(step: str, usage: Usage) -> list[str]:
    return [
        step,
        str(usage.calls),
        str(usage.cache_hits),
        f"{usage.prompt_tokens:,}",
        f"{usage.completion_tokens:,}",
    ]


def _shared_usage(summary: dict[str, Any]) -> dict[str, Usage]:
    shared: dict[str, Usage] = {}
    for invocation in summary.get("invocations") or []:
        for step, raw in ((invocation.get("usage") or {}).get("steps") or {}).items():
            if step in SHARED_STEPS:
                shared.setdefault(step, Usage()).add(Usage.model_validate(raw))
    return shared


def print_breakdown(reward: Reward, summary: dict[str, Any]) -> None:
    """Print ``reward`` in detail (see the module docstring)."""
    total = fmt(reward.total, 4) if reward.status == "scored" else f"unscored: {reward.reason}"
    out.print(
        f"[bold]candidate {escape(reward.candidate_id)}[/bold] of prompt "
        f"{escape(reward.example_id)} ({escape(reward.method)}): total {escape(total)}"
    )
    if reward.excluded:
        out.print(f"excluded from picks: {escape(reward.excluded)}")
    weights = reward.meta.get("weights")
    if weights:
        out.print("weights: " + ", ".join(f"{k} {v:g}" for k, v in weights.items()))
    for key in ("rm_score", "baseline_score"):
        if key in reward.meta:
            out.print(f"{key.replace('_', ' ')}: {fmt(reward.meta[key], 4)}")
    for dim in reward.dimensions.values():
        out.print(_heading(dim))
        detail = DETAIL.get(dim.name)
        if detail is not None:
            detail(dim)
        _analysis(dim.analysis)
    _usage_table(reward, summary)


@app.command("show")
def show(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (longjudge score --out).")],
    candidate: Annotated[
        str | None,
        typer.Option("--candidate", help="Candidate id (default: the first prompt's top one)."),
    ] = None,
    example: Annotated[
        str | None, typer.Option("--example", help="Prompt id, when candidate ids repeat.")
    ] = None,
) -> None:
    """One candidate's reward in detail: statements and verdicts with evidence offsets, key
    points and coverage, each dimension's analysis, judge calls and tokens per step."""
    rundir = RunDir.existing(run_dir)
    print_breakdown(find_reward(rundir.rewards(), candidate, example), rundir.read_summary())


__all__ = ["print_breakdown", "show"]
