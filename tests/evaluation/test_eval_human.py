"""The human-preference format and its loader, and the FaithBench converter on the real files."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from longjudge.evaluation.faithbench import (
    LABEL_OF,
    SUMMARY_INSTRUCTION,
    convert_faithbench,
    label_severity,
    read_faithbench,
    write_faithbench,
)
from longjudge.evaluation.human import HumanPair, HumanScores, pairs_of, read_human, write_human
from longjudge.io import read_candidates, read_examples
from tests.conftest import SHARED_DATA

FAITHBENCH = SHARED_DATA / "faithbench"
needs_faithbench = pytest.mark.skipif(
    not (FAITHBENCH / "data_for_release").is_dir(),
    reason=f"FaithBench is not at {FAITHBENCH} (non-commercial data, read from shared/data)",
)


def test_both_forms_load_and_bad_lines_are_reported(tmp_path: Path) -> None:
    lines = [
        {"example_id": "e1", "scores": {"a": 3, "b": 1, "c": 3}, "rater": "r7"},
        {"example_id": 2, "a": "x", "b": "y", "winner": "tie"},
        {"example_id": "e3", "chosen": "p", "rejected": "q"},
        {"example_id": "e4", "a": "x", "b": "x", "winner": "a"},
        {"example_id": "e5", "scores": {"only": 1}},
        {"example_id": "e6", "a": "x", "b": "y", "winner": "left"},
        {"example_id": "e7"},
        [1, 2],
    ]
    path = tmp_path / "human.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{not json\n", encoding="utf-8")
    prefs = read_human(path)
    assert [type(r).__name__ for r in prefs.records] == ["HumanScores", "HumanChoice",
                                                         "HumanChoice"]
    assert prefs.records[0].meta == {"rater": "r7"}
    assert [e.line for e in prefs.errors] == [4, 5, 6, 7, 8, 9]
    assert "different" in prefs.errors[0].reason
    assert prefs.errors[4].reason.startswith("expected an object")
    assert "invalid JSON" in prefs.errors[5].reason
    assert prefs.pairs == [
        HumanPair("e1", "a", "b", "a"),
        HumanPair("e1", "a", "c", "tie"),
        HumanPair("e1", "b", "c", "b"),
        HumanPair("2", "x", "y", "tie"),
        HumanPair("e3", "p", "q", "a"),
    ]


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    records = [HumanScores(example_id="e", scores={"a": 2.0, "b": 1.0}, meta={"k": 1})]
    path = tmp_path / "h.jsonl"
    assert write_human(path, records) == 1
    assert json.loads(path.read_text()) == {"example_id": "e", "scores": {"a": 2.0, "b": 1.0},
                                            "meta": {"k": 1}}
    assert read_human(path).records == records


def test_label_severity() -> None:
    assert label_severity([]) is None
    assert label_severity(["Benign"]) == 1
    assert label_severity(["Questionable", "Unwanted.Intrinsic"]) == 3
    assert label_severity(["Unwanted.Extrinsic", "Benign"]) == 3
    with pytest.raises(ValueError, match="unknown"):
        label_severity(["Fine"])


@needs_faithbench
def test_faithbench_preferences_from_the_real_files(tmp_path: Path) -> None:
    summaries = read_faithbench(FAITHBENCH)
    # 15 released batches of 50 summaries: 75 sources, each summarised by 10 LLMs.
    assert len(summaries) == 750
    # Worst label per summary under our rule (most severe label of any annotation; none at
    # all = Consistent).
    assert Counter(s.label for s in summaries) == {
        "Unwanted": 439, "Consistent": 175, "Questionable": 72, "Benign": 64}
    # The rule matches FaithBench.csv's own worst-label column on 746 of 750 summaries (the 4
    # others: two where the CSV disagrees with the released spans, two with mixed labels).
    with (FAITHBENCH / "FaithBench.csv").open(encoding="utf-8", newline="") as handle:
        csv_worst = {(r["source"], r["summary"]): r["worst-label"] for r in csv.DictReader(handle)}
    agree = sum(csv_worst[(s.source, s.summary)] == s.label for s in summaries)
    assert agree == 746

    data = convert_faithbench(summaries)
    assert (len(data.examples), len(data.candidates), len(data.human)) == (75, 750, 75)
    assert all(e.query == SUMMARY_INSTRUCTION for e in data.examples)
    assert all(len(h.scores) == 10 for h in data.human)
    pairs = [p for record in data.human for p in pairs_of(record)]
    # 45 pairs per source; 1,818 pairs share the same worst label (human ties) and 1,557 are
    # decided: 507 one severity step apart, 386 two, 664 three (Consistent vs Unwanted).
    assert len(pairs) == 75 * 45 == 3375
    assert Counter(p.winner == "tie" for p in pairs) == {True: 1818, False: 1557}
    scores = {cid: v for record in data.human for cid, v in record.scores.items()}
    gaps = Counter(abs(scores[p.a] - scores[p.b]) for p in pairs if p.winner != "tie")
    assert gaps == {1.0: 507, 2.0: 386, 3.0: 664}
    # The less severe summary wins.
    by_id = {c.id: c for c in data.candidates}
    for p in pairs[:200]:
        if p.winner != "tie":
            win, lose = (p.a, p.b) if p.winner == "a" else (p.b, p.a)
            assert LABEL_OF[3 - int(scores[win])] == by_id[win].meta["human_label"]
            assert scores[win] > scores[lose]

    paths = write_faithbench(data, tmp_path / "fb")
    examples = read_examples(paths["examples"])
    candidates = read_candidates(paths["candidates"])
    assert not examples.errors and not candidates.errors
    assert len(examples.records) == 75 and len(candidates.records) == 750
    assert examples.records[0].context == summaries[0].source
    assert candidates.records[0].meta["summarizer"] == summaries[0].summarizer
    assert len(read_human(paths["human"]).pairs) == 3375


@needs_faithbench
def test_cli_faithbench(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from longjudge.cli import app

    result = CliRunner().invoke(app, ["eval", "faithbench", str(FAITHBENCH), "--out",
                                      str(tmp_path / "fb")])
    assert result.exit_code == 0, result.output
    assert "3375 human pairs (1557 decided, 1818 ties)" in " ".join(result.output.split())
    assert sorted(p.name for p in (tmp_path / "fb").iterdir()) == [
        "candidates.jsonl", "examples.jsonl", "human.jsonl"]
