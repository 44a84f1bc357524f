"""The database's part of a backup: a consistent copy taken while Podium writes, what it held at that moment,
and a fresh database made from it. podium.backup does the rest (repositories, LFS objects, the manifest).

SQLite: the online backup API copies the file into `podium.db`. PostgreSQL: `pg_dump --format=custom` into
`podium.pgdump`, run on a snapshot exported from this module's own REPEATABLE READ transaction, so what it
reads (the spaces, the secrets, the schema revision) is exactly what the dump holds. A restore copies the file
into a new SQLite database, or `pg_restore`s into an empty PostgreSQL database, and applies the fix-ups the
caller gives it in one transaction; a SQLite database appears only once they are done.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url

SQLITE_FILE, POSTGRES_FILE = "podium.db", "podium.pgdump"


class BackupError(RuntimeError):
    """A backup or a restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Snapshot:
    """What the database held at the moment of the copy."""

    kind: str  # "sqlite" or "postgresql"
    file: str  # the copy's name in the backup folder
    spaces: list[tuple[str, str | None]]  # (space id, head of main)
    hosted: list[tuple[str, str, str | None]]  # models and datasets: (repo type, repo id, head of main)
    secret_values: list[str]  # encrypted, as stored
    schema_revision: str | None


def kind_of(db_url: str) -> str:
    url = make_url(db_url)
    kind = url.get_backend_name()
    if kind not in ("sqlite", "postgresql") or (kind == "sqlite" and not url.database):
        raise BackupError(
            f"podium backup and restore handle SQLite and PostgreSQL databases; {_shown(url)} is neither: back it "
            "up with its own tools"
        )
    return kind


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _libpq(url: URL) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is missing: install PostgreSQL's client tools (Debian: postgresql-client)")
    return found


def _read(connection: Connection, kind: str, file: str) -> Snapshot:
    spaces = [
        (f"{owner}/{name}", sha) for owner, name, sha in connection.execute(text("SELECT owner, name, sha FROM spaces"))
    ]
    hosted = []
    if inspect(connection).has_table("hub_repos"):  # a database of a release before models and datasets has none
        query = text("SELECT repo_type, owner, name, sha FROM hub_repos")
        hosted = [(repo_type, f"{owner}/{name}", sha) for repo_type, owner, name, sha in connection.execute(query)]
    secrets = [value for (value,) in connection.execute(text("SELECT value FROM secrets"))]
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return Snapshot(kind, file, spaces, hosted, secrets, revision)


def snapshot(db_url: str, dest: Path) -> Snapshot:
    """Copy the database into the backup folder `dest`, consistently while Podium writes."""
    url = make_url(db_url)
    if kind_of(db_url) == "sqlite":
        source, copy = Path(url.database), dest / SQLITE_FILE
        if not source.is_file():
            raise BackupError(f"no database at {source}: is PODIUM_DATA_DIR the data folder of the Podium to back up?")
        # Pages are copied in steps, the copy restarted when a writer changes one meanwhile: a point in time.
        with sqlite3.connect(source) as live, sqlite3.connect(copy) as target:
            live.backup(target, pages=256, sleep=0.005)
        target = sqlite3.connect(copy)
        try:
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            target.close()
        with _engine(copy).connect() as connection:
            return _read(connection, "sqlite", SQLITE_FILE)
    engine = create_engine(db_url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
            exported = connection.execute(text("SELECT pg_export_snapshot()")).scalar()
            dumped = subprocess.run(
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-acl",
                    f"--snapshot={exported}",
                    f"--file={dest / POSTGRES_FILE}",
                    _libpq(url),
                ],
                capture_output=True,
                text=True,
            )
            if dumped.returncode != 0:
                raise BackupError(f"pg_dump of {_shown(url)} failed: {dumped.stderr.strip()}")
            return _read(connection, "postgresql", POSTGRES_FILE)
    finally:
        engine.dispose()


def _engine(path: Path) -> Engine:
    """An engine on one SQLite file, with foreign keys on, so deleting a space deletes what belongs to it."""
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA foreign_keys=ON"))
    return engine


def check_fresh(db_url: str) -> None:
    """Refuse to restore over a database that holds anything."""
    url = make_url(db_url)
    if kind_of(db_url) == "sqlite":
        if Path(url.database).exists():
            raise BackupError(f"{url.database} exists: restore into a new, empty data folder (PODIUM_DATA_DIR)")
        return
    engine = create_engine(db_url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(
            f"the database {_shown(url)} already holds tables ({', '.join(sorted(tables)[:5])}): restore into a new, "
            "empty database (PODIUM_DATABASE_URL)"
        )


def restore(db_url: str, src: Path, kind: str, file: str, fix_up: Callable[[Connection], None]) -> None:
    """Make the database `db_url` from the backup folder's copy, then run `fix_up` on it in one transaction."""
    url = make_url(db_url)
    if kind_of(db_url) != kind:
        raise BackupError(
            f"{src} holds a {kind} database, and PODIUM_DATABASE_URL names a {url.get_backend_name()} one"
        )
    if kind == "sqlite":
        database = Path(url.database)
        draft = database.with_name(f"{database.name}.restoring")
        try:
            with sqlite3.connect(src / file) as backed_up, sqlite3.connect(draft) as copy:
                backed_up.backup(copy)
            engine = _engine(draft)
            try:
                with engine.begin() as connection:
                    fix_up(connection)
            finally:
                engine.dispose()
            os.replace(draft, database)
        finally:
            draft.unlink(missing_ok=True)
        return
    restored = subprocess.run(
        [_tool("pg_restore"), "--no-owner", "--no-acl", "--exit-on-error", f"--dbname={_libpq(url)}", str(src / file)],
        capture_output=True,
        text=True,
    )
    if restored.returncode != 0:
        raise BackupError(f"pg_restore into {_shown(url)} failed: {restored.stderr.strip()}")
    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            fix_up(connection)
    finally:
        engine.dispose()
