"""A corpus of bad records through ``longjudge score``: each is reported with its id or line and
a reason, every good record is scored, and the exit code says that some failed (3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from longjudge.runtime.rundir import RunDir
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer

from .data import context_for, run_cli, score_command, write_config

pytestmark = pytest.mark.reliability

GOOD_EXAMPLES = ["g1", "g2", "huge"]
WINDOW_CHARS = 60_000  # the fake judge's context window, in characters


def _line(record: object) -> bytes:
    return json.dumps(record).encode() + b"\n"


def _example(idx: str, **over: object) -> dict[str, object]:
    return {"idx": idx, "context": context_for(3), "query": "How many visitors?", **over}


def example_lines() -> list[tuple[bytes, str]]:
    """(line, what is wrong); an empty reason marks a good record."""
    return [
        (_line(_example("g1")), ""),
        (_line(_example("g2")), ""),
        # Far beyond the judge's window: LongReward only ever sends windows of it, so it scores.
        (_line(_example("huge", context=context_for(5, sentences=6000))), ""),
        (_line({"idx": "b1", "query": "q?"}), "missing context"),
        (_line(_example("b2", query=None)), "null query"),
        (_line(_example("b3", context=12345)), "context is a number"),
        (_line(_example("b4", context=["a", "list"])), "context is a list"),
        (_line(_example("b5", context="")), "empty context"),
        (_line(_example("b6", query="   ")), "whitespace query"),
        (b'{"idx": "b7", "context": "caf\xe9", "query": "q?"}\n', "invalid UTF-8"),
        (_line(_example("b8", context="nul\u0000byte")), "NUL byte"),
        (_line(_example("g1")), "duplicate id"),
        (_line(["not", "an", "object"]), "not an object"),
        (b'{"idx": "b9", "context": \n', "invalid JSON"),
        (_line(_example("")), "empty id"),
        (_line(_example(None)), "null id"),  # type: ignore[arg-type]
        (b'{"idx": "b10", "context": "trunc', "truncated last line"),
    ]


def candidate_lines() -> list[tuple[bytes, str]]:
    huge = "District 3 recorded many visitors. " * 12_000  # ~100k tokens
    return [
        (_line({"idx": "g1-0", "answer": "District 3 recorded 21 visitors in 2000."}), ""),
        (_line({"idx": "g1-1", "answer": "It had 22 visitors in year 2001."}), ""),
        (_line({"idx": "g2-0", "answer": "District 3 recorded 23 visitors."}), ""),
        (_line({"idx": "huge-0", "answer": "District 5 recorded 35 visitors in 2000."}), ""),
        (_line({"idx": "g2-1", "answer": huge}), "a 100k-token response"),
        (_line({"idx": "nobody-0", "answer": "orphan"}), "candidate without an example"),
        (_line({"idx": "g1-2"}), "missing text"),
        (_line({"idx": "g1-3", "answer": None}), "null text"),
        (_line({"idx": "g1-4", "answer": ["a"]}), "text is a list"),
        (_line({"idx": "g1-5", "answer": ""}), "empty text"),
        (_line({"idx": "g1-0", "answer": "again"}), "duplicate candidate id"),
        (_line({"idx": "noseparator", "answer": "x"}), "no example id"),
        (b'{"idx": "g1-6", "answer": "\xff\xfe"}\n', "invalid UTF-8"),
        (_line({"idx": "g1-7", "answer": "nul\u0000"}), "NUL byte"),
    ]


@pytest.mark.timeout(240)
def test_bad_records_are_reported_and_the_good_ones_scored(tmp_path: Path) -> None:
    examples, candidates = example_lines(), candidate_lines()
    bad_kinds = [why for _, why in examples + candidates if why]
    assert len(set(bad_kinds)) >= 20
    ex, cand = tmp_path / "examples.jsonl", tmp_path / "responses.jsonl"
    ex.write_bytes(b"".join(line for line, _ in examples))
    cand.write_bytes(b"".join(line for line, _ in candidates))
    with FakeJudgeServer(FakeJudgeConfig(max_prompt_chars=WINDOW_CHARS)) as server:
        config = write_config(tmp_path / "c.yaml", server.base_url, tmp_path / "c.sqlite")
        done = run_cli(score_command(ex, cand, config, tmp_path / "run"), timeout=200)
    assert done.returncode == 3, done.stderr[-3000:]

    run = RunDir(tmp_path / "run")
    errors = run.errors()
    assert all(e["kind"] == "input" and e["reason"] for e in errors)
    by_file: dict[str, set[int]] = {"examples": set(), "responses": set()}
    for error in errors:
        by_file[Path(error["source"]).stem].add(error["line"])
    bad_example_lines = {i + 1 for i, (_, why) in enumerate(examples) if why}
    bad_candidate_lines = {
        i + 1 for i, (_, why) in enumerate(candidates) if why and why != "a 100k-token response"
    }
    assert by_file["examples"] == bad_example_lines
    assert by_file["responses"] == bad_candidate_lines

    rewards = {r.candidate_id: r for r in run.rewards()}
    assert {c for c, r in rewards.items() if r.status == "scored"} == {
        "g1-0",
        "g1-1",
        "g2-0",
        "huge-0",
    }
    too_long = rewards["g2-1"]  # judged, but no prompt holding it fits the judge's window
    assert too_long.status == "unscored" and "context length" in (too_long.reason or "")
    assert set(rewards) == {"g1-0", "g1-1", "g2-0", "huge-0", "g2-1"}
