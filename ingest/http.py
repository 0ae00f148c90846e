"""The one HTTP client every source uses: retries, Retry-After, and counts of what it did.

Transient failures (429, 5xx, timeouts, dropped connections) are retried with backoff;
a refused credential is not transient and fails at once with the vendor's reason.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import orjson
import requests
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

from seamline.errors import SeamlineError
from seamline.masking import mask_text

log = logging.getLogger(__name__)

TRANSIENT_STATUS = {429, 500, 502, 503, 504}


class SourceError(SeamlineError):
    """A source failed in a way the operator must act on (credentials, bad request, gave up)."""


class AuthError(SourceError):
    """The vendor refused our credentials."""


class MalformedResponse(SourceError):
    """A page that stayed unreadable after retries; the sync quarantines its raw body."""

    def __init__(self, message: str, *, resource: str, url: str, body: bytes):
        super().__init__(message)
        self.resource = resource
        self.url = url
        self.body = body


class RequestRejected(SourceError):
    """The vendor refused the request itself (a 4xx other than 401/403/429): not transient.
    Writers read the vendor's own reasons from `body` (the parsed JSON, when there is one)."""

    def __init__(self, message: str, *, status_code: int, body=None):
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class RateLimitExhausted(SourceError):
    """A limit that will not clear soon (e.g. Xero's day limit): stop cleanly, resume next run."""


@dataclass
class ResourceStats:
    api_calls: int = 0
    retries: int = 0
    errors: int = 0


@dataclass
class SyncStats:
    """Per-resource counters, shared by a source's client and the run record."""

    resources: dict[str, ResourceStats] = field(default_factory=dict)

    def of(self, resource: str) -> ResourceStats:
        return self.resources.setdefault(resource, ResourceStats())


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date (Lightspeed sends the date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


class EnvironmentOnce(requests.Session):
    """A session that reads the environment's proxies and CA bundle once per scheme and host.

    requests reads them on every call (`getproxies()` and `proxy_bypass()` walk every
    environment variable: about 0.3 ms a call with a few hundred of them, thousands of calls in a
    full sync); a sync's environment does not change while it runs. What it finds is what
    requests would: the same variables, the same precedence (tests/test_http_session.py)."""

    def __init__(self):
        super().__init__()
        self._environment: dict[tuple[str, str], tuple[dict, str | None]] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if not self.trust_env or proxies is None or "no_proxy" in proxies:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._environment:
            self._environment[key] = (get_environ_proxies(url),
                                      os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"))
        env_proxies, bundle = self._environment[key]
        for name, value in env_proxies.items():
            proxies.setdefault(name, value)
        if (verify is True or verify is None) and bundle:
            verify = bundle
        return {"proxies": merge_setting(proxies, self.proxies), "stream": merge_setting(stream, self.stream),
                "verify": merge_setting(verify, self.verify), "cert": merge_setting(cert, self.cert)}


class HttpClient:
    # vendors that send money as JSON numbers (Xero, Lightspeed, Finale) set this: numbers with a
    # fraction are parsed as Decimal, never float
    decimal_numbers = False

    def __init__(
        self,
        source: str,
        stats: SyncStats | None = None,
        *,
        secrets: tuple[str, ...] = (),
        max_attempts: int = 6,
        backoff_base: float | None = None,
        backoff_cap: float = 30.0,
        max_wait: float = 120.0,
        timeout: float = 30.0,
    ):
        self.source = source
        self.stats = stats or SyncStats()
        self.session = EnvironmentOnce()
        self.secrets = secrets
        self.max_attempts = max_attempts
        # configuration, so tests and impatient operators can shorten the waits
        self.backoff_base = backoff_base if backoff_base is not None else float(
            os.environ.get("SEAMLINE_HTTP_BACKOFF_SECONDS", "0.5"))
        self.backoff_cap = backoff_cap
        self.max_wait = max_wait
        self.timeout = timeout

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)

    def request(self, method: str, url: str, *, resource: str, **kwargs) -> requests.Response:
        counters = self.stats.of(resource)
        kwargs.setdefault("timeout", self.timeout)
        last_problem = ""
        for attempt in range(1, self.max_attempts + 1):
            counters.api_calls += 1
            try:
                response = self.session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                last_problem = f"{type(exc).__name__}"
                wait = self._backoff(attempt)
            else:
                if response.status_code < 400:
                    return response
                if response.status_code in (401, 403):
                    raise AuthError(self._describe(response, "the API refused the credentials"))
                if response.status_code not in TRANSIENT_STATUS:
                    raise RequestRejected(self._describe(response, "the API rejected the request"),
                                          status_code=response.status_code, body=_json_or_none(response))
                self.check_rate_limit(response)
                last_problem = f"HTTP {response.status_code}"
                hinted = retry_after_seconds(response.headers.get("Retry-After"))
                wait = hinted if hinted is not None else self._backoff(attempt)
                if wait > self.max_wait:
                    raise RateLimitExhausted(
                        f"{self.source}: rate limited for {wait:.0f}s (over the {self.max_wait:.0f}s we wait); "
                        "stopped cleanly, the next run resumes from the saved cursor"
                    )
            counters.errors += 1
            if attempt == self.max_attempts:
                break
            counters.retries += 1
            log.info("%s %s: %s, retry %d in %.1fs", self.source, resource, last_problem, attempt, wait)
            time.sleep(wait)
        raise SourceError(f"{self.source}: gave up on {resource} after {self.max_attempts} attempts ({last_problem})")

    def get_json(self, url: str, *, resource: str, validate=None, **kwargs):
        """GET and parse JSON (orjson). A body that does not parse, or that `validate` rejects
        (returning a reason), is retried like a 5xx (it is usually a cut-off transfer); if it
        stays bad the caller gets MalformedResponse with the raw body to quarantine."""
        counters = self.stats.of(resource)
        for attempt in range(1, self.max_attempts + 1):
            response = self.request("GET", url, resource=resource, **kwargs)
            try:
                body = self.parse(response.content)
                problem = validate(body) if validate else None
            except ValueError as exc:  # orjson's and json's decode errors are ValueErrors
                problem = f"not JSON ({exc})"
            if problem is None:
                return body, response
            counters.errors += 1
            if attempt < self.max_attempts:
                counters.retries += 1
                log.info("%s %s: malformed page (%s), retry %d", self.source, resource, problem, attempt)
                time.sleep(self._backoff(attempt))
        raise MalformedResponse(
            mask_text(f"{self.source}: {resource}: the API kept sending a malformed page: {problem}", self.secrets),
            resource=resource, url=mask_text(response.url, self.secrets), body=response.content)

    def parse(self, content: bytes):
        if self.decimal_numbers:
            return json.loads(content, parse_float=Decimal)
        return orjson.loads(content)

    def check_rate_limit(self, response: requests.Response) -> None:
        """Vendors with limits that must stop the run (not wait) override this."""

    def _describe(self, response: requests.Response, what: str) -> str:
        detail = ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code = body.get("code") or body.get("error") or body.get("Type") or ""
            message = body.get("message") or body.get("Message") or body.get("error_description") or body.get("detail")
            if message is None and isinstance(body.get("errors"), list) and body["errors"]:
                first = body["errors"][0]
                message = first.get("detail") if isinstance(first, dict) else str(first)
            detail = f" ({code}: {message})" if code else f" ({message})" if message else ""
        text = f"{self.source}: {what}: HTTP {response.status_code}{detail}"
        return mask_text(text, self.secrets)
