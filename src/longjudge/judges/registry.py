"""Judge backends by name; a spec string ``backend/model`` picks one.

The backends are declared in :data:`longjudge.components.JUDGES` (factory, install hint, what
each needs, the config model of its ``judge.<backend>:`` section). Optional dependencies are
imported inside each factory, so ``import longjudge`` stays light and a missing extra gives an
install hint only when that backend is asked for.
"""

from __future__ import annotations

from collections.abc import Callable

from ..components import JUDGES
from ..config import JudgeConfig
from ..errors import ConfigError
from ..registry import Entry
from .base import Judge

Factory = Callable[[str, JudgeConfig], Judge]


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``backend/model`` (the model part may itself contain slashes)."""
    backend, sep, model = spec.partition("/")
    if not sep or not backend or not model:
        raise ConfigError(
            f"judge spec {spec!r} must look like 'backend/model', e.g. 'openai/gpt-4o-mini', "
            f"'local/gemma-3-270m', 'mock/echo'; backends: {', '.join(JUDGES.names())}"
        )
    return backend, model


def backends() -> dict[str, Entry]:
    """The registered backends by name (``longjudge judges`` lists them)."""
    return {entry.name: entry for entry in JUDGES.entries()}


def create_judge(spec: str, config: JudgeConfig | None = None) -> Judge:
    """Build the judge a spec names, e.g. ``create_judge("openai/qwen2.5-72b", cfg)``."""
    backend, model = parse_spec(spec)
    factory: Factory = JUDGES.factory(backend)
    return factory(model, config or JudgeConfig())


__all__ = ["backends", "create_judge", "parse_spec"]
