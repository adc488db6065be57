"""Token counting, sentence splitting and token windows that keep character offsets.

Every tokenizer here works offline and reports the character span of each token, so that a
window of tokens maps back to an exact slice of the original text:

- :class:`RegexTokenizer` (the default): no files, no download. A word or a number is one
  token, each punctuation mark is one token, each CJK character is one token. It approximates
  a subword tokenizer's count (English subword tokenizers give about 1.2-1.4 tokens per word).
- :class:`HFTokenizer`: a local ``tokenizer.json`` (or a directory holding one) through the
  ``tokenizers`` library; the offline MiniLM package ships one beside its model.
- :class:`LlamaTokenizer`: the vocabulary of a GGUF loaded by llama.cpp (the local judge's own).

:func:`token_windows` tokenizes once and cuts windows of at most ``size`` tokens that cover the
text exactly; by default they pack whole sentences (:func:`split_sentences`).
"""

from __future__ import annotations

import re
import threading
import weakref
from bisect import bisect_right
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .errors import ConfigError, MissingDependencyError
from .types import Chunk

Span = tuple[int, int]

#: CJK ideographs, kana, hangul and their compatibility blocks (one token per character).
CJK_RANGES = (
    "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
)
_REGEX_TOKEN = re.compile(
    rf"[{CJK_RANGES}]"  # one CJK character
    r"|\d+(?:[.,:]\d+)+"  # a number with separators: 3.14, 1,000, 10:30
    rf"|(?:(?![{CJK_RANGES}])[^\W_])+"  # a word (letters and digits)
    r"|\S"  # any other visible character: one punctuation mark
)


@runtime_checkable
class Tokenizer(Protocol):
    """What windows need from a tokenizer: a name, token spans and a count."""

    @property
    def name(self) -> str:
        """Stable name (part of what identifies a window layout)."""
        ...

    def spans(self, text: str) -> list[Span]:
        """Character spans ``(start, end)`` of the tokens, sorted, each non-empty."""
        ...

    def count(self, text: str) -> int:
        """Number of tokens in ``text``."""
        ...


class RegexTokenizer:
    """The offline default: words/numbers, single punctuation marks, single CJK characters."""

    name = "regex"

    def spans(self, text: str) -> list[Span]:
        return [m.span() for m in _REGEX_TOKEN.finditer(text)]

    def count(self, text: str) -> int:
        return sum(1 for _ in _REGEX_TOKEN.finditer(text))


def _clean(spans: list[Span]) -> list[Span]:
    """Drop empty spans and sort by start (tokenizers may emit zero-width special pieces)."""
    out = [s for s in spans if s[1] > s[0]]
    if any(out[i][0] > out[i + 1][0] for i in range(len(out) - 1)):
        out.sort()
    return out


class HFTokenizer:
    """A Hugging Face ``tokenizer.json`` (file or directory), used offline with offsets."""

    def __init__(self, path: str | Path) -> None:
        try:
            from tokenizers import Tokenizer as RustTokenizer
        except ImportError as exc:
            raise MissingDependencyError("tokenizers", "embed", "a tokenizer.json") from exc
        where = Path(path).expanduser()
        file = where / "tokenizer.json" if where.is_dir() else where
        if not file.is_file():
            raise ConfigError(f"no tokenizer.json at {path}")
        try:
            self._tok = RustTokenizer.from_file(str(file))
        except Exception as exc:  # the library raises a bare Exception on a bad file
            raise ConfigError(f"cannot load tokenizer {file}: {exc}") from exc
        self._tok.no_truncation()
        self._tok.no_padding()
        self.name = f"hf:{file.resolve()}"

    def spans(self, text: str) -> list[Span]:
        encoding = self._tok.encode(text, add_special_tokens=False)
        return _clean([(int(s), int(e)) for s, e in encoding.offsets])

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)


