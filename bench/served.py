"""A sandbox world served from a process of its own, as the vendors' APIs are: the bench's
syncs and fetches do not share a GIL with the server answering them.

    with served_world(100_000, faults=UNLIMITED) as world:
        os.environ.update(world.settings)
        ...
        changes = world.advance(14.4)   # {vendor: {resource: records changed}}
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class ServedWorld:
    ready: dict  # the child's report: build_s, rss_kb, advance_s, base_url, settings, now, counts
    pid: int

    @property
    def settings(self) -> dict[str, str]:
        return self.ready["settings"]

    @property
    def base_url(self) -> str:
        return self.ready["base_url"]

    def advance(self, hours: float) -> dict[str, dict[str, int]]:
        """Move the world forward; what changed, counted per vendor and resource."""
        response = requests.post(f"{self.base_url}/_sandbox/advance", params={"hours": hours}, timeout=1800)
        response.raise_for_status()
        return response.json()


@contextlib.contextmanager
def served_world(scale: int, seed: int = 7, faults: str | None = None) -> Iterator[ServedWorld]:
    """Build World(seed, scale) in a child (bench.sandbox_scale --child), serve it until the block
    ends."""
    command = [sys.executable, "-m", "bench.sandbox_scale", "--child", "--scale", str(scale), "--seed", str(seed)]
    if faults:
        command += ["--faults", faults]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox child died while building the world")
        yield ServedWorld(json.loads(line), proc.pid)
    finally:
        proc.stdin.close()  # the child serves until its stdin closes
        proc.wait(timeout=120)
