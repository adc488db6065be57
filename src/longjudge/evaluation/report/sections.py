"""The run-level sections: overview, cost, score distributions, agreement, Kendall tau and
Best-of-N."""

from __future__ import annotations

from typing import Any

from ...types import Usage
from ..agreement import AgreementReport, agreement, config_for_run, dimension_names
from ..best_of_n import BonCurve, best_of_n_curves
from ..ranking import RankingCurve, ranking_curve
from . import plots
from .data import ReportConfig, ReportData, bounded
from .page import badge, card, ci_text, esc, fmt, pct, plot, table, tiles


def overview(data: ReportData) -> str:
    rewards = data.rewards
    methods = sorted({r.method for r in rewards}) or ["—"]
    scored = sum(1 for r in rewards if r.status == "scored")
    excluded = sum(1 for r in rewards if r.status == "scored" and r.excluded is not None)
    items = [
        (str(len({r.example_id for r in rewards})), "prompts"),
        (str(len(rewards)), "candidates"),
        (str(scored), "scored"),
        (str(len(rewards) - scored), "unscored"),
    ]
    if excluded:
        items.append((str(excluded), "excluded from picks"))
    rows = [
        ["method", esc(", ".join(methods))],
        ["judge", esc(data.config.get("judge_spec", "—"))],
        ["examples file", f"<code>{esc(data.config.get('input', '—'))}</code>"],
        ["responses file", f"<code>{esc(data.config.get('responses', '—'))}</code>"],
    ]
    weights = next((r.meta.get("weights") for r in rewards if r.meta.get("weights")), None)
    if weights:
        rows.append(["weights", esc(", ".join(f"{k} {v:g}" for k, v in weights.items()))])
    inner = tiles(items) + table(["", ""], rows)
    reasons: dict[str, int] = {}
    for r in rewards:
        if r.status == "unscored":
            key = (r.reason or "unknown").split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
    if reasons:
        inner += "<h3>Unscored, by reason</h3>" + table(
            ["reason", "candidates"],
            [[esc(k), str(v)] for k, v in sorted(reasons.items())],
            numeric=[1],
        )
    inner += "".join(f'<p class="note">{esc(n)}</p>' for n in data.notes)
    return card("overview", "Overview", inner)


def _usage_of(data: ReportData) -> tuple[Usage, dict[str, Usage], float, int, bool]:
    invocations: list[dict[str, Any]] = data.summary.get("invocations") or []
    total, seconds = Usage(), 0.0
    steps: dict[str, Usage] = {}
    for inv in invocations:
        usage = inv.get("usage") or {}
        total.add(Usage.model_validate(usage.get("total") or {}))
        for step, u in (usage.get("steps") or {}).items():
            steps.setdefault(step, Usage()).add(Usage.model_validate(u))
        seconds += float(inv.get("seconds") or 0.0)
    if invocations:
        return total, steps, seconds, len(invocations), True
    for r in data.rewards:
        total.add(r.usage)
    return total, steps, 0.0, 0, False


def cost(data: ReportData) -> str:
    total, steps, seconds, invocations, from_summary = _usage_of(data)
    asked = total.calls + total.cache_hits
    hit_rate = pct(total.cache_hits / asked if asked else None)
    items = [
        (f"{total.calls:,}", "judge calls"),
        (f"{total.cache_hits:,}", f"cache hits ({hit_rate})"),
        (f"{total.prompt_tokens:,}", "prompt tokens"),
        (f"{total.completion_tokens:,}", "completion tokens"),
        (f"{total.retries:,}", "retries"),
        (f"{total.failures:,}", "failed calls"),
        (f"{seconds:,.1f} s" if from_summary else "—", "wall time"),
        (str(invocations), "invocations"),
    ]
    inner = tiles(items)
    if steps:
        rows = [
            [
                esc(step),
                f"{u.calls:,}",
                f"{u.cache_hits:,}",
                f"{u.prompt_tokens:,}",
                f"{u.completion_tokens:,}",
                f"{u.retries:,}",
                f"{u.failures:,}",
            ]
            for step, u in sorted(steps.items())
        ]
        inner += table(
            [
                "step",
                "calls",
                "cache hits",
                "prompt tokens",
                "completion tokens",
                "retries",
                "failures",
            ],
            rows,
            numeric=[1, 2, 3, 4, 5, 6],
        )
    if not from_summary:
        inner += (
            '<p class="note">No summary.json: usage is summed from the rewards, '
            "and the wall time is unknown.</p>"
        )
    return card("cost", "Cost", inner)


def distributions(data: ReportData) -> str:
    series: dict[str, list[float]] = {}
    unscored: dict[str, int] = {}
    for name in dimension_names(data.rewards):
        values = []
        for r in data.rewards:
            dim = r.dimensions.get(name)
            if dim is None:
                continue
            if dim.score is None:
                unscored[name] = unscored.get(name, 0) + 1
            else:
                values.append(dim.score)
        series[name] = values
    series["total"] = [r.total for r in data.rewards if r.total is not None]
    unscored["total"] = sum(1 for r in data.rewards if r.total is None)
    is_bounded = bounded(data.rewards)
    if not any(series.values()):
        return card("distributions", "Score distributions", '<p class="note">No scores.</p>')
    svg = plots.distributions({k: v for k, v in series.items() if v}, is_bounded)
    rows = []
    for name, values in series.items():
        avg = sum(values) / len(values) if values else None
        rows.append(
            [
                esc(name),
                str(len(values)),
                str(unscored.get(name, 0)),
                fmt(avg),
                fmt(min(values) if values else None),
                fmt(max(values) if values else None),
            ]
        )
    inner = plot(
        svg, "Histograms of the scored values; unscored ones are counted below, never drawn as 0."
    )
    inner += table(
        ["score", "scored", "unscored", "mean", "min", "max"], rows, numeric=[1, 2, 3, 4, 5]
    )
    return card("distributions", "Score distributions", inner)


