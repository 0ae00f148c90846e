"""`make bench` cleans up after itself: a 1,000,000-order run leaves some 20 GB of database."""

from __future__ import annotations

import psycopg2
import pytest

from bench.scratch import scratch_home
from seamline.database import start_embedded


def test_the_bench_home_goes_with_its_database(monkeypatch, tmp_path):
    monkeypatch.delenv("SEAMLINE_HOME", raising=False)
    with scratch_home() as home:
        url = start_embedded(home / "pgdata")
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
    assert not home.exists()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(url, connect_timeout=2).close()


def test_a_home_the_caller_chose_is_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("SEAMLINE_HOME", str(tmp_path))
    with scratch_home() as home:
        assert home == tmp_path
    assert tmp_path.exists()
