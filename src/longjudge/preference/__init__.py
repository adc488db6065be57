"""Preference data: sample N candidates per prompt, pick pairs or the best one from rewards.

::

    longjudge sample data.jsonl --policy openai/my-model --n 10 --out candidates.jsonl
    longjudge score data.jsonl --responses candidates.jsonl --out runs/r1
    longjudge pairs runs/r1 --strategy best-worst --out pairs.parquet
    longjudge best-of-n runs/r1 --out best.jsonl

Nothing here imports torch or datasets at module level.
"""

from .dataset import load_pairs, trl_rows, write_pairs
from .pairs import REASONS, STRATEGIES, PairConfig, PairsResult, Pick, make_pairs, select_pair
from .picks import BestCandidates, best_and_worst, best_candidates
from .run_inputs import RunData, load_run
from .sampling import (
    DEFAULT_PROMPT_TEMPLATE,
    CandidateFile,
    PromptConfig,
    SampleConfig,
    Sampler,
    SampleResult,
    candidate_id,
    render_prompt,
    sample_file,
)

__all__ = [
    "DEFAULT_PROMPT_TEMPLATE",
    "REASONS",
    "STRATEGIES",
    "BestCandidates",
    "CandidateFile",
    "PairConfig",
    "PairsResult",
    "Pick",
    "PromptConfig",
    "RunData",
    "SampleConfig",
    "SampleResult",
    "Sampler",
    "best_and_worst",
    "best_candidates",
    "candidate_id",
    "load_pairs",
    "load_run",
    "make_pairs",
    "render_prompt",
    "sample_file",
    "select_pair",
    "trl_rows",
    "write_pairs",
]
