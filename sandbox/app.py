"""The ASGI app: every simulated vendor API on one port, under its real path prefix.

Each vendor API is a class with `name`, `prefix`, `routes()` and `settings(base_url)`
(the SOURCES__<NAME>__<KEY> values that point a source at it); adding a vendor means
adding it to `vendor_apis`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from sandbox.delivery.api import DeliveryAPI
from sandbox.faults import FaultMiddleware, FaultPlan
from sandbox.finale.api import FinaleAPI
from sandbox.klaviyo.api import KlaviyoAPI
from sandbox.lightspeed.api import LightspeedAPI
from sandbox.woocommerce.api import WooCommerceAPI
from sandbox.xero.api import XeroAPI


def vendor_apis(world, faults: FaultPlan) -> list:
    return [
        WooCommerceAPI(world, faults.for_api("woocommerce")),
        KlaviyoAPI(world, faults.for_api("klaviyo")),
        XeroAPI(world, faults.for_api("xero")),
        LightspeedAPI(world, faults.for_api("lightspeed")),
        FinaleAPI(world, faults.for_api("finale")),
        DeliveryAPI(world, faults.for_api("delivery")),
    ]


def build_app(world, faults: FaultPlan | None = None):
    faults = faults or FaultPlan()
    apis = vendor_apis(world, faults)
    app = Starlette(routes=[Mount(api.prefix, routes=api.routes()) for api in apis])
    return FaultMiddleware(app, faults, {api.prefix: api.name for api in apis})


def source_settings(world, base_url: str) -> dict[str, str]:
    """The settings that point every source at a sandbox served at `base_url`."""
    out: dict[str, str] = {}
    for api in vendor_apis(world, FaultPlan()):
        out.update(api.settings(base_url))
    return out
