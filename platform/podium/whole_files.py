"""Small files of the data folder written whole or not at all: a reader, or Podium after a crash or a
power cut, finds the old content or the new one, never a part of it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_whole(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` by `data`: written and synced under a name of its own in the same folder, then
    renamed into place (a rename never shows half a file, and the sync keeps one from naming an empty
    file after a power cut). Its folder is made when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    try:
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(draft, mode)  # the umask may have taken bits `mode` asks for (a hook's execute bits)
        os.replace(draft, path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
