"""The S2L-RM scorer: the factual verifier (:mod:`.verifier`) and the short-context reward
model (:mod:`longjudge.scorers.reward_models`) combined into one reward per response.

Three variants: ``r(q,y)`` (the reward model sees query and response only), ``+ref`` (the
reference goes into the reward model's input), ``+ref+trust`` (``+ref``, and the responses the
verifier finds contradicting the reference are ``excluded``: outside the trust region, never
chosen by pair or best-of-N selection).

Per candidate the verifier runs once while the reward-model items wait in a batcher that
scores the candidates of a prompt (and of the prompts in flight) together.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ...components import REWARD_MODELS
from ...errors import ConfigError, LongJudgeError
from ...prompts.base import Language, detect_language
from ...runtime.client import JudgeClient
from ...types import Candidate, DimensionScore, Example, Reward, Usage
from ..base import Scorer, hash_prompts
from ..reward_models import (
    RewardModel,
    RMBatcher,
    RMItem,
    RMOptions,
    RMScore,
    create_reward_model,
    parse_rm_spec,
)
from .config import S2LConfig
from .verifier import verifier_prompt, verify


@dataclass
class Prepared:
    """What the candidates of one prompt share."""

    language: Language
    reference: str | None


class S2LScorer(Scorer):
    """S2L-RM: factual verifier (trust region) plus a short-context reward model."""

    method = "s2l"

    def __init__(
        self, client: JudgeClient, config: S2LConfig, reward_model: RewardModel | None
    ) -> None:
        super().__init__(client)
        self.config = config
        self.reward_model = reward_model
        self.prompt = verifier_prompt(config)
        self.batcher = RMBatcher(reward_model.score) if reward_model is not None else None
        self.counts: Counter[str] = Counter()

    def describe(self) -> dict[str, Any]:
        return {"method": self.method, "s2l": self.config.model_dump(mode="json")}

    def prompt_hashes(self) -> dict[str, str]:
        return hash_prompts([self.prompt])

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "truncated_inputs": self.counts["truncated"],
            "missing_reference": self.counts["missing_reference"],
            "outside_trust_region": self.counts["excluded"],
        }
        if self.reward_model is not None:
            out["reward_model"] = self.reward_model.stats.to_dict()
        return out

    async def prepare(self, example: Example) -> Prepared:
        reference = example.reference if example.reference and example.reference.strip() else None
        language: Language
        if self.config.language != "auto":
            language = self.config.language
        else:
            language = detect_language(example.query, reference or "")
        return Prepared(language, reference)

    async def score_candidate(
        self, example: Example, candidate: Candidate, prepared: Any
    ) -> Reward:
        assert isinstance(prepared, Prepared)
        cfg = self.config
        meta: dict[str, Any] = {
            "variant": cfg.variant,
            "rm": cfg.rm,
            "rm_score": None,
            "baseline_score": None,
            "truncated": False,
        }
        if cfg.uses_reference and prepared.reference is None:
            self.counts["missing_reference"] += 1
            reason = (
                f"missing_reference: example {example.id!r} has no reference answer; "
                f"variant {cfg.variant!r} needs one"
            )
            return self._reward(example, candidate, meta, reason=reason)
        reference = prepared.reference if cfg.uses_reference else None
        items = [RMItem(example.query, reference, candidate.text)]
        if cfg.with_baseline and cfg.uses_reference:
            items.append(RMItem(example.query, None, candidate.text))
        # Submitted before the first await, so the candidates of a prompt share a batch.
        pending = (
            asyncio.gather(*(self.batcher.submit(i) for i in items), return_exceptions=True)
            if self.batcher is not None
            else None
        )
        verifier = None
        if cfg.runs_verifier:
            meta["language"] = prepared.language
            verifier = await verify(
                self.client,
                self.prompt,
                prepared.language,
                RMItem(example.query, prepared.reference, candidate.text),
            )
        if pending is None:
            reason = "dry_run: the reward model is not called in a dry run"
            return self._reward(example, candidate, meta, verifier, reason=reason)
        scores = [_as_result(outcome) for outcome in await pending]
        return self._combine(example, candidate, meta, scores, verifier)

    def _combine(
        self,
        example: Example,
        candidate: Candidate,
        meta: dict[str, Any],
        scores: list[RMScore],
        verifier: DimensionScore | None,
    ) -> Reward:
        main = scores[0]
        meta["rm_score"] = main.score
        meta["truncated"] = main.truncated
        if main.truncated:
            meta["truncation"] = {
                "reference_tokens_cut": main.cut_reference_tokens,
                "query_tokens_cut": main.cut_query_tokens,
            }
        if len(scores) > 1:
            meta["baseline_score"] = scores[1].score
            meta["baseline_truncated"] = scores[1].truncated
            if scores[1].score is None:
                meta["baseline_reason"] = scores[1].reason
        elif not self.config.uses_reference:
            meta["baseline_score"] = main.score  # r(q,y) is the baseline itself
        self.counts["truncated"] += sum(s.truncated for s in scores)
        if main.score is None:
            reason = f"reward_model: {main.reason}"
            return self._reward(example, candidate, meta, verifier, reason=reason)
        excluded = None
        if self.config.variant == "+ref+trust":
            assert verifier is not None
            if verifier.status == "unscored":
                reason = f"verifier unscored: {verifier.reason}"
                return self._reward(example, candidate, meta, verifier, reason=reason)
            if verifier.details["verdict"] == "contradicts":
                excluded = f"outside_trust_region: {verifier.details['reasoning']}"[:500]
                self.counts["excluded"] += 1
        return self._reward(example, candidate, meta, verifier, total=main.score, excluded=excluded)

    def _reward(
        self,
        example: Example,
        candidate: Candidate,
        meta: dict[str, Any],
        verifier: DimensionScore | None = None,
        *,
        reason: str | None = None,
        total: float | None = None,
        excluded: str | None = None,
    ) -> Reward:
        return Reward(
            example_id=example.id,
            candidate_id=candidate.id,
            method=self.method,
            status="scored" if total is not None else "unscored",
            total=total,
            reason=reason,
            dimensions={"verifier": verifier} if verifier is not None else {},
            excluded=excluded,
            usage=verifier.usage if verifier is not None else Usage(),
            meta=meta,
        )


def _as_result(outcome: RMScore | BaseException) -> RMScore:
    """A batcher outcome as a score; longjudge's own errors become a reason, bugs propagate."""
    if isinstance(outcome, LongJudgeError):
        return RMScore(None, reason=str(outcome))
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def make_scorer(client: JudgeClient, config: S2LConfig) -> S2LScorer:
    """The ``s2l`` scorer's factory (components.SCORERS): the reward model loaded (none in a
    dry run, where only the verifier's calls are counted)."""
    if not config.rm:
        raise ConfigError(
            "method s2l needs a reward model: --rm hf/<path or model name> or --rm http/<url> "
            "(or 's2l: {rm: ...}' in the config file)"
        )
    if client.dry_run:  # count the verifier's calls; load no model
        backend, _ = parse_rm_spec(config.rm)
        REWARD_MODELS.entry(backend)  # an unknown backend is an error listing the known ones
        return S2LScorer(client, config, None)
    options_ = RMOptions(config, client.retry, client.cache, client.usage)
    return S2LScorer(client, config, create_reward_model(config.rm, options_))


__all__ = ["Prepared", "S2LScorer", "make_scorer"]
