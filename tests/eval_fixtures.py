"""Realistic runs for the evaluation and report tests, built from Reward records.

The LongReward run scores the ten public sampled responses of ``examples/longreward``: its
statements are sentences of the real responses, and each statement's evidence points at real
character offsets of the real 40,889-character context (the places where the statement's key
word occurs). A gold run (LongBench-Chat-style ratings) and a human-preference file go with it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from longjudge.evaluation.human import HumanScores, write_human
from longjudge.runtime.rundir import RunDir
from longjudge.types import DimensionScore, Reward, Usage

REPO = Path(__file__).resolve().parents[1]
SFT = REPO / "examples" / "longreward" / "sft.jsonl"
RESPONSES = REPO / "examples" / "longreward" / "sampled_responses.jsonl"
DIMS = ("helpfulness", "logicality", "faithfulness", "completeness")

#: Scores per candidate: helpfulness, logicality, faithfulness, completeness (candidate 11-6's
#: completeness is unscored; 11-9 is wholly unscored).
SCORES: dict[str, tuple[float, float, float | None, float | None]] = {
    "11-0": (8, 9, 9.0, 7),
    "11-1": (7, 8, 8.5, 6),
    "11-2": (9, 9, 10.0, 8),
    "11-3": (6, 7, 7.0, 5),
    "11-4": (8, 8, 6.5, 7),
    "11-5": (5, 6, 5.0, 4),
    "11-6": (7, 9, 9.5, None),
    "11-7": (9, 8, 8.0, 9),
    "11-8": (4, 5, 3.0, 3),
}
GOLD = {"11-0": 7, "11-1": 6, "11-2": 9, "11-3": 5, "11-4": 7, "11-5": 3, "11-6": 8, "11-7": 8,
        "11-8": 2, "11-9": 4}
HOSTILE = "<script>alert('x')</script> & <b>not bold</b>"


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def context() -> str:
    return str(load_jsonl(SFT)[0]["context"])


def responses() -> dict[str, str]:
    return {r["idx"]: r["answer"] for r in load_jsonl(RESPONSES)}


def _evidence(text: str, statement: str) -> list[dict]:
    """Windows around the first places where the statement's longest words occur."""
    words = sorted(set(re.findall(r"[A-Za-z]{7,}", statement)), key=len, reverse=True)
    out: list[dict] = []
    for i, word in enumerate(words[:3]):
        pos = text.lower().find(word.lower())
        if pos == -1:
            continue
        start = max(0, pos - 120)
        out.append({"chunk_index": start // 500, "start": start,
                    "end": min(len(text), pos + 380), "score": round(0.9 - 0.2 * i, 3)})
    return out


def _statements(text: str, ctx: str, mean: float) -> list[dict]:
    lines = [ln.strip("-* ").strip() for ln in text.splitlines() if len(ln.strip()) > 30][:4]
    levels = ["full", "partial", "full", "none"] if mean < 9 else ["full"] * 4
    value = {"full": 1.0, "partial": 0.5, "none": 0.0}
    return [
        {"statement": ln, "support": lvl, "value": value[lvl],
         "analysis": f"The context {'supports' if lvl == 'full' else 'only partly supports'} "
                     "this.", "evidence": _evidence(ctx, ln), "reason": None}
        for ln, lvl in zip(lines, levels)
    ]


def longreward_rewards() -> list[Reward]:
    ctx, texts = context(), responses()
    out = []
    for cid, text in texts.items():
        usage = Usage(calls=6, prompt_tokens=9000, completion_tokens=700)
        if cid not in SCORES:
            out.append(Reward(example_id="11", candidate_id=cid, method="longreward",
                              status="unscored", reason="helpfulness unscored: judge error: 503",
                              usage=usage))
            continue
        h, lo, f, c = SCORES[cid]
        dims = {
            "helpfulness": DimensionScore.scored(
                "helpfulness", h, analysis=f"Answers the question. {HOSTILE}"),
            "logicality": DimensionScore.scored(
                "logicality", lo, analysis="Mostly coherent.",
                details={"errors": ["Claims alliances are risky, then says they reduce risk."]
                         if lo < 8 else []}),
            "faithfulness": DimensionScore.scored(
                "faithfulness", f or 0.0, analysis="",
                details={"mode": "batched", "no_factual_statements": False,
                         "statements": _statements(text, ctx, f or 0.0)}),
        }
        key_points = {"key_points": ["Build alliances before questioning the status quo.",
                                     "Be invitational rather than confrontational.",
                                     "Develop tactical astuteness."], "windows": 3}
        if c is None:
            dims["completeness"] = DimensionScore.unscored(
                "completeness", "completeness.coverage: schema_invalid: score: not in enum",
                details=key_points)
            total, status, reason = None, "unscored", "completeness unscored: schema_invalid"
        else:
            dims["completeness"] = DimensionScore.scored(
                "completeness", c, analysis="Covers most key points.", details=key_points)
            total, status, reason = (h + lo + (f or 0.0) + c) / 4, "scored", None
        out.append(Reward(example_id="11", candidate_id=cid, method="longreward", status=status,
                          total=total, reason=reason, dimensions=dims, usage=usage,
                          meta={"weights": dict.fromkeys(DIMS, 1.0), "language": "en"}))
    return out


def gold_rewards() -> list[Reward]:
    return [
        Reward(example_id="11", candidate_id=cid, method="lbc_judge", status="scored",
               total=float(r), dimensions={"rating": DimensionScore.scored(
                   "rating", float(r), analysis="Matches the reference on the main points.")},
               meta={"judge": "mock/gold", "scale": "1-10"})
        for cid, r in GOLD.items()
    ]


def write_run(path: Path, rewards: list[Reward], method: str) -> Path:
    run = RunDir(path)
    run.write_config({"input": str(SFT), "responses": str(RESPONSES), "judge_spec": "mock/test",
                      "method": method, "longreward": {"renormalize": False}})
    for reward in rewards:
        run.append_reward(reward)
    total = Usage()
    for reward in rewards:
        total.add(reward.usage)
    total.cache_hits = 12
    run.add_invocation({
        "judge": "mock/test", "method": method, "scored": 9, "unscored": 1, "seconds": 42.5,
        "usage": {"total": total.model_dump(),
                  "steps": {"helpfulness.score": Usage(calls=10, prompt_tokens=4000,
                                                       completion_tokens=900).model_dump(),
                            "faithfulness.verify": Usage(calls=30, prompt_tokens=60000,
                                                         completion_tokens=4000,
                                                         cache_hits=12).model_dump()}},
    })
    return path


def write_human_file(path: Path) -> Path:
    """Human scores of seven candidates: they follow the gold ratings."""
    scores = {cid: float(GOLD[cid]) for cid in ("11-0", "11-2", "11-3", "11-5", "11-6", "11-8",
                                                "11-9")}
    write_human(path, [HumanScores(example_id="11", scores=scores)])
    return path
