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


def example_lines() -> list[tuple[bytes, str, str]]:
    """(line, what is wrong, a word its reason must hold); an empty "what" marks a good record."""
    return [
        (_line(_example("g1")), "", ""),
        (_line(_example("g2")), "", ""),
        # Far beyond the judge's window: LongReward only ever sends windows of it, so it scores.
        (_line(_example("huge", context=context_for(5, sentences=6000))), "", ""),
        (_line({"idx": "b1", "query": "q?"}), "missing context", "missing"),
        (_line(_example("b2", query=None)), "null query", "null"),
        (_line(_example("b3", context=12345)), "context is a number", "wrong type"),
        (_line(_example("b4", context=["a", "list"])), "context is a list", "wrong type"),
        (_line(_example("b11", query={"text": "q?"})), "query is an object", "wrong type"),
        (_line(_example("b12", query=True)), "query is a boolean", "wrong type"),
        (_line(_example("b5", context="")), "empty context", "empty"),
        (_line(_example("b6", query="   ")), "whitespace query", "empty"),
        (b'{"idx": "b7", "context": "caf\xe9", "query": "q?"}\n', "invalid UTF-8", "UTF-8"),
        (_line(_example("b8", context="nul\u0000byte")), "NUL byte", "NUL"),
        (_line(_example("g1")), "duplicate id", "duplicate"),
        (_line(["not", "an", "object"]), "not an object", "object"),
        (b'{"idx": "b9", "context": \n', "invalid JSON", "JSON"),
        (_line(_example("")), "empty id", "empty"),
        (_line(_example(None)), "null id", "null"),  # type: ignore[arg-type]
        (b'{"idx": "b10", "context": "trunc', "truncated last line", "truncated"),
    ]


def candidate_lines() -> list[tuple[bytes, str, str]]:
    huge = "District 3 recorded many visitors. " * 12_000  # ~100k tokens
    return [
        (_line({"idx": "g1-0", "answer": "District 3 recorded 21 visitors in 2000."}), "", ""),
        (_line({"idx": "g1-1", "answer": "It had 22 visitors in year 2001."}), "", ""),
        (_line({"idx": "g2-0", "answer": "District 3 recorded 23 visitors."}), "", ""),
        (_line({"idx": "huge-0", "answer": "District 5 recorded 35 visitors in 2000."}), "", ""),
        # Over limits.max_response_tokens (16,384 by default): never sent to the judge.
        (_line({"idx": "g2-1", "answer": huge}), "a 100k-token response", "max_response_tokens"),
        (_line({"idx": "g2-2", "answer": "\u200b\u200b\u2060"}), "invisible text", "invisible"),
        (_line({"idx": "nobody-0", "answer": "orphan"}), "candidate without an example", "nobody"),
        (_line({"idx": "g1-2"}), "missing text", "missing"),
        (_line({"idx": "g1-3", "answer": None}), "null text", "null"),
        (_line({"idx": "g1-4", "answer": ["a"]}), "text is a list", "wrong type"),
        (_line({"idx": "g1-8", "answer": 42}), "text is a number", "wrong type"),
        (_line({"idx": "g1-5", "answer": ""}), "empty text", "empty"),
        (_line({"idx": "g1-0", "answer": "again"}), "duplicate candidate id", "duplicate"),
        (_line({"idx": "noseparator", "answer": "x"}), "no example id", "example_id"),
        (b'{"idx": "g1-6", "answer": "\xff\xfe"}\n', "invalid UTF-8", "UTF-8"),
        (_line({"idx": "g1-7", "answer": "nul\u0000"}), "NUL byte", "NUL"),
    ]


def _readable_id(line: bytes) -> str | None:
    """The record's id when the line can be read at all."""
    try:
        record = json.loads(line.decode("utf-8"))
    except ValueError:
        return None
    value = record.get("idx") if isinstance(record, dict) else None
    return value if isinstance(value, str) and value.strip() else None


@pytest.mark.timeout(120)
def test_bad_records_are_reported_and_the_good_ones_scored(tmp_path: Path) -> None:
    examples, candidates = example_lines(), candidate_lines()
    bad_kinds = [why for _, why, _ in examples + candidates if why]
    assert len(set(bad_kinds)) >= 20
    ex, cand = tmp_path / "examples.jsonl", tmp_path / "responses.jsonl"
    ex.write_bytes(b"".join(line for line, _, _ in examples))
    cand.write_bytes(b"".join(line for line, _, _ in candidates))
    with FakeJudgeServer(FakeJudgeConfig(max_prompt_chars=WINDOW_CHARS)) as server:
        config = write_config(tmp_path / "c.yaml", server.base_url, tmp_path / "c.sqlite")
        done = run_cli(score_command(ex, cand, config, tmp_path / "run"), timeout=100)
    assert done.returncode == 3, done.stderr[-3000:]

    run = RunDir(tmp_path / "run")
    errors = run.errors()
    # every line is a bad record (the 100k-token response is one: it never reaches the judge)
    assert all(e["kind"] == "input" and e["reason"] for e in errors)
    reported = {(Path(e["source"]).stem, e["line"]): e for e in errors}
    assert len(reported) == len(errors), "each bad record reported once"
    expected = {("examples", i + 1): record for i, record in enumerate(examples) if record[1]} | {
        ("responses", i + 1): record for i, record in enumerate(candidates) if record[1]
    }
    assert set(reported) == set(expected)
    for where, (line, why, word) in expected.items():
        error = reported[where]
        assert word.lower() in error["reason"].lower(), (why, error)
        assert error["id"] == _readable_id(line), (why, error)

    rewards = {r.candidate_id: r for r in run.rewards()}
    assert set(rewards) == {"g1-0", "g1-1", "g2-0", "huge-0"}
    assert all(r.status == "scored" for r in rewards.values())
    # The oversized response never reached the judge: no prompt overflowed its window.
    assert server.stats["by_status"].get("400", 0) == 0
    # The CLI's summary counts them.
    printed = " ".join((done.stdout + done.stderr).split())
    assert f"bad input records {len(expected)}" in printed, printed[-1500:]
