"""HTTP requests to allowlisted hosts only: GET reads, POST writes."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from pydantic import Field

from taskwarden.tools.kits.spec import kit_spec
from taskwarden.tools.registry import ToolSpec

DEFAULT_PORTS = {"http": 80, "https": 443}
_PATTERN = re.compile(r"(\*\.)?(\[[0-9a-f:.]+\]|[a-z0-9_-]+(?:\.[a-z0-9_-]+)*)(?::(\d{1,5}))?")


@dataclass(frozen=True)
class HostPattern:
    """``api.example.com`` (that host), ``*.example.com`` (its subdomains, at any depth, not itself),
    each optionally with ``:port``; without one only the scheme's default port (80, 443) is allowed."""

    host: str
    subdomains: bool = False
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostPattern:
        match = _PATTERN.fullmatch(text.strip().lower().rstrip("."))
        if match is None:
            raise ValueError(f"invalid host pattern {text!r}: use 'example.com', '*.example.com' or 'host:port'")
        wildcard, host, port = match.groups()
        return cls(host=host.strip("[]"), subdomains=bool(wildcard), port=int(port) if port else None)

    def matches(self, host: str, port: int, default_port: int) -> bool:
        if port != (default_port if self.port is None else self.port):
            return False
        return host.endswith("." + self.host) if self.subdomains else host == self.host


@dataclass(frozen=True, kw_only=True)
class HttpKit:
    """HTTP(S) to the hosts in `allowed_hosts` and nowhere else.

    The URL is checked before any connection (scheme http/https, no credentials in it, host and
    port on the allowlist), and so is every redirect before it is followed: a redirect to any
    other host is refused. Responses are read up to `max_response_bytes`. Host names are matched
    as written, not resolved: an allowed name that resolves to an internal address is reached.
    `headers` (an API key, say) go with every request and are never shown to the model. GET is
    ``read``; POST is ``write`` and never follows redirects (that would repeat or change it).
    """

    allowed_hosts: tuple[str, ...]
    timeout_s: float = 10.0
    """For connecting and for the whole response."""
    max_response_bytes: int = 50_000
    max_redirects: int = 5
    headers: dict[str, str] = field(default_factory=dict)
    patterns: tuple[HostPattern, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.allowed_hosts, str):
            raise TypeError("HttpKit.allowed_hosts must be a tuple of host patterns, not a string")
        if not self.allowed_hosts:
            raise ValueError("HttpKit needs at least one allowed host")
        if self.timeout_s <= 0 or self.max_response_bytes <= 0 or self.max_redirects < 0:
            raise ValueError("HttpKit: timeout_s and max_response_bytes must be positive, max_redirects >= 0")
        object.__setattr__(self, "patterns", tuple(HostPattern.parse(host) for host in self.allowed_hosts))

    def http_get(self, url: Annotated[str, Field(description="An http:// or https:// URL")]) -> str:
        """Fetch a URL with HTTP GET and return the status, final url, content_type and body as JSON
        (truncated=true when the body was cut at the size limit). Error statuses are returned, not raised."""
        current = self.check_url(url)
        with self._client() as client:
            for _ in range(self.max_redirects + 1):
                response, body, truncated = self._send(client, "GET", current)
                if not response.is_redirect:
                    return self._result(response, body, truncated)
                target = current.join(response.headers["location"])
                try:
                    self.check_url(str(target))
                except (PermissionError, ValueError) as exc:
                    raise PermissionError(f"{current} redirected to {target}, which is refused: {exc}") from None
                current = target
        raise ConnectionError(f"{url} redirected more than {self.max_redirects} times")

    def http_post(
        self,
        url: Annotated[str, Field(description="An http:// or https:// URL")],
        body: Annotated[str, Field(description="The request body")],
        content_type: Annotated[str, Field(description="The body's media type")] = "application/json",
    ) -> str:
        """Send data with HTTP POST and return the status, content_type and response body as JSON.
        Redirects are not followed (the location is returned). This can change data on the server."""
        target = self.check_url(url)
        with self._client() as client:
            response, data, truncated = self._send(client, "POST", target, body.encode("utf-8"),
                                                   {"Content-Type": content_type})
        result = json.loads(self._result(response, data, truncated))
        if response.is_redirect:
            result["location"] = str(target.join(response.headers["location"]))
        return json.dumps(result, ensure_ascii=False)

    def check_url(self, url: str) -> httpx.URL:
        """The parsed URL if it may be requested; `ValueError` or `PermissionError` saying why not."""
        try:
            parsed = httpx.URL(url.strip())
        except (httpx.InvalidURL, TypeError) as exc:
            raise ValueError(f"{url!r} is not a valid URL: {exc}") from None
        if parsed.scheme not in DEFAULT_PORTS:
            raise PermissionError(f"{url!r}: only http:// and https:// URLs are allowed")
        if parsed.userinfo:
            raise PermissionError(f"{url!r}: URLs with credentials (user:password@) are not allowed")
        host = parsed.raw_host.decode("ascii").lower().rstrip(".")
        default_port = DEFAULT_PORTS[parsed.scheme]
        port = parsed.port or default_port
        if not host:
            raise ValueError(f"{url!r} has no host")
        if not any(pattern.matches(host, port, default_port) for pattern in self.patterns):
            where = host if port == default_port else f"{host}:{port}"
            raise PermissionError(f"{where} is not an allowed host; allowed: {', '.join(self.allowed_hosts)}")
        return parsed

    def tools(self) -> list[ToolSpec]:
        limits = (f"Allowed hosts: {', '.join(self.allowed_hosts)} (a pattern without :port allows only the "
                  f"default port). Responses are cut at {self.max_response_bytes} bytes.")
        # every redirect hop may take timeout_s
        budget = self.timeout_s * (self.max_redirects + 1)
        return [kit_spec(self.http_get, risk="read", scopes=("http:read",), limits=limits, own_timeout_s=budget),
                kit_spec(self.http_post, risk="write", scopes=("http:write",), limits=limits, own_timeout_s=budget)]

    def _client(self) -> httpx.Client:
        # trust_env=False: no proxy or .netrc from the environment (a proxy is also another host).
        return httpx.Client(timeout=self.timeout_s, follow_redirects=False, trust_env=False,
                            headers={"User-Agent": "taskwarden", **self.headers})

    def _send(self, client: httpx.Client, method: str, url: httpx.URL, content: bytes | None = None,
              headers: dict[str, str] | None = None) -> tuple[httpx.Response, bytes, bool]:
        deadline, body = time.monotonic() + self.timeout_s, bytearray()
        try:
            with client.stream(method, url, content=content, headers=headers) as response:
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_response_bytes:
                        return response, bytes(body[:self.max_response_bytes]), True
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("response took too long")
        except httpx.TimeoutException:
            raise TimeoutError(f"{url.host} did not answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise ConnectionError(f"request to {url.host} failed: {type(exc).__name__}: {exc}") from None
        return response, bytes(body), False

    @staticmethod
    def _result(response: httpx.Response, body: bytes, truncated: bool) -> str:
        content_type = response.headers.get("content-type", "")
        if b"\0" in body:
            text = f"<binary content, {len(body)} bytes>"
        else:
            try:
                text = body.decode(response.charset_encoding or "utf-8", errors="replace")
            except LookupError:  # a charset Python does not know
                text = body.decode("utf-8", errors="replace")
        result: dict[str, Any] = {"status": response.status_code, "url": str(response.url),
                                  "content_type": content_type, "body": text, "truncated": truncated}
        return json.dumps(result, ensure_ascii=False)
