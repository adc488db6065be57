"""S2L-RM settings: the ``s2l:`` section of the YAML config (``--rm`` and ``--variant`` set
``rm`` and ``variant``). Each field documents itself; unknown keys are errors."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ...config import StrictModel

Variant = Literal["r(q,y)", "+ref", "+ref+trust"]
VARIANTS: tuple[Variant, ...] = ("r(q,y)", "+ref", "+ref+trust")

#: How the reference enters the reward model's user turn (variants ``+ref`` and ``+ref+trust``).
DEFAULT_REFERENCE_TEMPLATE = (
    "{query}\n\nA correct reference answer to this question, for comparison:\n{reference}"
)


class S2LConfig(StrictModel):
    """How S2L-RM verifies responses against the reference and scores them with a reward model."""

    rm: str | None = Field(
        None,
        description="Reward model spec: 'hf/<local path or model name>' (a transformers "
        "sequence classifier) or 'http/<url>' (a reward model server). Required.",
    )
    variant: Variant = Field(
        "+ref+trust",
        description="'r(q,y)': query and response only (the baseline); '+ref': the reference "
        "is put into the reward model's input; '+ref+trust': S2L-RM, '+ref' plus the factual "
        "verifier's trust region (responses that contradict the reference are excluded).",
    )
    with_baseline: bool = Field(
        False,
        description="Also compute the r(q,y) score of every response (meta.baseline_score), "
        "so that the 's2l-baseline' pair strategy works from one run.",
    )
    verify: bool | None = Field(
        None,
        description="Run the factual verifier. Default (None): only for '+ref+trust'. True "
        "with '+ref' records the verdict without excluding anyone.",
    )
    reference_template: str = Field(
        DEFAULT_REFERENCE_TEMPLATE,
        description="The reward model's user turn when the reference is given: '{query}' and "
        "'{reference}' are replaced (in one pass; other braces are kept as they are). Without "
        "the reference the user turn is the query alone.",
    )
    language: Literal["auto", "en", "zh"] = Field(
        "auto", description="Verifier prompt language; 'auto' picks by the query and reference."
    )
    max_length: int = Field(
        4096,
        ge=16,
        description="hf: most tokens of one reward model input. A longer input loses tokens "
        "from the reference first, then the query, never the response; counted in "
        "meta.truncation and in the run summary. A response that alone does not fit is "
        "unscored.",
    )
    truncation_side: Literal["right", "left"] = Field(
        "right",
        description="Ignored (kept so that older configs load): the response is never cut; "
        "see max_length.",
    )
    batch_size: int = Field(
        8, ge=1, description="hf: sequences per forward pass; http: items per request."
    )
    sort_by_length: bool = Field(
        True,
        description="hf: batch inputs of similar token length together (less padding); the "
        "scores come back in input order either way.",
    )
    trust_remote_code: bool = Field(
        False,
        description="hf: allow the model repository's own Python code (needed by e.g. ArmoRM). "
        "Only turn on for models you trust.",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="hf: 'auto' is CUDA when available, else CPU."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="hf: 'auto' is bfloat16 on CUDA and float32 on CPU."
    )
    chat_template: str | None = Field(
        None,
        description="hf: a Jinja chat template replacing the tokenizer's (needed when the "
        "tokenizer has none).",
    )
    logit_index: int | None = Field(
        None,
        ge=0,
        description="Which output to read when the model gives several values and no 'score' "
        "field (hf logits, vLLM probs). None: the model must give exactly one.",
    )
    http_api: Literal["auto", "native", "classify", "pooling"] = Field(
        "auto",
        description="http: 'native' is longjudge's JSON contract (see docs/s2l.md); 'classify' "
        "and 'pooling' are vLLM's endpoints (one chat conversation per request); 'auto' picks "
        "by the URL's last path segment (/classify, /pooling, else native).",
    )
    http_model: str | None = Field(
        None, description="http: the 'model' field sent to vLLM endpoints (None: not sent)."
    )
    http_extra: dict[str, Any] = Field(
        default_factory=dict,
        description="http: extra fields merged into every vLLM request body "
        "(e.g. {'truncate_prompt_tokens': 4096}).",
    )
    api_key_env: str | None = Field(
        None,
        description="http: name of the environment variable holding a bearer token "
        "(never the token itself).",
    )
    timeout: float = Field(60.0, gt=0, description="http: seconds before a request is abandoned.")
    max_concurrency: int = Field(
        4, ge=1, description="http: most requests in flight to the reward model server (the "
        "adaptive limiter of runtime/limiter.py finds the server's capacity below it).",
    )
    max_tokens: int = Field(512, ge=16, description="Verifier: completion budget of one call.")
    reasoning_chars: int = Field(
        1200, ge=40, description="Verifier: longest reasoning the judge may write (schema bound)."
    )

    @field_validator("reference_template")
    @classmethod
    def _template_has_fields(cls, value: str) -> str:
        for name in ("{query}", "{reference}"):
            if name not in value:
                raise ValueError(f"reference_template must contain {name}")
        return value

    @model_validator(mode="after")
    def _check(self) -> S2LConfig:
        if self.verify and self.variant == "r(q,y)":
            raise ValueError("the verifier needs the reference: use variant '+ref' to verify")
        if self.verify is False and self.variant == "+ref+trust":
            raise ValueError("variant '+ref+trust' needs the verifier (verify must not be false)")
        return self

    @property
    def uses_reference(self) -> bool:
        """Whether the reward model's main input holds the reference."""
        return self.variant != "r(q,y)"

    @property
    def runs_verifier(self) -> bool:
        return self.variant == "+ref+trust" or bool(self.verify)


__all__ = ["DEFAULT_REFERENCE_TEMPLATE", "VARIANTS", "S2LConfig", "Variant"]
