"""Judge backends: ``openai`` (any OpenAI-compatible server), ``local`` (embedded llama.cpp),
``mock`` (scripted, for tests). Create one from a spec with :func:`create_judge`."""

from .base import Judge, JudgeRequest, JudgeResponse
from .registry import backends, create_judge, parse_spec

__all__ = [
    "Judge",
    "JudgeRequest",
    "JudgeResponse",
    "backends",
    "create_judge",
    "parse_spec",
]
