"""Every command speaks clearly: help, tables at 80 columns, digits that tell scores apart,
ids that could not be compared, one subset setting, absolute input paths, one-line engine
errors. Commands run as a user runs them (``python -m longjudge`` with ``COLUMNS=80``) where the
terminal width or the exit code matters."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from longjudge.cli import app
from longjudge.cli.tables import rewards_table, table_notes
from longjudge.runtime.rundir import RunDir
from longjudge.types import DimensionScore, Reward
from tests import eval_fixtures as fx
from tests.conftest import EXAMPLES, REPO

SFT = EXAMPLES / "longreward" / "sft.jsonl"
RESPONSES = EXAMPLES / "longreward" / "sampled_responses.jsonl"


def cli(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m longjudge ARGS`` at 80 columns, stdout and stderr apart."""
    environ = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(REPO / "src"), **env}
    return subprocess.run(
        [sys.executable, "-m", "longjudge", *args], capture_output=True, text=True,
        env=environ, cwd=cwd, timeout=300, check=False,
    )


def assert_fits_80(text: str) -> None:
    assert "…" not in text, text
    assert all(len(line) <= 80 for line in text.splitlines()), text


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clear")
    return {
        "run": fx.write_run(root / "lr-run", fx.longreward_rewards(), "longreward"),
        "gold": fx.write_run(root / "gold", fx.gold_rewards(), "lbc_judge"),
        "human": fx.write_human_file(root / "human.jsonl"),
    }


# --- help ------------------------------------------------------------------------------------


