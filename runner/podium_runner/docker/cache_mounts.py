"""An `sdk: docker` space's own cache mounts, renamed into its owner's namespace before the build.

BuildKit finds a cache mount by its id, which defaults to the mount's target: every Dockerfile with
`RUN --mount=type=cache,target=/root/.cache/pip` shares one cache across the engine. One owner's
build could plant a wheel there that another owner's build then installs into its image. Podium gives
every cache mount of a space's Dockerfile the id `<the owner's cache id>-<hash of the id it asked for>`
(build_cache.py), so one owner's builds share their caches as they wrote them and never another's.
Only `RUN` flags are read (the flags before the command); the rest of the file is left as written.
"""

from __future__ import annotations

import csv
import hashlib
import re

_RUN = re.compile(r"^[ \t]*RUN(?=[ \t\\`])", re.IGNORECASE | re.MULTILINE)
_ESCAPE_DIRECTIVE = re.compile(r"^#\s*escape\s*=\s*([\\`])\s*$", re.IGNORECASE | re.MULTILINE)
_FLAG = re.compile(r"--[A-Za-z-]+(?:=\S*)?")


def _gap(escape: str) -> re.Pattern[str]:
    """Whitespace between flags, and line continuations (with the comment lines a continuation may hold)."""
    return re.compile(rf"(?:[ \t]+|{re.escape(escape)}[ \t]*\r?\n(?:[ \t]*#[^\n]*\n)*)+")


def _own_mount(spec: str, owner_cache_id: str) -> str:
    fields = next(csv.reader([spec]))
    pairs = [field.split("=", 1) if "=" in field else [field, ""] for field in fields]
    values = {key.lower(): value for key, value in pairs}
    if values.get("type", "bind").lower() != "cache":
        return spec
    asked = values.get("id") or values.get("target") or values.get("dst") or values.get("destination") or ""
    own = f"id={owner_cache_id}-{hashlib.sha256(asked.encode()).hexdigest()[:16]}"
    kept = [field for field, (key, _) in zip(fields, pairs, strict=True) if key.lower() != "id"]
    return ",".join([*kept, own])


def own_cache_mounts(dockerfile: str, owner_cache_id: str) -> str:
    """`dockerfile` with the id of every `RUN --mount=type=cache` made the owner's own."""
    directive = _ESCAPE_DIRECTIVE.search(dockerfile.split("\n\n", 1)[0])  # parser directives come first
    gaps = _gap(directive.group(1) if directive else "\\")
    out: list[str] = []
    position = 0
    for run in _RUN.finditer(dockerfile):
        cursor = run.end()
        out.append(dockerfile[position:cursor])
        while gap := gaps.match(dockerfile, cursor):
            flag = _FLAG.match(dockerfile, gap.end())
            if flag is None:
                break
            out.append(dockerfile[cursor : gap.end()])
            text = flag.group()
            if text.lower().startswith("--mount="):
                text = "--mount=" + _own_mount(text[len("--mount=") :], owner_cache_id)
            out.append(text)
            cursor = flag.end()
        position = cursor
    out.append(dockerfile[position:])
    return "".join(out)
