"""Scoring methods registered by name (``longreward``, ``s2l``, ``longbench-chat``).

A factory takes the judge client and the method's config section (a mapping from the YAML file
and CLI flags) and returns a ready :class:`Scorer`; it validates the section into its own typed
config, so unknown keys are errors. Heavy dependencies are imported inside factories.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from ..runtime.client import JudgeClient
from .base import Scorer

ScorerFactory = Callable[[JudgeClient, dict[str, Any]], Scorer]

_SCORERS: dict[str, ScorerFactory] = {}


def register_scorer(name: str) -> Callable[[ScorerFactory], ScorerFactory]:
    def wrap(factory: ScorerFactory) -> ScorerFactory:
        _SCORERS[name] = factory
        return factory

    return wrap


def scorer_names() -> list[str]:
    _load_builtin()
    return sorted(_SCORERS)


def build_scorer(method: str, client: JudgeClient, options: dict[str, Any] | None = None) -> Scorer:
    """Build the scorer ``method`` from its config section."""
    _load_builtin()
    if method not in _SCORERS:
        raise ConfigError(
            f"unknown scoring method {method!r}; known: {', '.join(sorted(_SCORERS))}"
        )
    return _SCORERS[method](client, dict(options or {}))


#: The built-in scorers, by module name: imported on first use (their @register_scorer
#: decorators register them), so the registry does not import the modules that import it.
_BUILTIN = (
    "longjudge.scorers.longreward",
    "longjudge.scorers.s2l.scorer",
    "longjudge.scorers.longbench_chat",
)


def _load_builtin() -> None:
    for module in _BUILTIN:
        importlib.import_module(module)


__all__ = ["build_scorer", "register_scorer", "scorer_names"]
