"""One deterministic retail world behind every simulated API.

A fresh-produce grocer: people who shop online and in the shops, one product range,
and each vendor's own copy of them. The truth (who is who, what really sold) is
available here for tests and benchmarks and is never served over HTTP.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime, timezone
from decimal import Decimal

from sandbox.clock import Clock
from sandbox.delivery.store import DeliveryStore
from sandbox.finale.store import FinaleStore
from sandbox.klaviyo.store import KlaviyoStore
from sandbox.lightspeed.store import LightspeedStore
from sandbox.people import Person, make_person
from sandbox.woocommerce.store import WooStore, order_totals
from sandbox.xero.store import XeroStore
from sandbox.xero.store import uid as xero_uid

DEFAULT_START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


class World:
    def __init__(self, seed: int = 7, scale: int = 500, start: datetime | None = None):
        self.seed = seed
        self.scale = scale
        self.lock = threading.RLock()  # the server reads while a test or the demo advances
        self.start = start or DEFAULT_START
        self.clock = Clock(self.start)
        # one random stream per part, so adding a vendor never reshuffles another's data
        self._people_rng = random.Random(f"{seed}:people")
        self.people: list[Person] = []
        for _ in range(max(40, scale // 3)):
            self.add_person()
        self.woocommerce = WooStore(self, random.Random(f"{seed}:woocommerce"), n_orders=scale)
        self.klaviyo = KlaviyoStore(self, random.Random(f"{seed}:klaviyo"))
        self.xero = XeroStore(self, random.Random(f"{seed}:xero"))
        self.lightspeed = LightspeedStore(self, random.Random(f"{seed}:lightspeed"), n_sales=scale)
        self.finale = FinaleStore(self, random.Random(f"{seed}:finale"), scale=scale)
        self.delivery = DeliveryStore(self)
        self.advanced_hours: list[float] = []
        # every advance and every accepted API write, in order: what sandbox/persist.py replays
        self.journal: list[list] = []
        self.listeners: list = []  # called with each advance's changes (sandbox/webhooks.py sends them)

    def add_person(self) -> Person:
        person = make_person(self._people_rng, len(self.people) + 1)
        self.people.append(person)
        return person

    def advance(self, hours: float) -> dict[str, dict[str, set[int]]]:
        """Move time forward; every vendor records what its users did meanwhile.

        Returns, per vendor and resource, the ids created or changed (and deleted)."""
        if hours <= 0:
            raise ValueError("time only moves forward")
        with self.lock:
            t0 = self.clock.now()
            t1 = self.clock.advance(hours)
            self.advanced_hours.append(hours)
            self.journal.append(["advance", hours])
            changes = {
                "woocommerce": self.woocommerce.advance(t0, t1, hours),
                "klaviyo": self.klaviyo.advance(t0, t1, hours),
                "xero": self.xero.advance(t0, t1, hours),
                "lightspeed": self.lightspeed.advance(t0, t1, hours),
                "finale": self.finale.advance(t0, t1, hours),
            }
            for listener in self.listeners:
                listener(changes)
            return changes

    def write(self, vendor: str, op: str, **args):
        """Apply one API write to a vendor's store (`world.<vendor>.<op>(**args)`) and journal it.

        Write methods check everything before they change anything and raise on bad input, so a
        refused write leaves no trace; `args` are plain JSON values, so the journal can be saved and
        replayed (the same writes between the same advances rebuild the same world)."""
        with self.lock:
            store = getattr(self, vendor)
            version = store.version
            result = getattr(store, op)(**args)
            self.journal.append(["write", vendor, op, args])
            changes = self._write_changes(vendor, op, result) if store.version != version else {}
            if changes:  # the vendors send their webhooks for changes made through the API too
                for listener in self.listeners:
                    listener(changes)
            return result

    def _write_changes(self, vendor: str, op: str, result) -> dict[str, dict[str, set]]:
        """What a write changed, shaped like `advance`'s answer (for the webhooks a vendor sends)."""
        if vendor == "woocommerce":
            woo = self.woocommerce
            if op == "update_order":
                return {"woocommerce": {"orders": {woo._o_id[result]}}}
            if op == "update_product":
                return {"woocommerce": {"products": {result}}}
            if op == "batch_products":
                return {"woocommerce": {"products": {r for r in result.get("update", []) if isinstance(r, int)}}}
        if vendor == "xero":
            if op in ("save_invoices", "update_invoice"):
                slots = result if isinstance(result, list) else [result]
                return {"xero": {"invoices": {xero_uid(self.seed, "invoice", s + 1) for s in slots}}}
            if op == "save_credit_notes":
                return {"xero": {"credit_notes": {xero_uid(self.seed, "creditnote", s + 1) for s in result}}}
            if op == "save_contacts":
                return {"xero": {"contacts": {xero_uid(self.seed, "contact", idx) for idx in result}}}
        return {}

    def replay(self, journal: list[list]) -> None:
        """Apply a saved journal (advances and writes) to a world built with the same seed, scale and start."""
        for entry in journal:
            if entry[0] == "advance":
                self.advance(entry[1])
            else:
                _, vendor, op, args = entry
                self.write(vendor, op, **args)

    # -- ground truth ------------------------------------------------------------
    def web_order_totals(self) -> dict[int, Decimal]:
        """Every web order that still exists (trashed included) and its total."""
        return {o.id: order_totals(o)["total"] for o in self.woocommerce.orders.values()}

