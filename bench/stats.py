"""Small statistics for comparing training runs: bootstrap intervals of a median and of a ratio of medians, and the
Mann-Whitney U test.

Written out here (numpy only) so that the comparison needs no SciPy; tests/test_stats.py checks both against
answers worked by hand. An unsolved run enters time-to-solve as +inf: it ranks last, as it should.
"""

from __future__ import annotations

import math

import numpy as np


def _resampled_medians(x: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """The medians of `resamples` resamples of x with replacement: (n,) -> (resamples,)."""
    return np.median(x[rng.integers(0, len(x), size=(resamples, len(x)))], axis=1)


def bootstrap_median(values: list[float], resamples: int = 10_000, level: float = 0.95, seed: int = 0) -> tuple:
    """(median, low, high): the percentile bootstrap interval of the median at `level`."""
    x = np.asarray(values, dtype=np.float64)  # (n,)
    rng = np.random.default_rng(seed)
    medians = _resampled_medians(x, rng, resamples)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(medians, [tail, 100 - tail], method="lower" if np.isinf(medians).any() else "linear")
    return float(np.median(x)), float(low), float(high)


def bootstrap_median_ratio(x: list[float], y: list[float], resamples: int = 10_000, level: float = 0.95,
                           seed: int = 0) -> tuple:
    """(ratio, low, high): median(x) / median(y) and its percentile bootstrap interval at `level`, each sample
    resampled on its own (the runs of two arms are independent). The values must be finite and every y positive."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)  # (n,), (m,)
    if not (np.isfinite(x).all() and np.isfinite(y).all()) or (y <= 0).any():
        raise ValueError("a ratio of medians needs finite values and a positive denominator in every resample")
    rng = np.random.default_rng(seed)
    top, bottom = _resampled_medians(x, rng, resamples), _resampled_medians(y, rng, resamples)  # x's draws first
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(top / bottom, [tail, 100 - tail])
    return float(np.median(x) / np.median(y)), float(low), float(high)


def _exact_u_distribution(n: int, m: int) -> np.ndarray:
    """counts[u] = number of orderings of n + m distinct values whose U statistic (for the n sample) is u."""
    # ways[i][j] over u: a recursion on whether the largest value belongs to the first or the second sample
    ways = [[None] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 or j == 0:
                ways[i][j] = np.zeros(i * j + 1, dtype=object)
                ways[i][j][0] = 1
                continue
            counts = np.zeros(i * j + 1, dtype=object)
            counts[j : j + len(ways[i - 1][j])] += ways[i - 1][j]  # largest in sample 1: it beats all j others
            counts[: len(ways[i][j - 1])] += ways[i][j - 1]
            ways[i][j] = counts
    return ways[n][m]


def mann_whitney_u(x: list[float], y: list[float]) -> tuple[float, float]:
    """(U of x, two-sided p): U counts the pairs with x > y, ties as one half. Exact p without ties (small samples),
    else the normal approximation with the tie correction and a continuity correction."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n, m = len(x), len(y)
    u = float((x[:, None] > y[None, :]).sum() + 0.5 * (x[:, None] == y[None, :]).sum())
    pooled = np.concatenate([x, y])
    _, tie_sizes = np.unique(pooled, return_counts=True)
    if (tie_sizes == 1).all() and n * m <= 400:
        counts = _exact_u_distribution(n, m)
        total = sum(counts)
        extreme = min(u, n * m - u)
        tail = sum(counts[: int(math.floor(extreme)) + 1])
        return u, float(min(1.0, 2 * tail / total))
    mean = n * m / 2
    var = n * m / 12 * ((n + m + 1) - float((tie_sizes**3 - tie_sizes).sum()) / ((n + m) * (n + m - 1)))
    if var == 0:
        return u, 1.0
    z = (abs(u - mean) - 0.5) / math.sqrt(var)
    return u, float(min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2))))
