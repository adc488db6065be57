"""LongReward: helpfulness, logicality, faithfulness and completeness from an LLM judge."""

from __future__ import annotations

from ...runtime.client import JudgeClient
from .config import DIMENSIONS, LongRewardConfig
from .scorer import LongReward, combine


def make_scorer(client: JudgeClient, config: LongRewardConfig) -> LongReward:
    """The ``longreward`` scorer's factory (components.SCORERS)."""
    return LongReward(client, config)


__all__ = ["DIMENSIONS", "LongReward", "LongRewardConfig", "combine", "make_scorer"]
