"""EnvironmentOnce: the proxies and CA bundle requests would use, read once per scheme and host."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from ingest.http import EnvironmentOnce

URLS = ["http://127.0.0.1:8123/wp-json/wc/v3/orders", "https://api.xero.com/api.xro/2.0/Invoices",
        "https://x.retail.lightspeed.app/api/2.0/sales", "http://shop.example.com/x"]
ENVIRONMENTS = [
    {},
    {"HTTPS_PROXY": "http://proxy.corp:3128", "HTTP_PROXY": "http://proxy.corp:3129"},
    {"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "api.xero.com,127.0.0.1"},
    {"ALL_PROXY": "socks5://proxy.corp:1080", "no_proxy": ".example.com"},
    {"REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem"},
    {"CURL_CA_BUNDLE": "/etc/ssl/curl.pem", "HTTP_PROXY": "http://proxy.corp:3129"},
]
PROXY_NAMES = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "all_proxy",
               "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]


@pytest.fixture
def clean_env(monkeypatch):
    for name in PROXY_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_same_settings_requests_would_use(clean_env, environment):
    for name, value in environment.items():
        clean_env.setenv(name, value)
    for url in URLS:
        for verify in (None, True, False, "/my/bundle.pem"):
            for proxies in ({}, {"https": "http://explicit:1"}):
                ours = EnvironmentOnce().merge_environment_settings(url, dict(proxies), None, verify, None)
                theirs = requests.Session().merge_environment_settings(url, dict(proxies), None, verify, None)
                assert ours == theirs, (environment, url, verify, proxies)


def test_the_environment_is_read_once_per_host(clean_env):
    session = EnvironmentOnce()
    clean_env.setenv("HTTPS_PROXY", "http://first:3128")
    first = session.merge_environment_settings(URLS[1], {}, None, None, None)
    clean_env.setenv("HTTPS_PROXY", "http://second:3128")
    again = session.merge_environment_settings(URLS[1], {}, None, None, None)
    other_host = session.merge_environment_settings(URLS[2], {}, None, None, None)
    assert first["proxies"]["https"] == again["proxies"]["https"] == "http://first:3128"
    assert other_host["proxies"]["https"] == "http://second:3128"


class _Proxy(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        _Proxy.seen.append(self.path)
        body = b'{"through": "proxy"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_request_goes_through_the_environments_proxy_unless_no_proxy_names_the_host(clean_env):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        clean_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_port}")
        clean_env.setenv("NO_PROXY", "bypassed.invalid")
        session = EnvironmentOnce()
        response = session.get("http://shop.invalid/wp-json/wc/v3/orders?page=2", timeout=5)
        assert response.json() == {"through": "proxy"}
        assert _Proxy.seen == ["http://shop.invalid/wp-json/wc/v3/orders?page=2"]
        with pytest.raises(requests.ConnectionError):  # straight to a host that does not resolve
            session.get("http://bypassed.invalid/x", timeout=5)
        assert len(_Proxy.seen) == 1
    finally:
        server.shutdown()
        server.server_close()
