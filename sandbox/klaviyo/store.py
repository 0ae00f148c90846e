"""The grocer's Klaviyo account inside the world: profiles, metrics, events, lists and campaigns.

Profiles exist for web customers (WooCommerce syncs every customer and every guest who
orders) and for newsletter subscribers. Every web order becomes one "Placed Order" event;
sent email campaigns leave Received/Opened/Clicked Email events. Events are kept in
parallel arrays (a few dozen bytes each) and rendered to JSON:API only when asked for.
Klaviyo exposes no deletes: unsubscribes and bounces show up as suppressions on the profile.
"""

from __future__ import annotations

import hashlib
import random
import string
import threading
import time
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sandbox import draws
from sandbox.columns import from_ts, to_ts
from sandbox.people import Address, Person, email_variant, name_variant

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

# metric indexes (the order they were first seen in the account)
PLACED_ORDER, RECEIVED_EMAIL, OPENED_EMAIL, CLICKED_EMAIL = range(4)
METRICS = (
    ("Placed Order", ("woocommerce", "WooCommerce", "eCommerce")),
    ("Received Email", ("klaviyo", "Klaviyo", "Internal")),
    ("Opened Email", ("klaviyo", "Klaviyo", "Internal")),
    ("Clicked Email", ("klaviyo", "Klaviyo", "Internal")),
)
# list indexes; a profile's memberships are a bit mask of these
NEWSLETTER, WEB_CUSTOMERS, VIP, SMS_SUBSCRIBERS = range(4)
LISTS = (
    ("Newsletter", "double_opt_in"),
    ("Web Customers", "single_opt_in"),
    ("VIP Customers", "single_opt_in"),
    ("SMS Subscribers", "single_opt_in"),
)
SUBJECTS = (
    "This week's harvest is in", "Stone fruit season starts now", "Five ways with Tuscan kale",
    "Your veg box, your way", "Market day on the Peninsula", "Citrus that tastes like sunshine",
    "What the farmers picked this morning", "Soup weather: pumpkins are back",
)
SMS_TEXTS = ("Red Hill market this Saturday: 10% off boxes", "Strawberries just landed. Order by 2pm")
# rough coordinates of the Peninsula suburbs (Klaviyo geolocates profiles)
SUBURB_COORDS = {
    "Red Hill": (-38.3746, 145.0156), "Dromana": (-38.3339, 144.9650), "Mornington": (-38.2180, 145.0380),
    "Rosebud": (-38.3570, 144.9060), "Flinders": (-38.4740, 145.0220), "Sorrento": (-38.3390, 144.7410),
    "Rye": (-38.3700, 144.8230), "Balnarring": (-38.3730, 145.1250),
}
BAD_DATA_EVERY = 40  # about one record in 40 is corrupted when the bad_data fault is on
MAX_LATE_INSERTS = 64  # back-dated events put in place one by one; more than this: sort again


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def from_epoch(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def bad_kind(record_id: str) -> int:
    """Which bad-data corruption (if any) a record gets: deterministic, independent of any rng."""
    roll = zlib.crc32(f"bad:{record_id}".encode()) % BAD_DATA_EVERY
    return roll  # 0, 1, 2 mean corrupted (per-type meaning in render), the rest clean


@dataclass(slots=True)
class KProfile:
    idx: int
    id: str
    person_id: int
    email: str
    phone: str | None  # E.164, as Klaviyo insists; None when the person never gave one
    first_name: str
    last_name: str
    address: Address
    created: datetime
    updated: datetime
    source: str  # "woocommerce" | "newsletter"
    email_consent: str  # SUBSCRIBED | UNSUBSCRIBED | NEVER_SUBSCRIBED
    email_consent_at: datetime | None
    email_method: tuple[str, str] | None  # (method, method_detail)
    suppression: tuple[str, datetime] | None  # (reason, timestamp)
    sms_consent_at: datetime | None
    lists: int = 0  # bit mask of list indexes
    last_event: int = 0  # epoch seconds of the latest event, 0 when none

    def emailable(self, at: datetime) -> bool:
        if self.email_consent_at is None or self.email_consent_at > at:
            return False
        return not (self.suppression and self.suppression[1] <= at)


@dataclass(slots=True)
class KMetric:
    idx: int
    id: str
    name: str
    integration: tuple[str, str, str]  # key, name, category
    integration_id: str
    created: datetime
    updated: datetime


@dataclass(slots=True)
class KList:
    idx: int
    id: str
    name: str
    opt_in: str
    created: datetime
    updated: datetime


@dataclass(slots=True)
class KCampaign:
    idx: int
    id: str
    message_id: str
    name: str
    channel: str  # email | sms
    subject: str
    list_idx: int
    status: str  # Draft | Scheduled | Sent
    created: datetime
    updated: datetime
    scheduled: datetime | None
    send_time: datetime | None


class RateLimiter:
    """Klaviyo's fixed windows per endpoint: a burst (1 s) and a steady (60 s) window.

    `clock` is injectable (seconds, monotonic) so tests can move time instead of sleeping."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, list[int]] = {}  # key -> [burst window, burst count, steady window, steady count]

    def hit(self, key: str, burst: int, steady: int, enforce: bool) -> tuple[bool, dict[str, str], int]:
        """Count one request. Returns (allowed, success headers, retry_after seconds)."""
        with self._lock:
            now = self.clock()
            b_win, s_win = int(now), int(now // 60)
            w = self._windows.setdefault(key, [b_win, 0, s_win, 0])
            if w[0] != b_win:
                w[0], w[1] = b_win, 0
            if w[2] != s_win:
                w[2], w[3] = s_win, 0
            if enforce and (w[1] >= burst or w[3] >= steady):
                if w[3] >= steady:
                    retry = max(1, int(-(-(60 - now % 60) // 1)))
                else:
                    retry = 1
                return False, {}, retry
            w[1] += 1
            w[3] += 1
            reset = max(1, int(-(-(60 - now % 60) // 1)))
            headers = {"RateLimit-Limit": str(steady), "RateLimit-Remaining": str(max(0, steady - w[3])),
                       "RateLimit-Reset": str(reset)}
            return True, headers, 0

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


class SyncedOrders(Mapping):
    """`store.orders`: web order id -> the WooOrder as synced (orders WooCommerce deleted later included)."""

    def __init__(self, store: KlaviyoStore):
        self._k = store

    def _row(self, oid) -> int | None:
        row = self._k.world.woocommerce.index_of(oid)
        return row if row is not None and row < self._k._synced else None

    def __getitem__(self, oid):
        row = self._row(oid)
        if row is None:
            raise KeyError(oid)
        return self._k.world.woocommerce.order_at(row)

    def __contains__(self, oid) -> bool:
        return self._row(oid) is not None

    def __len__(self) -> int:
        return self._k._synced

    def __iter__(self):
        ids = self._k.world.woocommerce._o_id
        return (ids[i] for i in range(self._k._synced))


class PlacedOrderEvents(Mapping):
    """`store.placed_order_events`: web order id -> the index of its "Placed Order" event, in event order."""

    def __init__(self, store: KlaviyoStore):
        self._k = store

    def __getitem__(self, oid) -> int:
        row = self._k.orders._row(oid)
        if row is None:
            raise KeyError(oid)
        return self._k._po_event[row]

    def __contains__(self, oid) -> bool:
        return self._k.orders._row(oid) is not None

    def __len__(self) -> int:
        return self._k._synced

    def __iter__(self):
        k = self._k
        metric, ref = k._ev_metric, k._ev_ref
        return (ref[i] for i in range(len(metric)) if metric[i] == PLACED_ORDER and ref[i] >= 0)

    def items(self):
        k = self._k
        metric, ref = k._ev_metric, k._ev_ref
        return [(ref[i], i) for i in range(len(metric)) if metric[i] == PLACED_ORDER and ref[i] >= 0]

    def values(self):
        k = self._k
        metric, ref = k._ev_metric, k._ev_ref  # ref < 0: an event created through the API
        return [i for i in range(len(metric)) if metric[i] == PLACED_ORDER and ref[i] >= 0]


class KlaviyoStore:
    """State of the Klaviyo account; `advance` changes it the way marketing activity does."""

    def __init__(self, world, rng: random.Random):
        self.world = world
        self.rng = rng
        self._below = draws.below(rng)  # rng.randrange(n), cheaper (same draws)
        self.seed = world.seed
        self.version = 0
        self.rate_limiter = RateLimiter()
        now = world.clock.now()
        woo = world.woocommerce
        first_seen: dict[int, int] = {}  # person -> epoch seconds
        for c in woo.customers.values():
            created = to_ts(c.created)
            first_seen[c.person_id] = min(first_seen.get(c.person_id, created), created)
        rows = woo.live_rows()
        o_person, o_created = woo._o_person, woo._o_created
        for i in rows:
            pid, created = o_person[i], o_created[i]
            seen = first_seen.get(pid)
            if seen is None or created < seen:
                first_seen[pid] = created
        self.start = from_ts(min([to_ts(now - timedelta(days=60)), *first_seen.values()])) - timedelta(days=1)
        self.account_created = self.start - timedelta(days=200)

        self.metrics: list[KMetric] = []
        for i, (name, integration) in enumerate(METRICS):
            created = self.account_created + timedelta(days=1 + i, seconds=rng.randrange(86400))
            self.metrics.append(KMetric(i, self._short_id(), name, integration, self._short_id(), created, created))
        self.lists: list[KList] = []
        for i, (name, opt_in) in enumerate(LISTS):
            created = self.account_created + timedelta(days=3 + i, seconds=rng.randrange(86400))
            self.lists.append(KList(i, self._short_id(), name, opt_in, created, created))

        self.profiles: dict[int, KProfile] = {}  # person_id -> profile
        self.profile_list: list[KProfile] = []
        self.profiles_by_id: dict[str, KProfile] = {}
        for person in world.people:
            if person.person_id in first_seen:
                self._new_profile(person, from_ts(first_seen[person.person_id]), "woocommerce", history_until=now)
            elif rng.random() < 0.35:
                created = self.start + timedelta(seconds=rng.randrange(int((now - self.start).total_seconds()) - 3600))
                self._new_profile(person, created, "newsletter", history_until=now)

        # events: parallel arrays, one slot per event
        self._ev_metric = array("B")
        self._ev_profile = array("I")
        self._ev_ts = array("q")
        self._ev_ref = array("q")  # order id (Placed Order) or campaign index (email events); < 0: see _api_events
        # events created through the API (sandbox/klaviyo/writes.py): _api_events[-ref - 1] =
        # (properties, value, unique_id); (metric, profile idx, unique_id) -> event, for deduplication
        self._api_events: list[tuple[dict, float | None, str | None]] = []
        self._event_keys: dict[tuple[int, int, str], int] = {}
        self.custom_properties: dict[int, dict] = {}  # profile idx -> properties set through the API
        self._emails: dict[str, int] = {}  # casefolded email -> profile idx (see _email_index)
        self._emails_indexed = 0
        self._people_emails: dict[str, Person] = {}
        self._people_indexed = 0
        self._by_time, self._by_time_ts, self._by_time_count = array("I"), array("q"), 0  # see events_by_time
        # the web orders synced so far are WooCommerce's first `_synced` rows (kept after Woo deletes them)
        self._synced = 0
        self._po_event = array("I")  # WooCommerce order row -> its Placed Order event
        self.orders = SyncedOrders(self)  # order id -> WooOrder, as synced
        self.placed_order_events = PlacedOrderEvents(self)  # order id -> event index
        self._orders_per_person: dict[int, int] = {}
        rows.sort(key=o_created.__getitem__)  # (created, id): rows are in id order and the sort is stable
        self._sync_rows(woo.row_count)
        for i in rows:
            self._place_order(i)
        self._last_customer_id = max(woo.customers, default=0)

        self.campaigns: list[KCampaign] = []
        send = self.start + timedelta(days=4, hours=22)
        while send < now - timedelta(hours=2):
            self._send_campaign(self._new_campaign("email", send - timedelta(days=3), send), until=now)
            send += timedelta(days=7)
        # the next newsletter is scheduled for later this morning
        self._new_campaign("email", now - timedelta(hours=rng.randrange(2, 48)), now + timedelta(hours=3))
        sms = self.start + timedelta(days=10, hours=1)
        while sms < now - timedelta(hours=2):
            self._send_campaign(self._new_campaign("sms", sms - timedelta(days=2), sms), until=now)
            sms += timedelta(days=21)
        draft = self._new_campaign("email", now - timedelta(hours=rng.randrange(3, 72)), None)
        draft.name = f"DRAFT {draft.name}"

    # -- ids -------------------------------------------------------------------
    def _short_id(self, n: int = 6) -> str:
        return "".join(self.rng.choice(BASE62) for _ in range(n))

    def _ulid(self, dt: datetime) -> str:
        value = (int(dt.timestamp() * 1000) << 80) | self.rng.getrandbits(80)
        return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))

    def event_id(self, idx: int) -> str:
        digest = hashlib.blake2b(f"{self.seed}:klaviyo:event:{idx}".encode(), digest_size=8).digest()
        n = int.from_bytes(digest, "big")
        out = []
        for _ in range(11):
            n, r = divmod(n, 62)
            out.append(BASE62[r])
        return "".join(out)

    def event_uuid(self, idx: int) -> str:
        h = hashlib.blake2b(f"{self.seed}:klaviyo:uuid:{idx}".encode(), digest_size=16).hexdigest()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    # -- profiles --------------------------------------------------------------
    def _new_profile(self, person: Person, created: datetime, source: str,
                     history_until: datetime | None = None) -> KProfile:
        rng = self.rng
        has_phone = rng.random() < (0.75 if source == "woocommerce" else 0.3)
        if source == "newsletter":
            consent, consent_at, method = "SUBSCRIBED", created, ("Klaviyo Form", "Footer signup form")
        elif rng.random() < 0.5:
            consent, consent_at, method = "SUBSCRIBED", created, ("WooCommerce", "Checkout opt-in")
        else:
            consent, consent_at, method = "NEVER_SUBSCRIBED", None, None
        p = KProfile(
            idx=len(self.profile_list), id=self._ulid(created), person_id=person.person_id,
            email=email_variant(rng, person.email).strip(), phone=person.mobile if has_phone else None,
            first_name=name_variant(rng, person.first_name), last_name=person.last_name,
            address=person.address, created=created, updated=created, source=source,
            email_consent=consent, email_consent_at=consent_at, email_method=method, suppression=None,
            sms_consent_at=created if has_phone and rng.random() < 0.3 else None,
        )
        if consent == "SUBSCRIBED":
            p.lists |= 1 << NEWSLETTER
        if source == "woocommerce":
            p.lists |= 1 << WEB_CUSTOMERS
        if p.sms_consent_at is not None:
            p.lists |= 1 << SMS_SUBSCRIBERS
        if history_until is not None and consent == "SUBSCRIBED":
            span = int((history_until - created).total_seconds())
            roll = rng.random()
            if span > 3600 and roll < 0.08:
                self._unsubscribe(p, created + timedelta(seconds=rng.randrange(60, span)))
            elif span > 3600 and roll < 0.11:
                self._bounce(p, created + timedelta(seconds=rng.randrange(60, span)))
        self.profiles[person.person_id] = p
        self.profile_list.append(p)
        self.profiles_by_id[p.id] = p
        return p

    def _unsubscribe(self, p: KProfile, at: datetime) -> None:
        p.email_consent = "UNSUBSCRIBED"
        p.suppression = ("UNSUBSCRIBE", at)
        p.lists &= ~(1 << NEWSLETTER)
        p.updated = max(p.updated, at)

    def _bounce(self, p: KProfile, at: datetime) -> None:
        p.suppression = ("HARD_BOUNCE", at)
        p.updated = max(p.updated, at)

    # -- events ----------------------------------------------------------------
    def _add_event(self, metric: int, profile: KProfile, ts: int, ref: int) -> int:
        idx = len(self._ev_ts)
        self._ev_metric.append(metric)
        self._ev_profile.append(profile.idx)
        self._ev_ts.append(ts)
        self._ev_ref.append(ref)
        if ts > profile.last_event:
            profile.last_event = ts
        return idx

    def _sync_rows(self, rows: int) -> None:
        """WooCommerce's rows up to `rows` are synced (their events follow via `_place_order`)."""
        self._po_event.frombytes(bytes(self._po_event.itemsize * (rows - self._synced)))
        self._synced = rows

    def _place_order(self, row: int) -> int:
        """The "Placed Order" event of WooCommerce's order in `row`."""
        woo = self.world.woocommerce
        person_id = woo._o_person[row]
        profile = self.profiles[person_id]
        profile.lists |= 1 << WEB_CUSTOMERS
        count = self._orders_per_person.get(person_id, 0) + 1
        self._orders_per_person[person_id] = count
        if count >= 3:
            profile.lists |= 1 << VIP
        idx = self._add_event(PLACED_ORDER, profile, woo._o_created[row], woo._o_id[row])
        self._po_event[row] = idx
        return idx

    @property
    def event_count(self) -> int:
        return len(self._ev_ts)

    def events_by_time(self) -> tuple[array, array]:
        """(event indexes in (timestamp, index) order, their timestamps), for the API's time filters.

        Sorted on first use; later events (time only moves forward) are sorted on their own and
        appended, so a new world version does not sort millions of events again."""
        ts, done = self._ev_ts, self._by_time_count
        n = len(ts)
        if done < n:
            # (timestamp, index) packed in one int per event: millions of tuples would not fit
            packed = sorted([(ts[i] << 32) | i for i in range(done, n)])
            last = self._by_time_ts[-1] if done else None
            late = [k for k in packed if (k >> 32) < last] if last is not None else []
            if len(late) > MAX_LATE_INSERTS:  # many late events: sort everything again
                packed = sorted([(ts[i] << 32) | i for i in range(n)])
                self._by_time, self._by_time_ts, late = array("I"), array("q"), []
            for k in late:  # a few back-dated events (sent through the API): put each in its place
                pos = bisect_right(self._by_time_ts, k >> 32)  # after equal times: its index is the largest
                self._by_time.insert(pos, k & 0xFFFFFFFF)
                self._by_time_ts.insert(pos, k >> 32)
            rest = packed[len(late):] if late else packed  # late ones sort first: they are the smallest
            self._by_time.extend(k & 0xFFFFFFFF for k in rest)
            self._by_time_ts.extend(k >> 32 for k in rest)
            self._by_time_count = n
        return self._by_time, self._by_time_ts

    def event(self, idx: int) -> tuple[int, KProfile, int, int]:
        """(metric index, profile, epoch seconds, ref) of one event."""
        return self._ev_metric[idx], self.profile_list[self._ev_profile[idx]], self._ev_ts[idx], self._ev_ref[idx]

    # -- campaigns -------------------------------------------------------------
    def _new_campaign(self, channel: str, created: datetime, send_time: datetime | None) -> KCampaign:
        n = len(self.campaigns)
        if channel == "email":
            subject = SUBJECTS[n % len(SUBJECTS)]
            list_idx = NEWSLETTER
            name = f"Weekly Harvest {send_time.date().isoformat() if send_time else 'next week'}"
        else:
            subject = SMS_TEXTS[n % len(SMS_TEXTS)]
            list_idx = SMS_SUBSCRIBERS
            name = f"SMS Market Alert {send_time.date().isoformat() if send_time else ''}".strip()
        scheduled = created if send_time else None  # scheduled the moment it was set up
        c = KCampaign(n, self._ulid(created), self._ulid(created), name, channel, subject, list_idx,
                      "Scheduled" if send_time else "Draft", created, created, scheduled, send_time)
        self.campaigns.append(c)
        return c

    def _send_campaign(self, c: KCampaign, until: datetime) -> set[int]:
        """Mark a campaign sent and record its engagement up to `until`; returns the new event indexes."""
        rng = self.rng
        c.status = "Sent"
        c.updated = max(c.updated, c.send_time)
        new: set[int] = set()
        if c.channel != "email":
            return new
        send = c.send_time
        limit = epoch(until)
        base = epoch(send)
        below, random_, expovariate = self._below, rng.random, rng.expovariate
        for p in self.profile_list:
            if p.created > send or not p.emailable(send):
                continue
            received = base + below(300)  # rng.randrange(0, 300)
            opened = received + int(expovariate(1 / 14400)) + 30 if random_() < 0.38 else None
            clicked = opened + 5 + below(595) if opened is not None and random_() < 0.25 else None  # randrange(5, 600)
            if received <= limit:
                new.add(self._add_event(RECEIVED_EMAIL, p, received, c.idx))
            if opened is not None and opened <= limit:
                new.add(self._add_event(OPENED_EMAIL, p, opened, c.idx))
            if clicked is not None and clicked <= limit:
                new.add(self._add_event(CLICKED_EMAIL, p, clicked, c.idx))
        return new

    # -- time moves ------------------------------------------------------------
    def advance(self, t0: datetime, t1: datetime, hours: float) -> dict[str, set[str]]:
        """Apply `hours` of marketing activity between t0 and t1; return the Klaviyo ids that changed."""
        rng = self.rng
        woo = self.world.woocommerce
        span = max(1, int((t1 - t0).total_seconds()))

        def when() -> datetime:
            return t0 + timedelta(seconds=rng.randint(1, span))

        changed: dict[str, set[str]] = {"profiles": set(), "events": set(), "campaigns": set(),
                                        "lists": set(), "metrics": set()}
        new_events: set[int] = set()
        # WooCommerce syncs new customers and every new order (guests included)
        for cid in range(self._last_customer_id + 1, max(woo.customers, default=0) + 1):
            c = woo.customers.get(cid)
            if c is not None and c.person_id not in self.profiles:
                person = self._person(c.person_id)
                changed["profiles"].add(self._new_profile(person, c.created, "woocommerce").id)
        self._last_customer_id = max(self._last_customer_id, max(woo.customers, default=0))
        o_person, o_created, gone = woo._o_person, woo._o_created, woo._o_deleted
        fresh = [i for i in range(self._synced, woo.row_count) if not gone[i]]
        fresh.sort(key=o_created.__getitem__)  # (created, id)
        self._sync_rows(woo.row_count)
        for i in fresh:
            if o_person[i] not in self.profiles:
                person = self._person(o_person[i])
                changed["profiles"].add(self._new_profile(person, from_ts(o_created[i]), "woocommerce").id)
            new_events.add(self._place_order(i))
        # customers who moved house: the integration pushes the new address to the profile
        for c in woo.customers.values():
            if t0 < c.modified <= t1 and c.created <= t0:
                p = self.profiles.get(c.person_id)
                if p is not None and p.address != c.billing:
                    p.address = c.billing
                    p.updated = max(p.updated, min(t1, c.modified + timedelta(seconds=rng.randrange(5, 120))))
                    changed["profiles"].add(p.id)
        # newsletter sign-ups from people the shop has never seen online
        strangers = [person for person in self.world.people if person.person_id not in self.profiles]
        for person in rng.sample(strangers, min(len(strangers), max(1, round(hours / 4)))):
            changed["profiles"].add(self._new_profile(person, when(), "newsletter").id)
        # unsubscribes and bounces (suppressions), SMS opt-ins, phones added
        subscribed = [p for p in self.profile_list if p.email_consent == "SUBSCRIBED" and p.suppression is None
                      and p.created <= t0]
        for p in rng.sample(subscribed, min(len(subscribed), max(1, round(hours / 3)))):
            if rng.random() < 0.7:
                self._unsubscribe(p, when())
            else:
                self._bounce(p, when())
            changed["profiles"].add(p.id)
        phoneless = [p for p in self.profile_list if p.phone is None and p.created <= t0 and p.person_id]
        if phoneless:
            p = rng.choice(phoneless)
            p.phone = self._person(p.person_id).mobile
            p.updated = max(p.updated, when())
            changed["profiles"].add(p.id)
        no_sms = [p for p in self.profile_list if p.phone and p.sms_consent_at is None and p.created <= t0]
        if no_sms:
            p = rng.choice(no_sms)
            p.sms_consent_at = when()
            p.lists |= 1 << SMS_SUBSCRIBERS
            p.updated = max(p.updated, p.sms_consent_at)
            changed["profiles"].add(p.id)
        # scheduled campaigns go out; the next weekly one gets scheduled
        for c in list(self.campaigns):
            if c.status == "Scheduled" and c.send_time is not None and c.send_time <= t1:
                if c.send_time <= t0:  # the clock jumped past it: it went out just now
                    c.send_time = when()
                new_events |= self._send_campaign(c, until=t1)
                changed["campaigns"].add(c.id)
                nxt = self._new_campaign(c.channel, when(), c.send_time + timedelta(days=7))
                changed["campaigns"].add(nxt.id)
        changed["events"] = {self.event_id(i) for i in new_events}
        self.version += 1
        return changed

    def _person(self, person_id: int) -> Person:
        person = self.world.people[person_id - 1]
        assert person.person_id == person_id
        return person

    # -- writes through the API (sandbox/klaviyo/writes.py; journalled by world.write) ---------
    def import_profile(self, data: dict) -> tuple[int, bool]:
        from sandbox.klaviyo import writes

        return writes.import_profile(self, data)

    def create_event(self, data: dict) -> bool:
        from sandbox.klaviyo import writes

        return writes.create_event(self, data)

    def _email_index(self) -> dict[str, int]:
        """Casefolded email -> the first profile with it (profiles are only ever appended)."""
        for p in self.profile_list[self._emails_indexed:]:
            if p.email:
                self._emails.setdefault(p.email.casefold(), p.idx)
        self._emails_indexed = len(self.profile_list)
        return self._emails

    def _person_by_email(self) -> dict[str, Person]:
        people = self.world.people
        for person in people[self._people_indexed:]:
            self._people_emails.setdefault(person.email.casefold(), person)
        self._people_indexed = len(people)
        return self._people_emails

    # -- ground truth ------------------------------------------------------------
    def events_with_unique_id(self, unique_id: str) -> list[dict]:
        """The events created through the API with this unique_id: metric name, profile email, time, value,
        properties (in the order they were stored)."""
        out = []
        for i in range(len(self._ev_ref)):
            ref = self._ev_ref[i]
            if ref < 0 and self._api_events[-ref - 1][2] == str(unique_id):
                props, value, _ = self._api_events[-ref - 1]
                out.append({"id": self.event_id(i), "metric": self.metrics[self._ev_metric[i]].name,
                            "profile_email": self.profile_list[self._ev_profile[i]].email,
                            "timestamp": self._ev_ts[i], "value": value, "properties": props})
        return out

    def profile_by_email(self, email: str) -> KProfile | None:
        idx = self._email_index().get(email.strip().casefold())
        return None if idx is None else self.profile_list[idx]

    def profile_person(self) -> dict[str, int]:
        """Klaviyo profile id -> the true person behind it."""
        return {p.id: p.person_id for p in self.profile_list}

    def placed_order_event_ids(self) -> dict[int, str]:
        """WooCommerce order id -> the id of its one "Placed Order" event."""
        return {oid: self.event_id(idx) for oid, idx in self.placed_order_events.items()}

    def bad_data_records(self) -> dict[str, set[str]]:
        """What the bad_data fault corrupts when it is on (ids as served)."""
        out: dict[str, set[str]] = {"profiles_missing_email": set(), "events_negative_quantity": set(),
                                    "events_value_mismatch": set()}
        for p in self.profile_list:
            if bad_kind(p.id) in (0, 20):  # one profile in 20
                out["profiles_missing_email"].add(p.id)
        for idx in self.placed_order_events.values():
            eid = self.event_id(idx)
            kind = bad_kind(eid)
            if kind == 1:
                out["events_negative_quantity"].add(eid)
            elif kind == 2:
                out["events_value_mismatch"].add(eid)
        return out
