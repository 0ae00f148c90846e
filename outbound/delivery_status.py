"""Delivery updates from the courier app -> WooCommerce order status and an order note.

`delivered` completes the order, `failed` puts it on hold, `in_transit` leaves the status; each
update adds a note with the carrier and tracking number. Only an open order (pending,
processing, on-hold) changes status: a delivery never revives a cancelled or refunded order.
Setting a status is idempotent; the note carries a short reference of the write's key and is
not posted again when the order already has it (a re-run after a crash).
"""

from __future__ import annotations

from outbound import delivery_feed
from outbound.clients import send_json
from outbound.writer import Context, Job, Rejected, Sent
from seamline import settings
from seamline.ops import ops_schema

TARGET_STATUS = {"delivered": "completed", "failed": "on-hold"}
OPEN_STATUSES = ("pending", "processing", "on-hold")
_RANK = {"in_transit": 0, "failed": 1, "delivered": 2}  # a tie in time: the further state wins


class DeliveryStatus(Job):
    name = "delivery_status"
    vendor = "woocommerce"
    local_key_column = "order_key"

    def version(self, row: dict) -> str:
        return f"{row['delivery_status']}@{row['updated_at'].isoformat()}"

    def rows(self, ctx: Context) -> list[dict]:
        fetched = delivery_feed.collect(ctx.db, dry_run=ctx.dry_run)
        latest: dict[str, delivery_feed.Update] = {}
        for update in [*self._stored(ctx), *fetched]:
            known = latest.get(update.order_number)
            if known is None or (update.updated_at, _RANK[update.status]) > (known.updated_at, _RANK[known.status]):
                latest[update.order_number] = update
        orders = self._web_orders(ctx, list(latest))
        rows = []
        for number, update in sorted(latest.items()):
            order_id, status = orders.get(number, (None, None))
            rows.append({"order_key": f"woocommerce:{order_id}" if order_id else f"unknown:{number}",
                         "order_id": order_id, "order_number": number, "current_status": status,
                         "delivery_status": update.status, "carrier": update.carrier,
                         "tracking_number": update.tracking_number, "updated_at": update.updated_at})
        return rows

    @staticmethod
    def _stored(ctx: Context) -> list[delivery_feed.Update]:
        if not delivery_feed.table_exists(ctx.db):
            return []
        with ctx.db.cursor() as cur:
            cur.execute(f"select order_number, status, tracking_number, carrier, updated_at "
                        f"from {ops_schema()}.delivery_updates")
            return [delivery_feed.Update(*row) for row in cur.fetchall()]

    @staticmethod
    def _web_orders(ctx: Context, numbers: list[str]) -> dict[str, tuple[str, str]]:
        if not numbers:
            return {}
        with ctx.db.cursor() as cur:
            cur.execute(f'select order_number, order_id, source_status from "{settings.schema("marts")}".fct_orders '
                        "where channel = 'web' and not is_deleted and order_number = any(%s)", (numbers,))
            return {str(row[0]): (row[1], row[2]) for row in cur.fetchall()}

    def summary(self, row: dict) -> dict:
        return {"order_key": row["order_key"], "delivery": row["delivery_status"], "from": row["current_status"],
                "to": self.target(row), "carrier": row["carrier"]}

    @staticmethod
    def target(row: dict) -> str | None:
        wanted = TARGET_STATUS.get(row["delivery_status"])
        return wanted if wanted and row["current_status"] in OPEN_STATUSES else None

    def send(self, ctx: Context, row: dict, key: str) -> Sent:
        if not row["order_id"]:
            raise Rejected(f"delivery: no web order numbered {row['order_number']}")
        client = ctx.client("woocommerce")
        status = None
        target = self.target(row)
        if target:
            status, _ = send_json(client, "woocommerce", "PUT", f"orders/{row['order_id']}", {"status": target},
                                  resource="orders")
        ref = f"ref {key[:10]}"
        notes, _ = client.get_json(f"{client.base_url}/orders/{row['order_id']}/notes", resource="order_notes")
        if not any(ref in str(note.get("note", "")) for note in notes if isinstance(note, dict)):
            words = {"delivered": "Delivered", "in_transit": "On its way", "failed": "Delivery failed"}
            text = f"{words[row['delivery_status']]} ({row['carrier'] or 'courier'}"
            text += f", tracking {row['tracking_number']})" if row["tracking_number"] else ")"
            status, _ = send_json(client, "woocommerce", "POST", f"orders/{row['order_id']}/notes",
                                  {"note": f"{text} [{ref}]"}, resource="order_notes")
        return Sent(str(row["order_id"]), status)
