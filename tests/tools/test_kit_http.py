"""The HTTP kit: allowlist checks with sockets blocked; real requests to a loopback server (integration)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from taskwarden.tools.kits import HostPattern, HttpKit


class Server:
    """A loopback HTTP server in a thread that records the requests it got."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.redirects: dict[str, str] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(b"")

            def do_POST(self) -> None:
                self._answer(self.rfile.read(int(self.headers.get("Content-Length", 0))))

            def _answer(self, body: bytes) -> None:
                server.requests.append((self.command, self.path, dict(self.headers), body))
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.end_headers()
                    return
                if self.path == "/slow":
                    time.sleep(1.5)
                payload = {"/big": b"x" * 100_000, "/echo": body}.get(self.path, b"hello from " + self.path.encode())
                self.send_response(201 if self.command == "POST" else 404 if self.path == "/missing" else 200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"http://{self.host}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    running = Server()
    yield running
    running.stop()


@pytest.fixture
def other_server():
    running = Server()
    yield running
    running.stop()


def get(kit: HttpKit, url: str) -> dict:
    return json.loads(kit.http_get(url))


# Unit tests: sockets are blocked here, so a refusal proves no connection was even tried.

@pytest.mark.parametrize("url", ["http://evil.example/", "https://api.example.com.evil.example/",
                                 "http://example.com/", "http://api.example.com:8443/"])
def test_hosts_off_the_allowlist_are_refused_before_any_connection(url):
    kit = HttpKit(allowed_hosts=("api.example.com", "*.docs.example.com"))
    with pytest.raises(PermissionError, match="is not an allowed host; allowed: api.example.com, \\*.docs.example.com"):
        kit.http_get(url)
    with pytest.raises(PermissionError, match="is not an allowed host"):
        kit.http_post(url, "{}")


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://api.example.com/file", "only http:// and https:// URLs are allowed"),
    ("file:///etc/passwd", "only http:// and https:// URLs are allowed"),
    ("api.example.com/path", "only http:// and https:// URLs are allowed"),
    ("http://user:pw@api.example.com/", "URLs with credentials"),
])
def test_other_schemes_and_credentials_are_refused(url, reason):
    with pytest.raises(PermissionError, match=reason):
        HttpKit(allowed_hosts=("api.example.com",)).http_get(url)


def test_host_patterns():
    exact, wildcard, with_port = (HostPattern.parse(text) for text in ("API.example.com.", "*.example.org", "[::1]:8080"))
    assert exact.matches("api.example.com", 443, 443) and not exact.matches("api.example.com", 8443, 443)
    assert wildcard.matches("a.b.example.org", 80, 80) and not wildcard.matches("example.org", 80, 80)
    assert not wildcard.matches("badexample.org", 80, 80)
    assert with_port.matches("::1", 8080, 80) and not with_port.matches("::1", 80, 80)
    for bad in ("*", "*.*.example.com", "exa mple.com", "http://example.com"):
        with pytest.raises(ValueError, match="invalid host pattern"):
            HostPattern.parse(bad)


def test_the_allowlist_must_be_a_tuple_of_hosts():
    with pytest.raises(TypeError, match="not a string"):
        HttpKit(allowed_hosts="api.example.com")
    with pytest.raises(ValueError, match="at least one allowed host"):
        HttpKit(allowed_hosts=())


def test_tools_declare_their_risks_and_the_allowlist():
    specs = HttpKit(allowed_hosts=("api.example.com",)).tools()
    assert [(spec.name, spec.risk, spec.scopes) for spec in specs] == [
        ("http_get", "read", ("http:read",)), ("http_post", "write", ("http:write",))]
    assert "Allowed hosts: api.example.com" in specs[0].tool.description


# Integration tests: a real server on a free loopback port.

@pytest.mark.integration
def test_get_from_an_allowed_host(server):
    answer = get(HttpKit(allowed_hosts=(server.host,), headers={"Authorization": "Bearer k"}), f"{server.url}/hello")
    assert answer == {"status": 200, "url": f"{server.url}/hello", "content_type": "text/plain; charset=utf-8",
                      "body": "hello from /hello", "truncated": False}
    (method, path, headers, _), = server.requests
    assert (method, path, headers["Authorization"]) == ("GET", "/hello", "Bearer k")


@pytest.mark.integration
def test_error_statuses_are_answers_not_exceptions(server):
    assert get(HttpKit(allowed_hosts=(server.host,)), f"{server.url}/missing")["status"] == 404


@pytest.mark.integration
def test_the_allowlist_names_the_port(server):
    with pytest.raises(PermissionError, match=f"{server.host} is not an allowed host"):
        HttpKit(allowed_hosts=("127.0.0.1",)).http_get(f"{server.url}/hello")
    assert server.requests == []


@pytest.mark.integration
def test_redirects_within_the_allowlist_are_followed(server):
    server.redirects["/old"] = "/hello"
    answer = get(HttpKit(allowed_hosts=(server.host,)), f"{server.url}/old")
    assert (answer["status"], answer["url"], answer["body"]) == (200, f"{server.url}/hello", "hello from /hello")


@pytest.mark.integration
def test_a_redirect_to_a_host_off_the_allowlist_is_refused_before_connecting(server, other_server):
    server.redirects["/away"] = f"{other_server.url}/collect"
    server.redirects["/far-away"] = "http://evil.example/collect"
    kit = HttpKit(allowed_hosts=(server.host,))
    with pytest.raises(PermissionError, match=f"redirected to {other_server.url}/collect, which is refused"):
        kit.http_get(f"{server.url}/away")
    with pytest.raises(PermissionError, match="evil.example is not an allowed host"):
        kit.http_get(f"{server.url}/far-away")
    assert other_server.requests == []


@pytest.mark.integration
def test_endless_redirects_stop(server):
    server.redirects["/loop"] = "/loop"
    with pytest.raises(ConnectionError, match="redirected more than 2 times"):
        HttpKit(allowed_hosts=(server.host,), max_redirects=2).http_get(f"{server.url}/loop")
    assert len(server.requests) == 3


@pytest.mark.integration
def test_large_responses_are_truncated(server):
    answer = get(HttpKit(allowed_hosts=(server.host,), max_response_bytes=1000), f"{server.url}/big")
    assert answer["truncated"] is True and answer["body"] == "x" * 1000


@pytest.mark.integration
def test_a_slow_server_times_out(server):
    with pytest.raises(TimeoutError, match="did not answer within 0.5 s"):
        HttpKit(allowed_hosts=(server.host,), timeout_s=0.5).http_get(f"{server.url}/slow")


@pytest.mark.integration
def test_post_sends_the_body_and_does_not_follow_redirects(server, other_server):
    kit = HttpKit(allowed_hosts=(server.host, other_server.host))
    answer = json.loads(kit.http_post(f"{server.url}/echo", '{"a": 1}'))
    assert (answer["status"], answer["body"]) == (201, '{"a": 1}')
    assert server.requests[-1][2]["Content-Type"] == "application/json"
    server.redirects["/moved"] = f"{other_server.url}/echo"
    moved = json.loads(kit.http_post(f"{server.url}/moved", "data", content_type="text/plain"))
    assert (moved["status"], moved["location"]) == (302, f"{other_server.url}/echo")
    assert other_server.requests == []
