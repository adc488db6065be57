"""The typer application and the console every command prints to."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console

#: Help rendering of every command group (None: click's plain formatter).
HELP_MARKUP = None

app = typer.Typer(
    name="longjudge",
    help="Long-context reward modeling: LongReward and S2L-RM judges, preference pairs, "
    "DPO+CE training and evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help, not typer's rich panels: typer 0.29's panel prints every option's type,
    # so flags that take no value read `--dry-run <bool>`; the plain formatter leaves them bare.
    rich_markup_mode=HELP_MARKUP,
)
console = Console(stderr=True)
out = Console()


@app.callback()
def _root() -> None:
    """Long-context reward modeling from the command line."""


def flag_layer(**flags: Any) -> dict[str, Any]:
    """Given flags as a nested config layer (``judge__base_url`` -> judge.base_url)."""
    layer: dict[str, Any] = {}
    for dotted, value in flags.items():
        if value is None:
            continue
        node = layer
        *parents, leaf = dotted.split("__")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return layer


__all__ = ["HELP_MARKUP", "app", "console", "flag_layer", "out"]
