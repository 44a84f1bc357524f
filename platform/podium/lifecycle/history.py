"""The build and run history of spaces (the `builds` and `runs` tables): what was built when with what
outcome, and which revision ran from when until when and why it ended."""

from __future__ import annotations

from podium_runner.stages import Stage
from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.db import Build, Database, Run, now


class History:
    def __init__(self, db: Database):
        self.db = db

    def _space_pk(self, session: Session, space_id: str) -> int | None:
        space = self.db.find_space(session, space_id)
        return None if space is None else space.id

    def build_started(self, space_id: str, sha: str) -> int | None:
        """Record a build of `sha`; returns its id for `build_finished` (None once the space is gone)."""
        with self.db.session() as session:
            pk = self._space_pk(session, space_id)
            if pk is None:
                return None
            build = Build(space_id=pk, sha=sha)
            session.add(build)
            session.flush()
            return build.id

    def build_finished(self, build_id: int | None, outcome: Stage, environment: str | None = None) -> None:
        with self.db.session() as session:
            build = session.get(Build, build_id) if build_id else None
            if build is not None:
                build.outcome, build.environment, build.finished_at = outcome, environment, now()

    def run_started(self, space_id: str, sha: str) -> None:
        with self.db.session() as session:
            pk = self._space_pk(session, space_id)
            if pk is not None:
                session.add(Run(space_id=pk, sha=sha))

    def run_ended(self, space_id: str, reason: str) -> None:
        """End the space's oldest open run (a replaced instance ends after its successor started)."""
        with self.db.session() as session:
            pk = self._space_pk(session, space_id)
            run = (
                session.scalar(select(Run).where(Run.space_id == pk, Run.ended_at.is_(None)).order_by(Run.id))
                if pk
                else None
            )
            if run is not None:
                run.ended_at, run.end_reason = now(), reason
