"""Tables and number formats shared by the commands, made to stay readable at 80 columns.

Ids and free text wrap (they fold onto a second line) rather than being cut to ``exam…``;
numbers never wrap; dimension names are shortened in headers and explained under the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from rich import box
from rich.table import Table

from ..judges.local import PACKAGED_MODELS
from ..preference.picks import best_and_worst
from ..preference.tally import RewardTally, Scores
from ..types import Reward

#: Header of each known dimension (the full name is given under the table when shortened).
SHORT_NAMES = {
    "helpfulness": "help",
    "logicality": "logic",
    "faithfulness": "faith",
    "completeness": "compl",
    "verifier": "verif",
}

#: Most decimals :func:`decimals_for` will use.
MAX_DECIMALS = 6


def results_table(*headers: str, text: Iterable[int] = (0,)) -> Table:
    """A compact table: columns whose index is in ``text`` fold when space runs out; the
    others (numbers) never wrap and are never cut."""
    folding = set(text)
    table = Table(*headers, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for i, column in enumerate(table.columns):
        if i in folding:
            column.overflow = "fold"
        else:
            column.no_wrap = True
            column.min_width = len(str(column.header))
    return table


def decimals_for(values: Iterable[float | None], minimum: int = 2) -> int:
    """The fewest decimals (at least ``minimum``, at most :data:`MAX_DECIMALS`) with which
    different values print differently."""
    distinct = sorted({v for v in values if v is not None})
    for digits in range(minimum, MAX_DECIMALS + 1):
        if len({f"{v:.{digits}f}" for v in distinct}) == len(distinct):
            return digits
    return MAX_DECIMALS


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _status(reward: Reward) -> str:
    if reward.status != "scored":
        return f"unscored ({(reward.reason or '')[:40]})"
    return "excluded" if reward.excluded is not None else "scored"


def _marks(group: Sequence[Reward]) -> dict[int, str]:
    """▲ on the best and ▼ on the worst selectable candidate of a prompt, when they differ."""
    picks = best_and_worst(group)
    if picks is None:
        return {}
    return {id(picks[0]): "▲ best", id(picks[1]): "▼ worst"}


def rewards_table(rewards: list[Reward]) -> Table:
    """One row per candidate: dimension scores and total, best and worst of each prompt
    marked. Totals carry as many decimals as it takes to tell them apart; a candidate outside
    the S2L trust region is ``excluded`` (scored, never picked)."""
    dims: list[str] = []
    for reward in rewards:
        dims += [d for d in reward.dimensions if d not in dims]
    headers = [SHORT_NAMES.get(d, d) for d in dims]
    status_column = 3 + len(dims)
    table = results_table(
        "example", "candidate", *headers, "total", "status", "", text=(0, 1, status_column)
    )
    digits = decimals_for(r.total for r in rewards)
    by_example: dict[str, list[Reward]] = {}
    for reward in rewards:
        by_example.setdefault(reward.example_id, []).append(reward)
    for example_id, group in by_example.items():
        marks = _marks(group)
        for r in group:
            cells = [fmt(r.dimensions[d].score) if d in r.dimensions else "" for d in dims]
            table.add_row(
                example_id,
                r.candidate_id,
                *cells,
                fmt(r.total, digits),
                _status(r),
                marks.get(id(r), ""),
            )
    return table


def table_notes(rewards: list[Reward], judge_spec: str | None = None) -> list[str]:
    """Lines printed under :func:`rewards_table`: the shortened headers, what ``excluded``
    means, and a one-line warning when every total of a prompt is the same."""
    notes: list[str] = []
    dims = {d for r in rewards for d in r.dimensions}
    short = [f"{SHORT_NAMES[d]}={d}" for d in SHORT_NAMES if d in dims]
    if short:
        notes.append("columns: " + " ".join(short))
    excluded = sum(1 for r in rewards if r.status == "scored" and r.excluded is not None)
    if excluded:
        notes.append(
            f"excluded ({excluded}): scored, but outside the trust region (the verifier found "
            "a contradiction with the reference); never picked as best or for a pair"
        )
    note = equal_totals_note(rewards, judge_spec)
    if note:
        notes.append(note)
    return notes


def equal_totals_note(rewards: list[Reward], judge_spec: str | None = None) -> str | None:
    """One line when two or more candidates were scored and all have the same total."""
    totals = [r.total for r in rewards if r.status == "scored" and r.total is not None]
    if len(totals) < 2 or len(set(totals)) > 1:
        return None
    why = "the judge told no candidate apart"
    backend, _, model = (judge_spec or "").partition("/")
    if backend == "local" and model in PACKAGED_MODELS:
        why = f"{judge_spec} is a tiny base model, not a judge"
    return f"all {len(totals)} totals equal {fmt(totals[0], decimals_for(totals))}: {why}"


def screenful() -> int:
    """Candidate rows that fit the terminal (40 when it has no size)."""
    import shutil

    return max(20, shutil.get_terminal_size((100, 48)).lines - 8)


def rewards_summary(tally: RewardTally, out_dir: Path) -> Table:
    """Past a screenful: per-dimension distribution, unscored by reason, best/worst counted.

    Shown instead of :func:`rewards_table` (``cli/score.py``), from counters read in a
    streaming pass over rewards.jsonl (:mod:`longjudge.preference.tally`), never the rewards."""
    table = results_table("score", "n", "unsc", "min", "p25", "med", "p75", "max", "mean")
    table.title = f"{tally.candidates} candidates"
    for name, scores in [*tally.dimensions.items(), ("total", tally.totals)]:
        table.add_row(name, str(scores.count), str(scores.unscored), *_distribution(scores))
    prompts = len(tally.prompts)
    distinct = tally.distinct_best_worst
    reasons = tally.reasons
    table.caption = (
        f"{prompts} prompts: {distinct} with a distinct best and worst, "
        f"{prompts - distinct} without (a tie, or fewer than two scored)"
        + (
            "; unscored by reason: "
            + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
            if reasons
            else ""
        )
        + f". Every candidate: {out_dir / 'rewards.jsonl'}. Report: longjudge report {out_dir}"
    )
    return table


def _distribution(scores: Scores) -> list[str]:
    if not scores.count:
        return ["—"] * 6
    quantiles = [scores.quantile(q) for q in (0.0, 0.25, 0.5, 0.75, 1.0)]
    return [fmt(v) for v in (*quantiles, scores.mean)]


__all__ = [
    "SHORT_NAMES",
    "decimals_for",
    "equal_totals_note",
    "fmt",
    "results_table",
    "rewards_summary",
    "rewards_table",
    "screenful",
    "table_notes",
]
