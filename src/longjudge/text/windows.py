"""Token windows that cover a text exactly and keep character offsets."""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from itertools import accumulate

from ..types import Chunk
from .sentences import split_sentences
from .tokenizer import Span, Tokenizer, get_tokenizer


class _Cuts:
    """Token spans with the positions where a window may start (never inside a token)."""

    def __init__(self, spans: list[Span]) -> None:
        starts, ends = zip(*spans) if spans else ((), ())
        self.starts: list[int] = list(starts)
        # running max of token ends: monotonic, for bisect
        self.reach: list[int] = list(accumulate(ends, max, initial=0))[1:]
        self.n = len(spans)

    def allowed(self, t: int) -> bool:
        return t <= 0 or t >= self.n or self.starts[t] >= self.reach[t - 1]

    def at_char(self, pos: int) -> int:
        """Index of the first token that ends after ``pos`` (the token a sentence starts in)."""
        return bisect_right(self.reach, pos)

    def fixed(self, lo: int, size: int) -> int:
        """The furthest allowed cut within ``size`` tokens of ``lo`` (further if none is)."""
        hi = min(lo + size, self.n)
        for t in range(hi, lo, -1):
            if self.allowed(t):
                return t
        t = hi + 1
        while not self.allowed(t):
            t += 1
        return t


_RECENT: OrderedDict[tuple[str, str], _Cuts] = OrderedDict()
_RECENT_LOCK = threading.Lock()


def _cuts(tokenizer: Tokenizer, text: str) -> _Cuts:
    """Token spans and their cut positions, remembered for the last few long texts (one
    context is cut several ways: evidence and completeness windows)."""
    if len(text) < 20_000:
        return _Cuts(tokenizer.spans(text))
    key = (tokenizer.name, text)
    with _RECENT_LOCK:
        if key in _RECENT:
            _RECENT.move_to_end(key)
            return _RECENT[key]
    cuts = _Cuts(tokenizer.spans(text))
    with _RECENT_LOCK:
        _RECENT[key] = cuts
        while len(_RECENT) > 2:
            _RECENT.popitem(last=False)
    return cuts


_SENTENCES: OrderedDict[str, list[Span]] = OrderedDict()


def _sentences(text: str) -> list[Span]:
    """Sentence spans, remembered for the last few long texts (the evidence windows and the
    completeness windows cut the same context)."""
    if len(text) < 20_000:
        return split_sentences(text)
    with _RECENT_LOCK:
        if text in _SENTENCES:
            _SENTENCES.move_to_end(text)
            return _SENTENCES[text]
    spans = split_sentences(text)
    with _RECENT_LOCK:
        _SENTENCES[text] = spans
        while len(_SENTENCES) > 2:
            _SENTENCES.popitem(last=False)
    return spans


def _packed_cuts(cuts: _Cuts, bounds: list[int], size: int) -> list[int]:
    """Greedy packing of units [bounds[i], bounds[i+1]); a unit longer than size is cut."""
    out = [0]
    cur = last = 0
    for b in bounds[1:]:
        if b - cur > size and last > cur:
            out.append(last)
            cur = last
        while b - cur > size:
            cur = cuts.fixed(cur, size)
            out.append(cur)
        last = b
    if out[-1] != cuts.n:
        out.append(cuts.n)
    return out


def token_windows(
    text: str, size: int, tokenizer: Tokenizer | None = None, *, align_sentences: bool = True
) -> list[Chunk]:
    """Cut ``text`` into windows of at most ``size`` tokens that cover it exactly.

    Windows are contiguous (each ends where the next starts), the first starts at 0 and the
    last ends at ``len(text)``; whitespace between two windows belongs to the first. With
    ``align_sentences`` windows hold whole sentences and only a sentence longer than ``size``
    is cut. An empty text has no windows; a text without tokens is one window of 0 tokens.
    A window never cuts inside a character, so the byte-level tokens of one character stay
    together even when they exceed ``size``.
    """
    if size < 1:
        raise ValueError("window size must be at least 1 token")
    if not text:
        return []
    cuts = _cuts(tokenizer or get_tokenizer(), text)
    if cuts.n == 0:
        return [Chunk(index=0, start=0, end=len(text), text=text, n_tokens=0)]
    if align_sentences:
        bounds = {0, cuts.n}
        for start, _ in _sentences(text)[1:]:
            t = cuts.at_char(start)
            while not cuts.allowed(t):
                t += 1
            bounds.add(t)
        token_cuts = _packed_cuts(cuts, sorted(bounds), size)
    else:
        token_cuts = [0]
        while token_cuts[-1] < cuts.n:
            token_cuts.append(cuts.fixed(token_cuts[-1], size))
    chars = [0] + [cuts.starts[t] for t in token_cuts[1:-1]] + [len(text)]
    return [
        Chunk(
            index=i,
            start=chars[i],
            end=chars[i + 1],
            text=text[chars[i] : chars[i + 1]],
            n_tokens=token_cuts[i + 1] - token_cuts[i],
        )
        for i in range(len(token_cuts) - 1)
    ]


__all__ = ["token_windows"]
