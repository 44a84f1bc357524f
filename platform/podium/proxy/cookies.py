"""Cookies across the proxy: Podium's own names stay Podium's, in both directions.

Browsers send every cookie of a host to every port of it, and in host mode the pages live on the
domain whose subdomains the spaces are. So a request to a space carries Podium's cookies (removed
before the app sees them), and a space's `Set-Cookie` could plant one on the pages: a `podium_session`
of the attacker's (login CSRF by cookie tossing), or any cookie with `Domain=` the pages' domain.
An app's cookie therefore passes only with a name that is not Podium's, with or without a
`__Host-`/`__Secure-` prefix, and without a `Domain` attribute, so that it stays on the host that set it.

Names are compared as a browser reads a `Set-Cookie` line (RFC 6265bis 5.6): up to the first `;`,
split at the first `=`, whitespace trimmed, prefixes case-insensitive; Podium's names are compared
case-insensitively too, which refuses a little more than needed, never less.
"""

from __future__ import annotations

_PREFIXES = ("__host-", "__secure-")


def _bare_name(name: str) -> str:
    name = name.strip().lower()
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def is_podiums(name: str, podium_cookies: frozenset[str]) -> bool:
    return _bare_name(name) in podium_cookies


def space_set_cookie(value: bytes, podium_cookies: frozenset[str]) -> bytes | None:
    """An app's `Set-Cookie` value as the browser may receive it, or None when it may not at all.

    Refused: a cookie named like one of `podium_cookies` (lower case), and a nameless one (a browser
    sends `=podium_session=x` back as `podium_session=x`). A `Domain` attribute is removed, which
    makes the cookie host-only: it stays on the space's own host and never reaches the pages."""
    pair, *attributes = value.split(b";")
    name, equals, _ = pair.decode("latin-1").partition("=")
    if not equals or not name.strip() or is_podiums(name, podium_cookies):
        return None
    kept = [a for a in attributes if a.split(b"=", 1)[0].decode("latin-1").strip().lower() != "domain"]
    return b";".join([pair, *kept])


def without_podiums_cookies(cookie: str, podium_cookies: frozenset[str]) -> str:
    """A request's `Cookie` header minus Podium's own cookies ("" when nothing else is left)."""
    kept = [part for part in cookie.split(";") if not is_podiums(part.partition("=")[0], podium_cookies)]
    return ";".join(kept).strip()
