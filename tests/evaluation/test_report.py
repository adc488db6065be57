"""The HTML report: sections, plots, escaping, evidence highlighting, offline-ness."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longjudge.cli import app
from longjudge.evaluation.report import ReportConfig, build_report
from longjudge.evaluation.report.evidence import highlight, snippet
from longjudge.runtime.rundir import RunDir
from tests import eval_fixtures as fx

SECTIONS = ("overview", "cost", "distributions", "agreement", "ranking", "best-of-n", "prompts")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report")
    return {
        "run": fx.write_run(root / "lr-run", fx.longreward_rewards(), "longreward"),
        "gold": fx.write_run(root / "gold", fx.gold_rewards(), "lbc_judge"),
        "human": fx.write_human_file(root / "human.jsonl"),
    }


@pytest.fixture(scope="module")
def page(runs: dict[str, Path]) -> str:
    return build_report(ReportConfig(run_dir=runs["run"], human=runs["human"], gold=runs["gold"]))


def test_all_sections_and_plots(page: str) -> None:
    for anchor in SECTIONS:
        assert f'id="{anchor}"' in page
        assert f'href="#{anchor}"' in page
    assert page.count("<svg") == 3  # distributions, Kendall tau, Best-of-N
    assert "Agreement with people" in page and "without completeness" in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "every id on the page is unique"


def test_judged_text_is_escaped_and_nothing_is_fetched(page: str) -> None:
    assert "<script" not in page.lower()
    assert html.escape(fx.HOSTILE, quote=True) in page
    assert "<b>not bold</b>" not in page
    links = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    assert links and all(link.startswith("#") for link in links)
    for url in re.findall(r"https?://[^\s\"')<]+", page):
        assert url.startswith("http://www.w3.org/"), url  # SVG namespaces only


def test_best_worst_and_figures(page: str) -> None:
    assert re.search(r'<tr class="best"><td><a href="#[^"]+">11-2</a>', page)
    assert re.search(r'<tr class="worst"><td><a href="#[^"]+">11-8</a>', page)
    assert "42.5 s" in page and ">60<" in page  # wall time and judge calls of summary.json
    assert "Build alliances before questioning the status quo." in page  # key points
    assert "Claims alliances are risky" in page  # logical errors
    assert "completeness.coverage: schema_invalid" in page  # an unscored dimension's reason


def test_evidence_windows_are_the_recorded_context_slices(page: str) -> None:
    context = fx.context()
    windows = {
        context[e["start"]:e["end"]]
        for r in fx.longreward_rewards() if "faithfulness" in r.dimensions
        for s in r.dimensions["faithfulness"].details["statements"] for e in s["evidence"]
    }
    marked = [html.unescape(re.sub(r"</?strong>", "", m))
              for m in re.findall(r"<mark>(.*?)</mark>", page, flags=re.DOTALL)]
    assert marked and set(marked) <= windows
    assert "<strong>alliances</strong>" in page.lower() or "<strong>Alliances</strong>" in page


def test_without_extras_and_without_the_input_files(tmp_path: Path) -> None:
    run = fx.write_run(tmp_path / "run", fx.longreward_rewards(), "longreward")
    RunDir(run).write_config({"input": "nowhere/sft.jsonl", "responses": "nowhere/r.jsonl"})
    page = build_report(ReportConfig(run_dir=run))
    assert page.count("<svg") == 1
    assert 'id="agreement"' not in page and 'id="ranking"' not in page
    assert "The examples file was not found" in page
    assert "(the context is not available to this report)" in page
    with_input = build_report(ReportConfig(run_dir=run, input=fx.SFT, responses=fx.RESPONSES))
    assert "<mark>" in with_input and "not found" not in with_input


def test_cli_report(tmp_path: Path, runs: dict[str, Path]) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", str(runs["run"]), "--out", str(out), "--gold",
                                      str(runs["gold"]), "--human", str(runs["human"])])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count("<svg") == 3


def test_snippet_and_highlight_units() -> None:
    assert highlight("a <b> alliances & more", "Build alliances") == (
        "a &lt;b&gt; <strong>alliances</strong> &amp; more")
    expected = "他们<strong>建立联盟</strong>以减少风险"
    assert highlight("他们建立联盟以减少风险", "建立联盟") == expected
    text = "zero one two three four five six seven"
    shown = snippet(text, {"chunk_index": 0, "start": 9, "end": 18, "score": 0.5}, "Three!", 5)
    assert "…one <mark>two <strong>three</strong></mark>" in shown
    assert "characters 9–18" in shown and "0.500" in shown
    assert "outside the context" in snippet(text, {"start": 30, "end": 99}, "x")
    assert "without usable offsets" in snippet(text, {"start": "a"}, "x")


def test_s2l_run_with_exclusions_and_unbounded_totals(tmp_path: Path) -> None:
    from longjudge.types import DimensionScore, Reward

    def verifier(ok: bool) -> DimensionScore:
        return DimensionScore.scored(
            "verifier", 10.0 if ok else 0.0,
            details={"verdict": "consistent" if ok else "contradicts",
                     "reasoning": "Says <i>five</i> datasets, as the reference does."})

    rewards = [
        Reward(example_id="11", candidate_id=f"11-{i}", method="s2l", status="scored",
               total=total, dimensions={"verifier": verifier(ok)},
               excluded=None if ok else "outside_trust_region: contradicts the reference",
               meta={"variant": "+ref+trust", "rm": "hf/tiny", "rm_score": total,
                     "baseline_score": total - 1, "truncated": False})
        for i, (total, ok) in enumerate([(-1.5, True), (3.25, False), (0.5, True), (-4.0, True)])
    ]
    run = fx.write_run(tmp_path / "s2l", rewards, "s2l")
    gold = fx.write_run(tmp_path / "gold", fx.gold_rewards(), "lbc_judge")
    page = build_report(ReportConfig(run_dir=run, gold=gold))
    assert page.count("<svg") == 3
    assert "outside_trust_region: contradicts the reference" in page
    assert "&lt;i&gt;five&lt;/i&gt;" in page and "+ref+trust" in page
    # The excluded 11-1 has the highest total but is never marked best.
    assert re.search(r'<tr class="best"><td><a href="#[^"]+">11-2</a>', page)
    assert re.search(r'<tr class="worst"><td><a href="#[^"]+">11-3</a>', page)


def test_verified_quote_is_underlined_in_its_window_and_shown_first() -> None:
    from longjudge.evaluation.report.evidence import evidence_list

    text = "zero one two three four five six seven eight nine"
    assert highlight("one two three", "x", (4, 7)) == 'one <span class="quote">two</span> three'
    quote = {"text": "four five", "status": "verified", "start": 19, "end": 28, "own": True}
    windows = [
        {"chunk_index": 0, "start": 0, "end": 13, "score": 0.9},
        {"chunk_index": 2, "start": 19, "end": 33, "score": 0.1},
    ]
    shown = evidence_list(text, windows, "Five!", limit=1, margin=0, quote=quote)
    assert '<span class="quote">four <strong>five</strong></span>' in shown
    assert "characters 19–33" in shown and "1 more window" in shown
    forged = {**quote, "status": "not_found"}
    plain = evidence_list(text, windows, "Five!", limit=2, margin=0, quote=forged)
    assert 'class="quote"' not in plain  # an unverified quote is never highlighted
    assert plain.index("characters 0–13") < plain.index("characters 19–33")
