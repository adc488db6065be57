"""The base of every config: strict models, YAML files and layered validation.

This module sits below everything that declares or validates a config (:mod:`longjudge.registry`,
:mod:`longjudge.components`, :mod:`longjudge.config` and the configs beside their components), so
that none of those needs to import another to validate a mapping. :mod:`longjudge.config`
re-exports every name here.

Precedence everywhere: defaults < YAML file (``--config``) < CLI flags; :func:`load_config` is
the one function that assembles the three, for every command.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError


class StrictModel(BaseModel):
    """Base of every config: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


M = TypeVar("M", bound=BaseModel)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; anything else is a ConfigError."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping, not {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``, recursing into nested mappings."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _message(err: Any) -> str:
    """One validation error as ``path.to.key: message`` (a ValueError's own text bare)."""
    where = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def build_config(model: type[M], *layers: Mapping[str, Any] | None) -> M:
    """Validate ``model`` from layered mappings (later layers win); errors name the key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer:
            merged = deep_merge(merged, layer)
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(_message(err) for err in exc.errors())
        raise ConfigError(f"invalid {model.__name__}: {problems}") from exc


def load_config(
    model: type[M], path: str | Path | None = None, *flags: Mapping[str, Any] | None
) -> M:
    """The one way a command assembles its config: ``model``'s defaults < the YAML file at
    ``path`` (None: no file) < ``flags`` (nested mappings, later ones win).

    Every section present in the file is validated here, before the command does anything:
    a misspelt key anywhere is a ConfigError that names it. A file shared by several commands
    (a server's ``serve:`` section beside the scoring sections) is described by one model
    holding all its sections, so no command pops a section out by hand.
    """
    return build_config(model, load_yaml(path) if path is not None else None, *flags)


def prefixed(exc: ValidationError, *prefix: str | int) -> list[Any]:
    """The errors of ``exc`` with ``prefix`` put before their locations, ready for
    :meth:`ValidationError.from_exception_data` (a nested section's errors, named in full)."""
    out: list[Any] = []
    for err in exc.errors():
        detail: dict[str, Any] = {
            "type": err["type"],
            "loc": (*prefix, *err["loc"]),
            "input": err["input"],
        }
        if "ctx" in err:
            detail["ctx"] = err["ctx"]
        out.append(detail)
    return out


__all__ = [
    "StrictModel",
    "build_config",
    "deep_merge",
    "load_config",
    "load_yaml",
    "prefixed",
]
