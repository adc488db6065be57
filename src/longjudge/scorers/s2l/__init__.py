"""S2L-RM: judge long-context responses without the long context, against a reference answer.

Two parts (``docs/s2l.md``): a factual verifier V(q, y_ref, y) asks the judge whether a response
contradicts the reference (:mod:`.verifier`); a short-context reward model scores the
conversation (query, reference, response). :mod:`.scorer` combines them into one reward per
response under one of three variants; :mod:`.config` is the ``s2l:`` section of a config file.

The scorer's names are loaded on first use: the reward models import :mod:`.config`, and the
scorer imports the reward models, so importing this package must not import the scorer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import DEFAULT_REFERENCE_TEMPLATE, VARIANTS, S2LConfig, Variant

if TYPE_CHECKING:
    from .scorer import Prepared, S2LScorer, make_scorer
    from .verifier import VERIFY_STEP, VerifyOut, verifier_prompt, verify

#: Names served lazily, by the module that defines them.
_LAZY = {
    "Prepared": "scorer",
    "S2LScorer": "scorer",
    "make_scorer": "scorer",
    "VERIFY_STEP": "verifier",
    "VerifyOut": "verifier",
    "verifier_prompt": "verifier",
    "verify": "verifier",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "DEFAULT_REFERENCE_TEMPLATE",
    "VARIANTS",
    "VERIFY_STEP",
    "Prepared",
    "S2LConfig",
    "S2LScorer",
    "Variant",
    "VerifyOut",
    "make_scorer",
    "verifier_prompt",
    "verify",
]
