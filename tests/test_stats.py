"""bench/stats.py against answers worked by hand."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from stats import bootstrap_median, bootstrap_median_ratio, mann_whitney_u  # noqa: E402


def test_u_counts_the_pairs_where_x_wins():
    # x = 1, 5 against y = 2, 3, 4: 5 beats three, 1 beats none
    assert mann_whitney_u([1, 5], [2, 3, 4])[0] == 3.0
    assert mann_whitney_u([1, 3], [3, 4])[0] == 0.5  # the tie counts one half


def test_exact_p_of_complete_separation():
    # 3 against 3, x all below y: 1 of the C(6, 3) = 20 equally likely orderings gives U = 0, one more gives U = 9
    u, p = mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert u == 0.0 and p == pytest.approx(2 / 20)


def test_exact_p_counts_every_ordering_at_least_as_extreme():
    # U = 1 with 3 against 3: U in {0, 1} happens for 1 + 1 = 2 orderings of 20, and as many at the other end
    u, p = mann_whitney_u([1, 2, 4], [3, 5, 6])
    assert u == 1.0 and p == pytest.approx(4 / 20)


def test_identical_samples_are_not_different():
    assert mann_whitney_u([1, 1, 1], [1, 1, 1])[1] == 1.0


def test_normal_approximation_with_ties_matches_the_formula():
    x, y = [1, 2, 2, 3], [2, 3, 3, 4]
    u, p = mann_whitney_u(x, y)
    # U: 1 loses to all but ties none (0); each 2 ties one 2 and loses otherwise (0.5 each); 3 beats the 2,
    # ties the two 3s, loses to 4 (2): U = 3
    assert u == 3.0
    ties = np.array([1, 3, 3, 1])  # group sizes of 1, 2, 3, 4 in the pooled sample
    var = 16 / 12 * (9 - (ties**3 - ties).sum() / (8 * 7))
    z = (abs(3 - 8) - 0.5) / np.sqrt(var)
    from math import erfc, sqrt

    assert p == pytest.approx(erfc(z / sqrt(2)))


def test_bootstrap_interval_holds_the_median_and_is_reproducible():
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]
    median, low, high = bootstrap_median(values)
    assert median == 3.5 and low <= median <= high and min(values) <= low and high <= max(values)
    assert bootstrap_median(values) == (median, low, high)
    assert bootstrap_median([7.0] * 5) == (7.0, 7.0, 7.0)


def test_unsolved_runs_rank_last():
    assert mann_whitney_u([np.inf, np.inf], [1.0, 2.0])[0] == 4.0
    assert bootstrap_median([1.0, np.inf, np.inf])[0] == np.inf


def test_ratio_of_medians_and_its_interval_by_hand():
    # A resample of three values has the smallest (or the largest) as its median with probability 7/27 (two or three
    # draws of it), the middle one with 13/27. With x fixed at 2, the ratio is 2/4 or 2/1 with 7/27 each: more than
    # 2.5 %, so those are the interval's ends.
    assert bootstrap_median_ratio([2, 2, 2], [1, 2, 4]) == (1.0, 0.5, 2.0)
    assert bootstrap_median_ratio([1, 2, 3], [1, 1, 1]) == (2.0, 1.0, 3.0)
    # Both resampled, each on its own: 1/3 needs x's median at 1 and y's at 3, (7/27)^2 = 6.7 % > 2.5 %.
    assert bootstrap_median_ratio([1, 2, 3], [1, 2, 3]) == (1.0, 1 / 3, 3.0)
    assert bootstrap_median_ratio([6, 6], [2, 4, 3])[0] == 2.0  # median(y) = 3


def test_the_ratios_interval_is_at_the_level_asked():
    # Nine values 1..9 over a constant 2: a resample's median is 2 or less when at least 5 of 9 draws are 1 or 2,
    # P = 0.030 (binomial, p = 2/9), between 2.5 % and 5 %; so the 95 % interval starts at 2/2, the 90 % one at 3/2.
    x = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert bootstrap_median_ratio(x, [2, 2, 2]) == (2.5, 1.0, 4.0)
    assert bootstrap_median_ratio(x, [2, 2, 2], level=0.9) == (2.5, 1.5, 3.5)


def test_ratio_of_medians_refuses_unsolved_runs_and_a_denominator_that_can_be_zero():
    with pytest.raises(ValueError, match="finite"):
        bootstrap_median_ratio([1, float("inf")], [1, 2])
    with pytest.raises(ValueError, match="positive"):
        bootstrap_median_ratio([1, 2, 3], [0, 1, 2])  # median 1, but a resample's median can be 0
