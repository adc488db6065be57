"""Input files in UTF-16/32, invisible-only texts and per-record size limits."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from longjudge.config import RecordLimits, ScoreConfig, build_config
from longjudge.io import read_candidates, read_examples
from longjudge.io.validation import item_problems, text_problem
from longjudge.scoring import ScoreJob, run_job_sync

RECORDS = [
    {
        "id": "a",
        "context": "Le port accueille des navires. 港口每年接待三百艘船。",
        "query": "Combien ?",
    },
    {"id": "b", "context": "The mill ground wheat from 1820.", "query": "Since when? \U0001f600"},
]


def lines(records: list[dict[str, str]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_utf16_and_utf32_files_are_read(
    tmp_path: Path, bom: bytes, codec: str, suffix: str
) -> None:
    path = tmp_path / f"examples{suffix}"
    text = lines(RECORDS) if suffix == ".jsonl" else json.dumps(RECORDS, ensure_ascii=False)
    path.write_bytes(bom + text.replace("\n", "\r\n").encode(codec))
    read = read_examples(path)
    assert read.errors == []
    assert [(e.id, e.context, e.query) for e in read.records] == [
        (r["id"], r["context"], r["query"]) for r in RECORDS
    ]
    if suffix == ".jsonl":
        assert read.lines == [1, 2]


def test_utf16_without_a_mark_is_named(tmp_path: Path) -> None:
    path = tmp_path / "examples.jsonl"
    path.write_bytes(lines(RECORDS).encode("utf-16-le"))
    read = read_examples(path)
    assert not read.records
    assert read.errors and all("UTF-16" in e.reason for e in read.errors)


def test_invalid_utf16_after_a_mark_is_a_line_error(tmp_path: Path) -> None:
    path = tmp_path / "examples.jsonl"
    good = lines(RECORDS[:1]).encode("utf-16-le")
    path.write_bytes(codecs.BOM_UTF16_LE + good + b"\x00\xdc\x41\x00\n\x00")  # lone surrogate
    read = read_examples(path)
    assert [e.id for e in read.records] == ["a"]
    assert len(read.errors) == 1 and "UTF-16 LE" in read.errors[0].reason


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "blank"),
        (" \t\n", "blank"),
        ("\u200b\u200b", "invisible characters (U+200B)"),
        ("\u200b \u2060\ufeff\u00ad", "invisible characters"),
        ("\u3164\u115f", "invisible characters"),
        ("a\x00b", "NUL"),
    ],
)
def test_text_rules(text: str, problem: str) -> None:
    found = text_problem(text)
    assert found is not None and problem in found


@pytest.mark.parametrize("text", ["a", "\u200ba", "0", "港", "\U0001f600"])
def test_visible_texts_pass(text: str) -> None:
    assert text_problem(text) is None


def test_limits_name_the_setting() -> None:
    limits = RecordLimits(max_context_tokens=10, max_response_tokens=5)
    problems = item_problems("word " * 11, "q?", "one two three four five six", limits)
    assert problems == [
        "context: 11 tokens, over the limit of 10 (limits.max_context_tokens)",
        "response: 6 tokens, over the limit of 5 (limits.max_response_tokens)",
    ]
    assert item_problems("short", "q?", "a b c d e", limits) == []
    assert item_problems("x" * 500, "q?", "a", RecordLimits(max_context_tokens=None)) == []


def test_an_oversized_response_is_a_record_error_and_never_reaches_the_judge(
    tmp_path: Path,
) -> None:
    ex, cand = tmp_path / "ex.jsonl", tmp_path / "cand.jsonl"
    ex.write_text(lines([{"id": "p", "context": "The mill ground wheat.", "query": "What?"}]))
    huge = "wheat " * 5000
    cand.write_text(
        lines([{"id": "p-0", "text": "It ground wheat."}, {"id": "p-1", "text": huge}])
    )
    config = build_config(
        ScoreConfig,
        {
            "limits": {"max_response_tokens": 1000},
            "cache": {"enabled": False},
            "run": {"progress": False},
            "longreward": {"dimensions": ["helpfulness"]},
        },
    )
    outcome = run_job_sync(
        ScoreJob(input=ex, responses=cand, judge="mock/schema", config=config, out=None)
    )
    (error,) = outcome.input_errors
    assert error["id"] == "p-1" and error["line"] == 2
    assert "5,000 tokens, over the limit of 1,000 (limits.max_response_tokens)" in error["reason"]
    assert outcome.result.scored == 1
    assert outcome.usage["total"]["calls"] == 1


def test_default_limits_are_documented() -> None:
    fields = RecordLimits.model_fields
    assert fields["max_context_tokens"].default == 262_144
    assert fields["max_response_tokens"].default == 16_384
    assert all(f.description for f in fields.values())
    assert read_candidates  # the reader takes the same limits (see test_serve_items)
