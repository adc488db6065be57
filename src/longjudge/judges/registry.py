"""Judge backends registered by name; a spec string ``backend/model`` picks one.

Optional dependencies are imported inside each factory, so ``import longjudge`` stays light and a
missing extra gives an install hint only when that backend is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..config import JudgeConfig
from ..errors import ConfigError
from .base import Judge

Factory = Callable[[str, JudgeConfig], Judge]


@dataclass(frozen=True)
class BackendInfo:
    name: str
    factory: Factory
    needs: str
    example: str


_BACKENDS: dict[str, BackendInfo] = {}


def register_backend(name: str, *, needs: str, example: str) -> Callable[[Factory], Factory]:
    """Decorator: register ``factory(model, config) -> Judge`` under ``name``."""

    def wrap(factory: Factory) -> Factory:
        _BACKENDS[name] = BackendInfo(name, factory, needs, example)
        return factory

    return wrap


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``backend/model`` (the model part may itself contain slashes)."""
    backend, sep, model = spec.partition("/")
    if not sep or not backend or not model:
        raise ConfigError(
            f"judge spec {spec!r} must look like 'backend/model', e.g. 'openai/gpt-4o-mini', "
            f"'local/gemma-3-270m', 'mock/echo'; backends: {', '.join(sorted(backends()))}"
        )
    return backend, model


def backends() -> dict[str, BackendInfo]:
    _load_builtin()
    return dict(_BACKENDS)


def create_judge(spec: str, config: JudgeConfig | None = None) -> Judge:
    """Build the judge a spec names, e.g. ``create_judge("openai/qwen2.5-72b", cfg)``."""
    backend, model = parse_spec(spec)
    infos = backends()
    if backend not in infos:
        raise ConfigError(f"unknown judge backend {backend!r}; known: {', '.join(sorted(infos))}")
    return infos[backend].factory(model, config or JudgeConfig())


#: The built-in backends, by module name. Imported on first use (their @register_backend
#: decorators register them; each keeps its heavy imports inside the factory), never by name
#: here: the registry does not import the modules that import it.
_BUILTIN = ("longjudge.judges.local", "longjudge.judges.mock", "longjudge.judges.openai")


def _load_builtin() -> None:
    for module in _BUILTIN:
        importlib.import_module(module)


__all__ = ["BackendInfo", "backends", "create_judge", "parse_spec", "register_backend"]
