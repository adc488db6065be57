"""Evidence windows shown in their context, with the matched text highlighted.

A verdict's evidence holds character offsets into the example's context. The snippet shows the
window (``<mark>``) with some context on both sides, and inside the window the words it shares
with the statement (``<strong>``): Latin-script words of four letters or more, and pairs of
adjacent CJK characters. The judge's verified quote (its offsets were checked against the
context) is underlined in the window that holds it (``<span class="quote">``), and that window
is shown first. Every piece of text is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .page import esc

_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_STOP = frozenset(
    [
        "that",
        "this",
        "with",
        "from",
        "have",
        "were",
        "which",
        "their",
        "there",
        "about",
        "would",
        "these",
        "those",
        "been",
        "into",
        "they",
        "them",
        "than",
        "then",
        "when",
        "what",
        "where",
        "while",
        "also",
        "such",
        "some",
        "more",
        "most",
        "other",
        "over",
        "only",
        "very",
        "will",
        "your",
        "upon",
        "each",
        "both",
        "does",
        "should",
        "could",
    ]
)


def terms(statement: str) -> tuple[set[str], set[str]]:
    """(lower-cased words, CJK character pairs) of a statement worth highlighting."""
    words = {w.lower() for w in _WORD.findall(statement)} - _STOP
    pairs = {
        statement[i : i + 2]
        for i in range(len(statement) - 1)
        if _CJK.match(statement[i]) and _CJK.match(statement[i + 1])
    }
    return words, pairs


def highlight(text: str, statement: str, quote: tuple[int, int] | None = None) -> str:
    """``text`` escaped, with the statement's terms in ``<strong>`` and the characters
    ``quote`` (offsets into ``text``) in ``<span class="quote">``."""
    words, pairs = terms(statement)
    hit = [False] * len(text)
    for match in _WORD.finditer(text):
        if match.group().lower() in words:
            for i in range(match.start(), match.end()):
                hit[i] = True
    if pairs:
        for i in range(len(text) - 1):
            if text[i : i + 2] in pairs:
                hit[i] = hit[i + 1] = True
    quoted = [False] * len(text)
    if quote is not None:
        for i in range(max(0, quote[0]), min(len(text), quote[1])):
            quoted[i] = True
    return "".join(
        f'<span class="quote">{piece}</span>' if inside else piece
        for inside, piece in ((quoted[a], _strong(text, hit, a, b)) for a, b in _runs(quoted))
    )


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """Maximal runs of equal flags as (start, end) pairs."""
    out: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(flags) + 1):
        if i == len(flags) or flags[i] != flags[start]:
            out.append((start, i))
            start = i
    return out


def _strong(text: str, hit: list[bool], lo: int, hi: int) -> str:
    """``text[lo:hi]`` escaped, the hit characters in ``<strong>``."""
    return "".join(
        f"<strong>{esc(text[lo + a : lo + b])}</strong>"
        if hit[lo + a]
        else esc(text[lo + a : lo + b])
        for a, b in _runs(hit[lo:hi])
    )


def _bounds(context: str, start: int, end: int, margin: int) -> tuple[int, int]:
    """The snippet's span: ``margin`` characters each side, cut at a space, not mid-word."""
    left = max(0, start - margin)
    if left > 0:
        space = context.find(" ", left, start)
        left = space + 1 if space != -1 else left
    right = min(len(context), end + margin)
    if right < len(context):
        space = context.rfind(" ", end, right)
        right = space if space != -1 else right
    return left, right


def _quote_span(quote: dict[str, Any] | None, start: int, end: int) -> tuple[int, int] | None:
    """The verified quote's offsets relative to a window, if the quote lies in it."""
    if not quote or quote.get("status") not in ("verified", "other_excerpt"):
        return None
    try:
        q_start, q_end = int(quote["start"]), int(quote["end"])
    except (KeyError, TypeError, ValueError):
        return None
    if start <= q_start and q_end <= end:
        return q_start - start, q_end - start
    return None


def snippet(
    context: str | None,
    evidence: dict[str, Any],
    statement: str,
    margin: int = 160,
    quote: dict[str, Any] | None = None,
) -> str:
    """One evidence window as a highlighted snippet (or a note when it cannot be shown)."""
    try:
        start, end = int(evidence["start"]), int(evidence["end"])
    except (KeyError, TypeError, ValueError):
        return '<div class="snippet">evidence without usable offsets</div>'
    score = evidence.get("score")
    where = f"window {esc(evidence.get('chunk_index', '?'))} · characters {start}–{end}"
    if isinstance(score, (int, float)):
        where += f" · retrieval score {score:.3f}"
    head = f'<span class="where">{where}</span>'
    if context is None:
        return f'<div class="snippet">{head}(the context is not available to this report)</div>'
    if not 0 <= start < end <= len(context):
        return (
            f'<div class="snippet">{head}offsets outside the context '
            f"({len(context)} characters)</div>"
        )
    left, right = _bounds(context, start, end, margin)
    before = ("…" if left > 0 else "") + esc(context[left:start])
    after = esc(context[end:right]) + ("…" if right < len(context) else "")
    inside = highlight(context[start:end], statement, _quote_span(quote, start, end))
    return f'<div class="snippet">{head}{before}<mark>{inside}</mark>{after}</div>'


def evidence_list(
    context: str | None,
    evidence: Sequence[dict[str, Any]],
    statement: str,
    limit: int,
    margin: int = 160,
    quote: dict[str, Any] | None = None,
) -> str:
    """The ``limit`` best windows of one statement, best first (the window holding the
    verified quote before all)."""

    def key(e: dict[str, Any]) -> tuple[bool, float]:
        try:
            holds = _quote_span(quote, int(e["start"]), int(e["end"])) is not None
        except (KeyError, TypeError, ValueError):
            holds = False
        return (not holds, -float(e.get("score") or 0.0))

    ranked = sorted(evidence, key=key)
    shown = ranked[:limit]
    more = len(ranked) - len(shown)
    tail = f'<p class="note">{more} more window(s) not shown.</p>' if more > 0 else ""
    body = "".join(snippet(context, e, statement, margin, quote) for e in shown)
    return body + tail


__all__ = ["evidence_list", "highlight", "snippet", "terms"]
