"""Small HTTP helpers every simulated API shares."""

from __future__ import annotations

import base64

import orjson
from starlette.requests import Request
from starlette.responses import Response


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def basic_auth(request: Request) -> tuple[str, str] | None:
    """The (user, password) of an HTTP Basic header, or None."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


def url_with(request: Request, **params) -> str:
    """The request's own URL with some query parameters replaced."""
    query = dict(request.query_params)
    query.update({k: str(v) for k, v in params.items()})
    return str(request.url.replace_query_params(**query))


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    return int(raw)
