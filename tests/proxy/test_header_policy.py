"""What crosses the proxy: the app learns the public address but never the caller's credentials; the
browser gets Podium's framing policy and none of the app's cookies that could pass for Podium's."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from hypothesis import given
from hypothesis import strategies as st
from podium.cookies import PODIUM_COOKIES
from podium.proxy import ProxyApp, Upstream
from podium.proxy.cookies import space_set_cookie
from starlette.types import Receive, Scope, Send

from tests.proxy.proxy_harness import ServerThread


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
            "Authorization": "Bearer hf_callers_podium_token",
            "X-HF-Authorization": "Bearer hf_callers_podium_token",  # where gradio_client puts it
            "X-Podium-User": "admin",  # only Podium may say whom it admitted
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
    assert headers["cookie"] == "session=abc"
    assert "hf_callers_podium_token" not in json.dumps(seen)
    assert not {"authorization", "x-hf-authorization", "x-podium-user"} & set(headers)
    assert "x-private" not in headers


def test_podiums_cookies_never_reach_a_space(proxy, probe):
    _, seen = get(proxy, "/apps/lab/probe/headers", {"Cookie": "podium_session=signed; theme=dark"})
    assert seen["headers"]["cookie"] == "theme=dark"
    _, seen = get(proxy, "/apps/lab/probe/headers", {"Cookie": "podium_session=signed"})
    assert "cookie" not in seen["headers"]


def test_every_cookie_podium_sets_is_on_the_one_list():
    """A cookie Podium sets is named in a `..._COOKIE = "name"` constant; each must be in PODIUM_COOKIES,
    or spaces would receive it and could set it."""
    sources = Path(__file__).resolve().parents[2] / "platform" / "podium"
    named = {
        name
        for path in sources.rglob("*.py")
        for name in re.findall(r'^[A-Z_]*_COOKIE\s*=\s*"([^"]+)"', path.read_text(), re.MULTILINE)
    }
    assert len(named) >= 5 and named <= PODIUM_COOKIES, named - PODIUM_COOKIES


def test_the_app_of_a_private_space_learns_whom_podium_admitted(proxy, hostile, spaces):
    spaces.add("lab/private-hostile", hostile.url, visitor="alice")
    _, seen = get(proxy, "/apps/lab/private-hostile/headers", {"X-Podium-User": "admin"})
    assert [value for name, value in seen["headers"] if name == "x-podium-user"] == ["alice"]


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


# What a hostile app answers: cookies that would sign the visitor in to Podium as the attacker (cookie
# tossing), reach Podium's pages through the parent domain, or pass for Podium's under another spelling;
# and two cookies of its own, which it may set.
TOSSED = [
    b"podium_session=attackers-session; Path=/",
    b"podium_space_access=forged; Path=/; HttpOnly",
    b"__Host-podium_session=attackers-session; Path=/; Secure",
    b"__secure-PODIUM_FLASH=x; Secure",
    b" podium_instance =pinned",
    b"=podium_session=nameless",  # sent back by a browser as `podium_session=nameless`
    b"podium_signin",
    b"theme=dark; Domain=localhost; Path=/",
    b"lang=en; Path=/; domain=.localhost; SameSite=Lax",
    b"own=1; Path=/; HttpOnly",
    b"_streamlit_xsrf=2|ab|cd|1; Path=/; SameSite=Lax",
]
KEPT = [
    b"theme=dark; Path=/",
    b"lang=en; Path=/; SameSite=Lax",
    b"own=1; Path=/; HttpOnly",
    b"_streamlit_xsrf=2|ab|cd|1; Path=/; SameSite=Lax",
]


class HostileApp:
    """A space's app that reports its request headers as a list (repeats visible) and tosses cookies."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        body = json.dumps({"headers": [[k.decode(), v.decode()] for k, v in scope["headers"]]}).encode()
        if scope["type"] == "websocket":  # the handshake's answer tosses them too
            await receive()
            await send({"type": "websocket.accept", "headers": [(b"set-cookie", c) for c in TOSSED]})
            await send({"type": "websocket.send", "bytes": body})
            await send({"type": "websocket.close", "code": 1000})
            return
        headers = [(b"content-type", b"application/json"), *((b"set-cookie", c) for c in TOSSED)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def hostile(spaces) -> Iterator[ServerThread]:
    with ServerThread(HostileApp()) as server:
        spaces.add(
            "lab/hostile",
            server.url,
            podium_cookies=PODIUM_COOKIES,
            extra_headers={"Set-Cookie": "podium_session=from-the-readme; Domain=localhost"},
        )
        spaces.add("lab/hostile-docker", server.url, podium_cookies=PODIUM_COOKIES, strip_prefix=True)
        spaces.add(
            "lab/hostile-streamlit",
            server.url,
            podium_cookies=PODIUM_COOKIES,
            cross_site_cookies=frozenset({"_streamlit_xsrf"}),
        )
        yield server


def test_a_space_cannot_toss_cookies_onto_podiums_pages(proxy, hostile):
    """Neither the app nor its README's custom_headers sets a cookie of Podium's, nor one for the pages'
    domain; the app's own cookies arrive, host-only. Path mode and host mode alike."""
    for path, host in (("/apps/lab/hostile/headers", None), ("/headers", "lab-hostile.localhost")):
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        connection.request("GET", path, headers={"Host": f"{host}:{proxy.port}"} if host else {})
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 200
        cookies = [value.encode("latin-1") for name, value in response.getheaders() if name.lower() == "set-cookie"]
        assert cookies == KEPT


async def _handshake(url: str, **headers: str) -> tuple[list[str], dict]:
    async with websockets.connect(url, additional_headers=headers) as socket:
        seen = json.loads(await socket.recv())
        return socket.response.headers.get_all("set-cookie"), seen


@pytest.mark.anyio
async def test_a_websocket_carries_no_credentials_nor_cookies_either_way(proxy, hostile):
    """The bridge's handshake with the app drops the caller's token; the app's handshake answer, with its
    Set-Cookie, never reaches the client (the bridge accepts the client with the subprotocol alone)."""
    url = f"ws://127.0.0.1:{proxy.port}/apps/lab/hostile/socket"
    tossed, seen = await _handshake(
        url, Authorization="Bearer hf_callers_podium_token", Cookie="podium_session=signed; a=1"
    )
    assert tossed == []
    direct, _ = await _handshake(f"ws://127.0.0.1:{hostile.port}/socket")
    assert len(direct) == len(TOSSED)  # what the app answered
    names = {name for name, _ in seen["headers"]}
    assert "hf_callers_podium_token" not in json.dumps(seen) and "signed" not in json.dumps(seen)
    assert "authorization" not in names and ["cookie", "a=1"] in seen["headers"]


def set_cookies(proxy, path: str, host: str) -> list[bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    response.read()
    connection.close()
    return [value.encode("latin-1") for name, value in response.getheaders() if name.lower() == "set-cookie"]


def test_an_apps_xsrf_cookie_is_partitioned_for_embeds_where_the_browser_keeps_secure_cookies(proxy, hostile):
    """Over https or a loopback name the cookie becomes SameSite=None; Secure; Partitioned, so an app
    embedded on another site keeps it; over plain http elsewhere `Secure` would lose it: as the app set it."""
    partitioned = b"_streamlit_xsrf=2|ab|cd|1; Path=/; SameSite=None; Secure; Partitioned"
    for host in (f"lab-hostile-streamlit.localhost:{proxy.port}", f"127.0.0.1:{proxy.port}"):
        path = "/headers" if "lab-" in host else "/apps/lab/hostile-streamlit/headers"
        assert set_cookies(proxy, path, host)[-1] == partitioned
    assert set_cookies(proxy, "/apps/lab/hostile-streamlit/headers", "spaces.example.org")[-1] == KEPT[-1]
    assert set_cookies(proxy, "/apps/lab/hostile/headers", f"127.0.0.1:{proxy.port}") == KEPT  # not its app's


def test_a_request_target_never_moves_the_upstream(hostile, spaces):
    """`GET @127.0.0.1:<canary>/` made the upstream URL `http://127.0.0.1:<app>@127.0.0.1:<canary>/` for a
    space whose prefix is stripped (docker spaces) in host mode: the proxy asked another host. httptools
    refuses such a target; h11, which uvicorn uses where httptools is not installed, passes it on."""
    canary_hits: list[str] = []

    async def canary(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            canary_hits.append(scope["path"])
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"canary"})

    with (
        ServerThread(canary) as canary_site,
        ServerThread(ProxyApp(spaces.resolve, domain="localhost"), http="h11") as proxy,
    ):
        where = f"127.0.0.1:{canary_site.port}/"
        for request_target in (f"@{where}", f"//{where}", f"/@{where}"):
            connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
            connection.putrequest("GET", request_target, skip_host=True)
            connection.putheader("Host", f"lab-hostile-docker.localhost:{proxy.port}")
            connection.endheaders()
            response = connection.getresponse()
            seen = json.loads(response.read())
            connection.close()
            assert response.status == 200 and ["host", f"127.0.0.1:{hostile.port}"] in seen["headers"]
        assert canary_hits == []


# --- properties, at the boundary itself --------------------------------------------------------------


def _as_a_browser_reads_it(line: bytes) -> tuple[str, list[str]] | None:
    """A Set-Cookie line as RFC 6265bis 5.6 parses it: (name, attribute names), or None when ignored.
    Written apart from podium.proxy.cookies, so the two can disagree."""
    text = line.decode("latin-1")
    if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in text):
        return None
    pair, _, attributes = text.partition(";")
    name = pair.partition("=")[0] if "=" in pair else ""
    keys = [a.partition("=")[0].strip(" \t").lower() for a in attributes.split(";")] if attributes else []
    return name.strip(" \t"), keys


