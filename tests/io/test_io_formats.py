"""Writing and reading back every layout: JSONL, .json, Parquet, Hugging Face dataset directories,
and bad records inside tabular inputs."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from longjudge.errors import ConfigError, InputError, MissingDependencyError
from longjudge.io import read_candidates, read_examples, read_records, write_records
from longjudge.types import Candidate, DimensionScore, Example, Reward
from tests.conftest import EXAMPLES

SUFFIXES = ["out.jsonl", "out.jsonl.gz", "out.json", "out.parquet", "out_dataset"]


def rewards() -> list[Reward]:
    # Nested records whose details differ per row and per dimension, with empty mappings too.
    return [
        Reward(
            example_id="11",
            candidate_id="11-0",
            method="longreward",
            status="scored",
            total=7.5,
            dimensions={
                "logicality": DimensionScore(
                    name="logicality", status="scored", score=8.0, details={"errors": []}
                ),
                "completeness": DimensionScore(
                    name="completeness",
                    status="scored",
                    score=7.0,
                    details={"key_points": ["a", "b"], "windows": 3},
                ),
            },
            meta={"weights": {"logicality": 1.0}, "language": "en"},
        ),
        Reward(
            example_id="11",
            candidate_id="11-1",
            method="longreward",
            status="unscored",
            reason="faithfulness: judge output not JSON",
        ),
    ]


@pytest.mark.parametrize("name", SUFFIXES)
def test_rewards_round_trip_exactly(tmp_path: Path, name: str) -> None:
    records = rewards()
    path = write_records(tmp_path / name, records)
    rows = read_records(path)
    assert rows == [r.model_dump(mode="json") for r in records]
    assert [Reward.model_validate(r) for r in rows] == records


@pytest.mark.parametrize("name", SUFFIXES)
def test_bundled_example_round_trips_through_every_layout(tmp_path: Path, name: str) -> None:
    source = EXAMPLES / "longreward"
    examples = read_examples(source / "sft.jsonl").records
    candidates = read_candidates(source / "sampled_responses.jsonl").records
    assert read_examples(write_records(tmp_path / f"e_{name}", examples)).records == examples
    again = read_candidates(write_records(tmp_path / f"c_{name}", candidates))
    assert again.errors == [] and again.records == candidates


def test_dicts_with_mixed_and_missing_values(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [
        {"id": "1", "n": 1, "tags": ["x"], "any": "text", "opt": {}},
        {"id": "2", "n": 2, "tags": [], "any": 3, "opt": {"k": [1, {"z": None}]}},
    ]
    for name in ("t.parquet", "t_ds"):
        assert read_records(write_records(tmp_path / name, rows)) == rows
    ragged: list[dict[str, Any]] = [{"id": "1", "only_here": 5}, {"id": "2"}]
    # Tables have one set of columns: a key missing from a row reads back as null.
    assert read_records(write_records(tmp_path / "r.parquet", ragged))[1] == {
        "id": "2",
        "only_here": None,
    }
    assert read_records(write_records(tmp_path / "r.jsonl", ragged)) == ragged
    assert read_records(write_records(tmp_path / "empty.parquet", [])) == []
    assert read_records(write_records(tmp_path / "empty.jsonl", [])) == []


def test_bad_rows_in_parquet_and_dataset_inputs(tmp_path: Path) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {
        "idx": [1, 2, 2, None, 5, 6],
        "context": ["doc", "doc", "doc", "doc", None, "doc"],
        "query": ["q", "q", "q", "q", "q", " "],
    }
    expected = [
        (3, "2", "duplicate id '2': first seen at row 2"),
        (4, None, "null field 'id' (key 'idx')"),
        (5, "5", "null field 'context'"),
        (6, "6", "empty field 'query': blank or whitespace only"),
    ]
    pq.write_table(pa.table(columns), tmp_path / "x.parquet")
    datasets.Dataset.from_dict(columns).save_to_disk(str(tmp_path / "x_ds"))
    for path in (tmp_path / "x.parquet", tmp_path / "x_ds"):
        result = read_examples(path)
        assert [e.id for e in result.records] == ["1", "2"]
        assert [(e.line, e.id, e.reason) for e in result.errors] == expected
    pq.write_table(pa.table({"idx": [1], "context": [7], "query": ["q"]}), tmp_path / "n.parquet")
    assert read_examples(tmp_path / "n.parquet").errors[0].reason == (
        "wrong type for 'context': number, expected string"
    )


def test_dataset_dict_needs_one_split(tmp_path: Path) -> None:
    import datasets

    one = datasets.Dataset.from_list([{"id": "a", "context": "c", "query": "q"}])
    datasets.DatasetDict({"train": one}).save_to_disk(str(tmp_path / "one"))
    assert [e.id for e in read_examples(tmp_path / "one").records] == ["a"]
    datasets.DatasetDict({"train": one, "test": one}).save_to_disk(str(tmp_path / "two"))
    with pytest.raises(InputError, match="splits train, test"):
        read_examples(tmp_path / "two")


def test_json_list_and_misnamed_jsonl(tmp_path: Path) -> None:
    items = [{"id": "a", "context": "c", "query": "q"}, "oops", {"id": "b", "context": "c"}]
    (tmp_path / "list.json").write_text(json.dumps(items))
    result = read_examples(tmp_path / "list.json")
    assert [e.id for e in result.records] == ["a"]
    assert [(e.line, e.reason[:24]) for e in result.errors] == [
        (2, "not a JSON object: got s"),
        (3, "missing field 'query' (l"),
    ]
    lines = [json.dumps(items[0]), "{broken"]
    (tmp_path / "lines.json").write_text("\n".join(lines) + "\n")
    result = read_examples(tmp_path / "lines.json")
    assert [e.id for e in result.records] == ["a"]
    assert result.errors[0].line == 2 and result.errors[0].reason.startswith("invalid JSON")


def test_truncated_gzip_keeps_the_lines_before_the_cut(tmp_path: Path) -> None:
    body = "".join(
        json.dumps({"id": str(i), "context": f"document {i} " * 50, "query": "q"}) + "\n"
        for i in range(200)
    ).encode()
    packed = gzip.compress(body)
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    result = read_examples(tmp_path / "cut.jsonl.gz")
    assert 0 < len(result.records) < 200
    error = result.errors[-1]
    assert error.line is None and error.reason.startswith(
        "file ends early or is corrupt after line"
    )


def test_a_file_that_is_not_gzip_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "plain.jsonl.gz").write_bytes(b'{"id": "1"}\n')
    with pytest.raises(InputError, match="cannot open"):
        read_examples(tmp_path / "plain.jsonl.gz")


def test_read_records_raises_on_a_bad_line(tmp_path: Path) -> None:
    (tmp_path / "r.jsonl").write_bytes(b'{"a": 1}\n{"a": \n')
    with pytest.raises(InputError, match=r"r.jsonl:2: invalid JSON"):
        read_records(tmp_path / "r.jsonl")


def test_unknown_output_format_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown format"):
        write_records(tmp_path / "out.csv", [{"a": 1}])
    assert not (tmp_path / "out.csv").exists()


def test_datasets_missing_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [Candidate(id="1-0", example_id="1", text="t")]
    write_records(tmp_path / "ds", rows)
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(MissingDependencyError, match=r"longjudge\[hf\]"):
        read_candidates(tmp_path / "ds")
    with pytest.raises(MissingDependencyError, match=r"longjudge\[hf\]"):
        write_records(tmp_path / "ds2", rows)


def test_writing_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    write_records(path, [Example(id="1", context="c", query="q")])
    write_records(path, [Example(id="2", context="c", query="q")])
    assert [r["id"] for r in read_records(path)] == ["2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.jsonl"]  # no temp file left
