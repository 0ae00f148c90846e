"""Turn GX validation results (and tables that are not there) into `Outcome`s."""

from __future__ import annotations

import json
from typing import Any

from expectations.result import Outcome
from expectations.scrub import scrub_sample
from expectations.suites.base import SuiteSpec
from seamline.masking import mask_text

# Enough of GX's result to see what was observed without copying the data into ops.
_OBSERVED_KEYS = (
    "observed_value", "element_count", "unexpected_count", "unexpected_percent", "missing_count",
)
_SAMPLE_SIZE = 5


def expectation_column(kwargs: dict, meta: dict) -> str:
    """The column an expectation is about: its `column`, a pair as "a,b", or the meta hint of a SQL check."""
    if kwargs.get("column"):
        return str(kwargs["column"])
    if kwargs.get("column_A") and kwargs.get("column_B"):
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return str(meta.get("column", ""))


def _exception_message(exception_info: Any) -> str | None:
    """GX reports errors either flat or keyed by the metric that raised; take the first message."""
    if not isinstance(exception_info, dict):
        return None
    candidates = [exception_info] + [v for v in exception_info.values() if isinstance(v, dict)]
    for info in candidates:
        message = info.get("exception_message")
        if message or info.get("raised_exception"):
            return _first_line(str(message or "unknown error"))
        if info.get("exception_traceback"):
            return _first_line(str(info["exception_traceback"]).strip().splitlines()[-1])
    return None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return mask_text(lines[0] if lines else text)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def from_validation(spec: SuiteSpec, suite_result) -> list[Outcome]:
    """Outcomes of one suite's validation result."""
    outcomes = []
    for result in suite_result.results:
        config = result.expectation_config
        meta = config.meta or {}
        body = result.result or {}
        observed = {k: body[k] for k in _OBSERVED_KEYS if k in body}
        if body.get("partial_unexpected_list"):
            observed["sample"] = scrub_sample(body["partial_unexpected_list"][:_SAMPLE_SIZE])
        error = _exception_message(result.exception_info)
        unexpected = body.get("unexpected_count")
        if unexpected is None and config.type == "unexpected_rows_expectation" and not error:
            unexpected = body.get("observed_value")
        details = config.description or ""
        if error:
            details = f"error: {error}"
        elif not result.success and unexpected:
            details = f"{details} {unexpected} unexpected".strip()
        outcomes.append(Outcome(
            integration=meta.get("integration", spec.integration),
            suite=spec.name,
            expectation_type=config.type,
            column=expectation_column(config.kwargs, meta),
            dimension=meta.get("dimension", ""),
            success=bool(result.success) and not error,
            observed=_jsonable(observed) if observed else None,
            unexpected_count=int(unexpected) if unexpected is not None else None,
            details=details,
        ))
    return outcomes


def for_missing_table(spec: SuiteSpec) -> list[Outcome]:
    """Every expectation of a suite whose table does not exist: failed, with the reason."""
    reason = f"table {spec.qualified_table} does not exist (not loaded or not built yet)"
    outcomes = []
    for expectation in spec.expectations:
        config = expectation.configuration
        meta = config.meta or {}
        outcomes.append(Outcome(
            integration=meta.get("integration", spec.integration),
            suite=spec.name,
            expectation_type=config.type,
            column=expectation_column(config.kwargs, meta),
            dimension=meta.get("dimension", ""),
            success=False,
            details=reason,
        ))
    return outcomes
