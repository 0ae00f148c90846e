"""`seamline demo` as a user runs it: twice, the second time incremental."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sandbox.app import source_settings
from sandbox.people import apply_phone_variant
from sandbox.persist import load_world
from seamline import settings

# what a vendor-data grep ignores: the data itself (dlt's load packages, the simulated vendors' own
# state), not logs or outputs
DATA_FOLDERS = ("pipelines", "sandbox")


def run_demo(env):
    return subprocess.run([sys.executable, "-m", "flows.cli", "demo"], capture_output=True, text=True, env=env,
                          timeout=600, cwd=settings.PROJECT_ROOT)


def assert_every_web_order_invoiced_once(out: str, home: Path) -> None:
    """The outbound step invoiced what the world's bookkeeping missed: one invoice per web order."""
    assert "0 web orders without an invoice (fct_order_invoice_reconciliation)" in out
    world, _ = load_world(home / "sandbox" / "demo-world.json", 7, 200)
    per_order = {o.id: len(world.xero.invoices_for_reference(str(o.id)))
                 for o in world.woocommerce.orders.values()}
    assert per_order and set(per_order.values()) == {1}, {n: c for n, c in per_order.items() if c != 1}


def assert_webhook_path_shown(out: str) -> None:
    """After the pipeline, the store moves on and its signed webhooks carry the change to the marts."""
    line = next(li for li in out.splitlines() if li.startswith("webhooks:"))
    assert "reached fct_orders" in line and int(line.split()[1]) > 0, line


def test_demo_runs_full_then_incremental(database, tmp_path):
    env = {**os.environ, "SEAMLINE_HOME": str(tmp_path / "home"), "SEAMLINE_DEMO_SCALE": "200",
           # its own schemas, so the demo's world never mixes with the other tests' worlds
           "SEAMLINE_SCHEMA_PREFIX": "demo_", "PREFECT_HOME": str(tmp_path / "prefect")}
    first = run_demo(env)
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    assert "first run, full load" in out
    line = next(li for li in out.splitlines() if li.startswith("woocommerce"))
    assert line.split()[1] == "success" and int(line.split()[2]) > 200
    assert "dbt build: ok" in out and "woocommerce 100.0" in out.split("quality score:")[1].splitlines()[0]
    assert "dbt docs:" in out and "Data Docs:" in out
    assert_webhook_path_shown(out)

    second = run_demo(env)
    assert second.returncode == 0, second.stderr[-3000:]
    out2 = second.stdout
    assert "syncing incrementally" in out2
    line = next(li for li in out2.splitlines() if li.startswith("woocommerce"))
    full_rows = int(next(li for li in out.splitlines() if li.startswith("woocommerce")).split()[2])
    # the changes only: the world's few minutes, and the orders and stock the first run's outbound
    # jobs wrote back to the store
    assert "incremental" in line and 0 < int(line.split()[2]) < full_rows / 4, (line, full_rows)
    assert_webhook_path_shown(out2)  # a restarted sandbox's deliveries are new, not duplicates
    with database.cursor() as cur:
        cur.execute("select count(*) from demo_marts.fct_orders")
        assert cur.fetchone()[0] >= 200
    assert "postgres:" not in first.stdout + second.stdout  # no connection URL, masked or not
    assert "0 web orders without an invoice (fct_order_invoice_reconciliation)" in out
    assert_every_web_order_invoiced_once(out2, Path(env["SEAMLINE_HOME"]))
    outputs = [first.stdout, first.stderr, second.stdout, second.stderr]
    assert_no_people_or_secrets(outputs, tmp_path, Path(env["SEAMLINE_HOME"]))


def needles(home: Path) -> list[str]:
    """Every email and phone (as people write it) of the demo's world, and the sandbox's secrets."""
    world, _ = load_world(home / "sandbox" / "demo-world.json", 7, 200)
    found = [p.email for p in world.people]
    found += [apply_phone_variant(code, p.mobile) for p in world.people for code in range(4)]
    found += [value for key, value in source_settings(world, "http://sandbox").items()
              if re.search(r"KEY|SECRET|TOKEN", key) and len(value) >= 6]
    return [n.lower() for n in found]


def assert_no_people_or_secrets(outputs: list[str], tmp_path: Path, home: Path) -> None:
    """The issue's grep: every output of both runs and every log, report, Data Docs page, dbt
    artifact and Prefect record they left (Prefect's database holds the flow-run logs)."""
    pattern = re.compile("|".join(re.escape(n) for n in needles(home)))
    texts = {f"output {i}": text for i, text in enumerate(outputs)}
    gx_dir = settings.GX_PROJECT_DIR / "tenants" / "demo" / "gx" / "uncommitted"
    roots = [tmp_path, gx_dir]
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not any(part in DATA_FOLDERS for part in path.relative_to(root).parts[:2]):
                texts[str(path)] = path.read_bytes().decode("latin-1")
    assert len(texts) > 50  # the logs, docs and Prefect's database were really read
    leaks = {where: match.group(0) for where, text in texts.items() if (match := pattern.search(text.lower()))}
    assert not leaks, f"people or secrets in logs and outputs: {sorted(leaks)[:5]}"
