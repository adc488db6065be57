"""The typer application and the console every command prints to."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="longjudge",
    help="Long-context reward modeling: LongReward and S2L-RM judges, preference pairs, "
    "DPO+CE training and evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()




@app.callback()
def _root() -> None:
    """Long-context reward modeling from the command line."""
__all__ = ["app", "console", "out"]
