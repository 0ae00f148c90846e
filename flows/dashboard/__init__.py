"""The health dashboard served by `seamline serve` (or alone: `python -m flows.dashboard --port N`)."""

from flows.dashboard.app import build_dashboard_app
from flows.dashboard.server import DashboardServer

__all__ = ["DashboardServer", "build_dashboard_app"]
