"""Web orders -> Klaviyo "Placed Order" events. The event's unique_id is the WooCommerce order id,
the same `$event_id` Klaviyo's WooCommerce integration gives its own Placed Order events, so
Klaviyo keeps one event per order however often, and by whichever integration, it is sent."""

from __future__ import annotations

from ingest.klaviyo.settings import JSONAPI
from outbound.clients import send_json
from outbound.writer import Context, Job, Sent

METRIC = "Placed Order"


class KlaviyoPlacedOrders(Job):
    name = "klaviyo_placed_orders"
    vendor = "klaviyo"
    model = "outbound_klaviyo_placed_orders"
    local_key_column = "order_key"
    order_by = "ordered_at, order_key"

    def summary(self, row: dict) -> dict:
        return {"unique_id": str(row["order_id"]), "metric": METRIC, "value": row["order_total"],
                "currency": row["currency"]}

    def personal(self, row: dict) -> tuple:
        return (row.get("customer_email"),)

    def send(self, ctx: Context, row: dict, key: str) -> Sent:
        attributes = {
            "properties": {"OrderId": str(row["order_id"]), "OrderNumber": str(row["order_number"]),
                           "ItemCount": row["line_count"], "Currency": row["currency"]},
            "time": row["ordered_at"].isoformat(),
            "value": row["order_total"],
            "value_currency": row["currency"],
            "unique_id": str(row["order_id"]),
            "metric": {"data": {"type": "metric", "attributes": {"name": METRIC}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": row["customer_email"]}}},
        }
        status, _ = send_json(ctx.client("klaviyo"), "klaviyo", "POST", "events/",
                              {"data": {"type": "event", "attributes": attributes}}, resource="events",
                              headers={"Content-Type": JSONAPI})
        return Sent(str(row["order_id"]), status)  # 202 carries no body: the unique_id is the event's handle
