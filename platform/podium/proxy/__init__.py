"""Podium's reverse proxy: the thin ASGI piece between browsers or API clients and running spaces.

`ProxyApp` routes `/apps/{owner}/{name}/...` (and `{owner}-{name}.{domain}` when a domain is set)
to the `Upstream` a resolver names, streaming HTTP bodies, Server-Sent Events and WebSockets both
ways. It owns nothing else: which spaces exist, where they listen and whether they sleep is the
resolver's business.
"""

from podium.proxy.app import ProxyApp
from podium.proxy.upstream import Resolution, Resolver, Upstream

__all__ = ["ProxyApp", "Resolution", "Resolver", "Upstream"]
