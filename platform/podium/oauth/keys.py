"""The key that signs the ID tokens Podium gives spaces' apps, and its public half as a JWKS.

One RSA key per data folder, made on first use and kept (mode 0600, `podium.signing.read_or_make_secret`)
so that tokens signed before a restart still verify after it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from podium.signing import read_or_make_secret

KEY_FILE = "oauth-signing-key.pem"
ALGORITHM = "RS256"


def _new_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem, pkcs8 = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    return key.private_bytes(pem, pkcs8, serialization.NoEncryption())


@lru_cache(maxsize=4)
def signing_key(data_dir: Path) -> RSAKey:
    """The data folder's signing key, with its `kid` (a digest of the public key)."""
    pem = read_or_make_secret(data_dir / KEY_FILE, _new_key)
    public = RSAKey.import_key(pem).as_dict(private=False)
    kid = hashlib.sha256(f"{public['n']}.{public['e']}".encode()).hexdigest()[:16]
    return RSAKey.import_key(pem, {"kid": kid, "use": "sig", "alg": ALGORITHM})


def public_jwks(data_dir: Path) -> dict:
    return {"keys": [signing_key(data_dir).as_dict(private=False)]}
