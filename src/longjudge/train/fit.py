"""Make preference pairs fit ``max_length`` by shortening the context, never the question or
the responses.

TRL cuts a sequence longer than ``max_length`` at its end (``keep_start``): the end of the
response, the very tokens a preference is about. Before TRL sees a pair, :func:`fit_rows`
measures it the way TRL will tokenize it (the prompt rendered with the generation prompt, each
completion as what prompt + completion adds to it) and, when prompt + the longer response is
over ``max_length``, rewrites only the context part of the user turn (located by
:func:`~longjudge.preference.dataset.context_bounds`) until it fits:

- ``relevant`` (default): the context is cut into windows of the model's tokens, the windows
  are ranked by BM25 against the question and against each response (the project's evidence
  index), the three rankings are fused (reciprocal rank), and the best windows are kept, in
  document order, as many as the budget allows;
- ``middle``: the start and the end of the context are kept, the middle goes;
- ``drop``: the pair is dropped.

Each run of removed text is replaced by a marker, ``[… N tokens omitted …]``. The rewritten
prompt is measured again and the budget lowered until the pair fits exactly. A pair whose
question and longer response do not fit even without any context is dropped. Every cut and
every drop is counted in a :class:`FitReport`. The pairs file keeps the full texts: this runs
at training time only.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..preference.dataset import context_bounds
from ..text.tokenizer import Span
from ..text.windows import token_windows
from ..types import Chunk
from .fit_report import DROP_REASONS, FitReport

Truncation = Literal["relevant", "middle", "drop"]
TRUNCATIONS: tuple[str, ...] = ("relevant", "middle", "drop")
MARKER = "[… {n} tokens omitted …]"
_RRF_K = 60.0
_ATTEMPTS = 8

#: (prompt tokens, chosen tokens, rejected tokens) of one row, as the trainer counts them.
Measure = Callable[[dict[str, Any]], tuple[int, int, int]]


# --- measuring as the trainer does ---------------------------------------------------------


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def trl_measure(tokenizer: Any) -> Measure:
    """Token counts of a row as TRL 1.16's ``DPOTrainer`` tokenizes it: the prompt with the
    generation prompt, each completion as what follows the common prefix of prompt and
    prompt + completion."""

    def ids(value: Any, **kwargs: Any) -> list[int]:
        if isinstance(value, list):
            out = tokenizer.apply_chat_template(value, tokenize=True, return_dict=True, **kwargs)
            return list(out["input_ids"])
        return list(tokenizer(value)["input_ids"])

    def measure(row: dict[str, Any]) -> tuple[int, int, int]:
        kwargs: dict[str, Any] = dict(row.get("chat_template_kwargs") or {})
        tools = row.get("tools")
        if tools is not None:
            kwargs["tools"] = json.loads(tools) if isinstance(tools, str) else tools
        conversational = isinstance(row["prompt"], list)
        prompt = ids(row["prompt"], add_generation_prompt=True, **kwargs) if conversational else (
            ids(row["prompt"])
        )
        chosen = ids(row["prompt"] + row["chosen"], **kwargs)
        rejected = ids(row["prompt"] + row["rejected"], **kwargs)
        start = min(_common_prefix(prompt, chosen), _common_prefix(prompt, rejected))
        return start, len(chosen) - start, len(rejected) - start

    return measure


class ModelSpans:
    """The model's tokenizer seen as a :class:`~longjudge.text.Tokenizer` (token offsets), so
    that windows are counted in the tokens ``max_length`` counts."""

    def __init__(self, tokenizer: Any) -> None:
        self._tok = tokenizer
        self.name = f"model:{getattr(tokenizer, 'name_or_path', '')}:{len(tokenizer)}"

    def spans(self, text: str) -> list[Span]:
        encoding = self._tok(text, add_special_tokens=False, return_offsets_mapping=True)
        return [(int(s), int(e)) for s, e in encoding["offset_mapping"] if e > s]

    def count(self, text: str) -> int:
        return len(self._tok(text, add_special_tokens=False)["input_ids"])


# --- the two ways to shorten a context ------------------------------------------------------


def marker(n: int) -> str:
    """The text that stands for ``n`` removed tokens."""
    return MARKER.format(n=f"{n:,}")


def _join(chunks: Sequence[Chunk], keep: set[int]) -> str:
    """Kept windows in document order; each run of removed windows becomes one marker."""
    parts: list[str] = []
    gap = 0
    for chunk in chunks:
        if chunk.index in keep:
            if gap:
                parts.append(marker(gap))
                gap = 0
            parts.append(chunk.text.strip())
        else:
            gap += chunk.n_tokens
    if gap:
        parts.append(marker(gap))
    return "\n".join(p for p in parts if p)


def keep_relevant(
    chunks: Sequence[Chunk], rankings: Sequence[Sequence[int]], budget: int
) -> set[int]:
    """Windows to keep: best fused rank first (ties: earlier window), while they fit."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, index in enumerate(ranking):
            fused[index] = fused.get(index, 0.0) + 1.0 / (_RRF_K + rank + 1)
    order = sorted(range(len(chunks)), key=lambda i: (-fused.get(i, 0.0), i))
    keep: set[int] = set()
    used = 0
    for i in order:
        if used + chunks[i].n_tokens <= budget:
            keep.add(i)
            used += chunks[i].n_tokens
    return keep


