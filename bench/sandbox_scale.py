"""Sandbox scale: build a world of N web orders, then walk each API the way its source does.

    python -m bench.sandbox_scale [--scale N] [--seconds S] [--seed K]

A child process builds `World(seed, scale=N)` (N web orders, as many shop sales, and everything
that follows from them; N from 100 to 1,000,000), reports how long that took and its peak RSS,
moves it one hour forward (`world.advance(1)`, timed) and serves it on loopback. This process
then walks the largest stream of every API with plain `requests`, page after page, the way the
ingest sources ask (keyset, cursor or window, at their page sizes), for up to S seconds each,
and counts records per second. When the child exits, its peak RSS over the whole run (build,
advance and serving) is read with getrusage(RUSAGE_CHILDREN).

Prints `name: value` lines, e.g.

    sandbox_build_s_1m: 75.3
    sandbox_rss_gib_1m: 1.04
    sandbox_records_per_s_woocommerce: 9120

`sandbox_rss_gib_<N>` is the peak while building, `sandbox_rss_peak_gib_<N>` the peak of the whole
run; `sandbox_count_*` count what was served (after the hour's advance). `*_first_page_s_<api>` is
the first request of a walk alone: it pays for the per-version index (a sort of every record)
that the following pages reuse, once per world version (a full sync of a million-record stream
takes minutes, so it is a small share of it). Records/s counts the pages after the first (the
whole walk when a tiny world has fewer than four pages), in wall-clock time, client included;
`*_records_per_cpu_s_<api>` divides the same records by the CPU seconds the sandbox process spent
serving them, which says what it can do when the shared machine is busy with other work.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import sys
import time
from datetime import datetime, timedelta, timezone

import orjson
import requests

from bench.served import ServedWorld, served_world

API_NAMES = ("woocommerce", "klaviyo", "klaviyo_profiles", "xero", "lightspeed", "finale")


def label(n: int) -> str:
    """1_000_000 -> "1m", 200_000 -> "200k", 1500 -> "1500"."""
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def gib(kb: int) -> float:
    return round(kb / 1024 / 1024, 2)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# -- the child: build, report, serve ------------------------------------------------------
def child(scale: int, seed: int, faults: str | None = None) -> None:
    from sandbox.faults import FaultPlan
    from sandbox.server import SandboxServer
    from sandbox.world import World

    t0 = time.perf_counter()
    world = World(seed=seed, scale=scale)
    build_s = time.perf_counter() - t0
    build_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    world.advance(1)  # an hour of trading everywhere: what an incremental benchmark asks between syncs
    advance_s = time.perf_counter() - t0
    with SandboxServer(world, faults=FaultPlan.parse(faults), advance_route=True) as server:
        ready = {
            "build_s": round(build_s, 1), "rss_kb": build_rss_kb, "advance_s": round(advance_s, 2),
            "base_url": server.base_url,
            "settings": server.settings(), "now": world.clock.now().isoformat(),
            "counts": {"orders": len(world.woocommerce.orders), "events": world.klaviyo.event_count,
                       "profiles": len(world.klaviyo.profile_list), "invoices": len(world.xero.invoices),
                       "sales": len(world.lightspeed.sales), "finale_orders": len(world.finale.orders)},
        }
        print(json.dumps(ready), flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin


# -- the walkers (each returns records seen, first request seconds) ---------------------------
class Walk:
    """Counts a walk's pages: the first one apart (it builds the per-version index), then the rest."""

    def __init__(self, seconds: float, pid: int):
        self.seconds, self.pid = seconds, pid
        self.records = 0  # after the first page
        self.pages = 0  # after the first page
        self.first_records = 0
        self.first_s: float | None = None
        self._t0, self._cpu0 = time.perf_counter(), cpu_seconds(pid)
        self._t1 = self._cpu1 = None
        self.deadline = self._t0 + seconds

    def page(self, n: int) -> bool:
        """Count a page; False when time is up."""
        now = time.perf_counter()
        if self.first_s is None:
            self.first_s, self.first_records = now - self._t0, n
            self._t1, self._cpu1 = now, cpu_seconds(self.pid)
            self.deadline = now + self.seconds  # the walking time starts after the first page
            return True
        self.records += n
        self.pages += 1
        return now < self.deadline

    def rates(self) -> tuple[int | None, int | None]:
        """(records/s, records per CPU second of the sandbox) over the pages after the first; over the
        whole walk when the stream is too short for that (a tiny world)."""
        now, cpu = time.perf_counter(), cpu_seconds(self.pid)
        if self.pages >= 3:
            records, t, cpu_start = self.records, self._t1, self._cpu1
        else:
            records, t, cpu_start = self.records + self.first_records, self._t0, self._cpu0
        rate = round(records / (now - t)) if records else None
        per_cpu = round(records / (cpu - cpu_start)) if records and cpu and cpu_start is not None and cpu > cpu_start \
            else None
        return rate, per_cpu


