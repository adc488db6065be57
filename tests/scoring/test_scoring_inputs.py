"""The streamed input of the local engine: the same groups, errors and resume decisions as the
eager reading, on sorted and shuffled files of every layout, with real files and a real run."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest

from longjudge.config import RunConfig, ScoreConfig, build_config
from longjudge.errors import InputError
from longjudge.io import write_records
from longjudge.runtime.fingerprint import (
    WAS_UNSCORED,
    Setup,
    plan_resume,
    run_state,
)
from longjudge.runtime.rundir import RunDir
from longjudge.scoring import ScoreJob, ScoringContext, load_groups, plan_run, run_job_sync
from longjudge.scoring.inputs import input_state, iter_groups, plan_input, scan_input

CONTEXT = (
    "The harbour of Vell opened in 1871. It handled about three hundred ships a year. "
    "A second pier was built in 1902 after a storm destroyed the first one. "
) * 4


def _examples() -> list[bytes]:
    good = [{"idx": f"e{i}", "context": CONTEXT + f" Copy {i}.", "query": f"When, {i}?"}
            for i in range(6)]
    lines = [json.dumps(r).encode() + b"\n" for r in good]
    lines += [
        json.dumps({"idx": "bad", "query": "q?"}).encode() + b"\n",  # no context
        json.dumps(good[1]).encode() + b"\n",  # duplicate id
        b'{"idx": "broken", "context": \n',  # invalid JSON
        b'["not", "an", "object"]\n',
    ]
    return lines


def _candidates() -> list[bytes]:
    records: list[Any] = [
        {"idx": f"e{i}-{j}", "answer": f"The harbour opened in 1871 (answer {i}.{j})."}
        for i in range(6) if i != 4  # e4 has no candidate
        for j in range(3)
    ]
    records += [
        {"idx": "nope-1", "answer": "An answer to no example."},  # orphan
        {"idx": "e2-1", "answer": "A second answer with the same id."},  # duplicate
        {"idx": "e3-9"},  # no text
        {"idx": "bad-1", "answer": "Answers the example that did not load."},  # orphan too
    ]
    lines = [json.dumps(r).encode() + b"\n" for r in records]
    return [*lines, b'{"idx": "e1-7", "answer": \n']


def _write(tmp: Path, layout: str, shuffle: bool) -> tuple[Path, Path]:
    examples, candidates = _examples(), _candidates()
    if shuffle:
        random.Random(7).shuffle(examples)
        random.Random(11).shuffle(candidates)
    ex = tmp / "examples.jsonl"
    ex.write_bytes(b"".join(examples))
    if layout == "jsonl":
        cand = tmp / "responses.jsonl"
        cand.write_bytes(b"".join(candidates))
    elif layout == "jsonl.gz":
        cand = tmp / "responses.jsonl.gz"
        cand.write_bytes(gzip.compress(b"".join(candidates)))
    elif layout == "json":
        cand = tmp / "responses.json"
        parsed = []
        for line in candidates:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                continue
        cand.write_text(json.dumps(parsed))
    else:
        cand = tmp / "responses.parquet"
        rows = []
        for line in candidates:
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
        write_records(cand, [{"idx": r["idx"], "answer": r.get("answer", "")} for r in rows])
    return ex, cand


LAYOUTS = [("jsonl", False), ("jsonl", True), ("jsonl.gz", False), ("jsonl.gz", True),
           ("json", True), ("parquet", True)]


@pytest.mark.parametrize(("layout", "shuffle"), LAYOUTS)
def test_streamed_groups_and_errors_equal_the_eager_reading(
    tmp_path: Path, layout: str, shuffle: bool
) -> None:
    ex, cand = _write(tmp_path, layout, shuffle)
    job = ScoreJob(ex, cand, "mock/schema")
    groups, errors = load_groups(job)
    inputs = scan_input(ex, cand, job.config)
    streamed = list(iter_groups(inputs, inputs.prompts))
    assert [(e, list(c)) for e, c in streamed] == [(e, list(c)) for e, c in groups]
    assert inputs.errors == errors
    assert len(inputs.prompts) == len(groups) == 5 and inputs.candidates == 15
    reasons = " | ".join(e["reason"] for e in errors)
    assert "no example with id 'nope'" in reasons and "no example with id 'bad'" in reasons
    assert "duplicate id 'e1'" in reasons and "duplicate id 'e2-1' for example 'e2'" in reasons
    # plain JSONL is read again by offset; the other layouts in file order
    offsets = {c.offset is not None for p in inputs.prompts for c in p.candidates}
    assert offsets == {layout == "jsonl"}


def test_a_subset_of_prompts_in_any_order_reads_the_right_records(tmp_path: Path) -> None:
    ex, cand = _write(tmp_path, "jsonl.gz", True)
    job = ScoreJob(ex, cand, "mock/schema")
    groups, _ = load_groups(job)
    inputs = scan_input(ex, cand, job.config)
    picked = [inputs.prompts[3], inputs.prompts[0]]
    got = [(e.id, [c.id for c in cs]) for e, cs in iter_groups(inputs, picked)]
    want = {e.id: [c.id for c in cs] for e, cs in groups}
    assert got == [(p.id, want[p.id]) for p in picked]


def test_a_file_changed_between_the_passes_is_an_input_error(tmp_path: Path) -> None:
    ex, cand = _write(tmp_path, "jsonl", False)
    inputs = scan_input(ex, cand, ScoreConfig())
    cand.write_bytes(b"\n" * cand.stat().st_size)  # same size, every record gone
    with pytest.raises(InputError, match="changed while it was read"):
        list(iter_groups(inputs, inputs.prompts))


def _config() -> ScoreConfig:
    return build_config(ScoreConfig, {
        "cache": {"enabled": False},
        "run": {"progress": False},
        "longreward": {"retrieval": {"method": "bm25"}},
    })


def _setup(job: ScoreJob) -> Setup:
    context = ScoringContext(job.judge, job.method, job.config, dry_run=True)
    try:
        return context.scorer.setup()
    finally:
        context.close()


def _tamper(run: Path, ex: Path, cand: Path) -> None:
    """Give the directory every kind of stored reward resume tells apart."""
    lines = (run / "rewards.jsonl").read_text().splitlines()
    rewards = {(r["example_id"], r["candidate_id"]): r for r in map(json.loads, lines)}
    unscored = {**rewards["e0", "e0-0"], "status": "unscored", "total": None, "reason": "judge: x"}
    other = {**rewards["e3", "e3-0"], "example_id": "gone", "candidate_id": "9"}
    with (run / "rewards.jsonl").open("a") as handle:
        for record in (unscored, other):  # the last line per candidate wins
            handle.write(json.dumps(record) + "\n")
    ex.write_text(ex.read_text().replace("Copy 1.", "Copy 1, edited."))
    text = cand.read_text().replace("(answer 2.0)", "(answer 2.0, edited)")
    cand.write_text(text + json.dumps({"idx": "e5-new", "answer": "A new answer."}) + "\n")


def test_resume_from_the_compact_index_decides_as_the_eager_plan(tmp_path: Path) -> None:
    ex, cand = _write(tmp_path, "jsonl", True)
    job = ScoreJob(ex, cand, "mock/schema", config=_config(), out=tmp_path / "run")
    first = run_job_sync(job)
    assert first.result.scored == 15 and first.state is not None and first.state.complete
    _tamper(tmp_path / "run", ex, cand)
    setup = _setup(job)
    rundir = RunDir(tmp_path / "run")
    groups, _ = load_groups(job)
    inputs = scan_input(ex, cand, job.config)
    for retry in (False, True):
        eager_todo, eager = plan_run(setup, groups, rundir, RunConfig(retry_unscored=retry))
        todo, streamed = plan_input(setup, inputs, rundir, retry)
        assert [(p.id, [c.id for c in p.candidates]) for p in todo] == [
            (e.id, [c.id for c in cs]) for e, cs in eager_todo
        ]
        assert streamed.to_dict() == eager.to_dict()
        # the same as the plan over the whole rewards, as before the index
        before = plan_resume(rundir.rewards(), groups, setup, retry)
        assert (before.reused, before.reused_unscored, dict(before.rescored)) == (
            streamed.skipped, streamed.skipped_unscored, streamed.rescored_reasons
        )
        assert streamed.skipped == (10 if retry else 11)
        assert streamed.rescored_reasons == {
            "candidate text changed": 1, "example changed": 3,
            **({WAS_UNSCORED: 1} if retry else {}),
        }
    state = input_state(rundir.stored(), inputs, setup)
    assert state == run_state(rundir.rewards(), groups, setup)
    assert (state.candidates, state.missing, state.stale, state.unscored, state.others) == (
        16, 1, 4, 1, 1
    )
    again = run_job_sync(job)  # the resume itself: scores what the plan left
    assert (again.result.scored, again.result.skipped) == (5, 11)
    assert again.state is not None and again.state.to_dict() == {
        "candidates": 16, "scored": 15, "unscored": 1, "stale": 0, "missing": 0, "others": 1,
        "others_unscored": 0, "complete": False,  # the unscored one is reused without retry
    }
    unscored = [e for e in RunDir(tmp_path / "run").errors() if e["kind"] == "unscored"]
    assert [(e["example_id"], e["candidate_id"], e["reason"]) for e in unscored] == [
        ("e0", "e0-0", "judge: x")
    ]


def test_candidate_refs_keep_every_field_as_columns() -> None:
    """The compact columns give back exactly the refs put in, offsets None included, and
    survive pickling (the Ray driver sends prompts' refs to its actors)."""
    import pickle

    from longjudge.scoring.inputs import CandidateRef, CandidateRefs

    refs = [
        CandidateRef("a", 3, 120, "0123456789abcdef"),
        CandidateRef("b\u00e9", 9, None, "fedcba9876543210"),
        CandidateRef("", 2**40, 2**41, "aaaaaaaaaaaaaaaa"),
    ]
    packed = CandidateRefs(refs)
    assert len(packed) == 3 and list(packed) == refs
    assert packed[1] == refs[1] and packed[-1] == refs[2] and packed[1:] == refs[1:]
    assert list(packed.subset([2, 0])) == [refs[2], refs[0]]
    assert pickle.loads(pickle.dumps(packed)) == packed
    with pytest.raises(IndexError):
        packed[3]
    with pytest.raises(ValueError, match="16 characters"):
        packed.append(CandidateRef("c", 1, 0, "short"))
