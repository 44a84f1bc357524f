"""A throwaway PostgreSQL cluster for tests, started as the tests start dockerd: Debian's own server
binaries, a fresh `initdb` in a temporary folder, listening on 127.0.0.1 at a free port and on a unix
socket in that folder only, with trust authentication for local connections (nothing else reaches it),
run as Debian's `postgres` user when the tests run as root (PostgreSQL refuses to run as root).
Each test asks for a database of its own (`database_url`)."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
from pathlib import Path

import psycopg

from tests.support.process_spaces import free_port

START_TIMEOUT_S = 30


def server_binaries() -> Path | None:
    """The newest installed server's bin folder (Debian: /usr/lib/postgresql/<major>/bin), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PostgresCluster:
    def __init__(self, root: Path, binaries: Path):
        self.root, self.binaries = root, binaries
        self.data = root / "data"
        self.port = free_port()
        self._names = itertools.count(1)
        self._as_root = os.geteuid() == 0

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        command = ["runuser", "-u", "postgres", "--", *argv] if self._as_root else list(argv)
        result = subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT_S)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def start(self) -> PostgresCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(self.binaries / "initdb"), "--pgdata", str(self.data), "--username", "postgres",
            "--auth", "trust", "--encoding", "UTF8", "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} -c fsync=off"
        )
        self._run(
            str(self.binaries / "pg_ctl"), "--pgdata", str(self.data), "--log", str(self.root / "server.log"),
            "--options", options, "--wait", "--timeout", str(START_TIMEOUT_S), "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.binaries / "pg_ctl"), "--pgdata", str(self.data), "--mode", "immediate", "stop")

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL Podium takes (PODIUM_DATABASE_URL), with psycopg 3."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def database_url(self) -> str:
        """A new, empty database's URL."""
        name = f"podium_{next(self._names)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
