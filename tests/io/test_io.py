"""Reading examples and candidates: the bundled LongReward layout, field mapping, grouping and
one corpus of bad records (every kind reported with its line, id and reason; the good load)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from longjudge.config import build_config
from longjudge.errors import ConfigError, InputError
from longjudge.io import (
    CandidateFields,
    ExampleFields,
    RecordError,
    group_candidates,
    read_candidates,
    read_examples,
)
from longjudge.types import Candidate, Example
from tests.conftest import EXAMPLES

LONGREWARD = EXAMPLES / "longreward"


def line(record: Any) -> bytes:
    return json.dumps(record).encode() + b"\n"


def good(rid: Any, **extra: Any) -> bytes:
    return line({"idx": rid, "context": "A long document.", "query": "What?", **extra})


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def by_line(errors: list[RecordError]) -> dict[int | None, RecordError]:
    out = {e.line: e for e in errors}
    assert len(out) == len(errors), "one error per line"
    return out


def test_bundled_longreward_example_loads_as_is() -> None:
    examples = read_examples(LONGREWARD / "sft.jsonl")
    candidates = read_candidates(LONGREWARD / "sampled_responses.jsonl")
    assert examples.errors == [] and candidates.errors == []
    (example,) = examples.records
    assert example.id == "11"  # the integer idx becomes a string
    assert len(example.context) == 40889
    assert example.reference and example.reference.startswith("The author suggests")
    assert example.meta == {}
    assert len(candidates.records) == 10
    assert {c.example_id for c in candidates.records} == {"11"}
    assert sorted(c.id for c in candidates.records) == [f"11-{i}" for i in range(10)]
    assert candidates.records[0].meta == {"query": example.query}  # unused keys go to meta
    groups, orphans = group_candidates(examples.records, candidates)
    assert orphans == [] and len(groups) == 1
    assert groups[0][0] is example and len(groups[0][1]) == 10


# line -> (reason fragment, id or None) of every bad example in the corpus below.
BAD_EXAMPLES: dict[int, tuple[str, str | None]] = {
    3: ("invalid JSON: Expecting", None),
    4: ("not a JSON object: got array", None),
    5: ("missing field 'query' (looked for: query, question, input)", "5"),
    6: ("null field 'context'", "6"),
    7: ("wrong type for 'context': array, expected string", "7"),
    8: ("wrong type for 'context': number, expected string", "8"),
    9: ("empty field 'context': blank or whitespace only", "9"),
    10: ("empty field 'query': blank or whitespace only", "10"),
    11: ("NUL byte in the line at byte", None),
    12: ("NUL character in 'context'", "12"),
    13: ("invalid UTF-8 at byte", None),
    14: ("duplicate id '1': first seen at line 1", "1"),
    15: ("empty field 'id' (key 'idx'): blank or whitespace only", None),
    16: ("wrong type for 'id' (key 'idx'): boolean, expected string or integer", None),
    17: ("missing field 'id' (looked for: id, idx)", None),
    18: ("invalid unicode: unpaired surrogate escape \\ud800", None),
    19: ("wrong type for 'reference' (key 'answer'): number, expected string", "19"),
    20: ("wrong type for 'query': object, expected string", "20"),
    22: ("truncated last line (no newline at the end)", None),
}


def example_corpus(path: Path) -> Path:
    lines = [
        b"\xef\xbb\xbf" + good(1),  # 1: good, behind a UTF-8 byte order mark
        good(2, answer="A reference.", source="web"),  # 2: good, with meta
        b'{"idx": 3, "context": "x", "query": \n',  # 3: invalid JSON
        b"[1, 2, 3]\n",  # 4: not an object
        line({"idx": 5, "context": "doc"}),  # 5: missing query
        line({"idx": 6, "context": None, "query": "q"}),  # 6: null context
        line({"idx": 7, "context": ["a", "b"], "query": "q"}),  # 7: context is a list
        line({"idx": 8, "context": 42, "query": "q"}),  # 8: context is a number
        line({"idx": 9, "context": "", "query": "q"}),  # 9: empty context
        line({"idx": 10, "context": "doc", "query": " \t\n "}),  # 10: whitespace-only query
        b'{"idx": 11, "context": "a\x00b", "query": "q"}\n',  # 11: raw NUL byte
        line({"idx": 12, "context": "a\u0000b", "query": "q"}),  # 12: escaped NUL
        b'{"idx": 13, "context": "caf\xe9", "query": "q"}\n',  # 13: invalid UTF-8 (latin-1)
        good(1),  # 14: duplicate id
        good(""),  # 15: empty id
        good(True),  # 16: id of the wrong type
        line({"context": "doc", "query": "q"}),  # 17: no id at all
        b'{"idx": 18, "context": "\\ud800", "query": "q"}\n',  # 18: lone surrogate escape
        good(19, answer=7),  # 19: reference of the wrong type
        line({"idx": 20, "context": "doc", "query": {"text": "q"}}),  # 20: query is an object
        b"   \n",  # blank line: skipped, not an error
        b'{"idx": 22, "context": "doc", "qu',  # 22: truncated last line
    ]
    return write(path / "examples.jsonl", lines)


def test_every_bad_example_is_reported_and_the_good_ones_load(tmp_path: Path) -> None:
    result = read_examples(example_corpus(tmp_path))
    assert [e.id for e in result.records] == ["1", "2"]
    assert result.lines == [1, 2]
    assert result.records[1].reference == "A reference."
    assert result.records[1].meta == {"source": "web"}
    errors = by_line(result.errors)
    assert set(errors) == set(BAD_EXAMPLES)
    for number, (fragment, rid) in BAD_EXAMPLES.items():
        error = errors[number]
        assert fragment in error.reason, (number, error.reason)
        assert error.id == rid, (number, error)
        assert error.source == str(tmp_path / "examples.jsonl")
        assert error.to_dict() == {
            "source": error.source,
            "line": number,
            "id": rid,
            "reason": error.reason,
        }
    assert len({e.reason.split(":")[0] for e in result.errors}) >= 12  # distinct kinds


BAD_CANDIDATES: dict[int, tuple[str, str | None]] = {
    4: ("empty field 'text' (key 'answer'): blank or whitespace only", "1-3"),
    5: ("null field 'text' (key 'answer')", "1-4"),
    6: ("missing field 'text' (looked for: text, response, answer, output)", "1-5"),
    7: ("wrong type for 'text' (key 'answer'): array, expected string", "1-6"),
    8: ("NUL character in 'text' (key 'answer')", "1-7"),
    9: ("is not of the form '<example id>-<n>'", "17"),
    10: ("duplicate id '1-0' for example '1': first seen at line 1", "1-0"),
    11: ("is not of the form '<example id>-<n>'", "-3"),
    12: ("empty field 'example_id': blank or whitespace only", "x"),
}


def test_every_bad_candidate_is_reported_and_the_good_ones_load(tmp_path: Path) -> None:
    lines = [
        line({"idx": "1-0", "answer": "Fine."}),  # 1
        line({"idx": "1-1", "answer": "Also fine.", "seed": 3}),  # 2
        line({"idx": "0", "example_id": 2, "text": "Explicit example id."}),  # 3
        line({"idx": "1-3", "answer": ""}),  # 4
        line({"idx": "1-4", "answer": None}),  # 5
        line({"idx": "1-5", "query": "q"}),  # 6
        line({"idx": "1-6", "answer": ["a"]}),  # 7
        line({"idx": "1-7", "answer": "a\u0000"}),  # 8
        line({"idx": 17, "answer": "no example id"}),  # 9
        line({"idx": "1-0", "answer": "again"}),  # 10
        line({"idx": "-3", "answer": "empty example part"}),  # 11
        line({"idx": "x", "example_id": " ", "answer": "blank example id"}),  # 12
        line({"idx": "0", "example_id": "1", "answer": "same id, other example: fine"}),  # 13
        line({"idx": "9-1", "answer": "an example that does not exist"}),  # 14
    ]
    result = read_candidates(write(tmp_path / "responses.jsonl", lines))
    assert [(c.example_id, c.id) for c in result.records] == [
        ("1", "1-0"),
        ("1", "1-1"),
        ("2", "0"),
        ("1", "0"),
        ("9", "9-1"),
    ]
    assert result.records[1].meta == {"seed": 3}
    errors = by_line(result.errors)
    assert set(errors) == set(BAD_CANDIDATES)
    for number, (fragment, rid) in BAD_CANDIDATES.items():
        assert fragment in errors[number].reason, (number, errors[number].reason)
        assert errors[number].id == rid

    examples = [Example(id=i, context="doc", query="q") for i in ("1", "2", "3")]
    grouping = group_candidates(examples, result)
    groups, orphans = grouping
    assert [(e.id, [c.id for c in cs]) for e, cs in groups] == [
        ("1", ["1-0", "1-1", "0"]),
        ("2", ["0"]),
    ]
    assert [e.id for e in grouping.without_candidates] == ["3"]
    (orphan,) = orphans
    assert orphan == RecordError(
        str(tmp_path / "responses.jsonl"), 14, "9-1", "no example with id '9' (candidate '9-1')"
    )
    # From plain lists the orphan is still named, without a line.
    _, orphans = group_candidates(examples, result.records)
    assert [(o.line, o.id, o.reason) for o in orphans] == [(None, "9-1", orphan.reason)]


def test_field_mapping_reads_another_layout(tmp_path: Path) -> None:
    rows = [
        {"key": "a", "doc": "The report.", "question": "Who?", "gold": "Ann.", "split": "dev"},
        {"key": "b", "doc": "", "question": "Why?", "gold": None},
    ]
    path = write(tmp_path / "other.jsonl", [line(r) for r in rows])
    fields = build_config(ExampleFields, {"id": "key", "context": "doc", "reference": "gold"})
    assert fields.context == ["doc"] and fields.query == ["query", "question", "input"]
    result = read_examples(path, fields)
    assert result.records == [
        Example(
            id="a", context="The report.", query="Who?", reference="Ann.", meta={"split": "dev"}
        )
    ]
    assert [(e.line, e.id, e.reason) for e in result.errors] == [
        (2, "b", "empty field 'context' (key 'doc'): blank or whitespace only")
    ]
    # Without the mapping the same file is all bad records, each saying what was looked for.
    default = read_examples(path)
    assert default.records == []
    assert "missing field 'id' (looked for: id, idx)" in default.errors[0].reason


def test_candidate_mapping_and_example_id_derivation(tmp_path: Path) -> None:
    rows = [{"qid": 7, "n": 0, "completion": "x"}, {"qid": 8, "n": 0, "completion": "y"}]
    path = write(tmp_path / "c.jsonl", [line(r) for r in rows])
    fields = CandidateFields(id="n", example_id="qid", text="completion")
    result = read_candidates(path, fields)
    assert [(c.example_id, c.id, c.text) for c in result.records] == [
        ("7", "0", "x"),
        ("8", "0", "y"),
    ]

    strict = CandidateFields(example_id_from_id=False)
    path = write(tmp_path / "d.jsonl", [line({"idx": "11-3", "answer": "z"})])
    assert read_candidates(path).records[0].example_id == "11"
    assert read_candidates(path, strict).errors[0].reason == (
        "missing field 'example_id' (looked for: example_id)"
    )
    # "a-b-3" is candidate 3 of example "a-b": the cut is at the last dash.
    path = write(tmp_path / "e.jsonl", [line({"id": "a-b-3", "text": "z"})])
    assert read_candidates(path).records[0] == Candidate(id="a-b-3", example_id="a-b", text="z")


def test_meta_is_merged_and_alternative_keys_are_kept(tmp_path: Path) -> None:
    row = {"id": "1", "context": "c", "query": "q", "question": "unused", "meta": {"a": 1}, "b": 2}
    result = read_examples(write(tmp_path / "m.jsonl", [line(row)]))
    assert result.records[0].meta == {"a": 1, "question": "unused", "b": 2}
    # A blank or null reference is no reference.
    rows = [good(1, reference="  "), good(2, reference=None, answer="from answer")]
    result = read_examples(write(tmp_path / "r.jsonl", rows))
    assert [e.reference for e in result.records] == [None, "from answer"]


def test_mapping_configs_are_validated() -> None:
    with pytest.raises(ConfigError, match="mapped to both"):
        build_config(ExampleFields, {"query": "answer"})
    with pytest.raises(ConfigError, match="body: Extra inputs"):
        build_config(CandidateFields, {"body": "text"})
    with pytest.raises(ConfigError, match="id: List should have at least 1 item"):
        build_config(ExampleFields, {"id": []})
    assert build_config(ExampleFields, {"reference": []}).reference == []


def test_unreadable_inputs_raise_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_examples(tmp_path / "missing.jsonl")
    (tmp_path / "data.csv").write_text("id,context\n")
    with pytest.raises(InputError, match="unknown format"):
        read_examples(tmp_path / "data.csv")
    (tmp_path / "plain_dir").mkdir()
    with pytest.raises(InputError, match=r"not one written by datasets\.save_to_disk"):
        read_examples(tmp_path / "plain_dir")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="as Parquet"):
        read_examples(tmp_path / "bad.parquet")
    (tmp_path / "obj.json").write_text('{"id": "1"}')
    with pytest.raises(InputError, match="must hold a list"):
        read_examples(tmp_path / "obj.json")
    (tmp_path / "broken.json").write_text('[{"id": "1"},')
    with pytest.raises(InputError, match="does not parse"):
        read_examples(tmp_path / "broken.json")


def test_empty_file_reads_as_nothing(tmp_path: Path) -> None:
    result = read_examples(write(tmp_path / "empty.jsonl", [b"\n", b"  \n"]))
    assert result.records == [] and result.errors == []
