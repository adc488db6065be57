"""Generate a JSON value valid for a (simple) JSON schema.

Production code beside the backends: the mock judge's default answer, the placeholder output
of ``--dry-run`` (:class:`~longjudge.runtime.client.JudgeClient`) and the fake judge server's
answers all come from here. Written here because the schema subset judges use (objects, arrays,
enums, strings, numbers, $defs) is small and a generator dependency would be heavier.
"""

from __future__ import annotations

import json
import random
from typing import Any


def fill_schema(schema: dict[str, Any], rng: random.Random | None = None) -> Any:
    """Return a value valid for ``schema``."""
    rng = rng or random.Random(0)
    return _fill(schema, schema.get("$defs", {}), rng, 0)


def fill_schema_json(schema: dict[str, Any], seed: int = 0) -> str:
    return json.dumps(fill_schema(schema, random.Random(seed)), ensure_ascii=False)


def _fill(schema: dict[str, Any], defs: dict[str, Any], rng: random.Random, depth: int) -> Any:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _fill(defs[name], defs, rng, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _fill(rng.choice(options), defs, rng, depth + 1)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _fill(sub, defs, rng, depth + 1) for name, sub in props.items()}
    if kind == "array":
        low = int(schema.get("minItems", 1))
        high = max(low, min(int(schema.get("maxItems", low + 2)), low + 2))
        count = rng.randint(low, high) if depth < 6 else low
        return [_fill(schema.get("items", {}), defs, rng, depth + 1) for _ in range(count)]
    if kind == "integer":
        first = int(schema.get("minimum", 0))
        return rng.randint(first, int(schema.get("maximum", first + 10)))
    if kind == "number":
        start = float(schema.get("minimum", 0.0))
        return round(rng.uniform(start, float(schema.get("maximum", start + 10.0))), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    words = ["the", "response", "is", "supported", "by", "the", "context", "and", "clear"]
    text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 9)))
    limit = schema.get("maxLength")
    return text[: int(limit)] if limit else text


__all__ = ["fill_schema", "fill_schema_json"]
