"""The component registries (components.py) and typed config sections, through the real CLI.

Every section of a YAML file is validated when the file is loaded, whatever the command: a
misspelt key fails with its full path named. Unknown names list the known ones, a missing
extra names its install, and a third-party scorer added with ``Registry.add`` runs end to end
(its YAML section validated, built by name, scored through ``longjudge score``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field
from typer.testing import CliRunner

from longjudge.cli import app
from longjudge.components import (
    ENGINES,
    JUDGES,
    PAIR_STRATEGIES,
    RETRIEVERS,
    REWARD_MODELS,
    SCORERS,
)
from longjudge.config import ScoreConfig, StrictModel, build_config, load_config
from longjudge.errors import ConfigError, MissingDependencyError
from longjudge.judges.registry import create_judge
from longjudge.preference.pairs import PairConfig
from longjudge.registry import Entry, Registry, load_object
from longjudge.retrieval.config import RetrievalConfig, build_retriever
from longjudge.runtime.client import JudgeClient
from longjudge.scorers.base import Scorer
from longjudge.scorers.registry import build_scorer
from longjudge.scorers.reward_models import create_reward_model
from longjudge.types import Candidate, Example, Reward

ROOT = Path(__file__).resolve().parent.parent
SFT = ROOT / "examples" / "longreward" / "sft.jsonl"
RESPONSES = ROOT / "examples" / "longreward" / "sampled_responses.jsonl"
REGISTRIES: list[Registry[Any]] = [
    JUDGES, SCORERS, REWARD_MODELS, RETRIEVERS, PAIR_STRATEGIES, ENGINES
]


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda r: r.kind)
def test_every_builtin_entry_resolves(registry: Registry[Any]) -> None:
    """Each target and config model imports (heavy packages stay inside the factories)."""
    assert registry.names()
    for entry in registry.entries():
        assert callable(registry.factory(entry.name)), entry
        assert entry.summary, entry
        if entry.config is not None:
            assert issubclass(load_object(entry.config), StrictModel), entry


def test_unknown_names_list_the_known_ones() -> None:
    client = JudgeClient(create_judge("mock/schema"))
    known = "known: longbench-chat, longreward, s2l"
    with pytest.raises(ConfigError, match=f"unknown scoring method 'nope'; {known}"):
        build_scorer("nope", client)
    with pytest.raises(ConfigError, match="unknown judge backend 'nope'; known: local, mock"):
        create_judge("nope/model")
    with pytest.raises(ConfigError, match="unknown reward model backend 'x'; known: hf, http"):
        create_reward_model("x/y")
    with pytest.raises(ConfigError, match="unknown retriever 'tfidf'; known: auto, bm25"):
        build_config(RetrievalConfig, {"method": "tfidf"})
    with pytest.raises(ConfigError, match="unknown pair strategy 'x'; known: best-median"):
        build_config(PairConfig, {"strategy": "x"})
    with pytest.raises(ConfigError, match="unknown engine 'spark'; known: local, ray"):
        ENGINES.entry("spark")
    assert build_retriever(RetrievalConfig(method="bm25")).name == "bm25"


def test_a_missing_extra_gives_the_install_command() -> None:
    SCORERS.add(Entry("needs-torch", "no_such_package_abc.scorer:make", "x", extra="rm"))
    try:
        with pytest.raises(MissingDependencyError, match=r"pip install 'longjudge\[rm\]'"):
            build_scorer("needs-torch", JudgeClient(create_judge("mock/schema")))
    finally:
        SCORERS.remove("needs-torch")


# --- a third-party scorer, registered from outside the package --------------------------


class OverlapConfig(StrictModel):
    """Settings of the test's ``overlap`` scorer (its ``overlap:`` section)."""

    scale: float = Field(10.0, gt=0, description="Score of a response holding every query word.")


class OverlapScorer(Scorer):
    """Share of the query's words that a response repeats, times ``scale`` (no judge call)."""

    method = "overlap"

    def __init__(self, client: JudgeClient, config: OverlapConfig) -> None:
        super().__init__(client)
        self.config = config

    async def score_candidate(
        self, example: Example, candidate: Candidate, prepared: Any
    ) -> Reward:
        words = {w.lower().strip("?.,") for w in example.query.split()}
        said = {w.lower().strip("?.,") for w in candidate.text.split()}
        total = self.config.scale * len(words & said) / max(1, len(words))
        return Reward(example_id=example.id, candidate_id=candidate.id, method=self.method,
                      status="scored", total=total)

    def describe(self) -> dict[str, Any]:
        return {"method": self.method, **self.config.model_dump()}


def make_overlap(client: JudgeClient, config: OverlapConfig) -> OverlapScorer:
    return OverlapScorer(client, config)


@pytest.fixture
def overlap() -> Iterator[None]:
    SCORERS.add(Entry("overlap", f"{__name__}:make_overlap", "query-word overlap",
                      config=f"{__name__}:OverlapConfig"))
    yield
    SCORERS.remove("overlap")


