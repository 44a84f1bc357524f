"""What a line of a space's requirements file may say, and the local path it installs from.

Requirement files go to the installer as they are, so each line is a requirement and nothing else: no
installer options (`--index-url`, `--extra-index-url`, `-e`, `-r`, `-c`, `--find-links`,
`--trusted-host`, ... would change where packages come from or pull in files outside the space), no
`file:` URLs (`pkg @ file:///abs` reads the host's disk), no path outside the space, and no
`${VARIABLE}` (installers expand it from their own environment). `--hash` pins, as pip-compile writes
them, are kept. A local path inside the space (`./wheels/x.whl`, `./pkg`) stays allowed.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# Patterns are unambiguous (one run of spaces between two parts), so a long line is read in linear time.
_HASH_OPTION = re.compile(r"\s--hash[=\s]\s*(?:sha256|sha384|sha512):[0-9a-fA-F]+")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_DIRECT_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\]\s*)?@\s*(\S+)")
_ARCHIVE = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".zip")


def join_continuations(lines: list[str]) -> list[str]:
    """Lines ending in a backslash continue on the next one (pip-compile's `\\` before `--hash`)."""
    joined: list[str] = []
    pending = ""
    for line in lines:
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    if pending:
        joined.append(pending.rstrip())
    return joined


def _without_hashes(line: str) -> str:
    return _HASH_OPTION.sub("", line).strip()


def _target(requirement: str) -> str | None:
    """What a requirement installs from when it is not a name from an index: a URL or a path."""
    if match := _DIRECT_REFERENCE.match(requirement):
        return match.group(1)
    first = re.split(r"[\s;]", requirement, maxsplit=1)[0]
    if _URL.match(first) or first.startswith((".", "/", "~", "\\")) or "/" in first or first.endswith(_ARCHIVE):
        return first
    return None


def check_line(line: str) -> None:
    """Raise ValueError saying what is wrong when a requirement line may not be installed as written."""
    requirement = _without_hashes(line)
    if "${" in requirement:
        raise ValueError("environment variables (${...}) are not allowed in requirement lines")
    if option := next((token for token in re.split(r"[\s;,]+", requirement) if token.startswith("-")), None):
        raise ValueError(
            f"installer options such as {option.split('=', 1)[0]} are not allowed in requirement files "
            "(only requirements, and --hash pins); Podium's own package index settings apply to every space"
        )
    target = _target(requirement)
    if target is None:
        return
    scheme = _URL.match(target)
    if scheme:
        if "file" in scheme.group(1).lower().split("+"):
            raise ValueError(
                "file: URLs are not allowed; put the package inside the space and name it by its path, "
                "such as ./wheels/pkg-1.0-py3-none-any.whl"
            )
        return
    path = PurePosixPath(target)
    if path.is_absolute() or target.startswith("~") or "\\" in target or ".." in path.parts or "\x00" in target:
        raise ValueError(
            "points outside the space; put the package inside the space folder (./wheels/x.whl, ./pkg) "
            "or publish it to a package index"
        )


def local_path(line: str) -> str | None:
    """The path inside the space a (checked) requirement line installs from, or None."""
    target = _target(_without_hashes(line))
    return None if target is None or _URL.match(target) else target
