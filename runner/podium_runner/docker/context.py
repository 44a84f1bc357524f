"""Build contexts as the Engine API wants them: an uncompressed tar in GNU format.

Python's default (PAX) puts a `././@PaxHeader` entry first for float mtimes, and BuildKit then reads
the whole body as the Dockerfile ("unknown instruction: ././@PaxHeader"); GNU format has no such entry.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

SKIPPED_NAMES = frozenset({".git", "__pycache__"})


class BuildContext:
    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._tar = tarfile.open(fileobj=self._buffer, mode="w", format=tarfile.GNU_FORMAT)

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        self._tar.addfile(info, io.BytesIO(data))

    def add_file(self, name: str, path: Path, mode: int | None = None) -> None:
        info = self._tar.gettarinfo(str(path), arcname=name)
        info.mtime = int(info.mtime)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        if mode is not None:
            info.mode = mode
        with path.open("rb") as handle:
            self._tar.addfile(info, handle)

    def add_tree(self, name: str, root: Path, skip: tuple[str, ...] = ()) -> None:
        """Every file under `root` (not `.git`, nor the relative paths in `skip`), at `name/...`; symlinks
        stay links."""
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            skipped = SKIPPED_NAMES.intersection(rel.parts) or rel.as_posix() in skip
            if skipped or path.is_dir() and not path.is_symlink():
                continue
            arcname = f"{name}/{rel.as_posix()}" if name else rel.as_posix()
            if path.is_symlink():
                info = tarfile.TarInfo(arcname)
                info.type, info.linkname = tarfile.SYMTYPE, str(path.readlink())
                self._tar.addfile(info)
            else:
                self.add_file(arcname, path)

    def close(self) -> bytes:
        self._tar.close()
        return self._buffer.getvalue()