@pytest.mark.usefixtures("overlap")
def test_a_scorer_added_from_outside_runs_end_to_end(tmp_path: Path) -> None:
    config = build_config(ScoreConfig, {"overlap": {"scale": 5}})
    section = config.section("overlap")
    assert isinstance(section, OverlapConfig) and section.scale == 5
    scorer = build_scorer("overlap", JudgeClient(create_judge("mock/schema")), section)
    example = Example(id="e", context="c", query="Where is the harbour?")
    (reward,) = scorer.score_sync(example, [Candidate(example_id="e", id="a",
                                                      text="The harbour is north.")])
    assert reward.total == pytest.approx(5 * 3 / 4) and reward.fingerprint is not None
    with pytest.raises(ConfigError, match=r"overlap\.scal: Extra inputs are not permitted"):
        build_config(ScoreConfig, {"overlap": {"scal": 5}})
    # Through the real command: the section comes from the YAML file, the scorer by name.
    (tmp_path / "c.yaml").write_text("overlap:\n  scale: 2\nrun:\n  progress: false\n")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["score", str(SFT), "-r", str(RESPONSES), "-j",
                                      "mock/schema", "-m", "overlap", "-c",
                                      str(tmp_path / "c.yaml"), "-o", str(out), "--no-cache"])
    assert result.exit_code == 0, result.output
    rewards = [json.loads(line) for line in (out / "rewards.jsonl").read_text().splitlines()]
    assert len(rewards) == 10 and all(r["method"] == "overlap" for r in rewards)
    assert all(0 <= r["total"] <= 2 for r in rewards)
    assert max(r["total"] for r in rewards) > 0


# --- a misspelt key in any section fails at load time, through the real commands -----------

SCORE_CASES = [
    ("longreward:\n  retrieval:\n    methd: bm25\n", "longreward.retrieval.methd: Extra inputs"),
    ("longreward:\n  max_tokns: 64\n", "longreward.max_tokns: Extra inputs"),
    ("s2l:\n  variantt: +ref\n", "s2l.variantt: Extra inputs"),
    ("longrewrd:\n  max_tokens: 64\n", "longrewrd: Extra inputs"),
    ("judge:\n  tmperature: 0.5\n", "judge.tmperature: Extra inputs"),
    ("judge:\n  local:\n    n_ctxx: 4096\n", "judge.local.n_ctxx: Extra inputs"),
    ("judge:\n  n_ctx: 4096\n", "n_ctx moved to judge.local.n_ctx"),
    ("judge:\n  max_tokens: 64\n", "max_tokens removed"),
    ("run:\n  resume: true\n", "run.resume: Extra inputs"),
    ("cache:\n  enable: false\n", "cache.enable: Extra inputs"),
    ("retry:\n  max_attempt: 2\n", "retry.max_attempt: Extra inputs"),
    ("limits:\n  max_context: 10\n", "limits.max_context: Extra inputs"),
]


CHECK = ["check-judge", "--judge", "mock/schema"]


def _invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    message = result.output + (str(result.exception) if result.exception else "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert isinstance(result.exception, ConfigError), repr(result.exception)
    return result.exit_code, message


@pytest.mark.parametrize(("text", "named"), SCORE_CASES)
def test_score_fails_at_load_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    # --method s2l: a typo under longreward: fails all the same (and the other way round)
    code, message = _invoke(["score", str(SFT), "-r", str(RESPONSES), "-j", "mock/schema",
                             "-m", "s2l", "--dry-run", "-c", str(path)])
    assert code != 0 and named in message, message


@pytest.mark.parametrize(
    ("args", "text", "named"),
    [
        (["serve", "-j", "mock/schema"], "serve:\n  max_body: 10\n", "serve.max_body: Extra"),
        (["serve", "-j", "mock/schema"], "longreward:\n  weigths: {}\n", "longreward.weigths"),
        (CHECK, "s2l:\n  rmm: http/x\n", "s2l.rmm: Extra inputs"),
        (CHECK, "judge:\n  n_threads: 2\n", "judge.local.n_threads"),
        (["pairs", "run", "-o", "p.jsonl"], "min_margn: 1\n", "min_margn: Extra inputs"),
        (["sample", str(SFT), "--policy", "mock/schema", "-o", "c.jsonl"], "top_pp: 1\n",
         "top_pp: Extra inputs"),
        (["train", "p.jsonl", "-m", "m", "-o", "o"], "longjudge:\n  ce_weigth: 0.1\n",
         "longjudge.ce_weigth: Extra inputs"),
        (["eval", "judge", str(SFT), "-r", str(RESPONSES), "-j", "mock/schema"],
         "longbench_chat:\n  langauge: en\n", "longbench_chat.langauge: Extra inputs"),
    ],
    ids=["serve", "serve-longreward", "check", "check-moved", "pairs", "sample", "train",
         "eval-judge"],
)
def test_other_commands_fail_at_load_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], text: str, named: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(text)
    code, message = _invoke([*args, "--config", "c.yaml"])
    assert code != 0 and named in message, message
    assert not (tmp_path / "p.jsonl").exists() and not (tmp_path / "o").exists()


def test_load_config_layers_defaults_file_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("judge:\n  timeout: 5\n  local:\n    n_ctx: 4096\nlongreward:\n"
                    "  max_tokens: 64\n")
    config = load_config(ScoreConfig, path, {"judge": {"timeout": 9}})
    assert config.judge.timeout == 9 and config.judge.max_concurrency == 256
    local = config.judge.section("local")
    assert local is not None and local.model_dump()["n_ctx"] == 4096
    assert config.sections() == ["longreward"]
    # the defaults of a method without a section; the run directory's config leaves
    # the method sections out (the scorer describes its own)
    assert config.section("s2l") is not None
    dumped = config.model_dump(mode="json", exclude=set(config.sections()))
    assert "longreward" not in dumped and dumped["judge"]["local"]["n_ctx"] == 4096
