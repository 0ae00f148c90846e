"""The courier app's JSON: ISO-8601 UTC times with a Z."""

from __future__ import annotations

from sandbox.columns import utc_text
from sandbox.delivery.store import Delivery


def render_delivery(d: Delivery) -> dict:
    return {"order_number": str(d.order_id), "status": d.status, "tracking_number": d.tracking_number,
            "carrier": d.carrier, "dispatched_at": f"{utc_text(d.dispatched)}Z", "updated_at": f"{utc_text(d.updated)}Z"}
