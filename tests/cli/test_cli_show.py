"""``longjudge show``: one candidate's breakdown read back from a real scoring run (the bundled
example, scored through the CLI by a scripted mock judge), and the score table's notes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longjudge.cli import app
from longjudge.judges.mock import register_script
from tests.conftest import EXAMPLES
from tests.lr_script import LRScript

SFT = EXAMPLES / "longreward" / "sft.jsonl"
RESPONSES = EXAMPLES / "longreward" / "sampled_responses.jsonl"


def flat(text: str) -> str:
    """The output with line wrapping undone (rich wraps long lines at the console width)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    register_script("show-test", LRScript(key_points=["Build alliances.", "Ask questions."],
                                          covered=[2]))
    out = tmp_path_factory.mktemp("show") / "run"
    result = CliRunner().invoke(app, ["score", str(SFT), "-r", str(RESPONSES), "--judge",
                                      "mock/show-test", "--no-cache", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def rewards(path: Path) -> list[dict]:
    return [json.loads(line) for line in (path / "rewards.jsonl").read_text().splitlines()]


def test_show_one_candidate_in_detail(run: tuple[Path, str]) -> None:
    path, _ = run
    result = CliRunner().invoke(app, ["show", str(path), "--candidate", "11-3"])
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    reward = next(r for r in rewards(path) if r["candidate_id"] == "11-3")
    assert "candidate 11-3 of prompt 11" in text
    statements = reward["dimensions"]["faithfulness"]["details"]["statements"]
    assert statements
    for i, item in enumerate(statements, start=1):
        assert f"{i}. [full (1)] {flat(item['statement'])}" in text
        offsets = ", ".join(f"{e['start']}–{e['end']}" for e in item["evidence"])
        assert offsets and f"evidence (context characters): {offsets}" in text
    assert "1. [missing] Build alliances." in text and "2. [covered] Ask questions." in text
    assert "the response covers 1" in text
    for name in ("helpfulness", "logicality", "faithfulness", "completeness"):
        assert name in text
    assert "analysis: fine" in text and "analysis: covers some" in text
    # Judge calls per step: this candidate's own, then the per-prompt extraction.
    for step in ("faithfulness.decompose", "faithfulness.verify", "helpfulness.score",
                 "completeness.coverage"):
        assert f"{step} 1 0" in text
    assert "this candidate 5 0" in text
    assert "completeness.extract * 2 0" in text  # two 4,096-token windows


def test_show_default_pick_and_unknown_ids(run: tuple[Path, str]) -> None:
    path, _ = run
    result = CliRunner().invoke(app, ["show", str(path)])
    assert result.exit_code == 0, result.output
    first = rewards(path)[0]["candidate_id"]  # all totals tie: the first listed is shown
    assert f"candidate {first} of prompt 11" in result.output
    result = CliRunner().invoke(app, ["show", str(path), "--candidate", "nope"])
    assert result.exit_code != 0
    assert isinstance(result.exception, Exception) and "11-0" in str(result.exception)


def test_equal_totals_are_explained_in_one_line(run: tuple[Path, str]) -> None:
    _, output = run
    lines = [ln for ln in output.splitlines() if "totals equal" in ln]
    assert lines == ["all 10 totals equal 7.75: the judge told no candidate apart"], output
    assert "longjudge show" in output  # how to see one candidate in detail
