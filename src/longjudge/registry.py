"""One generic registry: a name maps to a factory, an install hint and a config model.

Every pluggable kind (judge backends, scorers, reward models, retrievers, pair strategies,
engines) is a :class:`Registry` declared in one place, :mod:`longjudge.components`. An entry
names its factory and its config model as ``"module:attribute"`` strings, imported on first
use: the registry never imports the modules that implement its entries (no import cycles,
``import longjudge`` stays light), and a missing optional dependency becomes an error with the
install command only when that entry is asked for.

A plugin outside longjudge adds an entry with :meth:`Registry.add`::

    from longjudge.components import SCORERS
    from longjudge.registry import Entry
    SCORERS.add(Entry("mine", "my_package.scorer:make", summary="my scorer"))
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .config_base import build_config
from .errors import ConfigError, MissingDependencyError

F = TypeVar("F")


@dataclass(frozen=True)
class Entry:
    """One registered implementation.

    ``target`` and ``config`` are ``"module:attribute"`` paths, imported on first use.
    ``extra`` is the ``longjudge[extra]`` that installs the optional packages the target needs
    (None: none); ``needs`` says in words what else it needs (a server, a model file).
    """

    name: str
    target: str
    summary: str
    config: str | None = None
    extra: str | None = None
    needs: str = ""
    example: str = ""


def load_object(path: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"{path!r} is not a 'module:attribute' path")
    module = importlib.import_module(module_name)
    return getattr(module, attribute)


class Registry(Generic[F]):
    """Name → :class:`Entry` for one kind of component; ``F`` is the factory's type."""

    def __init__(self, kind: str, entries: Iterable[Entry] = ()) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: Entry, *, replace: bool = False) -> None:
        """Register ``entry``; an existing name is an error unless ``replace``."""
        if entry.name in self._entries and not replace:
            raise ValueError(f"{self.kind} {entry.name!r} is already registered")
        self._entries[entry.name] = entry

    def remove(self, name: str) -> Entry:
        """Unregister ``name`` (a plugin's or a test's entry); returns the entry removed."""
        return self._entries.pop(self.entry(name).name)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[name] for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def check(self, name: str) -> str:
        """``name`` if registered, else ValueError listing the known names (for a pydantic
        validator, which names the key: ``pairs.strategy: unknown pair strategy ...``)."""
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        return name

    def entry(self, name: str) -> Entry:
        """The entry called ``name``; an unknown name is a ConfigError listing the known ones."""
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self.names())
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def factory(self, name: str) -> F:
        """Import and return the factory of ``name`` (a missing extra names its install)."""
        entry = self.entry(name)
        try:
            factory: F = load_object(entry.target)
        except ImportError as exc:
            if isinstance(exc, MissingDependencyError) or entry.extra is None:
                raise
            package = exc.name or str(exc)
            raise MissingDependencyError(package, entry.extra, f"{self.kind} {name!r}") from exc
        return factory

    def config_model(self, name: str) -> type[BaseModel] | None:
        """The config model of ``name``'s section, or None when it takes none."""
        entry = self.entry(name)
        if entry.config is None:
            return None
        model: type[BaseModel] = load_object(entry.config)
        return model

    def validate(self, name: str, section: Mapping[str, Any] | None) -> BaseModel | None:
        """``section`` validated by ``name``'s config model; errors name the key.

        A non-empty section for an entry without a config model is an error too."""
        model = self.config_model(name)
        if model is None:
            if section:
                raise ConfigError(f"{self.kind} {name!r} takes no settings; got {dict(section)}")
            return None
        return build_config(model, dict(section or {}))


__all__ = ["Entry", "Registry", "load_object"]
