"""Upgrades keep everything: a data folder written by the release before migrations (made here by that
release's own code, from git) opens in this one with its spaces, files, variables, secrets and tokens,
and each old token keeps the rights it had. The schema changes only through migrations, and the
models agree with what the migrations make."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from podium import migrations
from podium.db import Base
from podium.secret_box import load_secret_box
from sqlalchemy import create_engine

from tests.platform.spaces import static_space
from tests.support.podium_server import PODIUM, PodiumServer
from tests.support.process_spaces import free_port

REPO = Path(__file__).resolve().parents[2]
# The last release whose database `create_all` made (no alembic_version table), with its token table
# before roles, scopes and expiry.
PREVIOUS_RELEASE = "dec632e65c36d3f42b526b8767fbffe3e207fecc"


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory) -> Path:
    """That release's platform and runner packages, as its own code, from this repository's history."""
    if subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}"]).returncode:
        pytest.skip(f"this checkout lacks the previous release {PREVIOUS_RELEASE[:8]} (a shallow clone?)")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", PREVIOUS_RELEASE, "platform", "runner"], capture_output=True, check=True
    ).stdout
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
    old_db = [
        sys.executable,
        "-c",
        f"import sys; sys.path[:0] = [{str(previous_release / 'platform')!r}]; "
        f"from podium.db import Database; Database('sqlite:///{tmp_path / 'podium.db'}')",
    ]
    subprocess.run(old_db, check=True, timeout=60)
    env = {**os.environ, "PODIUM_DATA_DIR": str(tmp_path)}
    upgraded = subprocess.run([str(PODIUM), "db", "upgrade"], capture_output=True, text=True, env=env, timeout=60)
    assert upgraded.returncode == 0, upgraded.stderr
    head = migrations.head_revision()
    assert f"upgraded from the release before migrations to {head}" in upgraded.stdout
    again = subprocess.run([str(PODIUM), "db", "upgrade"], capture_output=True, text=True, env=env, timeout=60)
    assert f"already at {head}, nothing to do" in again.stdout


def test_a_data_folder_of_the_previous_release_keeps_everything(previous_release, start_podium, tmp_path):
    old = PodiumServer(
        tmp_path / "data", free_port(), free_port(), {}, command=released_podium(previous_release, "serve")
    )
    try:
        old.start()
        alice = old.http().post("/api/podium/tokens", json={"user": "alice"}).json()["token"]
        as_alice = HfApi(endpoint=old.url, token=alice)
        as_alice.create_repo("alice/notes", repo_type="space", space_sdk="static", private=True)
        as_alice.upload_folder(repo_id="alice/notes", repo_type="space", folder_path=static_space(tmp_path / "notes"))
        as_alice.add_space_variable("alice/notes", "GREETING", "hello")
        as_alice.add_space_secret("alice/notes", "API_KEY", "s3cret")
        old.push("admin/site", static_space(tmp_path / "site"), sdk="static")
        assert old.wait_for_stage("alice/notes", token=alice)["stage"] == "RUNNING"
        notes_head = as_alice.space_info("alice/notes").sha
    finally:
        old.stop()
    assert "alembic" not in old.log()  # it was the release before migrations

    new = start_podium(like=old)
    # Recognised as the baseline, then upgraded.
    assert f"database schema upgraded from the release before migrations to {migrations.head_revision()}" in new.log()
    as_alice = HfApi(endpoint=new.url, token=alice)
    notes = as_alice.space_info("alice/notes")
    assert notes.private and notes.sha == notes_head
    assert as_alice.get_space_variables("alice/notes")["GREETING"].value == "hello"
    secrets = httpx.get(f"{new.url}/api/spaces/alice/notes/secrets", headers={"Authorization": f"Bearer {alice}"})
    assert list(secrets.json()) == ["API_KEY"]
    with sqlite3.connect(new.data_dir / "podium.db") as db:  # write-only through the API, encrypted at rest
        (stored,) = db.execute("SELECT value FROM secrets WHERE key = 'API_KEY'").fetchone()
    assert stored != "s3cret" and load_secret_box(None, None, new.data_dir, create=False).decrypt(stored) == "s3cret"
    assert new.wait_for_stage("alice/notes", token=alice)["stage"] == "RUNNING"
    served = httpx.get(f"{new.spaces_url}/apps/alice/notes/", headers={"Authorization": f"Bearer {alice}"})
    assert served.status_code == 200 and "A static space" in served.text

    # The old token: a write token over alice's spaces, as before.
    assert as_alice.whoami()["auth"]["accessToken"]["role"] == "write"
    as_alice.add_space_variable("alice/notes", "AFTER", "upgrade")
    with pytest.raises(HfHubHTTPError) as refused:
        as_alice.pause_space("admin/site")
    assert refused.value.response.status_code == 403
    # The old admin token: still admin, so it makes tokens for others and changes anyone's space.
    made = new.http().post("/api/tokens", json={"name": "after the upgrade", "user": "bob"})
    assert made.status_code == 200, made.text
    new.api().add_space_variable("alice/notes", "BY_ADMIN", "yes")
    listed = {record["user"]: record for record in new.http().get("/api/tokens").json()}
    assert listed["alice"]["role"] == "write" and listed["alice"]["state"] == "active"
    assert listed["admin"]["admin"] and listed["admin"]["owner"] is None


def test_an_upgrade_moves_asleep_behind_records_into_the_database(tmp_path):
    """A space asleep behind its latest revision's failure when Podium is upgraded wakes showing that
    failure: 0003 moves its record from the file beside its logs into the spaces table."""
    from alembic import command
    from sqlalchemy import text

    engine = create_engine(f"sqlite:///{tmp_path / 'podium.db'}")
    command.upgrade(migrations._config(engine), "0002_token_scopes")
    with engine.begin() as connection:
        for name in ("asleep", "torn", "awake"):
            connection.execute(
                text(
                    "INSERT INTO spaces (owner, name, sdk, private, hardware, stage, card_data, "
                    "created_at, updated_at) VALUES ('alice', :name, 'gradio', 0, 'cpu-basic', "
                    "'STOPPED', '{}', '2026-12-01', '2026-12-01')"
                ),
                {"name": name},
            )
    logs = tmp_path / "logs"
    asleep, torn = logs / "alice" / "asleep" / "asleep-behind.json", logs / "alice" / "torn" / "asleep-behind.json"
    asleep.parent.mkdir(parents=True)
    asleep.write_text('{"stage": "BUILD_ERROR", "errorMessage": "build of 1234abcd failed"}')
    torn.parent.mkdir(parents=True)
    torn.write_text('{"stage": "BUILD_')  # cut short when the machine went down

    assert migrations.upgrade(engine, logs) == ("0002_token_scopes", migrations.head_revision())
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT name, asleep_behind_stage, asleep_behind_message FROM spaces ORDER BY name")
        ).all()
    assert rows == [("asleep", "BUILD_ERROR", "build of 1234abcd failed"), ("awake", None, None), ("torn", None, None)]
    assert not asleep.exists() and not torn.exists()
