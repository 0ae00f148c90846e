"""Keep a sandbox world across processes: its seed, scale, start and its journal (every advance
and every API write accepted, in order).

The world is deterministic, so replaying the same journal rebuilds it exactly, records created
through the APIs included; the demo uses this to move the same world forward on every run.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sandbox.world import World


def load_world(path: Path, seed: int, scale: int) -> tuple[World, bool]:
    """The saved world (replayed) or a new one starting three days ago; True if it is new."""
    if path.exists():
        state = json.loads(path.read_text())
        if state["seed"] == seed and state["scale"] == scale:
            world = World(seed=seed, scale=scale, start=datetime.fromisoformat(state["start"]))
            # a state saved before writes were journalled has only its advances
            world.replay(state.get("journal") or [["advance", h] for h in state["advanced_hours"]])
            return world, False
    start = (datetime.now(timezone.utc) - timedelta(days=3)).replace(second=0, microsecond=0)
    return World(seed=seed, scale=scale, start=start), True


def save_world(world: World, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "seed": world.seed, "scale": world.scale, "start": world.start.isoformat(),
        "advanced_hours": world.advanced_hours, "journal": world.journal,
    }))


def catch_up_hours(world: World, max_hours: float = 6.0) -> float:
    """How far to move the world now: up to `max_hours`, never past the real clock
    (vendors reject cursors in the future), and at least a minute."""
    room = (datetime.now(timezone.utc) - world.clock.now()).total_seconds() / 3600
    return max(1 / 60, min(max_hours, room))
