"""Rewards for online RL: LongReward or S2L-RM as a TRL reward function, a verl
``compute_score`` (:mod:`longjudge.rl.verl`), and the client side of ``longjudge serve``.

``from longjudge.rl import LongJudgeReward`` is light: no torch, transformers or trl is imported
(the scorer imports what its method needs when it is built). See docs/online-rl.md.
"""

from .options import RewardColumns, RewardOptions
from .reward import LongJudgeReward
from .scoring import RewardInput

__all__ = ["LongJudgeReward", "RewardColumns", "RewardInput", "RewardOptions"]