class LlamaTokenizer:
    """A GGUF vocabulary through a ``llama_cpp.Llama`` object (``vocab_only=True`` is enough).

    llama.cpp gives token ids without offsets; each token's piece is detokenized once (cached
    by id) and the pieces are matched against the UTF-8 bytes of the text in order, which
    gives byte spans and then character spans. A token that covers part of a multi-byte
    character covers that whole character.
    """

    def __init__(self, llm: Any) -> None:
        self._llm = llm
        self._pieces: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self.name = f"gguf:{getattr(llm, 'model_path', id(llm))}"

    def _ids(self, data: bytes) -> list[int]:
        with self._lock:  # llama.cpp objects are not meant for concurrent use
            return list(self._llm.tokenize(data, add_bos=False, special=False))

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            with self._lock:
                piece = self._raw_piece(token)
            self._pieces[token] = piece
        return piece

    def _raw_piece(self, token: int) -> bytes:
        # Llama.detokenize truncates pieces longer than 32 bytes (e.g. runs of dashes), so
        # ask llama.cpp directly with a buffer that fits, when the vocabulary is reachable.
        vocab = getattr(getattr(self._llm, "_model", None), "vocab", None)
        if vocab is None:
            return bytes(self._llm.detokenize([token]))
        import ctypes

        import llama_cpp

        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = int(llama_cpp.llama_token_to_piece(vocab, token, buf, size, 0, False))
            if n >= 0:
                return buf.raw[:n]
            size = -n

    def spans(self, text: str) -> list[Span]:
        data = text.encode("utf-8", "surrogatepass")
        byte_spans: list[Span] = []
        pos = 0
        for token in self._ids(data):
            piece = self._piece(token)
            if not piece:
                continue
            if data.startswith(piece, pos):
                byte_spans.append((pos, pos + len(piece)))
                pos += len(piece)
                continue
            core = piece.strip()  # normalised whitespace: find the visible part nearby
            found = data.find(core, pos, pos + len(piece) + 256) if core else -1
            if found >= 0:
                byte_spans.append((found, found + len(core)))
                pos = found + len(core)
        if len(data) == len(text):  # ASCII: bytes are characters
            return byte_spans
        import numpy as np

        raw = np.frombuffer(data, dtype=np.uint8)
        char_of_byte = np.cumsum((raw & 0xC0) != 0x80) - 1
        return [(int(char_of_byte[s]), int(char_of_byte[e - 1]) + 1) for s, e in byte_spans]

    def count(self, text: str) -> int:
        return len(self._ids(text.encode("utf-8", "surrogatepass")))


_DEFAULT = RegexTokenizer()
_LLAMA_TOKENIZERS: weakref.WeakKeyDictionary[Any, LlamaTokenizer] = weakref.WeakKeyDictionary()


@lru_cache(maxsize=16)
def _hf_tokenizer(path: str) -> HFTokenizer:
    return HFTokenizer(path)


def llama_tokenizer(llm: Any) -> LlamaTokenizer:
    """The (cached) tokenizer of a ``llama_cpp.Llama`` object."""
    tok = _LLAMA_TOKENIZERS.get(llm)
    if tok is None:
        tok = _LLAMA_TOKENIZERS[llm] = LlamaTokenizer(llm)
    return tok


def get_tokenizer(spec: str | None = None, judge: Any = None) -> Tokenizer:
    """Choose a tokenizer (cached).

    ``spec`` None: the local judge's own GGUF vocabulary when ``judge`` is a ``LocalJudge``,
    else :class:`RegexTokenizer`. ``"regex"``: the regex tokenizer. Anything else: a path to a
    ``tokenizer.json`` or a directory holding one.
    """
    if spec is None:
        from .judges.local import LocalJudge

        if isinstance(judge, LocalJudge):
            return llama_tokenizer(judge.tokenizer())
        return _DEFAULT
    if spec == "regex":
        return _DEFAULT
    path = Path(spec).expanduser()
    if not path.exists():
        raise ConfigError(f"tokenizer {spec!r}: not 'regex' and no such file or directory")
    if path.is_dir():
        path = path / "tokenizer.json"
    return _hf_tokenizer(str(path.resolve()))


# --- sentences -----------------------------------------------------------------------------

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


# --- windows -------------------------------------------------------------------------------


class _Cuts:
    """Token spans with the positions where a window may start (never inside a token)."""

    def __init__(self, spans: list[Span]) -> None:
        self.starts = [s for s, _ in spans]
        self.reach: list[int] = []  # running max of token ends: monotonic, for bisect
        high = 0
        for _, end in spans:
            high = max(high, end)
            self.reach.append(high)
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


_RECENT: OrderedDict[tuple[str, str], list[Span]] = OrderedDict()
_RECENT_LOCK = threading.Lock()


def _spans(tokenizer: Tokenizer, text: str) -> list[Span]:
    """Token spans, remembered for the last few long texts (one context is cut several ways)."""
    if len(text) < 20_000:
        return tokenizer.spans(text)
    key = (tokenizer.name, text)
    with _RECENT_LOCK:
        if key in _RECENT:
            _RECENT.move_to_end(key)
            return _RECENT[key]
    spans = tokenizer.spans(text)
    with _RECENT_LOCK:
        _RECENT[key] = spans
        while len(_RECENT) > 2:
            _RECENT.popitem(last=False)
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
    cuts = _Cuts(_spans(tokenizer or _DEFAULT, text))
    if cuts.n == 0:
        return [Chunk(index=0, start=0, end=len(text), text=text, n_tokens=0)]
    if align_sentences:
        bounds = {0, cuts.n}
        for start, _ in split_sentences(text)[1:]:
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


__all__ = [
    "CJK_RANGES",
    "HFTokenizer",
    "LlamaTokenizer",
    "RegexTokenizer",
    "Span",
    "Tokenizer",
    "get_tokenizer",
    "llama_tokenizer",
    "split_sentences",
    "token_windows",
]