def walk_woocommerce(s: requests.Session, base: str, settings: dict, now: datetime, w: Walk) -> None:
    """Orders, keyset on date_modified_gmt (ingest/woocommerce/helpers.walk_modified)."""
    url = f"{settings['SOURCES__WOOCOMMERCE__BASE_URL']}/orders"
    auth = (settings["SOURCES__WOOCOMMERCE__CONSUMER_KEY"], settings["SOURCES__WOOCOMMERCE__CONSUMER_SECRET"])
    floor, page = None, 1
    while True:
        query = {"status": "any", "per_page": 100, "page": page, "orderby": "modified", "order": "asc",
                 "dates_are_gmt": "true"}
        if floor is not None:
            query["modified_after"] = floor.strftime("%Y-%m-%dT%H:%M:%S")
        r = s.get(url, params=query, auth=auth, timeout=600)
        r.raise_for_status()
        items = orjson.loads(r.content)
        if not w.page(len(items)) or len(items) < 100:
            return
        last = datetime.fromisoformat(items[-1]["date_modified_gmt"]).replace(tzinfo=timezone.utc)
        next_floor = last - timedelta(seconds=1)
        if floor is not None and next_floor <= floor:
            page += 1
        else:
            floor, page = next_floor, 1


def _klaviyo_walk(s: requests.Session, url: str, params: dict, settings: dict, w: Walk) -> None:
    headers = {"Authorization": f"Klaviyo-API-Key {settings['SOURCES__KLAVIYO__API_KEY']}", "revision": "2024-10-15"}
    while url:
        r = s.get(url, params=params, headers=headers, timeout=600)
        r.raise_for_status()
        body = orjson.loads(r.content)
        if not w.page(len(body["data"])):
            return
        url, params = body["links"]["next"], None


