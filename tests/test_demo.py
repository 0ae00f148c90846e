"""`seamline demo` as a user runs it: twice, the second time incremental."""

from __future__ import annotations

import os
import subprocess
import sys

from seamline import settings


def run_demo(env):
    return subprocess.run([sys.executable, "-m", "flows.cli", "demo"], capture_output=True, text=True, env=env,
                          timeout=600, cwd=settings.PROJECT_ROOT)


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
    assert "incremental" in line and 0 < int(line.split()[2]) < 50
    assert_webhook_path_shown(out2)  # a restarted sandbox's deliveries are new, not duplicates
    with database.cursor() as cur:
        cur.execute("select count(*) from demo_marts.fct_orders")
        assert cur.fetchone()[0] >= 200
    assert "postgres:" not in first.stdout + second.stdout  # no connection URL, masked or not
