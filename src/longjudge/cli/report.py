"""``longjudge report``: one self-contained HTML page about a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..evaluation.ranking import DEFAULT_SUBSET_SAMPLES, DEFAULT_SUBSET_SEED
from .app import app, console
from .evaluate import MaybePath, Samples, Seed


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


__all__ = ["report_cmd"]
