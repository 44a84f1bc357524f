"""The key that signs the ID tokens Podium gives spaces' apps, and its public half as a JWKS.

One RSA key per data folder, made on first use and kept (mode 0600) so that tokens signed before a restart
still verify after it; written whole under another name and linked into place, as `podium.signing` does,
so two first uses at once agree on one key.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

KEY_FILE = "oauth-signing-key.pem"
ALGORITHM = "RS256"


def _made(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        file.write(pem)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


@lru_cache(maxsize=4)
def signing_key(data_dir: Path) -> RSAKey:
    """The data folder's signing key, with its `kid` (a digest of the public key)."""
    path = data_dir / KEY_FILE
    if not path.exists():
        _made(path)
    key = RSAKey.import_key(path.read_bytes())
    public = key.as_dict(private=False)
    kid = hashlib.sha256(f"{public['n']}.{public['e']}".encode()).hexdigest()[:16]
    return RSAKey.import_key(path.read_bytes(), {"kid": kid, "use": "sig", "alg": ALGORITHM})


def public_jwks(data_dir: Path) -> dict:
    return {"keys": [signing_key(data_dir).as_dict(private=False)]}
