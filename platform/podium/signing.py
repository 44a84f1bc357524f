"""Signed, expiring notes that only this Podium can have written: sessions, CSRF tokens, space tickets.

One secret per data folder, kept across restarts so that what was signed before a restart still
holds after it. Every note names its purpose, so a note made for one use (a 60-second ticket into
one space) is never accepted as another (a session of the pages).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SECRET_FILE = "session-secret"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Signer:
    def __init__(self, secret: bytes):
        self._secret = secret

    def mac(self, purpose: str, payload: str) -> str:
        digest = hmac.new(self._secret, f"{purpose}:{payload}".encode(), hashlib.sha256).digest()
        return _b64(digest)

    def sign(self, purpose: str, claims: dict[str, Any], lifetime_s: int) -> str:
        """`claims` plus an expiry, as `payload.mac`: URL-safe, cookie-safe, readable by nobody else."""
        body = json.dumps({**claims, "e": int(time.time()) + lifetime_s}, separators=(",", ":"))
        payload = _b64(body.encode())
        return f"{payload}.{self.mac(purpose, payload)}"

    def unsign(self, purpose: str, note: str | None) -> dict[str, Any] | None:
        """The claims of a note signed for `purpose`, or None when it is missing, forged or expired."""
        if not note or note.count(".") != 1:
            return None
        payload, mac = note.split(".")
        if not hmac.compare_digest(mac, self.mac(purpose, payload)):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            expired = int(claims["e"]) < time.time()
        except (ValueError, KeyError, TypeError):
            return None
        return None if expired or not isinstance(claims, dict) else claims


def read_or_make_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of a private file (0600; a folder it needs is made 0700), made by `make` on first use.
    It is written whole and synced under another name, then linked into place: two first uses at once agree
    on one content (a link, unlike a rename, never replaces one that won), and no one ever reads a
    half-written file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
            file.write(make())
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes()


def signer_for(data_dir: Path) -> Signer:
    """The signer of the Podium whose data folder this is; the secret is made on first use."""
    return Signer(read_or_make_secret(data_dir / SECRET_FILE, lambda: secrets.token_bytes(32)))
