"""Klaviyo constants: API revision, page sizes, overlaps, and the column types dlt must not guess."""

from datetime import timedelta

# the API version this source was written against (sent as the required `revision` header)
REVISION = "2024-10-15"
JSONAPI = "application/vnd.api+json"

# `page[size]` is only sent where the endpoint documents it; the others use their fixed page
PROFILE_PAGE_SIZE = 100  # profiles: the documented maximum
EVENT_PAGE_SIZE = 200  # events: fixed at 200 a page (used for cost estimates only)

PROFILE_OVERLAP = timedelta(minutes=10)
# events carry the time they happened, and integrations deliver some late: read back further
EVENT_OVERLAP = timedelta(minutes=30)
CAMPAIGN_OVERLAP = timedelta(minutes=10)
EVENT_WINDOW_DAYS = 30  # events are read in `datetime` windows of at most this many days

# pacing: when RateLimit-Remaining falls to this share of RateLimit-Limit, spread the calls
# that are left over the seconds until RateLimit-Reset
LOW_WATER_SHARE = 0.05

CAMPAIGN_CHANNELS = "email,sms"


def _typed(hint: dict, *columns: str) -> dict:
    # a fresh dict per column, named: dlt writes names into root hints and needs them in nested ones
    return {c: {**hint, "name": c} for c in columns}


MONEY = {"data_type": "decimal", "precision": 18, "scale": 2}
UTC_TIME = {"data_type": "timestamp", "timezone": True}

PROFILE_COLUMNS = {
    **_typed(UTC_TIME, "created", "updated", "last_event_date",
             "subscriptions__email__marketing__consent_timestamp",
             "subscriptions__email__marketing__last_updated",
             "subscriptions__sms__marketing__consent_timestamp",
             "subscriptions__sms__marketing__last_updated"),
    "subscriptions__email__marketing__can_receive_email_marketing": {"data_type": "bool"},
}
EVENT_COLUMNS = {
    **_typed(UTC_TIME, "datetime"),
    "timestamp": {"data_type": "bigint"},
    # `$value` (the order value on Placed Order) flattened by dlt: `$` becomes `_`
    **_typed(MONEY, "event_properties___value"),
}
CAMPAIGN_COLUMNS = {
    **_typed(UTC_TIME, "created_at", "updated_at", "scheduled_at", "send_time", "send_strategy__datetime"),
    # usually null: typed here, or dlt warns on every sync that it could not infer them
    "send_strategy__options__send_past_recipients_immediately": {"data_type": "bool"},
    "tracking_options__custom_tracking_params": {"data_type": "json"},
}
LIST_COLUMNS = _typed(UTC_TIME, "created", "updated")
METRIC_COLUMNS = _typed(UTC_TIME, "created", "updated")
