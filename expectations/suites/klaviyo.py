"""Klaviyo: suites on the raw tables dlt lands in raw_klaviyo (ingest/klaviyo: JSON:API records
flattened, `attributes` as columns, nested lists as child tables).

Klaviyo needs an email (or phone) on every profile it can market to, and this account only holds
email profiles (web customers and newsletter sign-ups), so a profile without one is incomplete.
Placed Order events are the WooCommerce integration's copy of each web order: their `$value` is
checked against the WooCommerce raw order (accuracy), in a suite of its own that waits until
WooCommerce has landed.
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from expectations.suites.base import (
    EMAIL_REGEX,
    FUTURE_SKEW,
    MONEY_TOLERANCE,
    SuiteSpec,
    Tagger,
    has_rows,
    in_set,
    loads_suite,
    non_negative,
    not_null,
    sql_check,
    unique,
)
from seamline import settings

INTEGRATION = "klaviyo"

CONSENT_STATES = ("SUBSCRIBED", "UNSUBSCRIBED", "NEVER_SUBSCRIBED")
CAMPAIGN_STATUSES = (
    "Draft", "Scheduled", "Sending", "Sent", "Cancelled", "Queued without Recipients", "Adding Recipients",
    "Preparing to send", "Preparing to schedule", "Variations Sent", "Cancelled: Smart Sending",
    "Cancelled: Internal Error", "Cancelled: Account Disabled", "Cancelled: No Recipients", "Unknown",
)
CAMPAIGN_CHANNELS = ("email", "sms", "mobile_push")
E164_REGEX = r"^\+[1-9][0-9]{6,14}$"
PLACED_ORDER = "Placed Order"
KLAVIYO_LAUNCHED = "2012-01-01"  # nothing in an account predates Klaviyo itself

tag = Tagger(INTEGRATION)


def _raw(table: str) -> str:
    return f"{settings.raw_schema(INTEGRATION)}.{table}"


def _spec(table: str, expectations: list, name: str | None = None, requires: tuple[str, ...] = ()) -> SuiteSpec:
    return SuiteSpec(name or f"{INTEGRATION}.raw.{table}", INTEGRATION, settings.raw_schema(INTEGRATION), table,
                     tuple(expectations), requires)


def _placed_order_metric() -> str:
    return f"(select m.id from {_raw('metrics')} as m where m.name = '{PLACED_ORDER}')"


def profiles() -> SuiteSpec:
    return _spec("profiles", [
        has_rows(tag),
        *not_null(tag, ("id", "email", "created", "updated")),
        # Klaviyo validates and normalises addresses on the way in: the strict form
        tag("validity", gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX)),
        tag("validity", gxe.ExpectColumnValuesToMatchRegex(column="phone_number", regex=E164_REGEX)),
        in_set(tag, "subscriptions__email__marketing__consent", CONSENT_STATES),
        in_set(tag, "subscriptions__sms__marketing__consent", CONSENT_STATES),
        unique(tag, "id"),
        unique(tag, "email"),  # Klaviyo keeps one profile per address
        tag("consistency", gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="updated", column_B="created", or_equal=True, ignore_row_if="either_value_is_missing",
        )),
        tag("consistency", sql_check(
            "A profile that can receive email marketing has consented to it.",
            "select id, subscriptions__email__marketing__consent from {batch} "
            "where subscriptions__email__marketing__can_receive_email_marketing "
            "and subscriptions__email__marketing__consent is distinct from 'SUBSCRIBED'",
        ), column="subscriptions__email__marketing__can_receive_email_marketing"),
        tag("accuracy", sql_check(
            f"Profiles were created between Klaviyo's launch ({KLAVIYO_LAUNCHED}) and now.",
            f"select id, created from {{batch}} where created < date '{KLAVIYO_LAUNCHED}' "
            f"or created > now() + {FUTURE_SKEW}",
        ), column="created"),
    ])


def events() -> SuiteSpec:
    items_total = (
        f"select it._dlt_parent_id, sum(it.row_total) as items_total "
        f"from {_raw('events__event_properties__items')} as it group by it._dlt_parent_id"
    )
    return _spec("events", [
        has_rows(tag),
        *not_null(tag, ("id", "datetime", "metric_id", "profile_id")),
        tag("completeness", sql_check(
            "Every Placed Order event carries its order id and value.",
            f"select id, event_properties__order_id, event_properties___value from {{batch}} "
            f"where metric_id in {_placed_order_metric()} "
            f"and (event_properties__order_id is null or event_properties___value is null)",
        ), column="event_properties___value"),
        *non_negative(tag, ("event_properties___value",)),
        tag("validity", sql_check(
            "No event happened in the future (an hour of clock skew allowed).",
            f"select id, datetime from {{batch}} where datetime > now() + {FUTURE_SKEW}",
        ), column="datetime"),
        unique(tag, "id"),
        tag("consistency", sql_check(
            "An event's `timestamp` (epoch seconds) and `datetime` name the same second.",
            "select id, timestamp, datetime from {batch} "
            "where timestamp <> cast(extract(epoch from datetime) as bigint)",
        ), column="timestamp"),
        tag("consistency", sql_check(
            "Every event names a metric that was loaded.",
            f"select e.id, e.metric_id from {{batch}} as e left join {_raw('metrics')} as m on m.id = e.metric_id "
            f"where m.id is null",
        ), column="metric_id"),
        tag("consistency", sql_check(
            "Every event names a profile that was loaded.",
            f"select e.id, e.profile_id from {{batch}} as e left join {_raw('profiles')} as p on p.id = e.profile_id "
            f"where p.id is null",
        ), column="profile_id"),
        tag("accuracy", sql_check(
            "A Placed Order's value covers its items (it adds shipping and tax on top).",
            f"select e.id, e.event_properties___value, it.items_total from {{batch}} as e "
            f"inner join ({items_total}) as it on it._dlt_parent_id = e._dlt_id "
            f"where e.event_properties___value < it.items_total - {MONEY_TOLERANCE}",
        ), column="event_properties___value"),
    ])


def placed_orders_match_woocommerce() -> SuiteSpec:
    """Accuracy across systems: a Placed Order's value is its WooCommerce order's total."""
    woo_orders = f"{settings.raw_schema('woocommerce')}.orders"
    return _spec("events", [
        tag("accuracy", sql_check(
            "A Placed Order event's value equals its WooCommerce order's total, to the cent.",
            f"select e.id, e.event_properties__order_id, e.event_properties___value, o.total "
            f"from {{batch}} as e inner join {woo_orders} as o "
            f"on cast(o.id as text) = e.event_properties__order_id "
            f"where e.metric_id in {_placed_order_metric()} "
            f"and abs(e.event_properties___value - o.total) > {MONEY_TOLERANCE}",
        ), column="event_properties___value"),
    ], name=f"{INTEGRATION}.raw.events.vs_woocommerce", requires=("woocommerce",))


def event_items() -> SuiteSpec:
    return _spec("events__event_properties__items", [
        *not_null(tag, ("sku", "quantity", "item_price", "row_total")),
        *non_negative(tag, ("quantity", "item_price", "row_total")),
        tag("consistency", sql_check(
            "An item's row total is at most its price times its quantity (a coupon only lowers it).",
            f"select _dlt_parent_id, sku, quantity, item_price, row_total from {{batch}} "
            f"where row_total > item_price * quantity + {MONEY_TOLERANCE}",
        ), column="row_total"),
    ])


def campaigns() -> SuiteSpec:
    return _spec("campaigns", [
        *not_null(tag, ("id", "name", "status")),
        in_set(tag, "status", CAMPAIGN_STATUSES),
        in_set(tag, "channel", CAMPAIGN_CHANNELS),
        unique(tag, "id"),
        tag("consistency", sql_check(
            "A sent campaign has a send time.",
            "select id, status, send_time from {batch} where status = 'Sent' and send_time is null",
        ), column="send_time"),
    ])


def suites() -> list[SuiteSpec]:
    # lists and metrics are a handful of reference rows; events are checked against the metrics
    return [profiles(), events(), placed_orders_match_woocommerce(), event_items(), campaigns(),
            loads_suite(INTEGRATION)]
