"""What a quality run produced: one outcome per expectation, and the scores built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """One expectation evaluated (or recorded as failed because its table is missing)."""

    integration: str
    suite: str
    expectation_type: str
    column: str
    dimension: str
    success: bool
    observed: Any = None
    unexpected_count: int | None = None
    details: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.integration, self.suite, self.expectation_type, self.column, self.dimension)


@dataclass
class QualityResult:
    run_id: str
    run_at: datetime
    scores: dict[str, float]
    """integration -> overall score, 0..100."""
    dimension_scores: dict[tuple[str, str], float]
    """(integration, dimension) -> score, 0..100; only dimensions that have expectations."""
    failed: list[tuple[str, str, str, str, str]]
    """(integration, suite, expectation_type, column or "", dimension) of every failed expectation."""
    data_docs_path: Path
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """integration -> why it was not scored (its raw data has not landed); absent from `scores`."""
    skipped_suites: dict[str, str] = field(default_factory=dict)
    """suite -> why it was not run although its integration is scored (a cross-system suite whose
    other system has not landed)."""
    volume_anomalies: dict[str, list] = field(default_factory=dict)
    """integration -> the anomalous loads (expectations.volume.LoadVolume), empty lists included."""
    alerts_opened: list[str] = field(default_factory=list)
    """incident keys (`quality_drop:<integration>`, `volume_anomaly:<integration>`) this run opened"""
    alerts_resolved: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failed
