"""The vendors' clients for writing: the same classes the sources read with (retries,
Retry-After, Xero's rotating refresh token kept in ops.oauth_tokens), configured from the same
`SOURCES__<NAME>__<KEY>` settings (dlt config and secrets)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import dlt

from ingest.http import AuthError, RequestRejected
from outbound.writer import Rejected, vendor_message
from seamline.database import Database
from seamline.errors import SeamlineError


def setting(source: str, key: str, *, secret: bool = False, default: str | None = None) -> str:
    provider = dlt.secrets if secret else dlt.config
    value = provider.get(f"sources.{source}.{key}")
    if value in (None, ""):
        if default is not None:
            return default
        raise SeamlineError(f"outbound {source}: SOURCES__{source.upper()}__{key.upper()} is not set")
    return str(value)


def make(vendor: str, db: Database):
    if vendor == "xero":
        from ingest.xero.helpers import TOKEN_URL, XeroClient
        from ingest.xero.tokens import TokenStore

        client_id = setting("xero", "client_id", secret=True)
        return XeroClient(setting("xero", "base_url"), setting("xero", "token_url", default=TOKEN_URL), client_id,
                          setting("xero", "client_secret", secret=True),
                          setting("xero", "refresh_token", secret=True), setting("xero", "tenant_id", secret=True),
                          tokens=TokenStore(db, "xero", client_id))
    if vendor == "klaviyo":
        from ingest.klaviyo.helpers import KlaviyoClient

        return KlaviyoClient(setting("klaviyo", "base_url"), setting("klaviyo", "api_key", secret=True))
    if vendor == "woocommerce":
        from ingest.woocommerce.helpers import WooCommerceClient

        return WooCommerceClient(setting("woocommerce", "base_url"),
                                 setting("woocommerce", "consumer_key", secret=True),
                                 setting("woocommerce", "consumer_secret", secret=True))
    if vendor == "finale":
        from ingest.finale.helpers import FinaleClient

        return FinaleClient(setting("finale", "base_url"), setting("finale", "api_key", secret=True),
                            setting("finale", "api_secret", secret=True))
    raise SeamlineError(f"no outbound client for {vendor!r}")


def send_json(client, vendor: str, method: str, path: str, body: dict | None, *, resource: str,
              headers: dict | None = None):
    """One write; a 4xx becomes Rejected with the vendor's own message. Returns (status, parsed body)."""
    url = f"{client.base_url}/{path.lstrip('/')}"
    if vendor == "xero":
        client.ensure_token(resource)
    try:
        response = _request(client, method, url, body, resource, headers)
    except AuthError:
        if vendor != "xero":
            raise
        client.refresh(resource)  # an access token refused before its time: once more
        response = _request(client, method, url, body, resource, headers)
    except RequestRejected as exc:
        raise Rejected(vendor_message(vendor, exc), exc.status_code) from None
    parsed = client.parse(response.content) if response.content else None
    return response.status_code, parsed


def _request(client, method, url, body, resource, headers):
    headers = dict(headers or {})
    kwargs = {}
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
        kwargs["data"] = json.dumps(body, default=_number).encode()
    return client.request(method, url, resource=resource, headers=headers, **kwargs)


def _number(value):
    """Decimals from the database go out as JSON numbers (their shortest exact float form)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} as JSON")
