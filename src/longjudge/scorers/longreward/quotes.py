"""Proof of support: the judge's quote is checked against the excerpts it was shown.

A ``full`` or ``partial`` verdict names the excerpt it rests on (``E3``) and quotes it. The
quote is looked up, after normalising whitespace and quotation marks, first in the named
excerpt, then in the other excerpts shown in the same call. Where it is found its character
offsets into the context are recorded; where it is not, the verdict is ``unverified`` and does
not count as support (or counts half: ``unverified_support``). A quote may skip text with
``...`` or ``…``: its pieces must then appear in order, within one excerpt.

Statuses: ``verified`` (in the named excerpt), ``other_excerpt`` (in another excerpt of the
call: still verified, the named id was wrong), ``not_shown`` (in the context, but not in any
excerpt shown in the call), ``not_found`` (nowhere in the context), ``missing`` (no quote).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from ...types import Quote

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)
_QUOTE_MARK = re.compile("[" + "".join(chr(c) for c in _QUOTES) + "]")
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*")
_SPACE = re.compile(r"\s+")
_EDGE = " \t\n\"'"
MIN_QUOTE_CHARS = 8

VERIFIED = frozenset({"verified", "other_excerpt"})


def normalise(text: str) -> tuple[str, list[int]]:
    """``text`` with quotation marks made plain and each whitespace run one space (a leading
    run dropped), and for every character of the result the index of its source character.

    Works run by run (regular expressions and ``range`` in C), not character by character: a
    batch checks a few dozen quotes against excerpts of a 100k-character context."""
    translated = _plain_marks(text)
    where: list[int] = []
    done = 0
    for match in _SPACE.finditer(translated):
        start, end = match.span()
        where.extend(range(done, start))
        if start:  # a leading whitespace run leaves nothing
            where.append(start)
        done = end
    where.extend(range(done, len(translated)))
    plain = _SPACE.sub(" ", translated)
    return (plain[1:] if translated[:1].isspace() else plain), where


def _plain_marks(text: str) -> str:
    # str.translate walks every character through the table (slow on non-ASCII text): only
    # texts that hold a curly or angled quotation mark need it
    return text.translate(_QUOTES) if _QUOTE_MARK.search(text) else text


@lru_cache(maxsize=64)
def _normalised(text: str) -> tuple[str, list[int]]:
    # The same excerpts (and, for quotes found in none, the whole context) are looked up for
    # every statement of a batch: normalise each text once. Callers never mutate the result.
    return normalise(text)


def _pieces(quote: str) -> list[str]:
    # normalise() without the offsets, which a quote does not need
    plain = " ".join(_SPACE.split(_plain_marks(quote)))
    parts = [p.strip(_EDGE) for p in _ELLIPSIS.split(plain)]
    return [p for p in parts if p]


def locate(pieces: Sequence[str], text: str) -> tuple[int, int] | None:
    """Offsets in ``text`` of the span from the first piece to the last, found in order."""
    plain, where = _normalised(text)
    pos, first = 0, -1
    end = 0
    for piece in pieces:
        at = plain.find(piece, pos)
        if at < 0:
            return None
        if first < 0:
            first = at
        pos = at + len(piece)
        end = pos
    if first < 0:
        return None
    return where[first], where[end - 1] + 1


def check_quote(
    quote: str,
    named: str,
    shown: Mapping[str, tuple[int, int]],
    context: str,
    own: Sequence[str] = (),
) -> Quote:
    """Check ``quote`` against the excerpts ``shown`` in a call (label -> context span).

    ``named`` is the excerpt label the judge gave; ``own`` the labels retrieved for this
    statement (a quote found in another statement's excerpt of a batch is marked so).
    """
    pieces = _pieces(quote)
    if sum(len(p) for p in pieces) < MIN_QUOTE_CHARS:
        return Quote(text=quote, excerpt=named, status="missing")
    order = ([named] if named in shown else []) + [k for k in shown if k != named]
    for label in order:
        start, end = shown[label]
        found = locate(pieces, context[start:end])
        if found is not None:
            return Quote(
                text=quote,
                excerpt=label,
                status="verified" if label == named else "other_excerpt",
                start=start + found[0],
                end=start + found[1],
                own=label in own if own else True,
            )
    status = "not_shown" if locate(pieces, context) is not None else "not_found"
    return Quote(text=quote, excerpt=named, status=status)


__all__ = ["MIN_QUOTE_CHARS", "VERIFIED", "check_quote", "locate", "normalise"]
