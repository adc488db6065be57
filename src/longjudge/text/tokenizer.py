"""Tokenizers that report the character span of every token (all offline)."""

from __future__ import annotations

import re
import threading
import weakref
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigError, MissingDependencyError

Span = tuple[int, int]

#: CJK ideographs, kana, hangul and their compatibility blocks (one token per character).
CJK_RANGES = (
    "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
)
_REGEX_TOKEN = re.compile(
    rf"[{CJK_RANGES}]"  # one CJK character
    r"|\d+(?:[.,:]\d+)+"  # a number with separators: 3.14, 1,000, 10:30
    # a word (letters and digits, CJK aside): one negated class, not a look-ahead per
    # character, which made tokenizing a context about 1.7 times slower
    rf"|[^\W_{CJK_RANGES}]+"
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
        from ..judges.local import LocalJudge

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


__all__ = [
    "CJK_RANGES",
    "HFTokenizer",
    "LlamaTokenizer",
    "RegexTokenizer",
    "Span",
    "Tokenizer",
    "get_tokenizer",
    "llama_tokenizer",
]