def agreement_section(data: ReportData, config: ReportConfig) -> str:
    assert data.human is not None
    cfg = config_for_run(config.agreement, data.config)
    report: AgreementReport = agreement(data.rewards, data.human, cfg)
    total = report.row("total").result.accuracy if report.rows else None
    rows, classes = [], []
    for row in report.rows:
        r = row.result
        delta = ""
        if row.kind == "ablation" and r.accuracy is not None and total is not None:
            d = r.accuracy - total
            delta = badge(f"{100 * d:+.1f} pts", "bad" if d < 0 else "good" if d > 0 else "grey")
        rows.append(
            [
                esc(row.name),
                pct(r.accuracy),
                ci_text(r.ci, percent=True),
                delta,
                pct(r.accuracy_ties_half),
                str(r.decided),
                str(r.correct),
                str(r.wrong),
                str(r.score_ties),
                str(r.unscored),
                f"{r.human_ties} ({r.human_ties_model_tied} tied)",
            ]
        )
        classes.append("best" if row.kind == "total" else "")
    head = [
        "view",
        "accuracy",
        "95% CI",
        "vs total",
        "ties ½",
        "decided",
        "right",
        "wrong",
        "score ties",
        "unscored",
        "human ties",
    ]
    inner = (
        f'<p class="note">{report.human_pairs} human judgements, {report.missing} about '
        f"candidates this run has no reward for, over {report.examples} prompt(s)"
        f"{f'; {data.human_errors} bad lines in the file' if data.human_errors else ''}. "
        "Accuracy counts a score tie on a decided pair as a miss (“ties ½” counts it as "
        "half right); human ties are left out and counted separately, with how many the "
        "scorer tied too. Ablations recompute the weighted mean without one dimension"
        f"{' (renormalised as in the run)' if cfg.renormalize else ''}. The CI resamples prompts."
        "</p>"
    )
    inner += table(head, rows, numeric=list(range(1, 11)), row_classes=classes)
    return card("agreement", "Agreement with people", inner)


def _gold_label(data: ReportData) -> str:
    return data.gold_name if data.gold_name and data.gold_name != data.name else "gold"


def ranking_section(data: ReportData, config: ReportConfig) -> str:
    assert data.gold is not None
    curve: RankingCurve = ranking_curve(data.rewards, data.gold, config.subsets, data.name)
    gold = _gold_label(data)
    if not curve.points:
        return card(
            "ranking",
            "Kendall τ against the gold ranking",
            '<p class="note">No prompt has two candidates ranked by both runs.</p>',
        )
    rows = [
        [str(p.n), fmt(p.tau, 3), ci_text(p.ci), str(p.prompts), str(p.subsets), str(p.undefined)]
        for p in curve.points
    ]
    inner = plot(
        plots.tau_curves([curve], gold),
        f"Mean Kendall τ-b between this run's and {gold}'s rankings of random "
        f"subsets of N candidates per prompt (band: the CI over prompts); "
        f"{config.subsets.describe()}.",
    )
    inner += table(
        ["N", "mean τ", "95% CI", "prompts", "subsets", "undefined"], rows, numeric=[0, 1, 3, 4, 5]
    )
    return card("ranking", "Kendall τ against the gold ranking", inner)


def bon_section(data: ReportData, config: ReportConfig) -> str:
    assert data.gold is not None
    gold = _gold_label(data)
    curves: list[BonCurve] = best_of_n_curves(
        {data.name: data.rewards}, data.gold, config.best_of_n
    )
    if not curves or not curves[0].points:
        return card(
            "best-of-n",
            "Best-of-N",
            '<p class="note">No prompt has two candidates the gold run scored.</p>',
        )
    rows = []
    for curve in curves:
        for p in curve.points:
            rows.append(
                [
                    esc(curve.scorer) + (" " + badge("reference") if curve.reference else ""),
                    str(p.n),
                    fmt(p.best),
                    fmt(p.worst),
                    str(p.prompts),
                    str(p.no_pick),
                ]
            )
    inner = plot(
        plots.bon_curves(curves, gold),
        f"Mean {gold} score of the candidate picked as best (left) and as worst "
        f"(right) among N; oracle = {gold}'s own picks, random = a random candidate; "
        f"{config.subsets.describe()}.",
    )
    inner += table(
        ["scorer", "N", "best", "worst", "prompts", "no pick"], rows, numeric=[1, 2, 3, 4, 5]
    )
    return card("best-of-n", "Best-of-N", inner)


__all__ = [
    "agreement_section",
    "bon_section",
    "cost",
    "distributions",
    "overview",
    "ranking_section",
]
