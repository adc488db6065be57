"""LongBench-Chat-style judging (method ``longbench-chat``): a 1-10 rating of a response given
the question and a reference answer.

The judge sees the question, the reference answer and the response (not the long context), and
optionally a few rated example answers to calibrate its scale. It writes its analysis first and
then a rating, which the output schema restricts to the integers 1..10 (an enum, so that a
grammar-constrained backend enforces it). Calls go through :meth:`JudgeClient.complete`, so they
are cached, retried and counted like every other judge call.

Each reward has ``method="lbc_judge"`` (the name of the judging prompt) and the rating as the
total, so that a run can serve as the gold run of ``eval ranking`` and ``eval best-of-n``. The
scorer is registered like the others: ``longjudge score --method longbench-chat``, ``longjudge
serve --method longbench-chat``, the Ray engine; ``longjudge eval judge`` runs it into a gold
run (``evaluation/longbench_chat.py``).

Rated examples file (``longbench_chat.examples_file``, ``--examples-file``), one JSON object per
line::

    {"answer": "...", "rating": 8, "note": "why (optional)", "example_id": "11 (optional)"}

A line with an ``example_id`` is shown only for that prompt, a line without one for every
prompt; a prompt's own examples come first, at most ``max_shots`` in all. A bad line is an input
error of the job (file, line, reason); a file without one usable line is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import StrictModel
from ..errors import InputError, JudgeError, ParseError
from ..io.records import RecordError
from ..io.sources import iter_raw
from ..prompts.base import Language, Prompt, data_block, detect_language
from ..runtime.client import JudgeClient
from ..runtime.fingerprint import digest
from ..runtime.usage import UsageTracker
from ..types import Candidate, DimensionScore, Example, Reward
from .base import Scorer, hash_prompts

METHOD = "lbc_judge"
Rating = Literal[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


class LbcRatingOut(BaseModel):
    """The judge's output: analysis first, then the rating."""

    model_config = ConfigDict(extra="ignore")

    analysis: str = Field(description="How the answer compares with the reference.")
    rating: Rating


