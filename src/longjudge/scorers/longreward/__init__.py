"""LongReward: helpfulness, logicality, faithfulness and completeness from an LLM judge."""

from __future__ import annotations

from typing import Any

from ...config import build_config
from ...runtime.client import JudgeClient
from ..registry import register_scorer
from .config import DIMENSIONS, LongRewardConfig
from .scorer import LongReward, combine


@register_scorer("longreward")
def _make(client: JudgeClient, options: dict[str, Any]) -> LongReward:
    return LongReward(client, build_config(LongRewardConfig, options))


__all__ = ["DIMENSIONS", "LongReward", "LongRewardConfig", "combine"]
