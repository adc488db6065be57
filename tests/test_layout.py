"""Where things live: schema-valid fillers beside the backends, S2L-RM as a package whose config
imports without the scorer, and an import graph without cycles."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from longjudge.judges.schema_fill import fill_schema, fill_schema_json
from longjudge.prompts.check import CheckOut
from longjudge.scorers.longreward.outputs import (
    BatchSupportOut,
    CoverageOut,
    HelpfulnessOut,
    KeyPointsOut,
    LogicalityOut,
    StatementsOut,
    SupportOut,
)
from longjudge.scorers.s2l.verifier import VerifyOut

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "longjudge"

OUTPUTS: list[type[BaseModel]] = [
    CheckOut, VerifyOut, HelpfulnessOut, LogicalityOut, StatementsOut, SupportOut,
    BatchSupportOut, KeyPointsOut, CoverageOut,
]


@pytest.mark.parametrize("model", OUTPUTS, ids=lambda m: m.__name__)
def test_fillers_are_valid_for_every_judge_output_schema(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    texts = {fill_schema_json(schema, seed) for seed in range(5)}
    for text in texts:
        model.model_validate_json(text)  # raises when the filler broke the schema
    assert fill_schema_json(schema, 3) == fill_schema_json(schema, 3)  # deterministic


def test_fillers_respect_enums_bounds_lengths_and_refs() -> None:
    schema = {
        "type": "object",
        "properties": {
            "level": {"enum": [1, 2, 3]},
            "score": {"type": "integer", "minimum": 0, "maximum": 10},
            "note": {"type": "string", "maxLength": 5},
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "minItems": 1},
            "fixed": {"const": "x"},
        },
        "required": ["level", "score", "note", "items", "fixed"],
        "$defs": {"Item": {"type": "object", "properties": {"ok": {"type": "boolean"}},
                           "required": ["ok"]}},
    }
    for seed in range(10):
        value = json.loads(fill_schema_json(schema, seed))
        assert value["level"] in (1, 2, 3) and 0 <= value["score"] <= 10
        assert len(value["note"]) <= 5 and value["fixed"] == "x"
        assert value["items"] and all(isinstance(i["ok"], bool) for i in value["items"])
    assert isinstance(fill_schema({"type": "string"}), str)


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def test_s2l_config_imports_without_the_scorer_and_names_load_on_use() -> None:
    # The reward models import the config; the scorer imports the reward models: in either
    # order, nothing is partly initialised.
    assert _fresh(
        "import sys, longjudge.scorers.s2l.config as c; "
        "print('longjudge.scorers.s2l.scorer' in sys.modules, c.S2LConfig.__name__)"
    ) == "False S2LConfig"
    assert _fresh(
        "import longjudge.scorers.reward_models, longjudge.scorers.s2l as s; "
        "print(s.S2LScorer.__module__, s.make_scorer.__name__, s.VerifyOut.__module__)"
    ) == "longjudge.scorers.s2l.scorer make_scorer longjudge.scorers.s2l.verifier"
    import longjudge.scorers.s2l as s2l

    assert {"S2LScorer", "S2LConfig", "make_scorer", "verify"} <= set(s2l.__all__)
    with pytest.raises(AttributeError):
        _ = s2l.no_such_name  # type: ignore[attr-defined]


def _imports(path: Path, module: str, is_package: bool) -> set[str]:
    """Modules of the package that ``path`` imports anywhere (functions included), except
    under ``if TYPE_CHECKING:``."""
    found: set[str] = set()
    base = module.split(".") if is_package else module.split(".")[:-1]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and (
            node.test.id == "TYPE_CHECKING"
        ):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("longjudge"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base[: len(base) - (node.level - 1)]
                target = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.startswith("longjudge"):
                found.add(target)
                found.update(f"{target}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> package modules it imports (and the packages whose ``__init__`` that runs)."""
    modules: dict[str, tuple[Path, bool]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        targets = {t for t in _imports(path, name, is_package) if t in modules}
        parents = {
            ".".join(t.split(".")[:i]) for t in targets for i in range(1, t.count(".") + 1)
        }
        graph[name] = {t for t in targets | parents if t in modules and t != name
                       and not name.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            strong(v)
    return found


def test_the_import_graph_has_no_cycles() -> None:
    graph = import_graph()
    assert graph["longjudge.testing.fake_judge"] >= {"longjudge.testing.fake_cli"}
    assert cycles(graph) == []
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]  # the check works


#: The package's layers, bottom up (docs/architecture.md, "Layers"). A module may import its
#: own layer and the layers below it, never one above.
LAYERS: list[set[str]] = [
    {"errors", "types", "redact", "config_base", "canon"},
    {"registry"},
    {"components"},
    {"config"},
    {"judges", "text", "io"},
    {"prompts", "testing", "retrieval"},
    {"runtime"},
    {"scorers", "preference"},
    {"scoring", "train"},
    {"distributed", "serve"},
    {"evaluation", "rl"},
    {"cli", "__main__"},
]


def _layer(module: str) -> int:
    part = module.split(".")[1] if "." in module else "__init__"
    for rank, names in enumerate(LAYERS):
        if part in names:
            return rank
    raise AssertionError(f"{module} is in no layer of LAYERS: add its package there")


def test_imports_point_down() -> None:
    graph = import_graph()
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module != "longjudge"  # the public API re-exports from every layer
        for target in targets
        if target != "longjudge" and _layer(target) > _layer(module)
    )
    assert upward == []
