"""The mock judge: scripted outputs, the one fake judge of the whole test suite.

A script is a list (answers served in order; an exception instance in it is raised instead) or a
function of the request returning a string, a :class:`JudgeResponse` or raising. ``mock/<name>``
looks a script up in :func:`register_script`'s table; ``mock/schema`` (built in) answers every
structured request with a deterministic schema-valid output.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Callable, Sequence
from typing import Union

from ..config import JudgeConfig
from ..errors import ConfigError
from .base import Judge, JudgeRequest, JudgeResponse
from .schema_fill import fill_schema

Answer = Union[str, JudgeResponse, BaseException]
ScriptFn = Callable[[JudgeRequest], str | JudgeResponse]
Script = Union[Sequence[Answer], ScriptFn]

_SCRIPTS: dict[str, ScriptFn] = {}


def register_script(name: str, fn: ScriptFn) -> None:
    """Make ``mock/<name>`` answer with ``fn(request)``."""
    _SCRIPTS[name] = fn


def schema_answer(request: JudgeRequest) -> str:
    """A schema-valid answer, the same for the same request."""
    digest = hashlib.sha256(json.dumps(request.cache_payload(), sort_keys=True).encode())
    rng = random.Random(int.from_bytes(digest.digest()[:8], "big"))
    if request.schema_ is None:
        return "A mock answer."
    return json.dumps(fill_schema(request.schema_, rng))


register_script("schema", schema_answer)


class MockJudge(Judge):
    """Answers from a script; keeps every request in :attr:`requests`."""

    backend = "mock"

    def __init__(
        self,
        script: Script | None = None,
        model: str = "scripted",
        delay: float = 0.0,
        *,
        structured: bool = True,
    ) -> None:
        super().__init__(model)
        self.requests: list[JudgeRequest] = []
        self.delay = delay
        #: Whether it stands for a backend that enforces schemas (scripts answer the schema's
        #: object) or one that does not (the client then asks for a verdict block).
        self.structured = structured
        self._fn: ScriptFn | None = None
        self._queue: list[Answer] = []
        if script is None:
            self._fn = schema_answer
        elif callable(script):
            self._fn = script
        else:
            self._queue = list(script)

    @property
    def calls(self) -> int:
        return len(self.requests)

    async def generate(self, request: JudgeRequest) -> JudgeResponse:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self._fn is not None:
            answer: Answer = self._fn(request)
        elif self._queue:
            answer = self._queue.pop(0)
        else:
            raise AssertionError(f"mock judge script exhausted after {self.calls - 1} answers")
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, JudgeResponse):
            return answer
        return JudgeResponse(
            texts=[answer] * request.n,
            model=self.model,
            finish_reasons=["stop"] * request.n,
            structured=self.structured and request.schema_ is not None,
        )

    def enforces_schema(self) -> bool:
        return self.structured


def make_judge(model: str, config: JudgeConfig) -> Judge:
    """The ``mock`` backend's factory (components.JUDGES): ``mock/<script name>``."""
    if model not in _SCRIPTS:
        raise ConfigError(f"no mock script named {model!r}; known: {', '.join(sorted(_SCRIPTS))}")
    return MockJudge(_SCRIPTS[model], model=model)


__all__ = ["MockJudge", "make_judge", "register_script", "schema_answer"]
