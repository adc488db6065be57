"""Plots as inline SVG strings, drawn with matplotlib's object API (no pyplot, no GUI backend).

Text stays text (``svg.fonttype: none``), the SVG carries no date, and every id in it is
prefixed per figure so that several plots can share one page.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from typing import Any

from ..best_of_n import BonCurve
from ..ranking import RankingCurve

PALETTE = ["#0b5fcc", "#d1495b", "#2a9d8f", "#e9a23b", "#7b5ea7", "#5c677d", "#3d9970"]
_RC: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "longjudge",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
    "font.size": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8a94a0",
    "axes.labelcolor": "#303a45",
    "xtick.color": "#4b5561",
    "ytick.color": "#4b5561",
    "axes.grid": True,
    "grid.color": "#e3e7eb",
    "grid.linewidth": 0.8,
    "legend.frameon": False,
}
_counter = itertools.count(1)
_ID = re.compile(r'id="([^"]+)"')
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def to_svg(fig: Any) -> str:
    """The figure as an SVG element with page-unique ids (no XML prolog)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "longjudge"})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = _METADATA.sub("", text)  # RDF metadata: of no use inline
    prefix = f"lj{next(_counter)}-"
    for ident in set(_ID.findall(text)):
        text = text.replace(f'id="{ident}"', f'id="{prefix}{ident}"')
        text = text.replace(f"#{ident})", f"#{prefix}{ident})")
        text = text.replace(f'href="#{ident}"', f'href="#{prefix}{ident}"')
    return text


def distributions(series: dict[str, list[float]], bounded: bool) -> str:
    """Small-multiple histograms, one per named series (dimension scores, the total)."""
    import matplotlib

    names = list(series)
    cols = min(len(names), 5) or 1
    rows = (len(names) + cols - 1) // cols
    with matplotlib.rc_context(_RC):
        fig = _figure(2.3 * cols, 1.9 * rows)
        axes = fig.subplots(rows, cols, squeeze=False)
        for i, ax in enumerate(axes.flat):
            if i >= len(names):
                ax.set_visible(False)
                continue
            values = series[names[i]]
            color = PALETTE[i % len(PALETTE)]
            if bounded:
                ax.hist(
                    values,
                    bins=[x / 2 for x in range(22)],
                    color=color,
                    alpha=0.85,
                    edgecolor="white",
                    linewidth=0.6,
                )
                ax.set_xlim(0, 10.5)
                ax.set_xticks([0, 2, 4, 6, 8, 10])
            else:
                ax.hist(
                    values,
                    bins=min(20, max(5, len(values))),
                    color=color,
                    alpha=0.85,
                    edgecolor="white",
                    linewidth=0.6,
                )
            ax.set_title(f"{names[i]}  (n={len(values)})", fontsize=9.5, loc="left")
            ax.yaxis.get_major_locator().set_params(integer=True)
            ax.grid(axis="x", visible=False)
        return to_svg(fig)


def _band(ax: Any, xs: list[int], cis: list[tuple[float, float] | None], color: str) -> None:
    pts = [(x, ci) for x, ci in zip(xs, cis) if ci is not None]
    if len(pts) >= 2:
        ax.fill_between(
            [x for x, _ in pts],
            [c[0] for _, c in pts],
            [c[1] for _, c in pts],
            color=color,
            alpha=0.14,
            linewidth=0,
        )


def tau_curves(curves: Sequence[RankingCurve], gold: str) -> str:
    """Mean Kendall tau against the gold ranking by subset size N (S2L-RM figure 1)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(6.4, 3.4)
        ax = fig.subplots()
        for i, curve in enumerate(curves):
            pts = [p for p in curve.points if p.tau is not None]
            color = PALETTE[i % len(PALETTE)]
            xs = [p.n for p in pts]
            ax.plot(
                xs,
                [p.tau for p in pts],
                marker="o",
                markersize=4,
                color=color,
                linewidth=1.8,
                label=curve.scorer,
            )
            _band(ax, xs, [p.ci for p in pts], color)
        ax.axhline(0, color="#8a94a0", linewidth=0.8)
        ax.set_xlabel("N (candidates ranked per prompt)")
        ax.set_ylabel(f"Kendall τ vs {gold}")
        ax.set_ylim(-1.05, 1.05)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="lower right")
        return to_svg(fig)


def bon_curves(curves: Sequence[BonCurve], gold: str) -> str:
    """Gold score of the best and the worst pick by N (S2L-RM figure 2)."""
    import matplotlib

    styles = {"oracle": ("#6b7785", "--"), "random": ("#9aa5b1", ":")}
    with matplotlib.rc_context(_RC):
        fig = _figure(8.6, 3.4)
        axes = fig.subplots(1, 2, sharey=True)
        for side, ax in zip(("best", "worst"), axes):
            colors = iter(PALETTE)
            for curve in curves:
                pts = [p for p in curve.points if getattr(p, side) is not None]
                xs = [p.n for p in pts]
                ys = [getattr(p, side) for p in pts]
                if curve.reference:
                    color, style = styles.get(curve.scorer, ("#9aa5b1", "-."))
                    ax.plot(xs, ys, linestyle=style, color=color, linewidth=1.3, label=curve.scorer)
                    continue
                color = next(colors)
                ax.plot(
                    xs, ys, marker="o", markersize=4, color=color, linewidth=1.8, label=curve.scorer
                )
                _band(ax, xs, [getattr(p, f"{side}_ci") for p in pts], color)
            ax.set_xscale("log", base=2)
            ns = sorted({p.n for c in curves for p in c.points})
            ax.set_xticks(ns, [str(n) for n in ns])
            ax.minorticks_off()
            ax.set_title(f"picked as {side}", loc="left", fontsize=10)
            ax.set_xlabel("N (candidates per prompt)")
        axes[0].set_ylabel(f"gold score ({gold})")
        axes[1].legend(loc="best", fontsize=8.5)
        return to_svg(fig)


__all__ = ["bon_curves", "distributions", "tau_curves", "to_svg"]
