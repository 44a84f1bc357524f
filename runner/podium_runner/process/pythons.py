"""Finding an installed Python interpreter for a space's `python_version`.

uv looks on PATH only, where pyenv's shims hide every version but the selected one; Podium also looks
in pyenv's versions folder. It never downloads an interpreter: a missing one is a clear build error.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path


def _pyenv_roots() -> list[Path]:
    roots = [os.environ.get("PYENV_ROOT", ""), "~/.pyenv"]
    return [Path(root).expanduser() / "versions" for root in roots if root]


def _path_without_shims() -> str:
    return os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep) if "shims" not in d)


def _candidates(minor: str) -> list[Path]:
    found = [Path(p) for p in (shutil.which(f"python{minor}", path=_path_without_shims()),) if p]
    for versions in _pyenv_roots():
        found += sorted(versions.glob(f"{minor}*/bin/python{minor}"), reverse=True)
    return found


@functools.cache
def _version_of(interpreter: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(interpreter), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def find_python(version: str) -> Path | None:
    """An interpreter whose version is `version` ("3.11") or starts with it ("3.11.7"), or None."""
    minor = ".".join(version.split(".")[:2])
    for candidate in _candidates(minor):
        found = _version_of(candidate)
        if found and (found == version or found.startswith(version + ".")):
            return candidate
    return None


def installed_versions() -> list[str]:
    """The minor versions this host has, for error messages ("found 3.10, 3.11")."""
    versions = {
        p.name.split(".")[0] + "." + p.name.split(".")[1]
        for root in _pyenv_roots()
        if root.is_dir()
        for p in root.iterdir()
        if p.name.startswith("3.")
    }
    for minor in range(8, 15):
        if shutil.which(f"python3.{minor}", path=_path_without_shims()):
            versions.add(f"3.{minor}")
    return sorted(versions, key=lambda v: tuple(int(x) for x in v.split(".")))