class ContextCutter:
    """Shortens one context to a token budget (``relevant`` or ``middle``)."""

    def __init__(self, tokenizer: ModelSpans, mode: str, window_tokens: int) -> None:
        self.tokenizer = tokenizer
        self.mode = mode
        self.window_tokens = window_tokens

    def prepare(self, context: str, queries: Sequence[str]) -> Callable[[int], str]:
        """A function budget -> shortened context (the expensive work done once)."""
        if self.mode == "middle":
            return self._middle(context)
        from ..retrieval.bm25 import BM25Retriever

        chunks = token_windows(context, self.window_tokens, self.tokenizer)
        index = BM25Retriever().build(chunks)
        hits = index.search_many([q for q in queries if q.strip()], len(chunks))
        rankings = [[h.chunk_index for h in found] for found in hits]
        return lambda budget: _join(chunks, keep_relevant(chunks, rankings, budget))

    def _middle(self, context: str) -> Callable[[int], str]:
        spans = self.tokenizer.spans(context)

        def cut(budget: int) -> str:
            budget = max(0, budget)
            if budget >= len(spans):
                return context
            head = (budget + 1) // 2
            tail = budget - head
            removed = len(spans) - head - tail
            start = context[: spans[head - 1][1]].rstrip() if head else ""
            end = context[spans[len(spans) - tail][0] :].lstrip() if tail else ""
            return "\n".join(p for p in (start, marker(removed), end) if p)

        return cut


# --- fitting rows ---------------------------------------------------------------------------


def _user_text(row: dict[str, Any]) -> str:
    prompt = row["prompt"]
    return str(prompt[-1]["content"] if isinstance(prompt, list) else prompt)


def _bounds(row: dict[str, Any]) -> tuple[int, int] | None:
    if isinstance(row["prompt"], list):
        return context_bounds(row)
    return context_bounds({**row, "prompt": [{"role": "user", "content": row["prompt"]}]})


def _replace_context(row: dict[str, Any], bounds: tuple[int, int], context: str) -> dict[str, Any]:
    """A copy of ``row`` with the context at ``bounds`` of its user turn replaced."""
    text = _user_text(row)
    start, end = bounds
    new = copy.deepcopy(row)
    user = text[:start] + context + text[end:]
    if isinstance(new["prompt"], list):
        new["prompt"][-1]["content"] = user
    else:
        new["prompt"] = user
    if "context_start" in new and "context_end" in new:
        new["context_start"], new["context_end"] = start, start + len(context)
    return new


def _completion_text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(m.get("content", "")) for m in value)
    return str(value)


@dataclass
class Fitted:
    """One row made to fit: the row (None when dropped), why not, and the counts."""

    row: dict[str, Any] | None
    reason: str | None = None
    removed: int = 0
    need_without_context: int | None = None


