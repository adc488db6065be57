"""The generic registry: lazy targets, unknown names, install hints, config sections."""

from __future__ import annotations

import pytest

from longjudge.config import RetryConfig
from longjudge.errors import ConfigError, MissingDependencyError
from longjudge.registry import Entry, Registry, load_object


def test_targets_are_imported_on_first_use() -> None:
    registry: Registry[object] = Registry(
        "thing",
        [
            Entry(
                "retry",
                "longjudge.config:RetryConfig",
                "a config",
                config="longjudge.config:RetryConfig",
            )
        ],
    )
    assert registry.names() == ["retry"] and "retry" in registry
    assert registry.factory("retry") is RetryConfig
    assert registry.config_model("retry") is RetryConfig
    assert load_object("longjudge.config:RetryConfig") is RetryConfig


def test_unknown_name_lists_the_known_ones() -> None:
    registry: Registry[object] = Registry("widget", [Entry("a", "x:y", "")])
    with pytest.raises(ConfigError, match=r"unknown widget 'b'; known: a"):
        registry.entry("b")
    with pytest.raises(ValueError, match="already registered"):
        registry.add(Entry("a", "x:z", ""))


def test_a_missing_package_names_the_extra() -> None:
    registry: Registry[object] = Registry(
        "backend", [Entry("gone", "no_such_package_xyz.mod:make", "", extra="local")]
    )
    with pytest.raises(MissingDependencyError, match=r"longjudge\[local\]"):
        registry.factory("gone")


def test_sections_are_validated_with_the_key_named() -> None:
    registry: Registry[object] = Registry(
        "policy",
        [
            Entry(
                "retry", "longjudge.config:RetryConfig", "", config="longjudge.config:RetryConfig"
            ),
            Entry("plain", "longjudge.config:RetryConfig", ""),
        ],
    )
    validated = registry.validate("retry", {"max_attempts": 2})
    assert isinstance(validated, RetryConfig) and validated.max_attempts == 2
    with pytest.raises(ConfigError, match="max_atempts"):
        registry.validate("retry", {"max_atempts": 2})
    assert registry.validate("plain", None) is None
    with pytest.raises(ConfigError, match="takes no settings"):
        registry.validate("plain", {"x": 1})


def test_check_is_the_validator_form() -> None:
    registry: Registry[object] = Registry("widget", [Entry("a", "x:y", "")])
    assert registry.check("a") == "a"
    with pytest.raises(ValueError, match=r"unknown widget 'b'; known: a"):
        registry.check("b")
