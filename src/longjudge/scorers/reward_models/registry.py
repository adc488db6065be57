"""Reward model backends by name, declared in :data:`longjudge.components.REWARD_MODELS`;
a spec ``backend/target`` picks one.

``hf/<local path or model name>`` and ``http/<url>`` are built in. Each factory,
``make(target, options: RMOptions) -> RewardModel``, imports its optional dependencies (torch,
transformers) inside, so ``import longjudge`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...components import REWARD_MODELS
from ...config import RetryConfig
from ...errors import ConfigError
from ...registry import Entry
from ...runtime.cache import JudgeCache
from ...runtime.usage import UsageTracker
from ..s2l.config import S2LConfig
from .base import RewardModel


@dataclass
class RMOptions:
    """What a backend is built from: the S2L settings and the shared run machinery."""

    config: S2LConfig = field(default_factory=S2LConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    cache: JudgeCache | None = None
    usage: UsageTracker | None = None


RMFactory = Callable[[str, RMOptions], RewardModel]


def reward_model_backends() -> dict[str, Entry]:
    """The registered backends by name."""
    return {entry.name: entry for entry in REWARD_MODELS.entries()}


def parse_rm_spec(spec: str) -> tuple[str, str]:
    """Split ``backend/target`` (the target may contain slashes: paths, URLs, hub names)."""
    backend, sep, target = spec.partition("/")
    if not sep or not backend or not target:
        raise ConfigError(
            f"reward model spec {spec!r} must look like 'hf/<path or model name>' or "
            "'http/<url>', e.g. 'hf/./models/armorm' or 'http/http://127.0.0.1:8001/score'"
        )
    return backend, target


def create_reward_model(spec: str, options: RMOptions | None = None) -> RewardModel:
    """Build the reward model a spec names."""
    backend, target = parse_rm_spec(spec)
    factory: RMFactory = REWARD_MODELS.factory(backend)
    return factory(target, options or RMOptions())


__all__ = [
    "RMFactory",
    "RMOptions",
    "create_reward_model",
    "parse_rm_spec",
    "reward_model_backends",
]
