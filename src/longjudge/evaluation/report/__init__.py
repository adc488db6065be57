"""``longjudge report``: one self-contained HTML file about a run.

The page has an inline stylesheet, plots as inline SVG (matplotlib) and no script at all, so it
opens offline in any browser. Every judged or user text in it is escaped.

::

    html = build_report(ReportConfig(run_dir=Path("runs/demo"), gold=Path("runs/gold")))
"""

from __future__ import annotations

from pathlib import Path

from ... import __version__
from .data import ReportConfig, ReportData, load_report_data
from .details import examples_section
from .page import card, esc, page
from .sections import (
    agreement_section,
    bon_section,
    cost,
    distributions,
    overview,
    ranking_section,
)


def render_report(data: ReportData, config: ReportConfig) -> str:
    """The HTML page for already loaded ``data``."""
    sections = [
        ("overview", "Overview", overview(data)),
        ("cost", "Cost", cost(data)),
        ("distributions", "Distributions", distributions(data)),
    ]
    if data.human is not None:
        sections.append(("agreement", "Agreement", agreement_section(data, config)))
    if data.gold is not None:
        sections.append(("ranking", "Kendall τ", ranking_section(data, config)))
        sections.append(("best-of-n", "Best-of-N", bon_section(data, config)))
    if data.rewards:
        prompts = len({r.example_id for r in data.rewards})
        sections.append(("prompts", f"Prompts ({prompts})", examples_section(data, config)))
    else:
        sections.append(
            ("prompts", "Prompts", card("none", "Prompts", '<p class="note">No rewards yet.</p>'))
        )
    methods = ", ".join(sorted({r.method for r in data.rewards})) or "no rewards"
    subtitle = (
        f"Run <code>{esc(data.name)}</code> · {esc(methods)} · "
        f"judge <code>{esc(data.config.get('judge_spec', '—'))}</code>"
    )
    return page(f"longjudge report: {data.name}", subtitle, sections, __version__)


def build_report(config: ReportConfig) -> str:
    """Load everything ``config`` names and render the page."""
    return render_report(load_report_data(config), config)


def write_report(config: ReportConfig, out: Path | None = None) -> Path:
    """Write the page to ``out`` (default ``RUN_DIR/report.html``) and return its path."""
    path = out or config.run_dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(config), encoding="utf-8")
    return path


__all__ = [
    "ReportConfig",
    "ReportData",
    "build_report",
    "load_report_data",
    "render_report",
    "write_report",
]
