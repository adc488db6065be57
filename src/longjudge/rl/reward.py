"""``LongJudgeReward``: LongReward or S2L-RM as a reward function for online RL.

A callable with the shape TRL's ``GRPOTrainer`` calls (``(prompts, completions, **columns) ->
list[float | None]``), built on the same scorer as ``longjudge score`` or on a running
``longjudge serve``. Completions of one prompt are scored as one group (per-prompt work once);
an unscored completion is ``None`` (TRL leaves it out of the group baseline and gives it no
advantage), never a 0, and its reason is logged. Per-dimension means, the unscored count and the
judge calls of every call go to the trainer through TRL's ``log_metric`` (and per-completion
dimension scores through ``log_extra``) when the trainer offers them, and are kept in
:attr:`LongJudgeReward.last_metrics` either way.
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import ScoreConfig, build_config
from ..errors import ConfigError
from ..types import Reward, Usage
from .inputs import build_inputs
from .loop import BackgroundLoop
from .options import RewardOptions, score_config
from .scoring import LocalScoring, RemoteScoring, RewardInput, Scoring, ScoringStats, unscored

log = logging.getLogger("longjudge.rl")

#: The dimension names each method reports (verl needs the same keys for every sample).
METHOD_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "longreward": ("helpfulness", "logicality", "faithfulness", "completeness"),
    "s2l": ("verifier",),
}


class LongJudgeReward:
    """A reward function over longjudge's scorers (see the module docstring and
    docs/online-rl.md).

    ``judge`` (a spec such as ``openai/Qwen2.5-72B-Instruct``, with ``base_url`` and the
    sections of ``config``: a YAML path or a mapping, as for ``longjudge score``) scores in this
    process; ``server`` (the URL of ``longjudge serve``; its token from ``$token_env``) scores
    there. ``columns`` names the dataset columns (``context``, ``query``, ``reference``);
    ``scale`` multiplies the 0-10 totals. Other :class:`RewardOptions` fields go as keywords.
    Use it as a context manager, or call :meth:`close`, to release the judge client and cache.
    """

    def __init__(
        self,
        method: str = "longreward",
        judge: str | None = None,
        *,
        base_url: str | None = None,
        config: str | Path | Mapping[str, Any] | ScoreConfig | None = None,
        server: str | None = None,
        token_env: str = "LONGJUDGE_API_TOKEN",
        columns: Mapping[str, str] | None = None,
        scale: float = 1.0,
        name: str | None = None,
        **options: Any,
    ) -> None:
        given = {"method": method, "judge": judge, "server": server, "token_env": token_env,
                 "columns": dict(columns or {}), "scale": scale, "name": name, **options}
        self.options = build_config(RewardOptions, given)
        if server is not None and base_url is not None:
            raise ConfigError("base_url is the judge's address (with judge=); with server= the "
                              "server's own judge settings apply")
        self.config = score_config(dict(config) if isinstance(config, Mapping) else config,
                                   base_url)
        #: TRL names a reward function by ``__name__`` (its logs: ``rewards/<name>/mean``).
        self.__name__ = self.options.display_name
        self.scoring: Scoring = self._build_scoring()
        self._loop = BackgroundLoop(f"longjudge-rl-{self.__name__}")
        #: Metrics of the last call (also sent to TRL's ``log_metric``).
        self.last_metrics: dict[str, float] = {}
        self._finalizer = weakref.finalize(self, _shutdown, self._loop, self.scoring)

    def _build_scoring(self) -> Scoring:
        opts = self.options
        if opts.server is not None:
            return RemoteScoring(
                opts.method, opts.server, opts.token_env, self.config.retry,
                timeout=opts.request_timeout, batch_items=opts.server_batch_items,
            )
        assert opts.judge is not None  # the options' validator wants exactly one of them
        return LocalScoring(opts.method, opts.judge, self.config, opts.prepared_cache_size)

    @property
    def method(self) -> str:
        return self.options.method

    @property
    def stats(self) -> ScoringStats:
        """Counters since construction: calls, completions, groups, prepare runs, unscored."""
        return self.scoring.stats

    # -- scoring -------------------------------------------------------------------------------

    def score(
        self, items: Sequence[RewardInput | None], reasons: Sequence[str] = ()
    ) -> list[Reward]:
        """Full rewards for ``items``, in order (a ``None`` item is unscored with
        ``reasons[i]``). Blocks; runs on the private event loop."""
        return self._loop.run(self._score(list(items), list(reasons)))

    async def ascore(
        self, items: Sequence[RewardInput | None], reasons: Sequence[str] = ()
    ) -> list[Reward]:
        """:meth:`score` for async callers (the work still runs on the private loop)."""
        return await self._loop.run_async(self._score(list(items), list(reasons)))

    async def _score(self, items: list[RewardInput | None], reasons: list[str]) -> list[Reward]:
        usable = [(i, item) for i, item in enumerate(items) if item is not None]
        scored = await self.scoring.score([item for _, item in usable]) if usable else []
        out: list[Reward] = []
        by_position = dict(zip((i for i, _ in usable), scored))
        for index, item in enumerate(items):
            if item is None:
                reason = reasons[index] if index < len(reasons) and reasons[index] else (
                    "bad_request: no input")
                out.append(unscored(self.method, "-", index, reason))
            else:
                out.append(by_position[index])
        return out

    def values(self, rewards: Sequence[Reward]) -> list[float | None]:
        """The numbers a trainer gets: ``scale`` × total, or None when unscored; an S2L-RM
        completion outside the trust region as ``outside_trust_region`` says."""
        return [self.value(r) for r in rewards]

    def value(self, reward: Reward) -> float | None:
        if reward.total is None:
            return None
        policy = self.options.outside_trust_region
        if reward.excluded is not None and policy != "keep":
            return None if policy == "none" else float(policy)
        return reward.total * self.options.scale

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        """TRL's reward-function call: one value per completion, None when unscored."""
        log_metric = columns.pop("log_metric", None)
        log_extra = columns.pop("log_extra", None)
        if completions is None:
            raise TypeError("a reward function needs completions=[...]")
        items, reasons = build_inputs(completions, columns, self.options.columns)
        rewards = self.score_and_record(items, reasons)
        self._report(rewards, log_metric, log_extra)
        return self.values(rewards)

    def score_and_record(
        self, items: Sequence[RewardInput | None], reasons: Sequence[str] = ()
    ) -> list[Reward]:
        """:meth:`score`, then :meth:`record` with the judge usage of this call."""
        before = self.scoring.usage()
        rewards = self.score(items, reasons)
        self.record(rewards, usage_since(before, self.scoring.usage()))
        return rewards

    # -- accounting and logs -------------------------------------------------------------------

    def record(self, rewards: Sequence[Reward], usage: Usage | None = None) -> dict[str, float]:
        """Count one call's rewards, log its unscored reasons, and set :attr:`last_metrics`."""
        stats = self.scoring.stats
        stats.calls += 1
        stats.completions += len(rewards)
        reasons: dict[str, list[str]] = {}
        for reward in rewards:
            if reward.status != "scored":
                stats.unscored += 1
                full = reward.reason or "unknown"
                key = full.split(":")[0]
                stats.unscored_reasons[key] = stats.unscored_reasons.get(key, 0) + 1
                reasons.setdefault(key, []).append(full)
        for key, fulls in sorted(reasons.items()):
            log.warning(
                "%s: %d of %d completions unscored (%s), e.g. %s",
                self.__name__, len(fulls), len(rewards), key, fulls[0][:300],
            )
        self.last_metrics = call_metrics(rewards, usage)
        return self.last_metrics

    def _report(
        self, rewards: Sequence[Reward], log_metric: Any, log_extra: Any
    ) -> None:
        if callable(log_metric):
            for key, value in self.last_metrics.items():
                log_metric(f"{self.__name__}/{key}", value)
        if callable(log_extra):
            for dim, values in dimension_columns(rewards, self.method).items():
                log_extra(f"{self.__name__}/{dim}", values)
            log_extra(f"{self.__name__}/reason", [r.reason or "" for r in rewards])

    # -- life ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the judge client, the cache and the private event loop (idempotent)."""
        self._finalizer()

    def __enter__(self) -> LongJudgeReward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"server={self.options.server}" if self.options.server else (
            f"judge={self.options.judge}")
        return f"LongJudgeReward({self.method!r}, {where}, name={self.__name__!r})"


