"""Metric functions against hand-computed values and against scipy."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from longjudge.evaluation.metrics import (
    BootstrapConfig,
    PairOutcome,
    bootstrap_mean_ci,
    bootstrap_ratio_ci,
    kendall_tau,
    kendall_tau_b,
    pairwise_accuracy,
    prefer,
    spearman_rho,
)


def test_prefer() -> None:
    assert prefer(7.0, 5.0) == "a"
    assert prefer(5.0, 7.0) == "b"
    assert prefer(5.0, 5.0) == "tie"
    assert prefer(5.0, 5.4, tolerance=0.5) == "tie"
    assert prefer(None, 5.0) is None


def test_pairwise_accuracy_by_hand() -> None:
    outcomes = [
        PairOutcome("a", "a"),      # right
        PairOutcome("b", "a"),      # wrong
        PairOutcome("a", "tie"),    # decided by people, tied by the scorer
        PairOutcome("tie", "tie"),  # human tie, scorer tied too
        PairOutcome("tie", "b"),    # human tie, scorer decided
        PairOutcome("b", None),     # one side unscored
        PairOutcome("b", "b"),      # right
    ]
    acc = pairwise_accuracy(outcomes)
    assert (acc.pairs, acc.human_ties, acc.human_ties_model_tied) == (7, 2, 1)
    assert (acc.unscored, acc.decided) == (1, 4)
    assert (acc.correct, acc.wrong, acc.score_ties) == (2, 1, 1)
    assert acc.accuracy == pytest.approx(2 / 4)
    assert acc.accuracy_ties_half == pytest.approx(2.5 / 4)
    assert acc.accuracy_untied == pytest.approx(2 / 3)
    assert acc.ci is None


def test_pairwise_accuracy_empty_and_all_ties() -> None:
    assert pairwise_accuracy([]).accuracy is None
    acc = pairwise_accuracy([PairOutcome("tie", "a")])
    assert acc.accuracy is None and acc.human_ties == 1 and acc.decided == 0


def test_kendall_by_hand() -> None:
    # One discordant pair of six: (5 - 1) / 6.
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    # Ties: 4 concordant, 0 discordant, one pair tied only in x, one only in y:
    # tau-b = 4 / sqrt((4 + 0 + 1) * (4 + 0 + 1)) = 0.8.
    assert kendall_tau([1, 1, 2, 3], [1, 2, 2, 3]) == pytest.approx(0.8)
    assert kendall_tau_b([1, 1, 2, 3], [1, 2, 2, 3]) == pytest.approx(0.8)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_spearman_by_hand() -> None:
    # d = (-1, 1, -1, 1, 0): rho = 1 - 6 * 4 / (5 * 24) = 0.8.
    assert spearman_rho([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    x, y = [1, 2, 2, 3, 5], [2, 2, 3, 1, 4]
    assert spearman_rho(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)


def test_undefined_correlations_are_none_not_nan() -> None:
    assert kendall_tau([1, 1, 1], [1, 2, 3]) is None
    assert kendall_tau_b([1, 2, 3], [4, 4, 4]) is None
    assert spearman_rho([1], [2]) is None
    with pytest.raises(ValueError, match="length"):
        kendall_tau([1, 2], [1, 2, 3])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=9))
def test_pair_counting_tau_equals_scipy(pairs: list[tuple[int, int]]) -> None:
    x = [float(a) for a, _ in pairs]
    y = [float(b) for _, b in pairs]
    ours = kendall_tau_b(x, y)
    if len(set(x)) < 2 or len(set(y)) < 2:
        assert ours is None
        return
    expected = stats.kendalltau(x, y).statistic
    assert ours == pytest.approx(expected)
    assert kendall_tau(x, y) == pytest.approx(expected)


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    config = BootstrapConfig(resamples=2000, seed=7)
    values = [0.2, 0.4, 0.5, 0.6, 0.9, 0.3, 0.7]
    first = bootstrap_mean_ci(values, config)
    assert first == bootstrap_mean_ci(values, config)
    assert first is not None
    low, high = first
    assert low < sum(values) / len(values) < high
    assert 0.2 <= low and high <= 0.9
    other = bootstrap_mean_ci(values, config.model_copy(update={"seed": 8}))
    assert other != first


def test_bootstrap_ratio_resamples_clusters() -> None:
    # Every cluster has the same ratio: the interval has no width.
    assert bootstrap_ratio_ci([1, 2, 3], [2, 4, 6], BootstrapConfig(seed=1)) == (0.5, 0.5)
    assert bootstrap_ratio_ci([1], [2], BootstrapConfig(resamples=0)) is None
    assert bootstrap_mean_ci([], BootstrapConfig()) is None


def test_accuracy_ci_groups_by_prompt() -> None:
    outcomes = [PairOutcome("a", "a", "p1")] * 5 + [PairOutcome("a", "b", "p2")] * 5
    acc = pairwise_accuracy(outcomes, BootstrapConfig(resamples=500, seed=0))
    assert acc.accuracy == 0.5
    assert acc.ci is not None
    low, high = acc.ci
    # Two clusters: resamples are {p1, p1}, {p1, p2} or {p2, p2}: 0, 0.5 or 1.
    assert low == 0.0 and high == 1.0
    assert not math.isnan(low)