_cookie_text = st.text(
    st.sampled_from(list("podium_sesionflashcktPODIUM-_=; \t.Domain__Host-Secure") + ["\x00", "é"]), max_size=60
)
_podium_name = st.sampled_from(sorted(PODIUM_COOKIES)).flatmap(
    lambda name: st.sampled_from([name, name.upper(), f"__Host-{name}", f"__SECURE-{name}", f" {name}\t"])
)
_set_cookie = st.one_of(
    _cookie_text,
    st.builds(lambda name, rest: f"{name}={rest}", _podium_name, _cookie_text),
    st.builds(
        lambda name, rest, domain: f"{name}=v;{rest}; {domain}=localhost",
        st.sampled_from(["a", "x"]),
        _cookie_text,
        st.sampled_from(["Domain", "domain", " DOMAIN ", "\tdomain"]),
    ),
).map(lambda text: text.encode("latin-1", "replace"))


@given(_set_cookie)
def test_no_set_cookie_with_podiums_name_or_a_domain_passes(line):
    passed = space_set_cookie(line, PODIUM_COOKIES)
    seen = None if passed is None else _as_a_browser_reads_it(passed)
    if seen is not None:
        name, attributes = seen
        bare = name.lower().removeprefix("__host-").removeprefix("__secure-")
        assert name and bare not in PODIUM_COOKIES and "domain" not in attributes


_UPSTREAM = Upstream("http://127.0.0.1:34567", prefix="/apps/alice/demo")
_STRIPPED = Upstream("http://127.0.0.1:34567", prefix="/apps/alice/demo", strip_prefix=True)


@given(
    path=st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF), max_size=40),
    query=st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF), max_size=20),
    upstream=st.sampled_from([_UPSTREAM, _STRIPPED]),
)
def test_the_upstream_url_keeps_the_instances_host_and_port(path, query, upstream):
    url = upstream.url_for(path, query)
    assert (url.scheme, url.host, url.port) == ("http", "127.0.0.1", 34567)
    assert url.raw_path_qs.startswith("/")  # the request line aiohttp sends: a path, never an authority
