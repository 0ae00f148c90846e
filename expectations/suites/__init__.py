"""The suite registry: one module per integration, named after it, plus the marts slices they declare.

An integration module (`suites/<source>.py`, source as in `seamline.settings.SOURCES`) provides
`suites() -> list[SuiteSpec]` for its raw tables and, if its orders reach marts.fct_orders,
`marts_slice() -> MartsSlice`. Adding the module is all it takes to have it checked and scored.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from expectations.suites import marts
from expectations.suites.base import SuiteSpec
from seamline import settings


def integration_modules() -> list[ModuleType]:
    names = [name for name in settings.SOURCES if importlib.util.find_spec(f"{__name__}.{name}") is not None]
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def all_suites() -> list[SuiteSpec]:
    """Every suite, built now so schema names and freshness thresholds reflect the current settings."""
    specs: list[SuiteSpec] = []
    slices: list[marts.MartsSlice] = []
    for module in integration_modules():
        specs.extend(module.suites())
        if hasattr(module, "marts_slice"):
            slices.append(module.marts_slice())
    specs.extend(marts.suites(slices))
    names = [s.name for s in specs]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate suite names: {sorted({n for n in names if names.count(n) > 1})}")
    return specs
