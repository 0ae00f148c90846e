"""Web orders -> Finale sales orders, so Finale's stock counts web sales. The orderId is
deterministic (`WEB-<order number>`): Finale refuses a second order with the same id, which a
re-run after a crash reads as "already there". Finale may answer a failed write with HTTP 200
and an error body; that is a failure too."""

from __future__ import annotations

from outbound.clients import send_json
from outbound.writer import Context, Job, Rejected, Sent


class FinaleSalesOrders(Job):
    name = "finale_sales_orders"
    vendor = "finale"
    model = "outbound_finale_sales_orders"
    local_key_column = "order_key"
    order_by = "order_id"

    def summary(self, row: dict) -> dict:
        return {"order_key": row["order_key"], "orderId": row["finale_order_id"], "lines": len(row["lines"])}

    def send(self, ctx: Context, row: dict, key: str) -> Sent:
        order = {
            "orderId": row["finale_order_id"],
            "orderTypeId": "SALES_ORDER",
            "statusId": "ORDER_LOCKED",  # committed: the warehouse ships it and Finale's stock counts it
            "orderDate": row["ordered_at"].isoformat(),
            "orderItemList": [{"productId": line["sku"], "quantity": line["quantity"],
                               "unitPrice": line["unit_price"]} for line in row["lines"]],
        }
        client = ctx.client("finale")
        try:
            status, answer = send_json(client, "finale", "POST", "order", order, resource="order")
        except Rejected as exc:
            if _already_exists(str(exc)) and self._exists(client, row["finale_order_id"]):
                return Sent(row["finale_order_id"], exc.status)
            raise
        problem = _error_in(answer)
        if problem:
            if "DUPLICATE_ORDER_ID" in problem and self._exists(client, row["finale_order_id"]):
                return Sent(row["finale_order_id"], status)
            raise Rejected(f"finale: {problem}", status)
        return Sent((answer or {}).get("orderId") or row["finale_order_id"], status)

    @staticmethod
    def _exists(client, order_id: str) -> bool:
        from ingest.http import RequestRejected

        try:
            client.request("GET", f"{client.base_url}/order/{order_id}", resource="order")
        except RequestRejected:
            return False
        return True


def _already_exists(message: str) -> bool:
    text = message.lower()
    return "already exist" in text or "duplicate" in text


def _error_in(answer) -> str | None:
    """Finale's error body on a 200 (`{"errorCode", "errorMessage", "orderId": as sent}`), or an
    answer that is not an order at all."""
    if not isinstance(answer, dict):
        return "the answer is not an order"
    if answer.get("errorCode") or answer.get("errorMessage"):
        return f"{answer.get('errorCode') or 'error'}: {answer.get('errorMessage') or 'no message'}"
    if not answer.get("orderId") or not answer.get("orderUrl"):
        return "the answer carries no orderId and orderUrl"
    return None
