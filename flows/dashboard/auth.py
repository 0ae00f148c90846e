"""The dashboard's one password and its signed session cookie.

No password configured means no dashboard (never open access). The cookie holds an issue time and
a random id, signed with HMAC-SHA256 under a key derived from the password with scrypt: a new
password ends every session, and a stolen cookie is no shortcut to guessing the password.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections import deque
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse

from seamline.errors import SeamlineError

PASSWORD_ENV = "SEAMLINE_DASHBOARD_PASSWORD"
COOKIE = "seamline_session"
SESSION_SECONDS = 12 * 3600
# reachable without a session: the login form itself, its stylesheet, a liveness probe
OPEN_PATHS = ("/login", "/healthz")
OPEN_PREFIXES = ("/static/",)


def configured_password(password: str | None = None) -> str:
    password = password if password is not None else os.environ.get(PASSWORD_ENV, "")
    if not password.strip():
        raise SeamlineError(f"{PASSWORD_ENV} is not set: the dashboard does not start without a password")
    return password


def ensure_demo_password() -> str:
    """The demo's dashboard password: SEAMLINE_DASHBOARD_PASSWORD if set, else one generated once and
    kept (owner-only) in SEAMLINE_HOME, so every demo run prints the same one."""
    if os.environ.get(PASSWORD_ENV, "").strip():
        return os.environ[PASSWORD_ENV]
    from seamline import settings

    path = settings.home() / "dashboard-password"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(12))
    password = path.read_text().strip()
    os.environ[PASSWORD_ENV] = password
    return password


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


class Sessions:
    def __init__(self, password: str, max_age: int = SESSION_SECONDS):
        self._password = _digest(password)
        self._key = hashlib.scrypt(password.encode(), salt=b"seamline-dashboard-session-v1",
                                   n=2**14, r=8, p=1, dklen=32)
        self.max_age = max_age
        self._revoked: set[str] = set()  # ids logged out in this process

    def password_ok(self, given: str) -> bool:
        # equal-length digests: the comparison time says nothing about the password
        return hmac.compare_digest(_digest(given), self._password)

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def issue(self) -> str:
        payload = f"{int(time.time())}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign(payload)}"

    def valid(self, token: str | None) -> bool:
        if not token or token.count(".") != 2:
            return False
        issued, session_id, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(f"{issued}.{session_id}")):
            return False
        if not issued.isdigit() or time.time() - int(issued) > self.max_age:
            return False
        return session_id not in self._revoked

    def csrf_token(self, token: str | None) -> str:
        """The form token of a session: bound to its id, so it is worthless in another session."""
        session_id = token.split(".")[1] if self.valid(token) else ""
        return self._sign(f"csrf.{session_id}")

    def csrf_ok(self, token: str | None, given: str | None) -> bool:
        return self.valid(token) and hmac.compare_digest((given or "").encode(), self.csrf_token(token).encode())

    def revoke(self, token: str | None) -> None:
        if self.valid(token):
            self._revoked.add(token.split(".")[1])


class LoginThrottle:
    """At most `limit` wrong passwords a minute, from anywhere: guessing stays slow even in
    parallel. While it holds, every login is refused, so it is no oracle for the right password."""

    def __init__(self, limit: int = 20, window: float = 60.0):
        self.limit, self.window = limit, window
        self._failures: deque[float] = deque()

    def blocked(self) -> bool:
        cutoff = time.monotonic() - self.window
        while self._failures and self._failures[0] < cutoff:
            self._failures.popleft()
        return len(self._failures) >= self.limit

    def failed(self) -> None:
        self._failures.append(time.monotonic())


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would make the login form a phishing tool."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class RequireLogin:
    """ASGI middleware: every path except the login form needs a valid session.

    Pages redirect to the login form; the JSON API answers 401.
    """

    def __init__(self, app, sessions: Sessions):
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        request = Request(scope)
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or self.sessions.valid(request.cookies.get(COOKIE)):
            return await self.app(scope, receive, send)
        if path.startswith("/api/"):
            response = JSONResponse({"error": "login required"}, status_code=401)
        else:
            target = path + (f"?{scope['query_string'].decode()}" if scope.get("query_string") else "")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        await response(scope, receive, send)
