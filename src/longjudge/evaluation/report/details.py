"""Per-prompt detail: the candidate table with best and worst marked, and for each candidate
its response, dimension analyses, logical errors, statements with verdicts and evidence, and
the completeness key points."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ...types import DimensionScore, Example, Reward
from ..agreement import dimension_names
from .data import ReportConfig, ReportData, bounded
from .evidence import evidence_list
from .page import badge, card, esc, fmt, score_style, slug, table

_SUPPORT_TONE = {"full": "good", "partial": "warn", "none": "bad"}


def picks(group: Sequence[Reward]) -> dict[str, str]:
    """candidate id -> 'best' / 'worst' among the selectable rewards (all tied ones marked;
    nothing marked when every selectable total is equal)."""
    selectable = [r for r in group if r.selectable and r.total is not None]
    if len(selectable) < 2:
        return {}
    top = max(r.total for r in selectable if r.total is not None)
    low = min(r.total for r in selectable if r.total is not None)
    if top == low:
        return {}
    return {
        r.candidate_id: "best" if r.total == top else "worst"
        for r in selectable
        if r.total in (top, low)
    }


def _status(reward: Reward) -> str:
    if reward.status == "unscored":
        return badge("unscored", "grey", reward.reason)
    if reward.excluded is not None:
        return badge("excluded", "warn", reward.excluded)
    return badge("scored", "blue")


def _pick_badge(mark: str | None) -> str:
    if mark == "best":
        return badge("▲ best", "good")
    if mark == "worst":
        return badge("▼ worst", "bad")
    return ""


def ordered(group: Sequence[Reward]) -> list[Reward]:
    """Selectable first, then excluded, then unscored; highest total first within each."""

    def key(r: Reward) -> tuple[int, float]:
        tier = 0 if r.selectable else 1 if r.status == "scored" else 2
        return tier, -(r.total if r.total is not None else 0.0)

    return sorted(group, key=key)


def candidate_table(
    group: Sequence[Reward], dims: Sequence[str], gold: dict[str, float] | None, scale10: bool
) -> str:
    marks = picks(group)
    head = ["candidate", *dims, "total"] + (["gold"] if gold is not None else []) + ["status", ""]
    rows, classes = [], []
    for r in group:
        cells = [f'<a href="#{esc(_anchor(r))}">{esc(r.candidate_id)}</a>']
        for d in dims:
            score = r.dimensions[d].score if d in r.dimensions else None
            cells.append(f'<td class="num"{score_style(score)}>{fmt(score)}</td>')
        style = score_style(r.total) if scale10 else ""
        cells.append(f'<td class="num"{style}><b>{fmt(r.total)}</b></td>')
        if gold is not None:
            cells.append(fmt(gold.get(r.candidate_id)))
        cells += [_status(r), _pick_badge(marks.get(r.candidate_id))]
        rows.append(cells)
        classes.append(marks.get(r.candidate_id, ""))
    numeric = list(range(1, len(dims) + 2 + (1 if gold is not None else 0)))
    return table(head, rows, numeric=numeric, row_classes=classes)


def _anchor(reward: Reward) -> str:
    return slug("cand", reward.example_id, reward.candidate_id)


def _statements(dim: DimensionScore, context: str | None, config: ReportConfig) -> str:
    details = dim.details
    statements: list[dict[str, Any]] = details.get("statements") or []
    if details.get("no_factual_statements"):
        return '<p class="note">No factual statements in the response (recorded as such).</p>'
    if not statements:
        return ""
    mode = esc(details.get("mode", "?"))
    quotes = details.get("quotes") or {}
    foreign = int(quotes.get("other_statement", 0))
    unproved = sum(int(quotes.get(k, 0)) for k in ("not_shown", "not_found", "missing"))
    note = f"{len(statements)} statement(s), mode {mode}"
    if foreign:
        note += f"; {foreign} support verdict(s) rest on another statement's excerpt"
    if unproved:
        note += f"; {unproved} support verdict(s) without a verified quote (not counted)"
    parts = [f'<p class="note">{esc(note)}.</p>']
    for i, verdict in enumerate(statements, start=1):
        support = verdict.get("support")
        if support is None:
            tag = badge("no verdict", "grey", verdict.get("reason"))
        else:
            tag = badge(f"{support} ({verdict.get('value')})", _SUPPORT_TONE.get(support, "grey"))
        text = str(verdict.get("statement", ""))
        why = verdict.get("analysis") or verdict.get("reason") or ""
        evidence = verdict.get("evidence") or []
        quote = verdict.get("quote") if isinstance(verdict.get("quote"), dict) else None
        if quote is not None:
            tag += _quote_badge(quote)
        if verdict.get("second_look"):
            tag += badge("second look", "grey", "found with the next-best excerpts")
        ev_html = ""
        if evidence and config.max_evidence:
            shown = evidence_list(
                context, evidence, text, config.max_evidence, config.snippet_margin, quote
            )
            opened = " open" if i == 1 else ""
            ev_html = (
                f"<details{opened}><summary>evidence ({len(evidence)} window(s))"
                f"</summary>{shown}</details>"
            )
        parts.append(
            f'<div class="stmt"><div class="head"><span class="muted">{i}.</span>'
            f"{tag}<span>{esc(text)}</span></div>"
            f"{f'<p class=why>{esc(why)}</p>' if why else ''}{ev_html}</div>"
        )
    return "".join(parts)


def _quote_badge(quote: dict[str, Any]) -> str:
    """Whether the judge's quote was found in the excerpts (and in whose)."""
    status = str(quote.get("status", "?"))
    text = str(quote.get("text", ""))
    if status in ("verified", "other_excerpt"):
        if quote.get("own") is False:
            return badge("quote from another statement's excerpt", "warn", text)
        return badge(f"quote verified ({quote.get('excerpt', '')})", "good", text)
    return badge(f"quote {status.replace('_', ' ')}: not counted as support", "bad", text)