class RatedAnswer(BaseModel):
    """One rated example answer shown to the judge for calibration."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, description="The example answer.")
    rating: int = Field(ge=1, le=10, description="Its rating, 1-10.")
    note: str | None = Field(None, description="Why it got that rating.")
    example_id: str | None = Field(None, description="Shown only for this prompt when set.")


class LongBenchChatConfig(StrictModel):
    """Settings of LongBench-Chat-style judging (``longbench_chat:`` in the YAML config)."""

    language: Literal["auto", "en", "zh"] = Field(
        "auto", description="Prompt language; 'auto' picks by the question and reference."
    )
    max_shots: int = Field(3, ge=0, description="Most rated example answers in one prompt.")
    analysis_chars: int = Field(
        1500, ge=40, description="Longest analysis the judge may write (schema bound)."
    )
    max_tokens: int = Field(1024, ge=16, description="Completion budget of one judge call.")
    examples_file: str | None = Field(
        None,
        description="Rated example answers (JSONL) shown for calibration; their content is "
        "part of every reward's fingerprint.",
    )

    def judging(self) -> dict[str, Any]:
        """The settings that shape a prompt (all but the examples file's path)."""
        return self.model_dump(mode="json", exclude={"examples_file"})


_TEXT = {
    "en": ("Rated example answers to this question, for calibration:", "Example {i}: rating {r}"),
    "zh": ("以下是针对同一问题、已打分的示例回答，供校准参考：", "示例 {i}：得分 {r}"),
}


def read_rated_answers(path: str | Path) -> tuple[list[RatedAnswer], list[RecordError]]:
    """Load a rated-examples file; bad lines are returned as errors."""
    _, rows = iter_raw(path)
    good: list[RatedAnswer] = []
    bad: list[RecordError] = []
    for raw in rows:
        if raw.error is not None:
            bad.append(RecordError(str(path), raw.line, None, raw.error))
            continue
        value = raw.value
        if isinstance(value, dict) and isinstance(value.get("example_id"), int):
            value = {**value, "example_id": str(value["example_id"])}
        try:
            good.append(RatedAnswer.model_validate(value))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "<root>"
            bad.append(RecordError(str(path), raw.line, None, f"{where}: {first['msg']}"))
    return good, bad


def shots_for(example_id: str, rated: Sequence[RatedAnswer], limit: int) -> list[RatedAnswer]:
    """The rated answers shown for one prompt: its own first, then the general ones."""
    own = [r for r in rated if r.example_id == example_id]
    general = [r for r in rated if r.example_id is None]
    return (own + general)[:limit]


def render_shots(shots: Sequence[RatedAnswer], lang: Language) -> str:
    if not shots:
        return ""
    head, item = _TEXT[lang]
    parts = [head]
    for i, shot in enumerate(shots, start=1):
        parts.append(item.format(i=i, r=shot.rating))
        parts.append(data_block(f"EXAMPLE ANSWER {i}", shot.answer))
        if shot.note:
            parts.append(data_block(f"EXAMPLE NOTE {i}", shot.note))
    return "\n".join(parts)


class LongBenchChatScorer(Scorer):
    """Rates each candidate 1-10 against the example's reference answer."""

    method = METHOD

    def __init__(
        self,
        client: JudgeClient,
        config: LongBenchChatConfig | None = None,
        rated: Sequence[RatedAnswer] = (),
        rated_errors: Sequence[RecordError] = (),
    ) -> None:
        super().__init__(client)
        self.config = config or LongBenchChatConfig()
        self.rated = list(rated)
        self.rated_errors = list(rated_errors)
        self.prompt = Prompt(
            "lbc_judge",
            LbcRatingOut,
            max_tokens=self.config.max_tokens,
            max_chars={"analysis": self.config.analysis_chars},
        )

    def _settings(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "lbc_judge": self.config.judging(),
            "rated_examples": len(self.rated),
        }

    def describe(self) -> dict[str, Any]:
        return {**self._settings(), "examples_file": self.config.examples_file}

    def fingerprint_settings(self) -> dict[str, Any]:
        # the rated answers shown to the judge change its ratings, not only their number;
        # where the file lies does not
        rated = [r.model_dump(mode="json") for r in self.rated]
        return {**self._settings(), "rated_digest": digest(rated)}

    def input_errors(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.rated_errors]

    def prompt_hashes(self) -> dict[str, str]:
        return hash_prompts([self.prompt])

    def _language(self, example: Example) -> Language:
        if self.config.language != "auto":
            return self.config.language
        return detect_language(example.query, example.reference or "")

    async def score_candidate(
        self, example: Example, candidate: Candidate, prepared: Any
    ) -> Reward:
        lang = self._language(example)
        shots = shots_for(example.id, self.rated, self.config.max_shots)
        meta = {
            "judge": self.client.judge.spec,
            "language": lang,
            "shots": len(shots),
            "scale": "1-10",
        }
        hashes = {"lbc_judge": self.prompt.hash(lang)}
        usage = UsageTracker()

        def unscored(reason: str) -> Reward:
            dim = DimensionScore.unscored(
                "rating", reason, usage=usage.total(), prompt_hashes=hashes
            )
            return Reward(
                example_id=example.id,
                candidate_id=candidate.id,
                method=self.method,
                status="unscored",
                reason=reason,
                dimensions={"rating": dim},
                usage=usage.total(),
                meta=meta,
            )

        if not example.reference:
            return unscored("lbc_judge: the example has no reference answer")
        values = {
            "shots": render_shots(shots, lang),
            "question": data_block("QUESTION", example.query),
            "reference": data_block("REFERENCE", example.reference),
            "answer": data_block("ANSWER", candidate.text),
        }
        request = self.prompt.request(
            lang, values, temperature=self.client.temperature, seed=self.client.seed
        )
        try:
            out = await self.client.complete(
                request, step="lbc_judge.rate", parse=self.prompt.parse, usage=usage
            )
        except ParseError as exc:
            return unscored(f"lbc_judge: {exc}")
        except JudgeError as exc:
            return unscored(f"lbc_judge: judge error: {exc}")
        rating = float(out.rating)
        dim = DimensionScore.scored(
            "rating", rating, analysis=out.analysis, usage=usage.total(), prompt_hashes=hashes
        )
        return Reward(
            example_id=example.id,
            candidate_id=candidate.id,
            method=self.method,
            status="scored",
            total=rating,
            dimensions={"rating": dim},
            usage=usage.total(),
            meta=meta,
        )


def make_scorer(client: JudgeClient, config: LongBenchChatConfig) -> LongBenchChatScorer:
    """The ``longbench-chat`` scorer's factory (components.SCORERS): the rated examples file
    read once (bad lines become the job's input errors; none usable is an error)."""
    rated: list[RatedAnswer] = []
    bad: list[RecordError] = []
    if config.examples_file is not None:
        rated, bad = read_rated_answers(config.examples_file)
        if bad and not rated:
            raise InputError(
                f"no usable rated example in {config.examples_file}: {bad[0].reason}"
            )
    return LongBenchChatScorer(client, config, rated, bad)


__all__ = [
    "METHOD",
    "LbcRatingOut",
    "LongBenchChatConfig",
    "LongBenchChatScorer",
    "RatedAnswer",
    "make_scorer",
    "read_rated_answers",
    "render_shots",
    "shots_for",
]
