"""The objects one running Podium shares between its API, its spaces origin and its supervisor."""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from podium.db import Database
from podium.lifecycle.supervisor import Supervisor
from podium.settings import Settings
from podium.signing import Signer

if TYPE_CHECKING:
    from podium.examples.bundled import ExamplesProgress


@dataclass
class Context:
    settings: Settings
    db: Database
    supervisor: Supervisor
    # Signs the pages' sessions and the tickets into private spaces (podium.signing).
    signer: Signer
    # Commits to one space are applied one at a time (git's ref update would refuse a race anyway).
    commit_locks: collections.defaultdict[str, asyncio.Lock] = field(
        default_factory=lambda: collections.defaultdict(asyncio.Lock)
    )
    # How loading the bundled examples goes (`podium serve --examples`), for the home page; else None.
    examples: ExamplesProgress | None = None


def context_of(request: HTTPConnection) -> Context:
    """The running Podium's context, from a request to its app (podium.app keeps it on the app's state)."""
    return request.app.state.podium
