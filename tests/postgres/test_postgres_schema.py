"""The schema on PostgreSQL: the migrations make what the models say, and a database the release before
migrations made there (by its own `create_all`) is recognised and upgraded by `podium db upgrade`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from podium import migrations
from podium.db import Base
from sqlalchemy import create_engine, inspect

from tests.platform.test_migrations import previous_release
from tests.support.podium_server import PODIUM

__all__ = ["previous_release"]


def test_the_migrations_make_what_the_models_say_on_postgresql(database_url: str) -> None:
    engine = create_engine(database_url)
    assert migrations.upgrade(engine) == (None, migrations.head_revision())
    with engine.connect() as connection:
        assert connection.dialect.name == "postgresql"
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    assert migrations.upgrade(engine) == (migrations.head_revision(), migrations.head_revision())


def test_podium_db_upgrade_brings_a_previous_release_postgresql_database_up_to_date(
    previous_release: Path, database_url: str, tmp_path: Path
) -> None:
    made_by_old_release = [
        sys.executable,
        "-c",
        f"import sys; sys.path[:0] = [{str(previous_release / 'platform')!r}]; "
        f"from podium.db import Database; Database({database_url!r})",
    ]
    subprocess.run(made_by_old_release, check=True, timeout=60)
    assert "alembic_version" not in inspect(create_engine(database_url)).get_table_names()
    env = {**os.environ, "PODIUM_DATA_DIR": str(tmp_path), "PODIUM_DATABASE_URL": database_url}
    upgraded = subprocess.run([str(PODIUM), "db", "upgrade"], capture_output=True, text=True, env=env, timeout=60)
    assert upgraded.returncode == 0, upgraded.stderr
    head = migrations.head_revision()
    assert f"upgraded from the release before migrations to {head}" in upgraded.stdout
    with create_engine(database_url).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
