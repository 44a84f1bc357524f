"""At start, before recovery: the database agrees with the repositories again, whatever write a
`kill -9` (or a power cut) interrupted.

A commit's point of no return is its branch moving: git writes the objects first and then moves the
ref atomically (a lock file renamed into place), so a commit is either whole or not there; objects a
kill left unnamed are harmless and `git gc` drops them. The database's `sha` follows the branch, so
a kill between the two leaves it behind: the recorded revision becomes the branch's again, and the
space deploys it, as it would have right after the commit. (The client of such a commit saw its
connection drop, not a success; if it tries again, the same files make the same tree.)

A space is made in the other order: its record first, then its repository and first commit. A record
whose repository has no branch is a creation that never finished (its client saw an error too), and it
goes, with whatever of the repository was begun.
"""

from __future__ import annotations

import logging
import shutil
from typing import TYPE_CHECKING

from sqlalchemy import select

from podium.db import Space

if TYPE_CHECKING:
    from podium.lifecycle.supervisor import Supervisor

log = logging.getLogger("podium.supervisor")


def reconcile(sup: Supervisor) -> set[str]:
    """Make each space's recorded head its branch's; returns the spaces whose head moved (to deploy)."""
    moved: set[str] = set()
    with sup.db.session() as session:
        for space in session.scalars(select(Space)).all():
            repo = sup.repo(space.space_id)
            head = repo.head()
            if head is None and space.sha is None:
                log.warning("%s: its creation was cut short; removing what was begun", space.space_id)
                session.delete(space)
                shutil.rmtree(repo.path, ignore_errors=True)
            elif head == space.sha:
                continue
            elif head is None:
                log.error(
                    "%s: its repository %s has no branch 'main' (it was at %s); restore it from a backup",
                    space.space_id,
                    repo.path,
                    space.sha,
                )
            else:
                log.warning(
                    "%s: a commit was cut short after its branch moved; recording %s (was %s)",
                    space.space_id,
                    head[:8],
                    (space.sha or "none")[:8],
                )
                space.sha = head
                moved.add(space.space_id)
    return moved