def usage_since(before: Usage, after: Usage) -> Usage:
    """What was used between two readings of a usage total."""
    return Usage(**{k: getattr(after, k) - getattr(before, k) for k in Usage.model_fields})


def _shutdown(loop: BackgroundLoop, scoring: Scoring) -> None:
    try:
        loop.run(scoring.aclose(), timeout=60)
    except Exception:  # closing must not raise from a finalizer
        log.exception("closing the reward function's scorer failed")
    finally:
        loop.close()


def dimension_columns(rewards: Sequence[Reward], method: str) -> dict[str, list[float | None]]:
    """Per completion, the score of each dimension the method reports (None: unscored)."""
    names = list(METHOD_DIMENSIONS.get(method, ()))
    for reward in rewards:
        names += [d for d in reward.dimensions if d not in names]
    return {
        name: [r.dimensions[name].score if name in r.dimensions else None for r in rewards]
        for name in names
    }


def call_metrics(rewards: Sequence[Reward], usage: Usage | None = None) -> dict[str, float]:
    """One call's figures: unscored count and share, each dimension's mean over the scored
    values, judge calls and cache hits (per completion too)."""
    n = len(rewards)
    bad = sum(r.status != "scored" for r in rewards)
    metrics: dict[str, float] = {"unscored": float(bad), "unscored_frac": bad / n if n else 0.0}
    excluded = sum(r.excluded is not None for r in rewards)
    if excluded:
        metrics["excluded"] = float(excluded)
    sums: dict[str, list[float]] = {}
    for reward in rewards:
        for name, dim in reward.dimensions.items():
            if dim.score is not None and math.isfinite(dim.score):
                sums.setdefault(name, []).append(dim.score)
    for name, scores in sorted(sums.items()):
        metrics[f"dimensions/{name}"] = sum(scores) / len(scores)
    if usage is not None:
        metrics["judge_calls"] = float(usage.calls)
        metrics["cache_hits"] = float(usage.cache_hits)
        if n:
            metrics["judge_calls_per_completion"] = usage.calls / n
    return metrics


__all__ = [
    "METHOD_DIMENSIONS",
    "LongJudgeReward",
    "call_metrics",
    "dimension_columns",
    "usage_since",
]