def command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under ``group`` (typer's click groups have ``commands``)."""
    paths = [prefix]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            paths += command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def test_help_shows_no_type_on_flags_that_take_no_value() -> None:
    root = typer.main.get_command(app)
    paths = command_paths(root)
    assert ("score",) in paths and ("eval", "ranking") in paths
    for path in paths:
        result = CliRunner().invoke(app, [*path, "--help"], terminal_width=80)
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output, (path, result.output)
    score_help = CliRunner().invoke(app, ["score", "--help"], terminal_width=80).output
    assert re.search(r"^\s+--dry-run\s+Count calls", score_help, re.M), score_help
    assert re.search(r"^\s+--help\s+Show this message", score_help, re.M)


# --- tables ----------------------------------------------------------------------------------


def test_score_table_fits_80_columns(tmp_path: Path) -> None:
    result = cli("score", str(SFT), "-r", str(RESPONSES), "--judge", "mock/schema",
                 "--no-cache", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert_fits_80(result.stdout)
    header = next(line for line in result.stdout.splitlines() if "example" in line)
    assert header.split() == ["example", "candidate", "help", "logic", "faith", "compl",
                              "total", "status"]
    assert "help=helpfulness logic=logicality faith=faithfulness compl=completeness" in (
        result.stdout)
    assert "▲ best" in result.stdout and "▼ worst" in result.stdout


def test_dry_run_table_fits_80_columns() -> None:
    result = cli("score", str(SFT), "-r", str(RESPONSES), "--judge", "mock/schema", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert_fits_80(result.stdout)
    assert "completeness.coverage" in result.stdout and "faithfulness.decompose" in result.stdout
    header = next(line for line in result.stdout.splitlines() if "step" in line)
    assert header.split() == ["step", "calls", "tokens", "in", "tokens", "out"]


def s2l_reward(cid: str, total: float, excluded: str | None = None) -> Reward:
    verifier = DimensionScore.scored("verifier", 10.0 if excluded is None else 0.0,
                                     details={"verdict": "consistent"})
    return Reward(example_id="q", candidate_id=cid, method="s2l", status="scored", total=total,
                  excluded=excluded, dimensions={"verifier": verifier})


def render(rewards: list[Reward]) -> str:
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(rewards_table(rewards))
    for note in table_notes(rewards):
        console.print(note)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


def test_s2l_totals_show_enough_digits_and_excluded_candidates() -> None:
    # Ten S2L totals that all read -0.26 with two decimals; c9 is outside the trust region.
    totals = [-0.2612, -0.2634, -0.2601, -0.2655, -0.2618, -0.2627, -0.2641, -0.2609, -0.2649,
              -0.2500]
    rewards = [s2l_reward(f"c{i}", t, "outside_trust_region: contradicts" if i == 9 else None)
               for i, t in enumerate(totals)]
    text = render(rewards)
    assert_fits_80(text)
    rows = {line.split()[1]: line for line in text.splitlines() if line.split()[:1] == ["q"]}
    shown = [rows[f"c{i}"].split()[3] for i in range(10)]
    assert shown == [f"{t:.4f}" for t in totals]
    assert len(set(shown)) == 10
    assert "excluded" in rows["c9"] and "best" not in rows["c9"]  # never picked
    assert rows["c2"].rstrip().endswith("▲ best")  # the best selectable one: -0.2601
    assert rows["c3"].rstrip().endswith("▼ worst")
    assert "excluded (1): scored, but outside the trust region" in " ".join(text.split())


@pytest.mark.parametrize("command", [
    ["eval", "ranking", "{run}", "--gold", "{gold}"],
    ["eval", "best-of-n", "{run}", "{run}", "--gold", "{gold}"],
    ["eval", "agreement", "{run}", "--human", "{human}"],
])
def test_eval_tables_fit_80_columns(runs: dict[str, Path], command: list[str]) -> None:
    args = [part.format(**{k: str(v) for k, v in runs.items()}) for part in command]
    result = cli(*args, "--resamples", "50")
    assert result.returncode == 0, result.stderr
    assert_fits_80(result.stdout)
    header = result.stdout.strip().splitlines()[0].split()
    if command[1] == "best-of-n":
        assert header[:3] == ["run", "N", "best"]
        assert re.search(r"^\s*oracle \(reference\)\s+8\s+\d", result.stdout, re.M)
    elif command[1] == "ranking":
        assert header[:4] == ["run", "N", "mean", "tau"]
    else:
        assert header[:2] == ["view", "accuracy"]


# --- runs that share nothing with the gold run ------------------------------------------------


@pytest.mark.parametrize("command", ["ranking", "best-of-n"])
def test_eval_against_a_disjoint_gold_run_names_the_ids_and_fails(
    runs: dict[str, Path], tmp_path: Path, command: str
) -> None:
    other = RunDir(tmp_path / "other")
    for reward in fx.longreward_rewards():
        other.append_reward(reward.model_copy(update={"example_id": "elsewhere-7"}))
    result = cli("eval", command, str(other.path), "--gold", str(runs["gold"]))
    assert result.returncode == 2, (result.stdout, result.stderr)
    err = " ".join(result.stderr.split())
    assert "1 prompt(s) of other are not in the gold run: elsewhere-7" in err
    assert "1 prompt(s) of the gold run are not in other: 11" in err
    assert "error: nothing to compare with the gold run" in err
    assert "Traceback" not in result.stderr


# --- one subset setting ----------------------------------------------------------------------


def test_report_and_cli_show_the_same_tau_and_best_of_n(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    runner = CliRunner()
    tau_json, bon_json, page = tmp_path / "tau.json", tmp_path / "bon.json", tmp_path / "r.html"
    for args in (["eval", "ranking", str(runs["run"]), "--gold", str(runs["gold"]),
                  "--json", str(tau_json)],
                 ["eval", "best-of-n", str(runs["run"]), "--gold", str(runs["gold"]),
                  "--json", str(bon_json)],
                 ["report", str(runs["run"]), "--gold", str(runs["gold"]), "--out", str(page)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    html = page.read_text()
    tau_rows = re.findall(r"<tr><td class=\"num\">(\d+)</td><td class=\"num\">([-\d.]+)</td>",
                          html.split('id="ranking"')[1].split("</section>")[0])
    tau = json.loads(tau_json.read_text())["curves"][0]["points"]
    # The pool has 8 candidates: up to C(8, 4) = 70 subsets per N, more than 50 for N = 3 .. 5.
    assert len(tau_rows) == len(tau) == 7
    assert tau_rows == [(str(p["n"]), f"{p['tau']:.3f}") for p in tau]
    bon_section = html.split('id="best-of-n"')[1].split("</section>")[0]
    bon = json.loads(bon_json.read_text())["curves"][0]["points"]
    for point in bon:
        assert (f'<td class="num">{point["n"]}</td><td class="num">{point["best"]:.2f}</td>'
                f'<td class="num">{point["worst"]:.2f}</td>') in bon_section
    stated = "up to 100 random subsets per prompt and N (all of them when there are fewer), seed 0"
    assert html.count(stated) == 2  # under both plots
    result = runner.invoke(app, ["eval", "ranking", str(runs["run"]), "--gold",
                                 str(runs["gold"])])
    assert stated in " ".join(result.output.split())


# --- input paths ----------------------------------------------------------------------------


def test_config_records_absolute_inputs_and_pairs_runs_from_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    (work / "data.jsonl").write_text(SFT.read_text())
    (work / "cands.jsonl").write_text(RESPONSES.read_text())
    monkeypatch.chdir(work)
    result = CliRunner().invoke(app, ["score", "data.jsonl", "-r", "cands.jsonl", "--judge",
                                      "mock/schema", "--no-cache", "--out", "run"])
    assert result.exit_code == 0, result.output
    config = RunDir(work / "run").read_config()
    assert config["input"] == str(work / "data.jsonl")
    assert config["responses"] == str(work / "cands.jsonl")
    monkeypatch.chdir(elsewhere)
    result = CliRunner().invoke(app, ["pairs", str(work / "run"), "--out", "pairs.jsonl"])
    assert result.exit_code == 0, result.output
    assert (elsewhere / "pairs.jsonl").read_text().count("\n") == 1


# --- engine start failures -------------------------------------------------------------------


def test_ray_without_a_cluster_is_one_line_naming_the_flag(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    env = {"RAY_TMPDIR": str(tmp_path / "ray")}  # no cluster address recorded there
    os.environ.pop("RAY_ADDRESS", None)
    result = cli("score", str(SFT), "-r", str(RESPONSES), "--judge", "mock/schema",
                 "--engine", "ray", "--ray-address", "auto", "--out", str(tmp_path / "run"),
                 **env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "--engine ray: no Ray cluster could be joined at --ray-address auto" in errors[0]
    assert "`--address`" not in result.stderr  # Ray's own flag, not longjudge's


def test_equal_totals_note_names_the_tiny_model_only() -> None:
    rewards = [s2l_reward(f"c{i}", 1.25) for i in range(3)]
    line = "all 3 totals equal 1.25: local/gemma-3-270m is a tiny base model, not a judge"
    assert line in table_notes(rewards, "local/gemma-3-270m") and len(line) <= 80
    other = table_notes(rewards, "openai/big-model")
    assert "all 3 totals equal 1.25: the judge told no candidate apart" in other
    assert not any("equal" in n for n in table_notes(rewards[:1], "local/gemma-3-270m"))
    assert not any("equal" in n for n in table_notes([*rewards, s2l_reward("d", 1.3)]))
