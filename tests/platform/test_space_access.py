"""Tickets into private spaces and the cookies they turn into: made here, accepted nowhere else."""

from __future__ import annotations

from podium.auth import User
from podium.browser_session import SessionSigner
from podium.signing import Signer
from podium.space_access import ACCESS_COOKIE, TICKET_PARAM, SpaceAccess, with_ticket

SPACE = "alice/notes"
ALICE = User(name="alice", token_name="t", admin=False)


def request(query: str = "", method: str = "GET", **fetch_metadata: str) -> dict:
    headers = [(f"sec-fetch-{key}".encode(), value.encode()) for key, value in fetch_metadata.items()]
    return {
        "type": "http",
        "method": method,
        "path": "/page",
        "raw_path": b"/page",
        "query_string": query.encode(),
        "headers": headers,
    }


def redeemed_cookie(access: SpaceAccess, ticket: str) -> str:
    user, response = access.redeem(SPACE, request(f"tab=2&{TICKET_PARAM}={ticket}"))
    assert user == User(name="alice", token_name="browser ticket", admin=False)
    assert response.location == "/page?tab=2"  # on without the ticket, keeping the rest
    assert "HttpOnly" in response.set_cookie and "SameSite=Lax" in response.set_cookie
    assert "Domain" not in response.set_cookie  # host-only: this space's host and no other
    return response.set_cookie.split(";")[0].removeprefix(f"{ACCESS_COOKIE}=")


def test_a_ticket_becomes_a_cookie_for_its_space_only():
    access = SpaceAccess(Signer(b"k" * 32))
    cookie = redeemed_cookie(access, access.ticket(SPACE, ALICE))
    assert access.user(SPACE, cookie, request()).name == "alice"
    assert access.user("alice/other", cookie, request()) is None
    assert access.redeem("alice/other", request(f"{TICKET_PARAM}={access.ticket(SPACE, ALICE)}")) is None


def test_forged_expired_and_misused_notes_are_refused():
    signer = Signer(b"k" * 32)
    access = SpaceAccess(signer)
    ticket = access.ticket(SPACE, ALICE)
    elsewhere = SpaceAccess(Signer(b"other secret" * 3))
    expired = signer.sign("space-ticket", {"s": SPACE, "u": "alice", "a": False}, lifetime_s=-1)
    session = SessionSigner(signer).issue(User(name="alice", token_name="t", admin=True, token_id=1))
    for note in (ticket[:-2] + "xx", expired, session, "", "a.b.c"):
        assert access.redeem(SPACE, request(f"{TICKET_PARAM}={note}")) is None, note
    assert elsewhere.redeem(SPACE, request(f"{TICKET_PARAM}={ticket}")) is None
    # A ticket is not a cookie, nor is a session: each note is good for its own purpose only.
    assert access.user(SPACE, ticket, request()) is None
    assert access.user(SPACE, session, request()) is None
    assert access.redeem(SPACE, request(f"{TICKET_PARAM}={ticket}&{TICKET_PARAM}={ticket}")) is None


def test_the_cookie_admits_what_the_visitor_does_not_what_a_sibling_fires():
    access = SpaceAccess(Signer(b"k" * 32))
    cookie = redeemed_cookie(access, access.ticket(SPACE, ALICE))
    admitted = [
        request(site="same-origin", mode="cors", method="POST"),  # the app's own requests
        request(site="none", mode="navigate"),  # typed in or bookmarked
        request(site="same-site", mode="navigate"),  # Podium's pages open it (link, frame)
        request(site="cross-site", mode="navigate", method="HEAD"),
        request(),  # a client that sends no Fetch Metadata
    ]
    refused = [
        request(site="same-site", mode="no-cors", method="POST"),  # a sibling space's blind POST
        request(site="same-site", mode="navigate", method="POST"),  # its auto-submitted form
        request(site="same-site", mode="cors"),  # its fetch() of the app's data
        request(site="cross-site", mode="no-cors"),
    ]
    assert all(access.user(SPACE, cookie, scope) for scope in admitted)
    assert not any(access.user(SPACE, cookie, scope) for scope in refused)


def test_a_ticket_joins_the_query_the_url_already_has():
    assert with_ticket("http://a-b.x:1/?embed=true", "T") == f"http://a-b.x:1/?embed=true&{TICKET_PARAM}=T"
    assert with_ticket("http://a-b.x:1/", "T") == f"http://a-b.x:1/?{TICKET_PARAM}=T"