def fit_row(
    row: dict[str, Any],
    measure: Measure,
    max_length: int,
    cutter: ContextCutter | None,
    sizes: tuple[int, int, int] | None = None,
) -> Fitted:
    """One row made to fit ``max_length`` (or the reason it cannot); ``sizes`` is
    ``measure(row)`` when already known."""
    prompt, chosen, rejected = sizes or measure(row)
    longest = max(chosen, rejected)
    if prompt + longest <= max_length:
        return Fitted(row)
    if cutter is None:
        return Fitted(None, "too_long")
    bounds = _bounds(row)
    if bounds is None:
        return Fitted(None, "no_context")
    text = _user_text(row)
    context = text[bounds[0] : bounds[1]]
    context_tokens = cutter.tokenizer.count(context)
    bare = _replace_context(row, bounds, marker(context_tokens))
    bare_prompt = measure(bare)[0]
    if bare_prompt + longest > max_length:
        return Fitted(None, "no_room", need_without_context=bare_prompt + longest)
    question = text[: bounds[0]] + text[bounds[1] :]
    shorten = cutter.prepare(
        context, [question, _completion_text(row["chosen"]), _completion_text(row["rejected"])]
    )
    budget = context_tokens - (prompt + longest - max_length)
    for _ in range(_ATTEMPTS):
        candidate = _replace_context(row, bounds, shorten(budget))
        new_prompt, new_chosen, new_rejected = measure(candidate)
        over = new_prompt + max(new_chosen, new_rejected) - max_length
        if over <= 0:
            return Fitted(candidate, removed=prompt - new_prompt)
        budget -= over
        if budget <= 0:
            break
    return Fitted(bare, removed=prompt - bare_prompt)  # all of the context goes


def fit_rows(
    rows: Sequence[dict[str, Any]],
    measure: Measure,
    max_length: int | None,
    truncation: str = "relevant",
    window_tokens: int = 128,
    tokenizer: ModelSpans | None = None,
) -> tuple[list[dict[str, Any]], FitReport]:
    """The rows that fit ``max_length`` (contexts shortened as ``truncation`` says) and the
    report of what was cut and dropped. ``tokenizer`` is needed unless ``truncation`` is
    ``drop``."""
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation must be one of {', '.join(TRUNCATIONS)}: {truncation!r}")
    report = FitReport(max_length=max_length, truncation=truncation, pairs=len(rows))
    cutter = None
    if truncation != "drop":
        if tokenizer is None:
            raise ValueError(f"truncation {truncation!r} needs the model's tokenizer")
        cutter = ContextCutter(tokenizer, truncation, window_tokens)
    if max_length is None:  # nothing to fit: no need to measure
        report.kept = len(rows)
        return list(rows), report
    kept: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    for number, row in enumerate(rows):
        prompt, chosen, rejected = measure(row)
        if prompt > report.longest_prompt or report.longest_prompt_id is None:
            report.longest_prompt = prompt
            report.longest_prompt_id = str(row.get("example_id") or f"#{number}")
        report.longest_pair = max(report.longest_pair, prompt + max(chosen, rejected))
        fitted = fit_row(row, measure, max_length, cutter, (prompt, chosen, rejected))
        if fitted.row is None:
            reasons[fitted.reason or "too_long"] += 1
            need = fitted.need_without_context
            if need is not None and (report.shortest_need is None or need < report.shortest_need):
                report.shortest_need = need
            continue
        if fitted.row is not row:
            report.cut += 1
            report.tokens_removed += fitted.removed
        kept.append(fitted.row)
    report.kept = len(kept)
    report.dropped = {r: reasons[r] for r in DROP_REASONS if reasons[r]}
    return kept, report


__all__ = [
    "DROP_REASONS",
    "MARKER",
    "TRUNCATIONS",
    "ContextCutter",
    "FitReport",
    "Fitted",
    "ModelSpans",
    "Truncation",
    "fit_row",
    "fit_rows",
    "keep_relevant",
    "marker",
    "trl_measure",
]