def walk_klaviyo(s: requests.Session, base: str, settings: dict, now: datetime, w: Walk) -> None:
    """Events in datetime order from the start of history, cursor paging (ingest/klaviyo: events)."""
    lower = (now - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _klaviyo_walk(s, f"{settings['SOURCES__KLAVIYO__BASE_URL']}/events/",
                  {"filter": f"greater-or-equal(datetime,{lower})", "sort": "datetime"}, settings, w)


def walk_klaviyo_profiles(s: requests.Session, base: str, settings: dict, now: datetime, w: Walk) -> None:
    """Profiles by update time, 100 a page, with subscriptions (ingest/klaviyo: profiles)."""
    lower = (now - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _klaviyo_walk(s, f"{settings['SOURCES__KLAVIYO__BASE_URL']}/profiles/",
                  {"page[size]": 100, "sort": "updated", "additional-fields[profile]": "subscriptions",
                   "filter": f"greater-than(updated,{lower})"}, settings, w)


def walk_xero(s: requests.Session, base: str, settings: dict, now: datetime, w: Walk) -> None:
    """Invoices, keyset on UpdatedDateUTC with If-Modified-Since (ingest/xero/helpers.walk_modified)."""
    token = s.post(settings["SOURCES__XERO__TOKEN_URL"],
                   auth=(settings["SOURCES__XERO__CLIENT_ID"], settings["SOURCES__XERO__CLIENT_SECRET"]),
                   data={"grant_type": "refresh_token", "refresh_token": settings["SOURCES__XERO__REFRESH_TOKEN"]},
                   timeout=60).json()["access_token"]
    url = f"{settings['SOURCES__XERO__BASE_URL']}/Invoices"
    floor, page = None, 1
    while True:
        headers = {"Authorization": f"Bearer {token}", "Xero-Tenant-Id": settings["SOURCES__XERO__TENANT_ID"]}
        if floor is not None:
            headers["If-Modified-Since"] = floor.strftime("%Y-%m-%dT%H:%M:%S")
        r = s.get(url, params={"page": page, "pageSize": 100, "order": "UpdatedDateUTC ASC"}, headers=headers,
                  timeout=600)
        r.raise_for_status()
        items = orjson.loads(r.content)["Invoices"]
        if not w.page(len(items)) or len(items) < 100:
            return
        ms = int(items[-1]["UpdatedDateUTC"][6:-7])  # /Date(1552326816000+0000)/
        next_floor = datetime.fromtimestamp(ms // 1000, timezone.utc) - timedelta(seconds=1)
        if floor is not None and next_floor <= floor:
            page += 1
        else:
            floor, page = next_floor, 1


def walk_lightspeed(s: requests.Session, base: str, settings: dict, now: datetime, w: Walk) -> None:
    """Sales by version, 200 a page (ingest/lightspeed: after=version.max)."""
    url = f"{settings['SOURCES__LIGHTSPEED__BASE_URL']}/sales"
    headers = {"Authorization": f"Bearer {settings['SOURCES__LIGHTSPEED__ACCESS_TOKEN']}"}
    after = 0
    while True:
        r = s.get(url, params={"after": after, "page_size": 200}, headers=headers, timeout=600)
        r.raise_for_status()
        body = orjson.loads(r.content)
        if not body["data"] or not w.page(len(body["data"])):
            return
        after = body["version"]["max"]


def walk_finale(s: requests.Session, base: str, settings: dict, now: datetime, w: Walk) -> None:
    """Orders in lastUpdatedDate windows of 30 days, oldest first (ingest/finale), column-major."""
    url = f"{settings['SOURCES__FINALE__BASE_URL']}/order"
    auth = (settings["SOURCES__FINALE__API_KEY"], settings["SOURCES__FINALE__API_SECRET"])
    lo = now - timedelta(days=120)
    while lo < now:
        hi = min(now, lo + timedelta(days=30))
        spec = {"lastUpdatedDate": [lo.strftime("%Y-%m-%dT%H:%M:%S"), hi.strftime("%Y-%m-%dT%H:%M:%S")]}
        r = s.get(url, params={"filter": base64.b64encode(json.dumps(spec).encode()).decode()}, auth=auth,
                  timeout=600)
        r.raise_for_status()
        if not w.page(len(orjson.loads(r.content)["orderId"])):
            return
        lo = hi + timedelta(seconds=1)


WALKERS = {"woocommerce": walk_woocommerce, "klaviyo": walk_klaviyo, "klaviyo_profiles": walk_klaviyo_profiles,
           "xero": walk_xero, "lightspeed": walk_lightspeed, "finale": walk_finale}


# -- the parent ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="web orders in the world (default 1,000,000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="walking time per API (default 10)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--faults", help=argparse.SUPPRESS)  # the child's sandbox faults (bench.memory)
    args = parser.parse_args(argv)
    if not 100 <= args.scale <= 1_000_000:
        parser.error("--scale must be between 100 and 1,000,000")
    if args.child:
        child(args.scale, args.seed, args.faults)
        return 0

    try:
        with served_world(args.scale, args.seed) as world:
            report(world, args)
    except RuntimeError as exc:  # the child died while building the world
        print(exc, file=sys.stderr)
        return 1
    print(f"sandbox_rss_peak_gib_{label(args.scale)}: {gib(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)}")
    return 0


def report(world: ServedWorld, args: argparse.Namespace) -> None:
    tag, ready = label(args.scale), world.ready
    print(f"sandbox_cores: {os.cpu_count()}")
    print(f"sandbox_scale: {args.scale}")
    for name, n in ready["counts"].items():
        print(f"sandbox_count_{name}_{tag}: {n}")
    print(f"sandbox_build_s_{tag}: {ready['build_s']}")
    print(f"sandbox_rss_gib_{tag}: {gib(ready['rss_kb'])}")
    print(f"sandbox_advance_1h_s_{tag}: {ready['advance_s']}", flush=True)
    now = datetime.fromisoformat(ready["now"])
    with requests.Session() as s:
        for name in API_NAMES:
            w = Walk(args.seconds, world.pid)
            WALKERS[name](s, ready["base_url"], ready["settings"], now, w)
            rate, per_cpu = w.rates()
            print(f"sandbox_records_per_s_{name}: {rate}")
            if per_cpu is not None:
                print(f"sandbox_records_per_cpu_s_{name}: {per_cpu}")
            print(f"sandbox_first_page_s_{name}: {round(w.first_s or 0.0, 2)}")
            print(f"sandbox_records_walked_{name}: {w.first_records + w.records}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
