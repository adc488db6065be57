"""A verl custom reward function built on :class:`~longjudge.rl.LongJudgeReward`.

verl loads this file by path (``custom_reward_function.path``) and calls the function named by
``custom_reward_function.name`` with the keywords of ``custom_reward_function.reward_kwargs``
added to its own (so only absolute imports here)::

    custom_reward_function:
      # the file's path: python -c "import longjudge.rl.verl as m; print(m.__file__)"
      path: /…/site-packages/longjudge/rl/verl.py
      name: compute_score            # per-sample reward managers (naive, prime, dapo)
      # name: compute_score_batch    # with the batch reward manager: a prompt's samples together
      reward_kwargs:
        judge: openai/Qwen2.5-72B-Instruct     # or server: http://judge-host:8100
        base_url: http://judge-host:8000/v1
        config: /path/to/score.yaml
        unscored_value: 0.0                    # required: see below
        scale: 0.1

Each dataset row keeps the long context and the question in ``extra_info`` (keys ``context``
and ``query``; ``columns`` renames them); the reference answer is ``extra_info["reference"]``
when present, else ``ground_truth`` when it is a non-empty string.

verl puts every score into a tensor, so an unscored response cannot stay ``None`` there: the
function needs ``unscored_value`` (what training sees for it) and refuses to run without one;
the returned dict says ``scored: 0.0`` for such a response and the reason is logged. Every dict
has the same keys (``score``, ``scored`` and the method's dimensions, NaN when a dimension is
unscored), as verl's reward managers collect them into per-key lists.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from longjudge.errors import ConfigError
from longjudge.rl.reward import METHOD_DIMENSIONS, LongJudgeReward
from longjudge.rl.scoring import RewardInput
from longjudge.types import Reward

_REWARDS: dict[str, LongJudgeReward] = {}
_LOCK = threading.Lock()


def reward_function(**reward_kwargs: Any) -> tuple[LongJudgeReward, float]:
    """The (cached) LongJudgeReward for these ``reward_kwargs``, and the unscored value."""
    options = dict(reward_kwargs)
    if "unscored_value" not in options or options["unscored_value"] is None:
        raise ConfigError(
            "longjudge's verl reward needs custom_reward_function.reward_kwargs.unscored_value: "
            "the number training sees for a response the judge could not score (verl cannot "
            "take None); choose it deliberately (for example your batch's neutral reward)"
        )
    unscored_value = float(options.pop("unscored_value"))
    key = json.dumps(options, sort_keys=True, default=str)
    with _LOCK:
        reward = _REWARDS.get(key)
        if reward is None:
            reward = _REWARDS[key] = LongJudgeReward(**options)
    return reward, unscored_value


def _item(
    reward: LongJudgeReward, solution_str: Any, ground_truth: Any, extra_info: Any
) -> tuple[RewardInput | None, str]:
    names = reward.options.columns
    info: Mapping[str, Any] = extra_info if isinstance(extra_info, Mapping) else {}
    context, query = info.get(names.context), info.get(names.query)
    if not isinstance(solution_str, str):
        return None, "bad_request: solution_str is not text"
    if not isinstance(context, str) or not context.strip():
        return None, f"bad_request: extra_info has no text under {names.context!r}"
    if not isinstance(query, str) or not query.strip():
        return None, f"bad_request: extra_info has no text under {names.query!r}"
    reference = info.get(names.reference)
    if not isinstance(reference, str) or not reference.strip():
        reference = ground_truth if isinstance(ground_truth, str) and ground_truth.strip() else None
    return RewardInput(context, query, solution_str, reference), ""


def _result(reward: Reward, rl: LongJudgeReward, unscored_value: float) -> dict[str, float]:
    value = rl.value(reward)
    out = {
        "score": value if value is not None else unscored_value,
        "scored": 1.0 if value is not None else 0.0,
    }
    for name in METHOD_DIMENSIONS.get(rl.method, ()):
        dim = reward.dimensions.get(name)
        out[name] = dim.score if dim is not None and dim.score is not None else math.nan
    return out


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[Any],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None = None,
    **reward_kwargs: Any,
) -> list[dict[str, float]]:
    """verl's batched custom reward (``reward_model.reward_manager=batch``): one dict per
    response, in order. Responses that share context, question and reference are scored as
    one group, so their per-prompt work is done once."""
    reward, unscored_value = reward_function(**reward_kwargs)
    infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    pairs = [_item(reward, s, g, e) for s, g, e in zip(solution_strs, ground_truths, infos)]
    rewards = reward.score_and_record([p[0] for p in pairs], [p[1] for p in pairs])
    return [_result(r, reward, unscored_value) for r in rewards]


def compute_score(
    data_source: Any,
    solution_str: Any,
    ground_truth: Any,
    extra_info: Any = None,
    **reward_kwargs: Any,
) -> dict[str, float]:
    """verl's per-sample custom reward (the default ``naive`` reward manager): a dict whose
    ``score`` is the reward. A prompt's per-prompt work is kept between calls (the reward
    function's ``prepared_cache_size``), so its other samples do not repeat it."""
    (result,) = compute_score_batch(
        [data_source], [solution_str], [ground_truth], [extra_info], **reward_kwargs
    )
    return result


def close_all() -> None:
    """Close every reward function this module made (judge clients, caches, loops)."""
    with _LOCK:
        rewards = list(_REWARDS.values())
        _REWARDS.clear()
    for reward in rewards:
        reward.close()


__all__ = ["close_all", "compute_score", "compute_score_batch", "reward_function"]
