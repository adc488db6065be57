"""Sentence splitting for English and Chinese, as character spans."""

from __future__ import annotations

import re

from .tokenizer import CJK_RANGES, Span

#: Abbreviations after which a period never ends a sentence (lowercase, without final dot).
NEVER_FINAL = frozenset(
    {
        "e.g",
        "i.e",
        "cf",
        "vs",
        "al",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "sr",
        "jr",
        "mt",
        "ft",
        "no",
        "nos",
        "fig",
        "figs",
        "eq",
        "eqs",
        "approx",
        "ca",
        "lt",
        "sgt",
        "capt",
        "rev",
        "hon",
        "dept",
        "univ",
        "vol",
        "vols",
        "pp",
        "ibid",
        "eds",
        "jan",
        "feb",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    }
)
_BOUNDARY = re.compile(
    r"[。！？；]+[”’」』）)\"']*"  # Chinese terminators end a sentence wherever they are
    r"|(?:\.+|[!?…]+)[\"'”’)\]」』]*(?=\s|$|[" + CJK_RANGES + "])"
    r"|\n[ \t\r\f\v]*(?:\n\s*)?"  # a line break (a blank line is always a boundary)
)
_VISIBLE = re.compile(r"\S")
_LAST_WORD = re.compile(r"\S+$")
_CLOSERS = "\"'”’)]」』"
_OPENERS = "(\"'“‘[「『"


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    mark = match.group()
    end = match.end()
    following = _VISIBLE.search(text, end)
    nxt = following.group() if following else ""
    if mark[0] in "。！？；":
        return True
    if mark[0] == "\n":
        if mark.count("\n") > 1 or not nxt:
            return True
        before = text[max(0, match.start() - 1) : match.start()]
        # a hard-wrapped line: the next line goes on in lowercase after a word or a comma
        return not (nxt.islower() and (before.isalnum() or before in ",;-"))
    if nxt.islower():
        return False  # "approx. five", "Yahoo! is"
    if mark.rstrip(_CLOSERS) != ".":
        return True
    lo = max(0, match.start() - 40)
    last = _LAST_WORD.search(text, lo, match.start())
    word = last.group().lstrip(_OPENERS).lower() if last else ""
    if not word:
        return True
    if word in NEVER_FINAL or (len(word) == 1 and word.isalpha()):
        return False  # "e.g.", "Dr.", initials "J. K."
    if word.isdigit() or word in ("ii", "iii", "iv"):
        before = text[max(0, match.start() - len(word) - 40) : match.start() - len(word)]
        line = before.rsplit("\n", 1)
        if not line[-1].strip() and (len(line) > 1 or len(before) < 40):
            return False  # a numbered list marker at the start of a line: "1. Item"
    if "." in word:
        return nxt.isupper()  # an acronym ("U.S.") ends a sentence only before a capital
    return True


def split_sentences(text: str) -> list[Span]:
    """Sentence spans covering all of the text's non-space content (English and Chinese).

    Boundaries: ``. ! ? …`` followed by space (not after abbreviations such as "e.g." or
    "Dr.", initials, list numbers, or before a lowercase word; decimals never split),
    ``。！？；`` anywhere, blank lines, and line breaks unless the line is hard-wrapped
    mid-sentence. Spans never start or end with whitespace.
    """
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if _ends_sentence(text, match):
            cut = match.start() if match.group()[0] == "\n" else match.end()
            _add_trimmed(text, start, cut, spans)
            start = cut
    _add_trimmed(text, start, len(text), spans)
    return spans


def _add_trimmed(text: str, start: int, end: int, out: list[Span]) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        out.append((start + lead, start + lead + len(stripped)))


__all__ = ["split_sentences"]
