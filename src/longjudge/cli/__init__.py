"""The ``longjudge`` command line (typer). One module per command group; each registers its
commands on :data:`app` when imported below."""

from __future__ import annotations

import sys

from rich.markup import escape

from ..errors import LongJudgeError
from .app import app, console

# Importing a command module registers its commands on `app`, in this order in --help.
# isort: off
from . import judges as _judges  # noqa: F401
from . import check as _check  # noqa: F401
from . import score as _score  # noqa: F401
from . import show as _show  # noqa: F401
from . import preference as _preference  # noqa: F401
from . import train as _train  # noqa: F401
from . import evaluate as _evaluate  # noqa: F401
from . import report as _report  # noqa: F401
from . import serve as _serve  # noqa: F401
# isort: on


def main() -> None:
    """Entry point: turn longjudge's own errors into a one-line message and exit code 2."""
    try:
        app()
    except LongJudgeError as exc:
        # Escaped (a message may hold brackets) and not wrapped (a command in it stays copyable).
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(2)


__all__ = ["app", "main"]
