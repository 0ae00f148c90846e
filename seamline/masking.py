"""Keep secrets out of every message: URLs print with their password masked."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "****"

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]*)@")
_KEY_VALUE = re.compile(
    r"(?i)(?P<key>password|secret|api_key|token|consumer_secret|consumer_key|refresh_token|access_token)"
    r"(?P<sep>\s*[=:]\s*)(?P<value>[^\s&,'\"]+)"
)


def mask_url(url: str) -> str:
    """Return the URL with any password replaced by a mask; other parts are kept."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_text(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{user}:{MASK}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mask_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask URL passwords, `key=value` secrets and any literal secret values inside free text."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}{m['sep']}{MASK}", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text
