"""Picking evidence windows from a statement's scores: context, smoothing, budget, excerpts.

Pure numpy functions, each testable alone:

- :func:`mix_context` adds to each statement's window scores ``weight`` times the scores of
  the statement before and after it in the response (pronouns and short names get their
  referent's windows);
- :func:`smooth` lets each window add ``weight ** d`` times the score of the windows ``d`` away
  (``d`` up to ``radius``), so that passages where support clusters beat isolated matches (what
  a neighbour passes on may be another score than its own, e.g. only its word matches);
- :func:`clauses` splits a statement that joins several facts into its clauses, whose best
  windows are taken first;
- :func:`share_budget` splits the token budget of a response's statements between them (a
  statement whose best window matches it closely needs fewer tokens than a vague one);
- :func:`pick` takes the best windows until a token budget is spent;
- :func:`excerpts` merges picked windows that touch into one excerpt with offsets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..types import Chunk, Evidence
from .bm25 import bm25_terms


def mix_context(scores: np.ndarray, weight: float) -> np.ndarray:
    """Row ``i`` plus ``weight`` times rows ``i-1`` and ``i+1`` (-inf entries stay -inf)."""
    if weight <= 0 or scores.shape[0] < 2:
        return scores
    finite = np.where(np.isfinite(scores), scores, 0.0)
    out: np.ndarray = scores.copy()
    out[1:] += weight * finite[:-1]
    out[:-1] += weight * finite[1:]
    return out


def smooth(
    scores: np.ndarray, weight: float, radius: int, passed: np.ndarray | None = None
) -> np.ndarray:
    """Each window plus ``weight ** d`` times the windows ``d`` away, for ``d <= radius``.

    ``passed`` (same shape as ``scores``; default ``scores``) is what a window passes on to
    its neighbours: hybrid retrieval passes on only the BM25 part, so that a run of windows
    that name the statement's words wins, not a run that is merely on the same topic.
    """
    if weight <= 0 or radius <= 0 or scores.shape[-1] < 2:
        return scores
    finite = np.where(np.isfinite(scores), scores, 0.0)
    given = finite if passed is None else np.where(np.isfinite(passed), passed, 0.0)
    out = finite.copy()
    for d in range(1, min(radius, scores.shape[-1] - 1) + 1):
        w = weight**d
        out[..., d:] += w * given[..., :-d]
        out[..., :-d] += w * given[..., d:]
    smoothed: np.ndarray = np.where(np.isfinite(scores) | (out != 0), out, -np.inf)
    return smoothed


#: where a statement is split into clauses: commas, semicolons, dashes, brackets, and the
#: words that join two facts
_CLAUSE_BREAK = re.compile(
    r",\s+|;\s+|\s+[-\u2013\u2014]\s+|\s*[()]\s*"
    r"|\s+(?:and|but|while|who|which|where|with)\s+",
    re.IGNORECASE,
)


def clauses(statement: str, min_terms: int = 4) -> list[str]:
    """The clauses of a statement, each with at least ``min_terms`` BM25 terms.

    The statement is cut at commas, semicolons, dashes, brackets and joining words ("and",
    "who", "with", ...); a piece with too few terms is joined to the next one, and a short
    tail to the last clause. A statement that does not split gives one clause (itself).
    """
    out: list[str] = []
    current = ""
    terms = 0  # of ``current``: the terms of pieces joined by a space add up
    for piece in _CLAUSE_BREAK.split(statement):
        piece = piece.strip()
        if not piece:
            continue
        current = f"{current} {piece}" if current else piece
        terms += len(bm25_terms(piece))
        if terms >= min_terms:
            out.append(current)
            current = ""
            terms = 0
    if current:
        if out:
            out[-1] = f"{out[-1]} {current}"
        else:
            out.append(current)
    return out if len(out) > 1 else [statement.strip()]


def share_budget(best: np.ndarray, budget: int, low: float = 0.2, high: float = 4.0) -> list[int]:
    """Per-statement budgets that add up to at most ``budget`` times the number of statements.

    ``best`` is each statement's best window score (its own, before context and smoothing):
    a share is proportional to ``1 / best`` (a statement far ahead of its context needs few
    tokens; a vague one gets more), kept between ``low`` and ``high`` times ``budget``. A
    statement without a positive score gets the most. One statement gets ``budget``.
    """
    n = int(best.size)
    if n == 0:
        return []
    if n == 1:
        return [budget]
    floor, ceiling = low * budget, high * budget
    values = np.where(np.isfinite(best), best, 0.0)
    weights = 1.0 / np.maximum(values, 1e-6)
    weights /= weights.max()
    total = float(budget * n)
    # shares = clip(c * weights, floor, ceiling) add up to the total for one c: their sum is
    # piecewise linear and nondecreasing in c, with its bends where a share reaches the floor
    # or the ceiling; evaluate it at every bend at once and interpolate between the two bends
    # around the total (exact, and one numpy step instead of a bisection)
    bends = np.sort(np.concatenate((floor / weights, ceiling / weights)))
    sums = np.clip(np.outer(bends, weights), floor, ceiling).sum(axis=1)
    j = int(np.searchsorted(sums, total, side="right"))
    if j >= bends.size:
        c = float(bends[-1])
    else:  # sums[0] = n * floor < total, so j >= 1
        lo, hi = float(bends[j - 1]), float(bends[j])
        rise = float(sums[j] - sums[j - 1])
        c = lo + (total - float(sums[j - 1])) * (hi - lo) / rise if rise > 0 else lo
    shares = np.clip(c * weights, floor, ceiling)
    return [int(s) for s in np.floor(shares + 1e-9)]


def pick(
    scores: np.ndarray,
    tokens: np.ndarray,
    budget: int,
    top_k: int,
    banned: set[int] | None = None,
    *,
    positive_only: bool = False,
    first: int | Sequence[int] | None = None,
) -> list[int]:
    """Window indices, best first, while they fit in ``budget`` tokens (at most ``top_k``).

    ``first`` (a window or several, in order; those eligible) is taken before the others. A
    window that does not fit is skipped and smaller ones after it may still be taken; at least
    one window is taken when any is eligible, even if it alone passes the budget.
    """
    # Eligible windows: a finite (with ``positive_only``, positive) score, not banned. The walk
    # below runs over them only, best first, and jumps over the ones that no longer fit in one
    # numpy step: a per-window Python loop over the whole context cost more than the rest of
    # retrieval together.
    eligible = np.isfinite(scores)
    if positive_only:
        eligible &= scores > 0
    # best first, ties by position; the eligible windows come first in that order
    order = np.argsort(-scores, kind="stable")[: int(np.count_nonzero(eligible))]
    firsts = [first] if isinstance(first, int) else list(first or ())
    leading = [
        i
        for i in dict.fromkeys(firsts)
        if 0 <= i < scores.size and eligible[i] and not (banned and i in banned)
    ]
    if banned or leading:  # (a mask: np.isin costs more than the rest of the pick)
        keep = np.ones(scores.size, dtype=bool)
        keep[[b for b in (banned or ()) if 0 <= b < scores.size]] = False
        keep[leading] = False
        order = order[keep[order]]
        if leading:
            order = np.concatenate((np.asarray(leading, dtype=order.dtype), order))
    costs = tokens[order]
    cost_list: list[int] = costs.tolist()  # plain ints: no numpy scalar per window
    windows: list[int] = order.tolist()
    smallest = int(tokens.min()) if tokens.size else 0
    chosen: list[int] = []
    used = 0
    i, n = 0, len(windows)
    while i < n:
        cost = cost_list[i]
        if chosen and used + cost > budget:
            fits = np.flatnonzero(costs[i + 1 :] <= budget - used)
            if fits.size == 0:
                break
            i += 1 + int(fits[0])
            continue
        chosen.append(windows[i])
        used += cost
        if len(chosen) >= top_k or used >= budget or used + smallest > budget:
            break  # (the last test: no window left could fit)
        i += 1
    return chosen


def excerpts(chunks: Sequence[Chunk], picked: Sequence[int], scores: np.ndarray) -> list[Evidence]:
    """Picked windows as excerpts in document order; windows that touch become one."""
    runs: list[list[Any]] = []  # [first window, start, end, windows, tokens, best score]
    for index in sorted(picked):
        chunk = chunks[index]
        score = float(scores[index])
        last = runs[-1] if runs else None
        if last is not None and last[0] + last[3] == index:
            last[2] = chunk.end
            last[3] += 1
            last[4] += chunk.n_tokens
            last[5] = max(last[5], score)
        else:
            runs.append([index, chunk.start, chunk.end, 1, chunk.n_tokens, score])
    return [
        Evidence(
            chunk_index=first,
            start=start,
            end=end,
            score=score,
            windows=windows,
            n_tokens=n_tokens,
        )
        for first, start, end, windows, n_tokens, score in runs
    ]


__all__ = ["clauses", "excerpts", "mix_context", "pick", "share_budget", "smooth"]
