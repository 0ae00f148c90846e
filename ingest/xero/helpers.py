"""Xero's Accounting API: the client (OAuth2 refresh with rotation, tenant header, limits),
.NET dates, and keyset paging over `UpdatedDateUTC`."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import requests

from ingest.cursor import format_utc, parse_utc
from ingest.http import TRANSIENT_STATUS, AuthError, HttpClient, RateLimitExhausted, SourceError, retry_after_seconds
from ingest.xero.settings import (
    MIN_LIMIT_LOW_WATER,
    PACE_SECONDS,
    REFRESH_MARGIN,
    TOKEN_LOCK_WAIT_SECONDS,
    Collection,
)
from ingest.xero.tokens import TokenStore
from seamline.masking import mask_text

log = logging.getLogger(__name__)

TOKEN_URL = "https://identity.xero.com/connect/token"

# -- .NET JSON dates ------------------------------------------------------------------------
_NET_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_net_date(value: str) -> datetime | None:
    """`/Date(1552326816230+0000)/` -> an aware UTC datetime (None if it is not one).

    The number is milliseconds since the Unix epoch in UTC; the optional offset only says
    which zone the value was written in, it does not shift it."""
    match = _NET_DATE.match(value)
    if match is None:
        return None
    return _EPOCH + timedelta(milliseconds=int(match.group(1)))


# a whole JSON string holding a .NET date (Xero may escape its slashes)
_NET_DATE_JSON = re.compile(rb'"\\?/Date\((-?\d+)(?:[+-]\d{4})?\)\\?/"')


@functools.lru_cache(maxsize=4096)
def _iso_day(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%dT")


def _iso_date(match: re.Match) -> bytes:
    """The JSON string datetime.isoformat() writes for the instant (a few hundred a page: a
    datetime for each cost more than the parse)."""
    seconds, millis = divmod(int(match.group(1)), 1000)
    days, second = divmod(seconds, 86400)
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    fraction = f".{millis:03d}000" if millis else ""
    return f'"{_iso_day(days)}{hour:02d}:{minute:02d}:{second:02d}{fraction}+00:00"'.encode()


def net_dates_to_iso(content: bytes) -> bytes:
    """Every .NET date in a JSON body, anywhere in it, as ISO 8601 UTC text
    (`"/Date(1552326816230+0000)/"` -> `"2019-03-11T17:53:36.230000+00:00"`), before parsing:
    one pass over the bytes instead of a walk over every parsed value, and the loader reads
    ISO text as timestamps."""
    return _NET_DATE_JSON.sub(_iso_date, content)


def envelope(collection: Collection):
    """A `validate` callback: the reason a page is not Xero's envelope for this collection."""
    def check(body) -> str | None:
        if not isinstance(body, dict):
            return f"expected a JSON object, got {type(body).__name__}"
        if body.get("Status", "OK") != "OK":
            return f"the envelope's Status is {body.get('Status')!r}"
        records = body.get(collection.endpoint)
        if not isinstance(records, list):
            return f"the `{collection.endpoint}` array is missing" if records is None else (
                f"`{collection.endpoint}` is a {type(records).__name__}, not an array")
        if any(not isinstance(r, dict) or not r.get(collection.key) for r in records):
            return f"a record without `{collection.key}`"
        return None
    return check


def updated_at(record: dict) -> datetime | None:
    """A record's `UpdatedDateUTC` (ISO text once parsed), or None when it is not a date."""
    try:
        return parse_utc(record["UpdatedDateUTC"])
    except (KeyError, TypeError, ValueError):
        return None


