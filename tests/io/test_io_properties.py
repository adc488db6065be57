"""Property: no input bytes crash the readers, and every non-blank line is accounted for
(exactly one record or one error)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longjudge.io import group_candidates, read_candidates, read_examples

pytestmark = pytest.mark.reliability

KEYS = ["id", "idx", "example_id", "context", "query", "answer", "text", "reference", "meta", "x"]
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
records = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)
# Close to valid, so that the loading paths (ids, duplicates, meta) are exercised too.
near_valid = st.fixed_dictionaries(
    {
        "idx": st.integers(0, 3) | st.sampled_from(["1-0", "1-1", "2-0", "x", ""]),
        "context": st.text(max_size=8),
        "query": st.text(max_size=8),
        "answer": st.text(max_size=8),
    },
    optional={"meta": values, "example_id": st.sampled_from(["1", "2", 3, None])},
)


def json_line(record: Any) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")


lines = st.lists(
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b""))
    | records.map(json_line)
    | near_valid.map(json_line)
    | st.sampled_from([b"", b"  ", b"\xef\xbb\xbf", b"{", b"[]", b"null", b'"\\ud800"']),
    max_size=12,
)


def non_blank(data: bytes) -> int:
    parts = data.split(b"\n")
    if parts:
        parts[0] = parts[0].removeprefix(b"\xef\xbb\xbf")
    return sum(1 for p in parts if p.strip())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=lines, final_newline=st.booleans())
def test_arbitrary_lines_never_crash_the_readers(
    tmp_path_factory: pytest.TempPathFactory, body: list[bytes], final_newline: bool
) -> None:
    data = b"\n".join(body) + (b"\n" if final_newline and body else b"")
    path: Path = tmp_path_factory.mktemp("prop") / "in.jsonl"
    path.write_bytes(data)
    examples = read_examples(path)
    candidates = read_candidates(path)
    for result in (examples, candidates):
        assert len(result.records) + len(result.errors) == non_blank(data)
        assert all(e.line is not None and e.reason for e in result.errors)
        assert len(result.lines) == len(result.records)
    for example in examples.records:
        assert example.context.strip() and example.query.strip() and "\x00" not in example.context
        example.model_dump_json().encode("utf-8")  # everything loaded can be written back
    for candidate in candidates.records:
        assert candidate.text.strip() and candidate.example_id.strip()
        candidate.model_dump_json().encode("utf-8")
    groups, orphans = group_candidates(examples.records, candidates)
    assert sum(len(c) for _, c in groups) + len(orphans) == len(candidates.records)
