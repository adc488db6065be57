"""``longjudge judges``: the registered judge backends and what each needs."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from ..judges.registry import backends
from .app import app, out


@app.command("judges")
def list_judges() -> None:
    """List the judge backends, what each needs, and an example spec."""
    table = Table("backend", "what", "needs", "example")
    for info in backends().values():
        table.add_row(info.name, escape(info.summary), escape(info.needs), escape(info.example))
    out.print(table)