class XeroClient(HttpClient):
    # Xero sends amounts as JSON numbers: parse them as Decimal, never float
    decimal_numbers = True

    def parse(self, content: bytes):
        return super().parse(net_dates_to_iso(content))

    def __init__(self, base_url: str, token_url: str, client_id: str, client_secret: str, refresh_token: str,
                 tenant_id: str, stats=None, *, tokens: TokenStore | None = None,
                 pace_seconds: float = PACE_SECONDS, **kwargs):
        super().__init__("xero", stats, secrets=(client_secret, refresh_token), **kwargs)
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.configured_refresh_token = refresh_token
        self.tenant_id = tenant_id
        self.pace_seconds = pace_seconds
        self._tokens = tokens
        self._token_session = requests.Session()  # no tenant or bearer header goes to identity
        self.session.headers.update({"Xero-Tenant-Id": tenant_id, "Accept": "application/json"})
        self._access: str | None = None
        self._refresh_at = 0.0  # monotonic time after which the access token is refreshed
        self._min_remaining: int | None = None
        self._last_status: int | None = None

    @property
    def tokens(self) -> TokenStore:
        if self._tokens is None:
            from seamline.database import get_database

            self._tokens = TokenStore(get_database(), "xero", self.client_id)
        return self._tokens

    def _hide(self, *secrets: str) -> None:
        self.secrets = tuple(dict.fromkeys((*self.secrets, *(s for s in secrets if s))))

    # -- OAuth2 ---------------------------------------------------------------------------
    def ensure_token(self, resource: str) -> None:
        if self._access is None or time.monotonic() >= self._refresh_at:
            self.refresh(resource)

    def refresh(self, resource: str) -> None:
        """Refresh the access token. Under the connection's lock: re-read the stored refresh
        token (it wins over the configured one), refresh, store the rotated token, and only
        then take the new access token into use."""
        with self.tokens.locked(TOKEN_LOCK_WAIT_SECONDS) as held:
            stored = held.read()
            candidates = list(dict.fromkeys(t for t in (stored, self.configured_refresh_token) if t))
            self._hide(*candidates)
            for token in candidates:
                granted = self._grant(token, resource)
                if granted is None:
                    if token == stored and self.configured_refresh_token not in (None, "", stored):
                        log.warning("xero: the stored refresh token was refused; trying the configured one")
                    continue
                rotated = granted.get("refresh_token") or token
                self._hide(rotated, granted["access_token"])
                held.write(rotated)  # durable before the new access token is used
                self._access = granted["access_token"]
                lifetime = float(granted.get("expires_in") or 1800)
                self._refresh_at = time.monotonic() + max(0.0, lifetime - REFRESH_MARGIN.total_seconds())
                self.session.headers["Authorization"] = f"Bearer {self._access}"
                log.info("xero: access token refreshed (the rotated refresh token is stored in ops)")
                return
        raise AuthError("xero: the refresh token was refused (invalid_grant): it expired or was rotated "
                        "without being saved; re-authorise the Xero app and set SOURCES__XERO__REFRESH_TOKEN")

    def _grant(self, refresh_token: str, resource: str) -> dict | None:
        """POST the refresh grant; the token set, or None for `invalid_grant`. Transient
        failures are retried (the old token stays valid for the grace period, so a retry after
        a lost answer still works)."""
        counters = self.stats.of(resource)
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            counters.api_calls += 1
            wait = self._backoff(attempt)
            try:
                response = self._token_session.post(self.token_url, data=data, timeout=self.timeout,
                                                    auth=(self.client_id, self.client_secret),
                                                    headers={"Accept": "application/json"})
                body = response.json() if response.content else {}
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    ValueError) as exc:
                problem = type(exc).__name__
            else:
                if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
                    return body
                error = body.get("error") if isinstance(body, dict) else None
                if error == "invalid_grant":
                    return None
                if error in ("invalid_client", "unauthorized_client"):
                    raise AuthError(f"xero: the token endpoint refused the app's credentials ({error}): "
                                    "check SOURCES__XERO__CLIENT_ID and SOURCES__XERO__CLIENT_SECRET")
                if response.status_code not in TRANSIENT_STATUS and response.status_code != 200:
                    raise SourceError(mask_text(f"xero: the token endpoint rejected the refresh: HTTP "
                                                f"{response.status_code} ({error or 'no reason given'})", self.secrets))
                problem = f"HTTP {response.status_code}"
                hinted = retry_after_seconds(response.headers.get("Retry-After"))
                wait = hinted if hinted is not None else wait
            counters.errors += 1
            if attempt == self.max_attempts:
                break
            counters.retries += 1
            log.info("xero %s: token refresh failed (%s), retry %d in %.1fs", resource, problem, attempt, wait)
            time.sleep(min(wait, self.max_wait))
        raise SourceError(f"xero: gave up refreshing the access token after {self.max_attempts} attempts ({problem})")

    # -- requests -------------------------------------------------------------------------
    def request(self, method: str, url: str, *, resource: str, **kwargs) -> requests.Response:
        self._pace()
        response = super().request(method, url, resource=resource, **kwargs)
        remaining = response.headers.get("X-MinLimit-Remaining")
        if remaining is not None and remaining.strip().isdigit():
            self._min_remaining = int(remaining)
        return response

    def get_json(self, url: str, *, resource: str, validate=None, **kwargs):
        self.ensure_token(resource)
        self._last_status = None
        try:
            return super().get_json(url, resource=resource, validate=validate, **kwargs)
        except AuthError:
            if self._last_status != 401:
                raise
        # the access token was refused before its time (revoked, or clocks disagree): once more
        log.info("xero %s: access token refused, refreshing once", resource)
        self.refresh(resource)
        return super().get_json(url, resource=resource, validate=validate, **kwargs)

    def _pace(self) -> None:
        """60 calls a minute per organisation: when few are left, space the calls out."""
        if self._min_remaining is not None and self._min_remaining <= MIN_LIMIT_LOW_WATER and self.pace_seconds > 0:
            log.info("xero: %d calls left this minute, pacing %.1fs", self._min_remaining, self.pace_seconds)
            time.sleep(self.pace_seconds)

    def check_rate_limit(self, response: requests.Response) -> None:
        """A day limit does not clear for hours: stop the run cleanly instead of spinning.
        A minute (or concurrency) limit is waited out by Retry-After in HttpClient."""
        if response.status_code != 429:
            return
        problem = (response.headers.get("X-Rate-Limit-Problem") or "").strip().lower()
        day_left = (response.headers.get("X-DayLimit-Remaining") or "").strip()
        if problem == "day" or (not problem and day_left == "0"):
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            when = f"; it resets in about {wait / 3600:.1f} h" if wait else ""
            raise RateLimitExhausted(
                f"xero: the organisation's daily API limit (5000 calls) is used up{when}; stopped cleanly, "
                "the next run resumes from the saved cursor")

    def _describe(self, response: requests.Response, what: str) -> str:
        self._last_status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and ("Detail" in body or "Title" in body):  # RFC 7807 problem details
            text = f"xero: {what}: HTTP {response.status_code} ({body.get('Title')}: {body.get('Detail')})"
            if response.status_code == 403:
                text += "; check SOURCES__XERO__TENANT_ID (the organisation must be connected to the app)"
            return mask_text(text, self.secrets)
        return super()._describe(response, what)

    # -- reading collections --------------------------------------------------------------
    def fetch(self, collection: Collection, params: dict, since: datetime | None,
              resource: str) -> tuple[list[dict], dict]:
        """One page (or a whole unpaged collection) changed after `since`, dates as ISO text."""
        headers = {"If-Modified-Since": format_utc(since)} if since is not None else {}
        body, _ = self.get_json(f"{self.base_url}/{collection.endpoint}", params=params, headers=headers,
                                resource=resource, validate=envelope(collection))
        pagination = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
        return body[collection.endpoint], pagination

    def read_whole(self, collection: Collection, since: datetime | None, resource: str) -> Iterator[list[dict]]:
        """Items and Accounts come unpaged: one call, changed records only once there is a cursor."""
        items, _ = self.fetch(collection, dict(collection.params), since, resource)
        if items:
            yield items

    def walk_modified(self, collection: Collection, since: datetime | None, resource: str,
                      page_size: int) -> Iterator[list[dict]]:
        """Keyset paging over `UpdatedDateUTC` (`If-Modified-Since` + `order=UpdatedDateUTC ASC`).

        Page numbers over a list sorted by update time skip a record whenever one on an
        earlier page is updated mid-walk (everything shifts forward by one). So each request
        restarts from the last update time seen, to the second (If-Modified-Since has no
        milliseconds and is exclusive: one second back), and callers drop the repeats. Only
        when a whole page falls inside that second do page numbers step within it. A short
        page ends the walk."""
        floor, page = since, 1
        while True:
            query = {**collection.params, "page": page, "pageSize": page_size, "order": "UpdatedDateUTC ASC"}
            items, pagination = self.fetch(collection, query, floor, resource)
            if items:
                yield items
            size = pagination.get("pageSize") if isinstance(pagination.get("pageSize"), int) else page_size
            if len(items) < size:
                return
            last = updated_at(items[-1])
            if last is None:
                page += 1
                continue
            next_floor = last.replace(microsecond=0) - timedelta(seconds=1)
            if floor is not None and next_floor <= floor:
                page += 1
            else:
                floor, page = next_floor, 1
