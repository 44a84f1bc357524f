"""The names of every cookie Podium sets, in one place (add a new one here, and to PODIUM_COOKIES).

Browsers send the pages' cookies to spaces too (cookies ignore ports), and in host mode a space's
cookie could reach the pages; so the proxy keeps all of these from every app and refuses them in an
app's Set-Cookie (podium.proxy.cookies).
"""

# The browser session of Podium's pages (podium.browser_session); never forwarded to spaces.
SESSION_COOKIE = "podium_session"
# A form's message, shown once on the page the change redirects to (podium.web.flash).
FLASH_COOKIE = "podium_flash"
# Before sign-in there is no session to tie a CSRF token to: the sign-in form's token is tied to a
# random nonce in this short-lived cookie instead, so no other page can sign a visitor in as someone
# else (login CSRF).
SIGNIN_COOKIE = "podium_signin"
# A visitor's access to one private space, on the spaces' origin (podium.space_access).
ACCESS_COOKIE = "podium_space_access"
# Which instance of a space a visitor's requests stick to (podium.spaces_origin).
AFFINITY_COOKIE = "podium_instance"

PODIUM_COOKIES = frozenset({SESSION_COOKIE, FLASH_COOKIE, SIGNIN_COOKIE, AFFINITY_COOKIE, ACCESS_COOKIE})
