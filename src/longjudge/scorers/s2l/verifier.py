"""The S2L-RM factual verifier V(q, y_ref, y): does a response contradict the reference answer?

Omissions and extra detail the reference does not rule out are not contradictions. The verdict
is the ``verifier`` dimension of a reward: 10 (consistent), 0 (contradicts), or unscored with
the reason when the judge fails or its output is unusable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ...errors import JudgeError, ParseError
from ...prompts.base import Language, Prompt, data_block
from ...runtime.client import JudgeClient
from ...runtime.usage import UsageTracker
from ...types import DimensionScore
from ..reward_models import RMItem
from .config import S2LConfig

VERIFY_STEP = "s2l.verify"
Verdict = Literal["consistent", "contradicts"]


class VerifyOut(BaseModel):
    """The verifier's output: its reasoning first, then the verdict."""

    model_config = ConfigDict(extra="ignore")

    reasoning: str = Field(
        description="Which claims of the answer were compared with the reference, and what "
        "was found."
    )
    verdict: Verdict


def verifier_prompt(config: S2LConfig) -> Prompt[VerifyOut]:
    return Prompt(
        "s2l_verify",
        VerifyOut,
        max_tokens=config.max_tokens,
        max_chars={"reasoning": config.reasoning_chars},
    )


async def verify(
    client: JudgeClient,
    prompt: Prompt[VerifyOut],
    language: Language,
    item: RMItem,
) -> DimensionScore:
    """V(q, y_ref, y): the ``verifier`` dimension, 10 (consistent) or 0 (contradicts), or
    unscored with the reason when the judge fails or its output is unusable."""
    assert item.reference is not None
    values = {
        "question": data_block("QUESTION", item.query),
        "reference": data_block("REFERENCE", item.reference),
        "answer": data_block("ANSWER", item.response),
    }
    request = prompt.request(language, values, temperature=client.temperature, seed=client.seed)
    usage = UsageTracker()
    hashes = {VERIFY_STEP: prompt.hash(language)}
    try:
        out = await client.complete(request, step=VERIFY_STEP, parse=prompt.parse, usage=usage)
    except ParseError as exc:
        return DimensionScore.unscored(
            "verifier", f"{VERIFY_STEP}: {exc}", usage=usage.total(), prompt_hashes=hashes
        )
    except JudgeError as exc:
        return DimensionScore.unscored(
            "verifier",
            f"{VERIFY_STEP}: judge error: {exc}",
            usage=usage.total(),
            prompt_hashes=hashes,
        )
    return DimensionScore.scored(
        "verifier",
        10.0 if out.verdict == "consistent" else 0.0,
        analysis=out.reasoning,
        details={"verdict": out.verdict, "reasoning": out.reasoning},
        usage=usage.total(),
        prompt_hashes=hashes,
    )


__all__ = ["VERIFY_STEP", "Verdict", "VerifyOut", "verifier_prompt", "verify"]
