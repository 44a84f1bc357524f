"""Spaces' secrets, encrypted at rest with a key the operator keeps outside the data folder.

The database (and so every backup of it) holds only Fernet tokens (AES-128-CBC with HMAC-SHA256); the
key is `PODIUM_SECRETS_KEY` or the file `PODIUM_SECRETS_KEY_FILE` (default `~/.config/podium/secrets.key`,
made on first start). Without that key a copy of the data folder or a backup reveals no secret, and
Podium refuses to start on a database whose secrets another key encrypted, saying which key they need.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from podium.settings import Settings
from podium.signing import read_or_make_secret

log = logging.getLogger("podium")

DEFAULT_KEY_FILE = Path("~/.config/podium/secrets.key")


class SecretsKeyError(RuntimeError):
    """The key is missing, malformed, or not the one that encrypted these secrets."""


@dataclass(frozen=True)
class SecretBox:
    key: bytes
    # Where the key came from, for messages: a file's path or the setting's name.
    source: str

    def __post_init__(self) -> None:
        try:
            Fernet(self.key)
        except ValueError as exc:
            raise SecretsKeyError(
                f"the secrets key in {self.source} is not a Fernet key (32 url-safe base64-encoded bytes, as "
                f"`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'` "
                f"prints): {exc}"
            ) from None

    @property
    def key_id(self) -> str:
        """A fingerprint that names the key without revealing it (backups record it)."""
        return hashlib.sha256(b"podium-secrets-key:" + self.key).hexdigest()[:16]

    def encrypt(self, value: str) -> str:
        return Fernet(self.key).encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return Fernet(self.key).decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretsKeyError(
                f"a space's secret cannot be decrypted with the secrets key in {self.source} (key id {self.key_id}): "
                f"it was encrypted with another key. Point PODIUM_SECRETS_KEY_FILE at the key file of the Podium "
                f"that stored it (a restored backup names its key id in manifest.json)"
            ) from None


def key_file_path(configured: Path | None) -> Path:
    return (configured or DEFAULT_KEY_FILE).expanduser().resolve()


def box_for(settings: Settings, *, create: bool) -> SecretBox:
    """The running Podium's box; `create` makes the key file on first start (podium serve, podium db upgrade)."""
    key = settings.secrets_key.get_secret_value() if settings.secrets_key else None
    return load_secret_box(key, settings.secrets_key_file, settings.data_dir, create=create)


def load_secret_box(key: str | None, key_file: Path | None, data_dir: Path, *, create: bool) -> SecretBox:
    """The box for `PODIUM_SECRETS_KEY` (`key`) or the key file; with `create`, a missing key file is made
    (0600), and Podium says where, once, so the operator keeps it."""
    if key:
        return SecretBox(key.strip().encode(), "PODIUM_SECRETS_KEY")
    path = key_file_path(key_file)
    if path.is_relative_to(data_dir.resolve()):
        log.warning(
            "the secrets key %s is inside the data folder %s: anyone with a copy of the folder can read every "
            "secret. Keep it elsewhere (PODIUM_SECRETS_KEY_FILE)",
            path,
            data_dir,
        )
    if not path.exists():
        if not create:
            raise SecretsKeyError(
                f"no secrets key at {path}: set PODIUM_SECRETS_KEY_FILE to the key file of the Podium whose "
                f"secrets these are (or PODIUM_SECRETS_KEY to the key itself)"
            )
        read_or_make_secret(path, lambda: Fernet.generate_key() + b"\n")
        log.warning(
            "made a new key for spaces' secrets at %s: keep a copy of it somewhere safe. Backups do not contain "
            "it, and without it no secret can be read",
            path,
        )
    return SecretBox(path.read_bytes().strip(), str(path))
