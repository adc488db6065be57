"""Prompt templates, marked data blocks and tolerant, strict parsing of judge outputs.

Template files live in ``templates/<name>.<lang>.txt`` with ``=== system ===`` and
``=== user ===`` sections and ``{{placeholders}}``. Rendering substitutes all placeholders in one
pass, so text inserted into one placeholder is never rendered again.

Judged text (responses, contexts, references) goes through :func:`data_block`: it is wrapped in
markers that carry a hash of the text itself, and anything in it that looks like a marker is
defused, so a response can neither close its block nor open a new one. Parsing reads only the
judge's own output; the score is a field of a validated JSON object, never a pattern that a
response could plant.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from importlib.resources import files
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import ParseError, PromptError
from ..judges.base import JudgeRequest, JudgeResponse

Language = Literal["en", "zh"]
Out = TypeVar("Out", bound=BaseModel)

_SECTION = re.compile(r"^=== (system|user) ===\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_MARKER_LIKE = re.compile(r"<<<|>>>")


def detect_language(*texts: str) -> Language:
    """'zh' when CJK characters make up a real share of the text, else 'en'."""
    sample = "".join(t[:4000] for t in texts)
    letters = sum(1 for ch in sample if ch.isalpha())
    cjk = len(_CJK.findall(sample))
    return "zh" if letters and cjk / letters > 0.2 else "en"


def data_block(label: str, text: str) -> str:
    """Wrap judged text in markers it cannot close or imitate."""
    tag = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    safe = _MARKER_LIKE.sub(lambda m: "‹‹‹" if m.group() == "<<<" else "›››", text)
    return f"<<<{label} {tag}>>>\n{safe}\n<<<END {label} {tag}>>>"


@cache
def load_template(name: str, lang: Language) -> tuple[str, str, str]:
    """Return (system, user, sha256) of ``templates/<name>.<lang>.txt``."""
    path = files("longjudge.prompts").joinpath("templates").joinpath(f"{name}.{lang}.txt")
    try:
        raw = path.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise PromptError(f"no prompt template {name}.{lang}.txt") from exc
    parts = _SECTION.split(raw)
    sections = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}
    if "user" not in sections:
        raise PromptError(f"template {name}.{lang}.txt has no '=== user ===' section")
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    return sections.get("system", ""), sections["user"], digest


def render(template: str, values: dict[str, str]) -> str:
    """Substitute ``{{name}}`` in one pass; a missing value is a PromptError."""

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise PromptError(f"template needs {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER.sub(sub, template)


def extract_json(text: str) -> Any:
    """The judge's JSON answer: the whole text, a fenced block, or the last balanced object."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = re.sub(r"^```\w*\s*|\s*```$", "", stripped)
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    found: Any = None
    index = stripped.find("{")
    while index != -1:
        try:
            found, end = decoder.raw_decode(stripped, index)
        except ValueError:
            index = stripped.find("{", index + 1)
            continue
        index = stripped.find("{", end)
    if found is None:
        raise ParseError("not_json", stripped[:120])
    return found


class Prompt(Generic[Out]):
    """One judge step: a template per language, an output model, rendering and parsing."""

    def __init__(
        self,
        name: str,
        output: type[Out],
        *,
        max_tokens: int = 1024,
        max_chars: dict[str, int] | None = None,
    ) -> None:
        self.name = name
        self.output = output
        self.max_tokens = max_tokens
        self.schema: dict[str, Any] = output.model_json_schema()
        if max_chars:
            _limit_strings(self.schema, max_chars)

    def hash(self, lang: Language) -> str:
        """A short hash of the template and the output schema, stored with every result."""
        _, _, digest = load_template(self.name, lang)
        blob = digest + json.dumps(self.schema, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def request(
        self,
        lang: Language,
        values: dict[str, str],
        *,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
        schema: dict[str, Any] | None = None,
    ) -> JudgeRequest:
        """Render the messages; ``schema`` replaces the output model's for this request only
        (a batch-specific schema), validation still uses the output model."""
        system, user, _ = load_template(self.name, lang)
        messages: list[dict[str, str]] = []
        if system:
            messages.append({"role": "system", "content": render(system, values)})
        messages.append({"role": "user", "content": render(user, values)})
        return JudgeRequest(
            messages=tuple(messages),
            schema=schema or self.schema,
            schema_name=self.name.replace(".", "_"),
            temperature=temperature,
            max_tokens=max_tokens or self.max_tokens,
            seed=seed,
        )

    def parse(self, response: JudgeResponse) -> Out:
        """Validate the judge's output; ParseError with a short reason when it is unusable."""
        text = response.text
        if not text.strip():
            raise ParseError("empty_output")
        try:
            data = extract_json(text)
        except ParseError as exc:
            if response.truncated:
                raise ParseError("truncated_output", exc.detail) from exc
            raise
        try:
            return self.output.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "<root>"
            raise ParseError("schema_invalid", f"{where}: {first['msg']}") from exc


def _limit_strings(schema: dict[str, Any], max_chars: dict[str, int]) -> None:
    """Set ``maxLength`` on the named string fields, wherever they are in the schema.

    A generation bound for grammar-constrained backends (a small model can otherwise write
    an analysis until the token budget runs out); validation does not enforce it.
    """
    for node in [schema, *schema.get("$defs", {}).values()]:
        for name, prop in node.get("properties", {}).items():
            if name in max_chars and prop.get("type") == "string":
                prop["maxLength"] = max_chars[name]


__all__ = [
    "Language",
    "Prompt",
    "data_block",
    "detect_language",
    "extract_json",
    "load_template",
    "render",
]
