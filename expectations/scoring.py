"""Quality scores: the share of expectations passed per dimension, and one weighted overall score."""

from __future__ import annotations

from collections.abc import Iterable

DIMENSIONS: tuple[str, ...] = ("completeness", "validity", "consistency", "accuracy", "timeliness")
OVERALL = "overall"

DIMENSION_WEIGHTS: dict[str, float] = {
    "completeness": 0.2,
    "validity": 0.2,
    "consistency": 0.2,
    "accuracy": 0.2,
    "timeliness": 0.2,
}
"""How much each dimension counts towards an integration's overall score.

Equal by default: no dimension is known to matter more for every shop, and equal weights keep the
overall score easy to explain ("the mean of the five dimension scores"). Raise a weight to make its
dimension dominate, e.g. accuracy for a finance-led team. Weights need not sum to 1: a dimension
with no expectations for an integration is left out and the remaining weights are renormalised, so
an integration is never penalised for a check nobody wrote.
"""


def score(passed: int, total: int) -> float:
    """Percentage of expectations passed, 0..100."""
    return 100.0 * passed / total if total else 0.0


def tally(checks: Iterable[tuple[str, str, bool]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(integration, dimension, success) per expectation -> (passed, total) per integration and dimension."""
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for integration, dimension, success in checks:
        passed, total = counts.get((integration, dimension), (0, 0))
        counts[(integration, dimension)] = (passed + bool(success), total + 1)
    return counts


def overall_score(dimension_scores: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """Weighted mean of the dimension scores present; absent dimensions do not count."""
    weights = DIMENSION_WEIGHTS if weights is None else weights
    present = {d: weights.get(d, 0.0) for d in dimension_scores}
    weight_sum = sum(present.values())
    if weight_sum <= 0:
        return 0.0
    return sum(dimension_scores[d] * w for d, w in present.items()) / weight_sum


ScoreRow = tuple[str, str, int, int, float]
"""(integration, dimension or 'overall', passed, total, score): one row of ops.quality_scores."""


def summarise(
    checks: Iterable[tuple[str, str, bool]],
) -> tuple[dict[tuple[str, str], float], dict[str, float], list[ScoreRow]]:
    """Per-dimension scores, overall scores per integration, and the rows that record both."""
    tallies = tally(checks)
    dimension_scores = {key: score(*counts) for key, counts in tallies.items()}
    overall: dict[str, float] = {}
    rows: list[ScoreRow] = []
    for integration in sorted({i for i, _ in tallies}):
        mine = {d: s for (i, d), s in dimension_scores.items() if i == integration}
        overall[integration] = overall_score(mine)
        passed = total = 0
        for dimension in (d for d in DIMENSIONS if d in mine):
            p, t = tallies[(integration, dimension)]
            rows.append((integration, dimension, p, t, mine[dimension]))
            passed, total = passed + p, total + t
        rows.append((integration, OVERALL, passed, total, overall[integration]))
    return dimension_scores, overall, rows
