"""What a suite module hands the runner: suites bound to one table, with every expectation tagged."""

from __future__ import annotations

import re
from dataclasses import dataclass

from great_expectations.expectations import Expectation, UnexpectedRowsExpectation

from expectations.scoring import DIMENSIONS


@dataclass(frozen=True)
class SuiteSpec:
    """One expectation suite over one table (or one integration's slice of a shared table)."""

    name: str
    integration: str
    schema: str
    table: str
    expectations: tuple[Expectation, ...]

    @property
    def qualified_table(self) -> str:
        """Also the GX asset's name: one asset per table, shared by every suite on it."""
        return f"{self.schema}.{self.table}"


class Tagger:
    """Stamps each expectation with the meta the scores are computed from."""

    def __init__(self, integration: str):
        self.integration = integration

    def __call__(self, dimension: str, expectation: Expectation, column: str = "") -> Expectation:
        """Tag one expectation; `column` names what a SQL check is about (shown in results)."""
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown quality dimension {dimension!r}; use one of {DIMENSIONS}")
        meta = {"dimension": dimension, "integration": self.integration}
        if column:
            meta["column"] = column
        expectation.meta = {**(expectation.meta or {}), **meta}
        return expectation


# Lenient: raw form input keeps the customer's stray spaces and capitals; staging trims them.
RAW_EMAIL_REGEX = r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"
# Strict: a cleaned address has no whitespace at all.
EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

# Active ISO 4217 currency codes (XCG replaced ANG in 2025; both are accepted during the changeover).
ISO_4217_CODES: tuple[str, ...] = (
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
    "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB",
    "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG",
    "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF",
    "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
    "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN",
    "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX",
    "USD", "UYU", "UZS", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR",
    "ZMW", "ZWG",
)

# Order statuses after mapping in dbt (seeds/order_status_map.csv): the same set for every channel.
# 'deleted' is what the seed maps WooCommerce's trash to; those rows also carry is_deleted.
CANONICAL_ORDER_STATUSES: tuple[str, ...] = (
    "pending", "processing", "on_hold", "completed", "cancelled", "refunded", "failed", "deleted",
)

MONEY_TOLERANCE = 0.01
"""Two amounts agree when they differ by at most a cent (rounding of per-line tax)."""


def sql_literal(value: str) -> str:
    """A quoted SQL string literal, for the few code-defined constants the SQL checks compare with."""
    return "'" + value.replace("'", "''") + "'"


_JOIN = re.compile(r"\bjoin\b", re.IGNORECASE)
_ALIASED_BATCH = re.compile(r"\{batch\}\s+as\s+\w+", re.IGNORECASE)


def sql_check(description: str, query: str) -> UnexpectedRowsExpectation:
    """A check written as SQL that returns the offending rows; it passes when none come back.

    GX substitutes `{batch}` in one of two ways: in a query with a JOIN as a bare parenthesised
    subquery the query must alias itself (`{batch} as o`), otherwise already aliased, so an alias
    of our own is a syntax error. Catch the wrong form here rather than as a failed check at run time.
    """
    if "{batch}" not in query:
        raise ValueError(f"a SQL check must select from {{batch}}: {query}")
    if bool(_JOIN.search(query)) != bool(_ALIASED_BATCH.search(query)):
        raise ValueError(f"alias {{batch}} (`{{batch}} as x`) exactly when the query has a JOIN: {query}")
    return UnexpectedRowsExpectation(description=description, unexpected_rows_query=query)
