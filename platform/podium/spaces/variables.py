"""A space's variables and secrets: adding, replacing and deleting one, in the caller's open session.

Changes apply at the next start of the space (restart it to use them now), as on Hugging Face.
"""

from __future__ import annotations

import re

from podium.db import Secret, Space, Variable
from podium.errors import ApiError

MODELS: dict[str, type[Variable] | type[Secret]] = {"variables": Variable, "secrets": Secret}
# Each one reaches the app as an environment variable, so its name must be one.
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def check_key(space_id: str, kind: str, key: str) -> str:
    if not _KEY.match(key):
        raise ApiError(
            400,
            f"{space_id}: {key[:100]!r} is not a valid {kind.removesuffix('s')} name: the app gets it as an "
            f"environment variable, so use letters, digits and '_', not starting with a digit, at most 128 characters "
            f"(like API_URL)",
        )
    return key


def set_entry(space: Space, kind: str, key: str, value: str, description: str | None = None) -> None:
    """Add or replace one of the space's `kind` ("variables" or "secrets") in the open session (a secret is
    stored encrypted, `Secret.seal`)."""
    rows = getattr(space, kind)
    row = next((r for r in rows if r.key == key), None)
    if row is None:
        row = MODELS[kind](key=check_key(space.space_id, kind, key), description=description)
        rows.append(row)
    elif description is not None:
        row.description = description
    if isinstance(row, Secret):
        row.seal(value)
    else:
        row.value = value


def delete_entry(space: Space, kind: str, key: str) -> None:
    rows = getattr(space, kind)
    rows[:] = [r for r in rows if r.key != key]
