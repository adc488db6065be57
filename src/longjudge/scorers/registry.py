"""Scoring methods by name (``longreward``, ``s2l``), declared in
:data:`longjudge.components.SCORERS`.

A scorer's factory takes the judge client and the method's validated config (an instance of
the config model its entry names) and returns a ready :class:`Scorer`. Heavy dependencies are
imported inside factories. A :class:`~longjudge.config.ScoreConfig` holds every method's
section, validated when it is built: ``config.section(method)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from ..components import SCORERS
from ..runtime.client import JudgeClient
from .base import Scorer

ScorerFactory = Callable[[JudgeClient, Any], Scorer]


def scorer_names() -> list[str]:
    return SCORERS.names()


def build_scorer(
    method: str, client: JudgeClient, config: BaseModel | Mapping[str, Any] | None = None
) -> Scorer:
    """Build the scorer ``method``. ``config`` is its settings: the validated section
    (``score_config.section(method)``), or a mapping validated here (None: the defaults)."""
    entry_model = SCORERS.config_model(method)
    if entry_model is not None and isinstance(config, entry_model):
        settings: BaseModel | None = config
    else:
        raw = config.model_dump() if isinstance(config, BaseModel) else config
        settings = SCORERS.validate(method, raw)
    factory: ScorerFactory = SCORERS.factory(method)
    return factory(client, settings)


__all__ = ["ScorerFactory", "build_scorer", "scorer_names"]
