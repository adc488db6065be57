"""longjudge: long-context reward modeling.

Score long-context responses with an LLM judge (LongReward) or a short-context reward model
against a reference (S2L-RM), turn the scores into preference pairs, train DPO + CE on them and
evaluate reward methods against people. ``import longjudge`` is light: torch, transformers and
ray are imported only by the features that need them.
"""

from .config import CacheConfig, JudgeConfig, RetryConfig, RunConfig
from .errors import (
    ConfigError,
    FatalJudgeError,
    InputError,
    JudgeError,
    LongJudgeError,
    MissingDependencyError,
    ParseError,
    RateLimitError,
    TransientJudgeError,
)
from .judges import Judge, JudgeRequest, JudgeResponse, create_judge
from .judges.mock import MockJudge
from .runtime.cache import JudgeCache
from .runtime.client import JudgeClient
from .runtime.rundir import RunDir
from .scorers.base import Scorer
from .scorers.longreward import LongReward, LongRewardConfig
from .scoring import ScoringContext, run_scoring
from .types import (
    Candidate,
    DimensionScore,
    Evidence,
    Example,
    PreferencePair,
    Reward,
    Usage,
    Verdict,
)

__version__ = "0.1.0"

__all__ = [
    "CacheConfig",
    "Candidate",
    "ConfigError",
    "DimensionScore",
    "Evidence",
    "Example",
    "FatalJudgeError",
    "InputError",
    "Judge",
    "JudgeCache",
    "JudgeClient",
    "JudgeConfig",
    "JudgeError",
    "JudgeRequest",
    "JudgeResponse",
    "LongJudgeError",
    "LongReward",
    "LongRewardConfig",
    "MissingDependencyError",
    "MockJudge",
    "ParseError",
    "PreferencePair",
    "RateLimitError",
    "RetryConfig",
    "Reward",
    "RunConfig",
    "RunDir",
    "Scorer",
    "ScoringContext",
    "TransientJudgeError",
    "Usage",
    "Verdict",
    "__version__",
    "create_judge",
    "run_scoring",
]