def _other_details(dim: DimensionScore) -> str:
    skip = {"statements", "mode", "no_factual_statements", "errors", "key_points", "windows"}
    rest = {k: v for k, v in dim.details.items() if k not in skip}
    if not rest:
        return ""
    rows = [
        [esc(k), esc(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))]
        for k, v in rest.items()
    ]
    return table(["detail", "value"], rows)


def dimension_block(dim: DimensionScore, context: str | None, config: ReportConfig) -> str:
    if dim.status == "scored":
        score = f'<span class="badge b-blue"{score_style(dim.score)}>{fmt(dim.score)}</span>'
    else:
        score = badge("unscored", "grey")
    inner = f"<h4>{esc(dim.name)} {score}</h4>"
    if dim.reason:
        inner += f'<p class="note">{esc(dim.reason)}</p>'
    if dim.analysis:
        inner += f"<p>{esc(dim.analysis)}</p>"
    errors = dim.details.get("errors")
    if errors:
        inner += (
            "<p class=note>Logical errors found:</p><ol class=points>"
            + "".join(f"<li>{esc(e)}</li>" for e in errors)
            + "</ol>"
        )
    if "statements" in dim.details or dim.details.get("no_factual_statements"):
        inner += _statements(dim, context, config)
    inner += _other_details(dim)
    return f'<div class="dim">{inner}</div>'


def candidate_block(
    reward: Reward,
    text: str | None,
    context: str | None,
    mark: str | None,
    config: ReportConfig,
) -> str:
    """One candidate, collapsed; the best pick starts open."""
    head = (
        f"<span>{esc(reward.candidate_id)}</span>{_pick_badge(mark)}"
        f"<span class=muted>total {fmt(reward.total)}</span>{_status(reward)}"
    )
    inner = ""
    if reward.reason:
        inner += f'<p class="note">Unscored: {esc(reward.reason)}</p>'
    if reward.excluded:
        inner += f'<p class="note">Excluded from picks: {esc(reward.excluded)}</p>'
    if text is not None:
        inner += f'<div class="text">{esc(text)}</div>'
    for dim in reward.dimensions.values():
        inner += dimension_block(dim, context, config)
    meta = {k: v for k, v in reward.meta.items() if k not in ("weights",)}
    if meta and reward.method != "longreward":
        inner += table(
            ["meta", "value"],
            [[esc(k), esc(json.dumps(v, ensure_ascii=False))] for k, v in meta.items()],
        )
    opened = " open" if mark == "best" else ""
    return (
        f'<details class="candidate" id="{esc(_anchor(reward))}"{opened}>'
        f"<summary>{head}</summary>{inner}</details>"
    )


def key_points(group: Sequence[Reward]) -> list[str]:
    for r in group:
        dim = r.dimensions.get("completeness")
        if dim is not None and dim.details.get("key_points"):
            return [str(p) for p in dim.details["key_points"]]
    return []


def example_section(
    example_id: str,
    group: Sequence[Reward],
    data: ReportData,
    config: ReportConfig,
    gold: dict[str, float] | None,
) -> str:
    example: Example | None = data.examples.get(example_id)
    context = example.context if example is not None else None
    dims = dimension_names(group)
    inner = ""
    if example is not None:
        inner += f"<p><b>Question.</b> {esc(example.query)}</p>"
        inner += f'<p class="note">Context: {len(example.context):,} characters.</p>'
        if example.reference:
            inner += (
                f"<details><summary>Reference answer</summary>"
                f'<div class="text">{esc(example.reference)}</div></details>'
            )
    points = key_points(group)
    if points:
        inner += (
            "<details open><summary>Completeness key points "
            f"({len(points)})</summary><ol class=points>"
            + "".join(f"<li>{esc(p)}</li>" for p in points)
            + "</ol></details>"
        )
    group = ordered(group)
    inner += candidate_table(group, dims, gold, bounded(group))
    marks = picks(group)
    inner += "<h3>Candidates</h3>"
    for r in group:
        candidate = data.candidates.get((r.example_id, r.candidate_id))
        inner += candidate_block(
            r,
            None if candidate is None else candidate.text,
            context,
            marks.get(r.candidate_id),
            config,
        )
    return card(slug("ex", example_id), f"Prompt {example_id}", inner)


def examples_section(data: ReportData, config: ReportConfig) -> str:
    """One card per prompt (the first ``max_examples``), inside one ``#prompts`` block."""
    groups: dict[str, list[Reward]] = {}
    for r in data.rewards:
        groups.setdefault(r.example_id, []).append(r)
    gold_by: dict[str, dict[str, float]] = {}
    for g in data.gold or []:
        if g.total is not None:
            gold_by.setdefault(g.example_id, {})[g.candidate_id] = g.total
    cards = []
    for example_id in list(groups)[: config.max_examples]:
        gold = gold_by.get(example_id, {}) if data.gold is not None else None
        cards.append(example_section(example_id, groups[example_id], data, config, gold))
    if len(groups) > config.max_examples:
        more = len(groups) - config.max_examples
        cards.append(
            card(
                "more",
                "More prompts",
                f'<p class="note">{more} more prompt(s) not shown in detail '
                "(raise --max-examples).</p>",
            )
        )
    return '<div id="prompts">' + "\n".join(cards) + "</div>"


__all__ = ["candidate_table", "examples_section", "key_points", "picks"]
