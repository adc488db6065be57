"""What a report is made of: the run's rewards, config and summary, the texts they refer to,
and the optional human preferences and gold run.

The examples and responses files are the ones the run recorded in ``config.yaml`` (relative
paths are tried from the working directory, then from the run directory's parent), unless named
explicitly. When they cannot be found the report is still written, without the texts, and says
so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from ...config import StrictModel, build_config
from ...runtime.rundir import RunDir
from ...types import Candidate, Example, Reward
from ..agreement import AgreementConfig
from ..best_of_n import BestOfNConfig
from ..human import HumanPair, read_human
from ..ranking import SubsetConfig


class ReportConfig(StrictModel):
    """What ``longjudge report`` puts into the page."""

    run_dir: Path = Field(description="The run directory to report on.")
    human: Path | None = Field(None, description="Human preferences (agreement and ablation).")
    gold: Path | None = Field(None, description="A gold run (Kendall tau and Best-of-N plots).")
    input: Path | None = Field(None, description="Examples file; default the run's own.")
    responses: Path | None = Field(None, description="Responses file; default the run's own.")
    max_examples: int = Field(
        50, ge=1, description="Prompts shown in detail (tables, statements, evidence)."
    )
    max_evidence: int = Field(3, ge=0, description="Evidence windows shown per statement.")
    snippet_margin: int = Field(
        160, ge=0, description="Characters of context shown each side of an evidence window."
    )
    agreement: AgreementConfig = Field(
        default_factory=AgreementConfig, description="Agreement with the human preferences."
    )
    subsets: SubsetConfig = Field(
        default_factory=SubsetConfig,
        description="Random subsets (count, seed, bootstrap) of the Kendall tau and Best-of-N "
        "sections; the defaults are those of `eval ranking` and `eval best-of-n`, so the "
        "figures match theirs.",
    )
    bon_ns: list[int] | None = Field(
        None, description="The N values of the Best-of-N section; default 2, 4, 8, ..."
    )

    @property
    def best_of_n(self) -> BestOfNConfig:
        """The Best-of-N setting: :attr:`subsets` with :attr:`bon_ns`."""
        return BestOfNConfig(**self.subsets.model_dump(), ns=self.bon_ns)


@dataclass
class ReportData:
    """Everything the sections draw from."""

    name: str
    rewards: list[Reward]
    config: dict[str, Any]
    summary: dict[str, Any]
    examples: dict[str, Example] = field(default_factory=dict)
    candidates: dict[tuple[str, str], Candidate] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    human: list[HumanPair] | None = None
    human_errors: int = 0
    gold_name: str | None = None
    gold: list[Reward] | None = None


def bounded(rewards: Sequence[Reward]) -> bool:
    """Whether totals are on the 0-10 scale (LongReward, LongBench-Chat ratings)."""
    totals = [r.total for r in rewards if r.total is not None]
    return all(0.0 <= t <= 10.0 for t in totals) and all(r.method != "s2l" for r in rewards)


def _find(recorded: Any, run: Path) -> Path | None:
    if not recorded:
        return None
    path = Path(str(recorded))
    for candidate in (path, run.parent / path, run / path):
        if candidate.exists():
            return candidate
    return None


def load_report_data(config: ReportConfig) -> ReportData:
    """Read the run, its texts (when they can be found), and the optional extras."""
    from ...io import CandidateFields, ExampleFields, read_candidates, read_examples

    run = RunDir.existing(config.run_dir)
    run_config = run.read_config()
    data = ReportData(
        name=config.run_dir.resolve().name,
        rewards=run.rewards(),
        config=run_config,
        summary=run.read_summary(),
    )
    inputs = config.input or _find(run_config.get("input"), config.run_dir)
    responses = config.responses or _find(run_config.get("responses"), config.run_dir)
    if inputs is not None and inputs.exists():
        fields = build_config(ExampleFields, run_config.get("example_fields") or None)
        data.examples = {e.id: e for e in read_examples(inputs, fields).records}
    else:
        data.notes.append(
            "The examples file was not found: contexts, questions and evidence "
            "text are not shown (name it with --input)."
        )
    if responses is not None and responses.exists():
        fields_c = build_config(CandidateFields, run_config.get("candidate_fields") or None)
        data.candidates = {
            (c.example_id, c.id): c for c in read_candidates(responses, fields_c).records
        }
    else:
        data.notes.append(
            "The responses file was not found: response texts are not shown "
            "(name it with --responses)."
        )
    if config.human is not None:
        human = read_human(config.human)
        data.human = human.pairs
        data.human_errors = len(human.errors)
    if config.gold is not None:
        data.gold = RunDir.existing(config.gold).rewards()
        data.gold_name = config.gold.resolve().name
    return data


__all__ = ["ReportConfig", "ReportData", "bounded", "load_report_data"]
