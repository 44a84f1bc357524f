"""Which BuildKit cache a build's uv mounts: one per owner, under a name no other owner can know.

BuildKit finds a cache mount by its `id` alone, across every build on the engine, and an `sdk: docker`
space writes its own Dockerfile. With one id for all builds, its `RUN --mount=type=cache,id=...`
could rewrite the wheels every other space installs. So each owner's builds mount
`podium-uv-<HMAC(key, owner)>`: the key stays with Podium, so no other owner can compute the name,
and a Dockerfile that guesses any other id gets a new, empty cache of its own. One owner's builds do
share theirs (an owner's own build code may change what that owner's later builds install, as on the
process backend; process/owners.py says why that is the boundary).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable

_PREFIX = "podium-uv-"


class CacheIds:
    """Cache mount ids keyed by a secret, or by what `key` returns when first needed. The same key
    keeps the same caches (and dependency images, whose names include the id) across restarts."""

    def __init__(self, key: bytes | Callable[[], bytes]):
        self._key = key

    @functools.cached_property
    def _secret(self) -> bytes:
        return self._key() if callable(self._key) else self._key

    def for_space(self, space_id: str | None) -> str:
        """The id for builds of a space's owner ("owner/name"); None is the caller's own builds."""
        owner = "\0caller" if space_id is None else space_id.partition("/")[0]
        return _PREFIX + hmac.new(self._secret, owner.encode(), hashlib.sha256).hexdigest()[:32]
