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

Some app cookies are needed inside other sites' frames: Streamlit's `_streamlit_xsrf`, which its page
echoes in a header to upload a file. As the app sets it (`SameSite=Lax`) a cross-site frame neither
stores nor sends it, so an embedded app's uploads fail with 403. Over a connection the browser deems
secure, such a cookie is made `SameSite=None; Secure; Partitioned`: kept apart per embedding site
(CHIPS), which Chromium allows where it blocks third-party cookies. The XSRF check stays as strong,
since another site can still neither read the cookie nor send the header.
"""

from __future__ import annotations

_PREFIXES = ("__host-", "__secure-")
_CROSS_SITE_ATTRIBUTES = frozenset({b"samesite", b"secure", b"partitioned"})


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


def for_cross_site_frames(value: bytes) -> bytes:
    """A `Set-Cookie` value rewritten to be stored and sent in cross-site frames, partitioned per
    top-level site. Only for a secure connection: browsers refuse `Secure` cookies over plain http
    (but for localhost)."""
    pair, *attributes = value.split(b";")
    kept = [a for a in attributes if a.split(b"=", 1)[0].strip().lower() not in _CROSS_SITE_ATTRIBUTES]
    return b";".join([pair, *kept, b" SameSite=None", b" Secure", b" Partitioned"])


def cookie_name(value: bytes) -> str:
    """The name a `Set-Cookie` value sets."""
    return value.split(b";", 1)[0].decode("latin-1").partition("=")[0].strip()


def without_podiums_cookies(cookie: str, podium_cookies: frozenset[str]) -> str:
    """A request's `Cookie` header minus Podium's own cookies ("" when nothing else is left)."""
    kept = [part for part in cookie.split(";") if not is_podiums(part.partition("=")[0], podium_cookies)]
    return ";".join(kept).strip()
