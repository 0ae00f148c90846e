"""Two shops from one tenants.yml, loaded side by side through the `seamline` command: each load and
dbt build runs as the shop's own role, with the shop's own secrets, sources and mapping overrides,
and neither role (nor its analyst, nor Supabase's API roles) can read the other shop's data."""

from __future__ import annotations

import contextlib
import json
import os
import textwrap

import psycopg2
import pytest
from conftest import can_read, connect_as, ensure_role, scalar
from psycopg2 import errors, sql

from flows.cli import main
from sandbox.server import SandboxServer
from sandbox.world import World
from seamline import settings

# shop -> (seed, web orders); different sizes so a swapped credential shows in the counts
SHOPS = {"grocer": (51, 120), "gallery": (52, 150)}
ANALYST_PW = "tenant-analyst-pw-41"
HASHED_PW = "tenant-hashed-pw-52"


@contextlib.contextmanager
def kept_environment():
    """`--tenant` rewrites the process environment, as it should in a real command: undo it after."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def seamline(*argv: str) -> int:
    with kept_environment():
        return main(list(argv))


def schemas_of(db, prefix: str) -> list[str]:
    with db.cursor() as cur:
        cur.execute("select nspname from pg_namespace where starts_with(nspname, %s) order by 1", (prefix,))
        return [row[0] for row in cur.fetchall()]


@pytest.fixture(scope="module")
def shops(database, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tenants")
    (folder / "grocer").mkdir()
    # the grocer counts revenue only once an order is completed (delivered), not while processing
    status_map = (settings.DBT_PROJECT_DIR / "seeds" / "status_map.csv").read_text()
    (folder / "grocer" / "status_map.csv").write_text(status_map.replace(
        "woocommerce,order,processing,processing,true", "woocommerce,order,processing,processing,false"))
    (folder / "tenants.yml").write_text(textwrap.dedent("""\
        tenants:
          grocer:
            sources: [woocommerce, klaviyo]
            schedules: {sync-woocommerce: "*/10 * * * *"}
            mappings: grocer
          gallery:
            sources: [woocommerce]
        """))
    ensure_role(database, "anon")
    ensure_role(database, "authenticated")
    worlds, outputs = {}, {}
    with pytest.MonkeyPatch.context() as mp, contextlib.ExitStack() as stack:
        mp.setenv("SEAMLINE_TENANTS_FILE", str(folder / "tenants.yml"))
        mp.setenv("TENANT_ANALYST_PW", ANALYST_PW)
        mp.setenv("TENANT_HASHED_PW", HASHED_PW)
        for shop, (seed, orders) in SHOPS.items():
            with database.cursor() as cur:
                for schema in schemas_of(database, f"{shop}_"):
                    cur.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))
            worlds[shop] = World(seed=seed, scale=orders)
            server = stack.enter_context(SandboxServer(worlds[shop]))
            for key, value in server.settings().items():  # each shop's secrets only under its own name
                mp.setenv(f"TENANTS__{shop.upper()}__{key}", value)
                mp.delenv(key, raising=False)
            assert seamline("--tenant", shop, "db", "grant", "--analyst-password-env", "TENANT_ANALYST_PW",
                            "--hashed-password-env", "TENANT_HASHED_PW") == 0
            outputs[shop] = (seamline("--tenant", shop, "sync"), seamline("--tenant", shop, "transform"))
        yield worlds, outputs, mp


def owners(db, schema: str) -> set[str]:
    with db.cursor() as cur:
        cur.execute("""select distinct c.relowner::regrole::text from pg_class c
                       join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s""", (schema,))
        return {row[0] for row in cur.fetchall()}


def test_each_shop_loads_and_builds_as_its_own_role_with_its_own_secrets(shops, database):
    worlds, outputs, _ = shops
    assert outputs == {"grocer": (0, 0), "gallery": (0, 0)}
    for shop, world in worlds.items():
        # the tables dlt and dbt created belong to the shop's role: their sessions ran as it
        assert owners(database, f"{shop}_raw_woocommerce") == {f"seamline_{shop}"}
        assert owners(database, f"{shop}_marts") == {f"seamline_{shop}"}
        assert scalar(database, f"select count(*) from {shop}_raw_woocommerce.orders") == len(world.woocommerce.orders)
        assert scalar(database, f"select count(*) from {shop}_marts.fct_orders where source_system = 'woocommerce'") \
            == len(world.woocommerce.orders)
        # dbt ran with the shop's name as its `tenant` var, into artifacts of its own
        run = json.loads((settings.home() / "dbt" / f"target-{shop}" / "run_results.json").read_text())
        assert run["args"]["vars"]["tenant"] == shop
    # the gallery uses WooCommerce only: nothing of Klaviyo was fetched or built for it
    assert scalar(database, "select count(*) from grocer_raw_klaviyo.profiles") == len(worlds["grocer"].klaviyo.profiles)
    assert scalar(database, "select to_regclass('gallery_raw_klaviyo.profiles')") is None


def test_a_shops_mapping_override_applies_to_it_alone(shops, database):
    worlds, _, _ = shops
    processing = {shop: sum(1 for o in w.woocommerce.orders.values() if o.status == "processing")
                  for shop, w in worlds.items()}
    assert processing["grocer"] > 0 and processing["gallery"] > 0

    def revenue_orders(shop: str) -> int:
        return scalar(database, f"select count(*) from {shop}_marts.fct_orders "
                                "where source_status = 'processing' and counts_as_revenue")

    assert revenue_orders("grocer") == 0
    assert revenue_orders("gallery") == processing["gallery"]
    assert scalar(database, "select counts_as_revenue from grocer_mappings.status_map "
                            "where source_system = 'woocommerce' and source_status = 'processing'") is False


def test_roles_read_their_own_shop_only(shops, database):
    for shop, other in (("grocer", "gallery"), ("gallery", "grocer")):
        role = f"seamline_{shop}"
        conn = psycopg2.connect(host=database.host, port=database.port, dbname=database.dbname,
                                user=database.user, options=f"-crole={role}")
        conn.autocommit = True
        try:
            assert can_read(conn, f"{shop}_raw_woocommerce.customers")
            assert not can_read(conn, f"{other}_raw_woocommerce.customers")
            assert not can_read(conn, f"{other}_marts.fct_orders")
        finally:
            conn.close()
        with connect_as(database, f"seamline_{shop}_analyst", ANALYST_PW) as conn:
            assert can_read(conn, f"{shop}_marts.fct_orders")
            assert not can_read(conn, f"{shop}_raw_woocommerce.customers")
            assert not can_read(conn, f"{other}_marts.fct_orders")
        for api_role in ("anon", "authenticated"):
            with database.cursor() as cur:
                cur.execute(sql.SQL("set role {}").format(sql.Identifier(api_role)))
                for relation in (f"{shop}_marts.fct_orders", f"{shop}_raw_woocommerce.customers"):
                    assert not can_read(cur.connection, relation), (api_role, relation)


def test_the_hashed_analyst_reads_marts_without_pii(shops, database):
    worlds, _, _ = shops
    emails = {p.email for p in worlds["grocer"].people}
    with connect_as(database, "seamline_grocer_hashed", HASHED_PW) as conn, conn.cursor() as cur:
        cur.execute("select count(*), count(distinct email_hash), sum(source_records) from grocer_marts.dim_customers")
        customers, hashes, records = cur.fetchone()
        cur.execute("select count(*), sum(order_total) from grocer_marts.fct_orders")
        orders, revenue = cur.fetchone()
        for query in ("select email from grocer_marts.dim_customers", "select * from grocer_marts.fct_orders",
                      "select customer_email from grocer_marts.fct_orders",
                      "select competing_values from grocer_marts.review_queue"):
            with pytest.raises(errors.InsufficientPrivilege):
                cur.execute(query)
        assert not can_read(conn, "gallery_marts.fct_orders")
    assert customers == hashes == scalar(database, "select count(*) from grocer_marts.dim_customers") > 0
    assert records == scalar(database, "select sum(source_records) from grocer_marts.dim_customers")
    assert (orders, revenue) == (len(worlds["grocer"].woocommerce.orders),
                                 scalar(database, "select sum(order_total) from grocer_marts.fct_orders"))
    # the hashes join to what an analyst with PII sees, and are not the addresses themselves
    assert scalar(database, "select count(*) from grocer_marts.dim_customers where email = any(%s)",
                  sorted(emails)) > 0
    assert scalar(database, "select count(*) from grocer_marts.dim_customers where email_hash = any(%s)",
                  sorted(emails)) == 0


def test_schedules_and_deployments_are_the_shops_own(shops):
    _, _, mp = shops
    from flows.deployments import load_specs
    from seamline.tenants import activate

    with kept_environment():
        activate("grocer")
        specs = {spec["name"]: spec for spec in load_specs()}
        assert specs["sync-woocommerce"]["schedule"] == {"cron": "*/10 * * * *"}
        assert "sync-xero" not in specs  # not one of the grocer's sources
        assert "outbound-klaviyo-profiles" in specs and "outbound-xero-invoices" not in specs
        assert settings.tenant_scoped("sync-woocommerce") == "sync-woocommerce@grocer"


def test_unknown_tenant_and_missing_roles_are_clear_errors(shops, database, capsys, tmp_path):
    _, _, mp = shops
    assert seamline("--tenant", "bakery", "status") == 1
    assert "unknown tenant 'bakery' (tenants: gallery, grocer)" in capsys.readouterr().err
    (tmp_path / "tenants.yml").write_text("tenants:\n  bakery:\n    sources: [woocommerce]\n")
    mp.setenv("SEAMLINE_TENANTS_FILE", str(tmp_path / "tenants.yml"))
    with database.cursor() as cur:
        cur.execute("drop role if exists seamline_bakery")
    assert seamline("--tenant", "bakery", "status") == 1
    err = capsys.readouterr().err
    assert "seamline_bakery" in err and "db grant" in err
    (tmp_path / "tenants.yml").write_text("tenants:\n  bakery:\n    sources: [woocommerce, shopify]\n")
    assert seamline("--tenant", "bakery", "status") == 1
    assert "unknown source(s) shopify" in capsys.readouterr().err
