"""The report in a real headless Chromium: it renders, shows its sections and plots, and logs no
console message. The screenshot (and the page) are kept in ``test-artifacts/``."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from longjudge.evaluation.report import ReportConfig, write_report
from tests import eval_fixtures as fx

CHROMIUM = shutil.which("chromium")
ARTIFACTS = fx.REPO / "test-artifacts"
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it)",
)
_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]? ?(.*)")


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Open ``page`` headless with logging on stderr (no network, no first-run work)."""
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
           *extra, page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def console_messages(stderr: str) -> list[str]:
    """What the page logged to its console (Chromium prints it as INFO:CONSOLE lines)."""
    return [m.group(1) for line in stderr.splitlines() if (m := _CONSOLE.search(line))]


def test_the_console_check_sees_a_console_error(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><p>x</p><script>console.error("boom")</script>'
                    "</body></html>", encoding="utf-8")
    result = chromium(page, tmp_path / "profile", "--dump-dom")
    assert any("boom" in m for m in console_messages(result.stderr)), result.stderr[-2000:]


def test_report_renders_in_chromium(tmp_path: Path) -> None:
    run = fx.write_run(tmp_path / "longreward-demo", fx.longreward_rewards(), "longreward")
    gold = fx.write_run(tmp_path / "lbc-gold", fx.gold_rewards(), "lbc_judge")
    human = fx.write_human_file(tmp_path / "human.jsonl")
    ARTIFACTS.mkdir(exist_ok=True)
    page = write_report(ReportConfig(run_dir=run, gold=gold, human=human),
                        ARTIFACTS / "report.html")

    dom = chromium(page, tmp_path / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == []
    html = dom.stdout
    for anchor in ("overview", "cost", "distributions", "agreement", "ranking", "best-of-n",
                   "prompts"):
        assert f'id="{anchor}"' in html
    assert len(re.findall(r"<svg\b", html)) == 3
    assert "<mark>" in html and 'class="best"' in html and 'class="worst"' in html
    assert "Kendall τ against the gold ranking" in html

    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    result = chromium(page, tmp_path / "profile2", f"--screenshot={shot}",
                      "--window-size=1280,2000")
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_messages(result.stderr) == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 1280  # width from the IHDR chunk
    assert len(data) > 50_000  # a rendered page, not a blank one
