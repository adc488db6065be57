"""preference/picks: the one best/worst rule shared by the rewards table, pairs and best-of-N,
and the reward lookup of ``longjudge show``."""

from __future__ import annotations

import pytest

from longjudge.errors import InputError
from longjudge.preference.pairs import PairConfig, select_pair
from longjudge.preference.picks import best_and_worst, find_reward
from longjudge.types import Reward


def reward(cid: str, total: float | None, eid: str = "e", excluded: bool = False) -> Reward:
    if total is None:
        return Reward(example_id=eid, candidate_id=cid, method="t", status="unscored",
                      reason="judge error")
    return Reward(example_id=eid, candidate_id=cid, method="t", status="scored", total=total,
                  excluded="outside_trust_region: x" if excluded else None)


def ids(picks: tuple[Reward, Reward] | None) -> tuple[str, str] | None:
    return None if picks is None else (picks[0].candidate_id, picks[1].candidate_id)


def test_best_and_worst_among_selectable_only() -> None:
    group = [reward("a", 5), reward("b", 9, excluded=True), reward("c", 7), reward("d", None),
             reward("e", 1)]
    assert ids(best_and_worst(group)) == ("c", "e")


def test_no_pick_when_fewer_than_two_or_all_equal() -> None:
    assert best_and_worst([reward("a", 5), reward("b", None)]) is None
    assert best_and_worst([reward("a", 5), reward("b", 3, excluded=True)]) is None
    assert best_and_worst([reward("a", 4), reward("b", 4), reward("c", 4)]) is None
    assert best_and_worst([]) is None


def test_equal_totals_go_to_the_first_listed_like_the_pairs() -> None:
    group = [reward("a", 2), reward("b", 8), reward("c", 8), reward("d", 2)]
    assert ids(best_and_worst(group)) == ("b", "a")
    pair = select_pair(group, PairConfig())
    assert not isinstance(pair, str)
    assert (pair.chosen.candidate_id, pair.rejected.candidate_id) == ("b", "a")


def test_find_reward_defaults_to_the_top_of_the_first_prompt() -> None:
    rewards = [reward("a", None, "e1"), reward("b", 3, "e1"), reward("c", 3, "e1"),
               reward("x", 9, "e2")]
    assert find_reward(rewards, None, None).candidate_id == "b"
    assert find_reward(rewards, None, "e2").candidate_id == "x"
    assert find_reward(rewards, "a", None).candidate_id == "a"


def test_find_reward_names_what_is_there_or_asks_for_the_prompt() -> None:
    rewards = [reward("a", 1, "e1"), reward("a", 2, "e2")]
    with pytest.raises(InputError, match=r"no reward for candidate 'zz'.*candidates: a"):
        find_reward(rewards, "zz", None)
    with pytest.raises(InputError, match="name one with --example"):
        find_reward(rewards, "a", None)
    assert find_reward(rewards, "a", "e2").total == 2
    with pytest.raises(InputError, match="no rewards yet"):
        find_reward([], None, None)
