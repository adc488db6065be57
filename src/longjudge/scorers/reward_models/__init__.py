"""Short-context reward models for S2L-RM: ``hf`` (transformers, in process) and ``http``
(a reward model server), registered by name and picked by a spec ``backend/target``."""

from .base import RewardModel, RMBatcher, RMItem, RMScore, RMStats, build_messages, user_turn
from .registry import (
    RMOptions,
    create_reward_model,
    parse_rm_spec,
    reward_model_backends,
)

__all__ = [
    "RMBatcher",
    "RMItem",
    "RMOptions",
    "RMScore",
    "RMStats",
    "RewardModel",
    "build_messages",
    "create_reward_model",
    "parse_rm_spec",
    "reward_model_backends",
    "user_turn",
]
