"""What a suite module hands the runner: suites bound to one table, with every expectation tagged."""

from __future__ import annotations

import re
from dataclasses import dataclass

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation, UnexpectedRowsExpectation

from expectations.freshness import freshness_hours
from expectations.scoring import DIMENSIONS
from seamline import settings


@dataclass(frozen=True)
class SuiteSpec:
    """One expectation suite over one table (or one integration's slice of a shared table)."""

    name: str
    integration: str
    schema: str
    table: str
    expectations: tuple[Expectation, ...]
    requires: tuple[str, ...] = ()
    """Other integrations whose raw data the suite reads (a cross-system check): until they have
    landed too, the suite is skipped (and the result says so) rather than failed."""

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

# Clock skew allowed before a timestamp counts as "in the future".
FUTURE_SKEW = "interval '1 hour'"


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


def not_deleted(alias: str) -> str:
    """SQL: the row is not flagged deleted. dlt only creates a column once a value arrives, so
    `is_deleted` may not exist yet; reading it through to_jsonb keeps the check valid either way."""
    return f"not coalesce((to_jsonb({alias}) ->> 'is_deleted')::boolean, false)"


def not_null(tag: Tagger, columns: tuple[str, ...]) -> list[Expectation]:
    return [tag("completeness", gxe.ExpectColumnValuesToNotBeNull(column=c)) for c in columns]


def non_negative(tag: Tagger, columns: tuple[str, ...], **kwargs) -> list[Expectation]:
    """Validity: each column >= 0 (nulls are completeness's business); kwargs e.g. a row_condition."""
    return [tag("validity", gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, **kwargs)) for c in columns]


def unique(tag: Tagger, column: str) -> Expectation:
    return tag("consistency", gxe.ExpectColumnValuesToBeUnique(column=column))


def in_set(tag: Tagger, column: str, values: tuple[str, ...]) -> Expectation:
    return tag("validity", gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values)))


def has_rows(tag: Tagger) -> Expectation:
    return tag("completeness", gxe.ExpectTableRowCountToBeBetween(min_value=1))


def loads_suite(integration: str) -> SuiteSpec:
    """Timeliness: the integration's newest completed dlt load is younger than its threshold
    (expectations.freshness: a few times the source's schedule, configurable per source)."""
    hours = freshness_hours(integration)
    expectations = [
        Tagger(integration)("timeliness", sql_check(
            f"The newest completed dlt load is younger than {hours:g} hours.",
            f"select max(inserted_at) as newest_completed_load from {{batch}} where status = 0 "
            f"having max(inserted_at) is null or max(inserted_at) < now() - interval '1 hour' * {hours}",
        ), column="inserted_at"),
    ]
    schema = settings.raw_schema(integration)
    return SuiteSpec(f"{integration}.raw._dlt_loads", integration, schema, "_dlt_loads", tuple(expectations))
