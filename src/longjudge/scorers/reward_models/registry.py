"""Reward model backends registered by name; a spec ``backend/target`` picks one.

``hf/<local path or model name>`` and ``http/<url>`` are built in. Each factory imports its
optional dependencies (torch, transformers) inside, so ``import longjudge`` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from ...config import RetryConfig
from ...errors import ConfigError
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


@dataclass(frozen=True)
class RMBackendInfo:
    name: str
    factory: RMFactory
    needs: str
    example: str


_BACKENDS: dict[str, RMBackendInfo] = {}


def register_reward_model(
    name: str, *, needs: str, example: str
) -> Callable[[RMFactory], RMFactory]:
    """Decorator: register ``factory(target, options) -> RewardModel`` under ``name``."""

    def wrap(factory: RMFactory) -> RMFactory:
        _BACKENDS[name] = RMBackendInfo(name, factory, needs, example)
        return factory

    return wrap


def reward_model_backends() -> dict[str, RMBackendInfo]:
    _load_builtin()
    return dict(_BACKENDS)


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
    infos = reward_model_backends()
    if backend not in infos:
        raise ConfigError(
            f"unknown reward model backend {backend!r}; known: {', '.join(sorted(infos))}"
        )
    return infos[backend].factory(target, options or RMOptions())


#: The built-in reward-model backends, by module name: imported on first use (their
#: decorators register them; heavy imports stay inside the factories), so the registry does
#: not import the modules that import it.
_BUILTIN = ("longjudge.scorers.reward_models.hf", "longjudge.scorers.reward_models.http")


def _load_builtin() -> None:
    for module in _BUILTIN:
        importlib.import_module(module)


__all__ = [
    "RMBackendInfo",
    "RMOptions",
    "create_reward_model",
    "parse_rm_spec",
    "register_reward_model",
    "reward_model_backends",
]
