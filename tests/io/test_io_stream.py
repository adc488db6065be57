"""Reading records again by position: byte offsets of plain JSONL (byte-order mark, blank and
CRLF lines included) and reading forward in file order for the other layouts."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from longjudge.io.fields import CandidateFields, to_candidate
from longjudge.io.sources import LineReader, iter_raw, iter_raw_located
from longjudge.io.stream import Reread
from longjudge.types import Candidate

LINES = [
    b"\xef\xbb\xbf" + json.dumps({"idx": "a-1", "answer": "caf\u00e9 first"}).encode() + b"\r\n",
    b"\n",
    json.dumps({"idx": "a-2", "answer": "second"}).encode() + b"\n",
    b"   \n",
    b'{"idx": "a-3", "answer": \n',
    json.dumps({"idx": "b-1", "answer": "last, no newline"}).encode(),
]


def test_offsets_of_plain_jsonl_read_each_record_again(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(LINES))
    fmt, rows = iter_raw_located(path)
    located = list(rows)
    assert fmt == "jsonl" and [raw for _, raw in located] == list(iter_raw(path)[1])
    reader = LineReader(path)
    try:
        for offset, raw in reversed(located):  # any order
            assert offset is not None and raw.line is not None
            assert reader.read(offset, raw.line) == raw
    finally:
        reader.close()
    gz = tmp_path / "r.jsonl.gz"
    gz.write_bytes(gzip.compress(b"".join(LINES)))
    assert {offset for offset, _ in iter_raw_located(gz)[1]} == {None}


@pytest.mark.parametrize("suffix", ["jsonl", "jsonl.gz"])
def test_reread_returns_the_records_asked_for_in_any_order(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"r.{suffix}"
    data = b"".join(LINES)
    path.write_bytes(gzip.compress(data) if suffix.endswith("gz") else data)
    fields = CandidateFields()
    _, rows = iter_raw_located(path)
    good = [(raw.line, offset) for offset, raw in rows if raw.error is None]
    assert [line for line, _ in good] == [1, 3, 6]

    def convert(row: dict[str, object]) -> Candidate:
        return to_candidate(row, fields)

    with Reread(path, convert, [line for line, _ in good], suffix == "jsonl") as again:
        picked = again.take([good[2], good[0]]) + again.take([good[1]])
    assert [c.id for c in picked] == ["b-1", "a-1", "a-2"]
    assert picked[1].text == "caf\u00e9 first"
