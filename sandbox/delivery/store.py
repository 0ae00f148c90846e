"""The courier app's deliveries: one per shipped web order, worked out from WooCommerce and the clock.

A web order that is processing or completed has been handed to the courier: it is dispatched some
hours after payment, is then in transit, and a few hours to a day later is delivered (or, now and
then, fails). Every time and outcome is a hash of the order id, so the feed is deterministic and
needs no state of its own: moving the world's clock moves deliveries forward, and an order that
WooCommerce marks completed is delivered at the latest when it was completed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sandbox.columns import NO_TIME
from sandbox.woocommerce.store import ORDER_STATUSES

CARRIERS = ("Peninsula Couriers", "Sendle")
FAIL_EVERY = 20  # about one delivery in 20 fails (nobody home, wrong address)
_SHIPPED = frozenset(ORDER_STATUSES.index(s) for s in ("processing", "completed"))
_COMPLETED = ORDER_STATUSES.index("completed")
API_TOKEN = "dlv_seamline_sandbox_5b2e91c4"


@dataclass(frozen=True, slots=True)
class Delivery:
    order_id: int
    status: str  # in_transit | delivered | failed
    tracking_number: str
    carrier: str
    dispatched: int  # epoch seconds
    updated: int  # epoch seconds of the latest status change


def _draws(order_id: int, seed: int) -> tuple[int, int, bool, int, str]:
    """(dispatch delay s, transit s, fails, carrier index, tracking number) of an order."""
    h = hashlib.blake2b(f"{seed}:delivery:{order_id}".encode(), digest_size=16).digest()
    n = int.from_bytes(h, "big")
    delay = 3600 + n % (17 * 3600)  # 1 to 18 hours after payment
    transit = 2 * 3600 + (n >> 20) % (28 * 3600)  # 2 to 30 hours on the road
    fails = (n >> 40) % FAIL_EVERY == 0
    carrier = (n >> 48) % len(CARRIERS)
    tracking = f"{'PC' if carrier == 0 else 'SD'}{(n >> 56) % 10**10:010d}AU"
    return delay, transit, fails, carrier, tracking


class DeliveryStore:
    def __init__(self, world):
        self.world = world
        self._cache: tuple | None = None  # (woo version, clock) -> deliveries

    def delivery_at(self, row: int, now: int) -> Delivery | None:
        """The delivery of WooCommerce's order in `row` as the courier sees it at `now`, or None."""
        woo = self.world.woocommerce
        status = woo._o_status[row]
        if woo._o_deleted[row] or woo._o_trashed[row] or status not in _SHIPPED:
            return None
        oid = woo._o_id[row]
        delay, transit, fails, carrier, tracking = _draws(oid, self.world.seed)
        base = woo._o_paid[row] if woo._o_paid[row] != NO_TIME else woo._o_created[row]
        dispatched = base + delay
        done = dispatched + transit
        if status == _COMPLETED:  # the shop marks an order completed once it is delivered
            completed = woo._o_completed[row] if woo._o_completed[row] != NO_TIME else woo._o_modified[row]
            done = min(done, completed)
            dispatched = min(dispatched, done - 600)
            fails = False
        if dispatched > now:
            return None
        if done > now:
            return Delivery(oid, "in_transit", tracking, CARRIERS[carrier], dispatched, dispatched)
        return Delivery(oid, "failed" if fails else "delivered", tracking, CARRIERS[carrier], dispatched, done)

    def deliveries(self) -> list[Delivery]:
        """Every delivery now, in (updated, order id) order (kept per WooCommerce version and clock)."""
        woo = self.world.woocommerce
        now = int(self.world.clock.now().timestamp())
        key = (woo.version, now)
        if self._cache is None or self._cache[0] != key:
            found = (self.delivery_at(row, now) for row in range(woo.row_count))
            self._cache = key, sorted((d for d in found if d is not None), key=lambda d: (d.updated, d.order_id))
        return self._cache[1]

    # -- ground truth ----------------------------------------------------------------------
    def delivery_for(self, order_id: int) -> Delivery | None:
        row = self.world.woocommerce.index_of(order_id)
        return None if row is None else self.delivery_at(row, int(self.world.clock.now().timestamp()))
