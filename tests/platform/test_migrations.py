"""Upgrades keep everything: a database made by the release before migrations (made here by that
release's own code, from git) is recognised and upgraded. The schema changes only through migrations,
and the models agree with what the migrations make."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from podium import migrations
from podium.db import Base
from sqlalchemy import create_engine

from tests.support.podium_server import PODIUM

REPO = Path(__file__).resolve().parents[2]
# The last release whose database `create_all` made (no alembic_version table), with its token table
# before roles, scopes and expiry.
PREVIOUS_RELEASE = "dec632e65c36d3f42b526b8767fbffe3e207fecc"


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory) -> Path:
    """That release's platform and runner packages, as its own code, from this repository's history."""
    if subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}"]).returncode:
        pytest.skip(f"this checkout lacks the previous release {PREVIOUS_RELEASE[:8]} (a shallow clone?)")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", PREVIOUS_RELEASE, "platform", "runner"],
                             capture_output=True, check=True).stdout
    root = tmp_path_factory.mktemp("previous-release")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    return root


def released_podium(release: Path, *args: str) -> list[str]:
    """A command line that runs the previous release's `podium` instead of this one."""
    paths = [str(release / "platform"), str(release / "runner")]
    return [sys.executable, "-c", f"import sys; sys.path[:0] = {paths!r}; from podium.cli import app; app()", *args]


def test_the_models_agree_with_what_the_migrations_make(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'podium.db'}")
    assert migrations.upgrade(engine) == (None, migrations.head_revision())
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_podium_db_upgrade_brings_a_previous_release_database_up_to_date(previous_release, tmp_path):
    made = subprocess.run(released_podium(previous_release, "serve", "--help"), capture_output=True, text=True)
    assert made.returncode == 0, made.stderr  # the old release runs here
    old_db = [sys.executable, "-c", f"import sys; sys.path[:0] = [{str(previous_release / 'platform')!r}]; "
              f"from podium.db import Database; Database('sqlite:///{tmp_path / 'podium.db'}')"]
    subprocess.run(old_db, check=True, timeout=60)
    env = {**os.environ, "PODIUM_DATA_DIR": str(tmp_path)}
    upgraded = subprocess.run([str(PODIUM), "db", "upgrade"], capture_output=True, text=True, env=env, timeout=60)
    assert upgraded.returncode == 0, upgraded.stderr
    head = migrations.head_revision()
    assert f"upgraded from the release before migrations to {head}" in upgraded.stdout
    again = subprocess.run([str(PODIUM), "db", "upgrade"], capture_output=True, text=True, env=env, timeout=60)
    assert f"already at {head}, nothing to do" in again.stdout
