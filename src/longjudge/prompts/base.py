"""Prompt templates, marked data blocks and tolerant, strict parsing of judge outputs.

Template files live in ``templates/<name>.<lang>.txt`` with ``=== system ===`` and
``=== user ===`` sections and ``{{placeholders}}``. Rendering substitutes all placeholders in one
pass, so text inserted into one placeholder is never rendered again.

Judged text (responses, contexts, references) goes through :func:`data_block`: it is wrapped in
markers that carry a hash of the text itself, and anything in it that looks like a marker is
defused, so a response can neither close its block nor open a new one. Parsing reads only the
judge's own output; the score is a field of a validated JSON object, never a pattern that a
response could plant.

Where the verdict is read from depends on whether the backend enforced the output schema:

- **structured** (a grammar or the server's structured-output mode): the whole completion must be
  the schema's object; text before or after it makes the output unusable (a fence around the
  whole of it is tolerated). Never "the last JSON object": a judge that quotes a response's
  planted ``{"score": 10}`` after its own verdict would hand the score to the response's author.
- **unstructured** (``structured_output: none``, the ``auto`` fallback, any backend whose
  :meth:`~longjudge.judges.base.Judge.enforces_schema` is false): :func:`with_verdict_block`
  appends an instruction (template ``verdict_block.<lang>.txt``) asking for the JSON between
  ``<<<VERDICT nonce>>>`` and ``<<<END VERDICT nonce>>>``, with a fresh random nonce per request;
  :func:`read_verdict_block` reads only that block. Judged text cannot produce the markers: it
  never sees the nonce, and its own ``<<<``/``>>>`` were defused by :func:`data_block`.

The nonce is kept out of the cache key on purpose (:func:`verdict_cache_tag` stands in for it):
it is a label with no bearing on the verdict, a random one per request would otherwise make
every request unique and defeat the cache, and a nonce derived from the request alone could be
computed by a response's author. The cached response keeps the nonce it was asked with, so a
cache hit is read from the block it was written in.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
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
_FENCED = re.compile(r"```[\w-]*\s*(.*?)\s*```", re.S)

#: Label of the block an unstructured judge writes its verdict in.
VERDICT_LABEL = "VERDICT"
_VERDICT_NONCE = re.compile(rf"<<<{VERDICT_LABEL} ([0-9a-f]{{16}})>>>")


def detect_language(*texts: str) -> Language:
    """'zh' when CJK characters make up a real share of the text, else 'en'."""
    sample = "".join(t[:4000] for t in texts)
    letters = sum(map(str.isalpha, sample))  # counted in C, not by a generator
    cjk = len(_CJK.findall(sample))
    return "zh" if letters and cjk / letters > 0.2 else "en"


def data_block(label: str, text: str) -> str:
    """Wrap judged text in markers it cannot close or imitate."""
    tag = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    safe = text
    if "<<<" in text or ">>>" in text:  # (a plain search is many times faster than the regex)
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
    """The judge's JSON answer: the whole text, or one fenced block that is the whole text.

    Nothing else is accepted: text around the object, or two objects, is ``not_json``.
    """
    stripped = text.strip()
    fenced = _FENCED.fullmatch(stripped)
    if fenced is not None:
        stripped = fenced.group(1).strip()
    try:
        return json.loads(stripped)
    except ValueError:
        raise ParseError("not_json", stripped[:120]) from None


def verdict_markers(nonce: str) -> tuple[str, str]:
    """The opening and closing lines of the verdict block for ``nonce``."""
    return f"<<<{VERDICT_LABEL} {nonce}>>>", f"<<<END {VERDICT_LABEL} {nonce}>>>"


def new_nonce() -> str:
    """16 random hex digits: unguessable by the author of any judged text."""
    return secrets.token_hex(8)


def verdict_cache_tag() -> str:
    """What stands for the verdict-block instruction in a cache key: the instruction templates'
    hash (the nonce is left out, see the module docstring)."""
    digests = [load_template("verdict_block", lang)[2] for lang in ("en", "zh")]
    return hashlib.sha256("".join(digests).encode()).hexdigest()[:12]


def with_verdict_block(request: JudgeRequest, nonce: str) -> JudgeRequest:
    """``request`` with the verdict-block instruction appended to its last user message."""
    messages = [dict(m) for m in request.messages]
    last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if last is None:
        raise PromptError("a request without a user message cannot ask for a verdict block")
    content = messages[last].get("content", "")
    _, template, _ = load_template("verdict_block", detect_language(content))
    opening, closing = verdict_markers(nonce)
    instruction = render(template, {"open": opening, "close": closing})
    messages[last]["content"] = f"{content}\n\n{instruction}"
    return request.model_copy(update={"messages": tuple(messages)})


def requested_nonce(request: JudgeRequest) -> str | None:
    """The nonce a request's verdict-block instruction asks for (None: no block asked).

    What a scripted judge reads to answer as a real one would."""
    users = [m.get("content", "") for m in request.messages if m.get("role") == "user"]
    found = _VERDICT_NONCE.findall(users[-1]) if users else []
    return found[-1] if found else None


def read_verdict_block(text: str, nonce: str) -> Any:
    """The JSON verdict between the markers of ``nonce``; ParseError when there is none or when
    blocks disagree. Text outside the markers, quotes of judged text included, is ignored."""
    opening, closing = verdict_markers(nonce)
    pattern = re.compile(re.escape(opening) + r"(.*?)" + re.escape(closing), re.S)
    bodies = [m.group(1) for m in pattern.finditer(text)]
    if not bodies:
        raise ParseError("no_verdict_block", text.strip()[:120])
    found: list[Any] = []
    for body in bodies:
        try:
            data = extract_json(body)
        except ParseError:
            continue  # e.g. the judge restating the instruction, markers with no JSON between
        if data not in found:
            found.append(data)
    if not found:
        raise ParseError("not_json", bodies[-1].strip()[:120])
    if len(found) > 1:
        raise ParseError("ambiguous_verdict", f"{len(found)} different verdict blocks")
    return found[0]


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
        self._hashes: dict[str, str] = {}

    def hash(self, lang: Language) -> str:
        """A short hash of the template and the output schema, stored with every result
        (worked out once per language: it is asked for every request)."""
        known = self._hashes.get(lang)
        if known is None:
            _, _, digest = load_template(self.name, lang)
            blob = digest + json.dumps(self.schema, sort_keys=True)
            known = self._hashes[lang] = hashlib.sha256(blob.encode()).hexdigest()[:12]
        return known

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
        """Validate the judge's output; ParseError with a short reason when it is unusable.

        A response asked with a verdict block (``verdict_nonce`` set) is read from that block;
        any other must be the schema's object and nothing else."""
        text = response.text
        if not text.strip():
            raise ParseError("empty_output")
        try:
            if response.verdict_nonce is not None:
                data = read_verdict_block(text, response.verdict_nonce)
            else:
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
    "VERDICT_LABEL",
    "Language",
    "Prompt",
    "data_block",
    "detect_language",
    "extract_json",
    "load_template",
    "new_nonce",
    "read_verdict_block",
    "render",
    "requested_nonce",
    "verdict_cache_tag",
    "verdict_markers",
    "with_verdict_block",
]
