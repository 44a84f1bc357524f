"""What crosses the proxy: the app learns the public address; the browser gets Podium's framing policy."""

from __future__ import annotations

import http.client
import json


def get(proxy, path: str, headers: dict[str, str]) -> tuple[http.client.HTTPResponse, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    return response, body


def test_the_app_learns_who_asked_and_by_which_address(proxy, probe, spaces):
    response, seen = get(
        proxy,
        "/apps/lab/probe/headers?x=1",
        {
            "Cookie": "session=abc",
            "Authorization": "Bearer t",
            "Connection": "keep-alive, x-private",
            "X-Private": "hop-by-hop, named in Connection",
            "X-Forwarded-Host": "spoofed.example",
        },
    )
    headers = seen["headers"]
    assert seen["path"] == "/apps/lab/probe/headers"  # the prefix is kept; the app serves under it
    assert headers["x-forwarded-host"] == f"127.0.0.1:{proxy.port}"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    # The app sees its own address as Host, which is how Streamlit's own origin check passes.
    assert headers["host"] == spaces.upstreams["lab/probe"].base_url.removeprefix("http://")
    assert headers["cookie"] == "session=abc" and headers["authorization"] == "Bearer t"
    assert "x-private" not in headers


def test_withheld_cookies_never_reach_a_space(proxy, probe):
    _, seen = get(proxy, "/apps/lab/probe/headers", {"Cookie": "podium_session=signed; theme=dark"})
    assert seen["headers"]["cookie"] == "theme=dark"
    _, seen = get(proxy, "/apps/lab/probe/headers", {"Cookie": "podium_session=signed"})
    assert "cookie" not in seen["headers"]


def test_the_browser_gets_podiums_framing_policy_and_no_duplicates(proxy, probe):
    response, _ = get(proxy, "/apps/lab/probe/headers", {})
    headers = response.getheaders()
    names = [name.lower() for name, _ in headers]
    assert "x-frame-options" not in names
    policies = sorted(value for name, value in headers if name.lower() == "content-security-policy")
    assert policies == ["default-src 'self'", "frame-ancestors 'self' http://127.0.0.1:9000"]
    assert response.getheader("cross-origin-opener-policy") == "same-origin"  # custom_headers win
    assert names.count("date") == 1 and names.count("server") == 1
    assert "x-hop" not in names and "keep-alive" not in names
    assert [value for name, value in headers if name.lower() == "set-cookie"] == [
        "a=1; Path=/",
        "b=2; Path=/",
    ]
