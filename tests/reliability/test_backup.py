"""Backup and restore (issue 17 item 6): `podium backup` takes a consistent snapshot while Podium runs a
space and an upload is in flight; `podium restore` onto a fresh data folder gives back every space with
its history, variables and secrets, which build and answer, and every model and dataset with its files;
secrets are readable only with the key the operator keeps, which no backup holds. The same round trip
with PostgreSQL as the database (pg_dump)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from huggingface_hub import hf_hub_download
from sqlalchemy import create_engine, text

from tests.postgres.cluster import PostgresCluster, server_binaries
from tests.support.podium_server import PODIUM, PodiumServer
from tests.support.process_spaces import free_port, stdlib_app, write_space

SECRET_VALUE = "backup-secret-5d1e"  # found nowhere in a backup: the value is stored encrypted
# A gradio-sdk space whose app (the standard library's server, up in a moment from the shared Gradio
# environment) answers with its variable and its secret, so a restored space shows both reached it.
REPORTS_SETTINGS = stdlib_app(
    """
    REPORT["version"] = open("VERSION").read().strip()
    REPORT["greeting"] = os.environ.get("GREETING")
    REPORT["secret"] = os.environ.get("API_KEY")
    """
)
SPACE, STATIC = "alice/settings-report", "alice/notes"
MODEL, DATASET = "alice/backed-up-model", "alice/backed-up-data"
WEIGHTS = os.urandom(3 * 2**20)  # in LFS (*.safetensors), uploaded through Xet where hf_xet is installed
ROWS = b"text,label\nhello,1\nworld,0\n"


def podium_cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    return subprocess.run([str(PODIUM), *args], capture_output=True, text=True, env=environment, timeout=timeout)


def key_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secrets.key"
    path.write_bytes(Fernet.generate_key())
    return path


class SlowUpload:
    """A commit (huggingface_hub's NDJSON commit API) whose body streams for as long as the backup runs."""

    def __init__(self, server: PodiumServer, space_id: str):
        self.started, self.release = threading.Event(), threading.Event()
        self.response: httpx.Response | None = None
        self.thread = threading.Thread(target=self._send, args=(server, space_id), daemon=True)

    def _body(self) -> Iterator[bytes]:
        yield json.dumps({"key": "header", "value": {"summary": "a late file"}}).encode() + b"\n"
        self.started.set()
        self.release.wait(60)  # the backup is taken now
        content = base64.b64encode(b"late\n" * 1000).decode()
        yield json.dumps(
            {"key": "file", "value": {"path": "late.txt", "content": content, "encoding": "base64"}}
        ).encode()

    def _send(self, server: PodiumServer, space_id: str) -> None:
        headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/x-ndjson"}
        self.response = httpx.post(
            f"{server.url}/api/spaces/{space_id}/commit/main", content=self._body(), headers=headers, timeout=120
        )

    def __enter__(self) -> SlowUpload:
        self.thread.start()
        assert self.started.wait(30), "the upload did not start"
        time.sleep(0.5)  # its header is on the server, which now waits for the file
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(90)


def history(server: PodiumServer, space_id: str) -> list[str]:
    """The commits of the space's main branch, newest first, from its repository on disk."""
    repo = server.data_dir / "repos" / f"{space_id}.git"
    listed = subprocess.run(["git", "--git-dir", str(repo), "rev-list", "main"], capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    return listed.stdout.split()


def report(server: PodiumServer, space_id: str) -> dict:
    answer = httpx.get(f"{server.spaces_url}/apps/{space_id}/", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def original(start_podium, tmp_path_factory) -> tuple[PodiumServer, dict[str, str]]:
    """A Podium with two spaces (one with a history of two revisions, a variable and a secret), running."""
    keys = key_file(tmp_path_factory.mktemp("operator-keys"))
    env = {"PODIUM_SECRETS_KEY_FILE": str(keys)}
    server = start_podium(env=env)
    folder = tmp_path_factory.mktemp("spaces")
    space = write_space(folder / "report", "sdk: gradio", REPORTS_SETTINGS, files={"VERSION": "v1"})
    api = server.api()
    api.create_repo(SPACE, repo_type="space", space_sdk="gradio")
    api.add_space_variable(SPACE, "GREETING", "hello")
    api.add_space_secret(SPACE, "API_KEY", SECRET_VALUE)
    api.upload_folder(repo_id=SPACE, folder_path=space, repo_type="space")
    (space / "VERSION").write_text("v2")
    api.upload_folder(repo_id=SPACE, folder_path=space, repo_type="space")
    notes = write_space(folder / "notes", "sdk: static", "<h1>Notes</h1>\n", app_file="index.html")
    server.push(STATIC, notes, sdk="static")
    api.create_repo(MODEL)
    api.upload_file(path_or_fileobj=WEIGHTS, path_in_repo="model.safetensors", repo_id=MODEL)
    api.create_repo(DATASET, repo_type="dataset")
    api.upload_file(path_or_fileobj=ROWS, path_in_repo="train.csv", repo_id=DATASET, repo_type="dataset")
    assert server.wait_for_stage(SPACE)["stage"] == "RUNNING"
    assert report(server, SPACE) == {"version": "v2", "greeting": "hello", "secret": SECRET_VALUE}
    return server, env


@pytest.fixture(scope="module")
def backed_up(original, tmp_path_factory) -> tuple[Path, list[str]]:
    """A backup taken while the space runs and an upload to it is in flight; its history at that moment."""
    server, env = original
    dest = tmp_path_factory.mktemp("backups") / "snapshot"
    before = history(server, SPACE)
    with SlowUpload(server, SPACE) as upload:
        made = podium_cli("backup", str(dest), env={**env, "PODIUM_DATA_DIR": str(server.data_dir)})
    assert made.returncode == 0, made.stderr
    assert "backed up 2 space(s), 2 model or dataset repositories" in made.stdout
    # The upload was acknowledged after the backup, and landed in the live Podium.
    assert upload.response is not None and upload.response.status_code == 200, upload.response
    assert history(server, SPACE)[0] == upload.response.json()["commitOid"] != before[0]
    return dest, before


def test_a_backup_holds_every_space_and_no_secret_in_clear(original, backed_up):
    server, _env = original
    dest, _before = backed_up
    manifest = json.loads((dest / "manifest.json").read_text())
    assert {space["id"] for space in manifest["spaces"]} == {SPACE, STATIC}
    assert {(repo["type"], repo["id"]) for repo in manifest["repositories"]} == {("model", MODEL), ("dataset", DATASET)}
    entries = manifest["spaces"] + manifest["repositories"]
    assert manifest["secrets_key_id"] and all(entry["repository"] == "bundle" for entry in entries)
    for path in dest.rglob("*"):
        if path.is_file():
            assert SECRET_VALUE.encode() not in path.read_bytes(), f"{path} holds the secret in clear"
    assert not (server.data_dir / "podium.db").read_bytes().count(SECRET_VALUE.encode())
    again = podium_cli("backup", str(dest), env={"PODIUM_DATA_DIR": str(server.data_dir)})
    assert again.returncode == 1 and "is not empty" in again.stderr


def test_a_restored_podium_has_every_space_with_its_history_variables_and_secrets(
    original, backed_up, request, tmp_path
):
    server, env = original
    dest, before = backed_up
    fresh = tmp_path / "restored" / "data"
    restored = podium_cli("restore", str(dest), env={**env, "PODIUM_DATA_DIR": str(fresh)})
    assert restored.returncode == 0, restored.stderr
    assert "restored 2 space(s), 2 model or dataset repositories" in restored.stdout

    started = time.monotonic()
    # No admin token is printed: the restored database holds the original's, which works on the copy.
    copy = PodiumServer(fresh, free_port(), free_port(), env, token=server.token).start()
    request.addfinalizer(copy.stop)
    assert copy.wait_for_stage(SPACE)["stage"] == "RUNNING", copy.log()[-3000:]
    # The snapshot is the moment of the backup: the upload still in flight then is not in it.
    assert history(copy, SPACE) == before
    assert report(copy, SPACE) == {"version": "v2", "greeting": "hello", "secret": SECRET_VALUE}
    assert copy.api().get_space_variables(SPACE)["GREETING"].value == "hello"
    assert list(copy.http().get(f"/api/spaces/{SPACE}/secrets").json()) == ["API_KEY"]
    assert copy.wait_for_stage(STATIC)["stage"] == "RUNNING"
    assert "<h1>Notes</h1>" in httpx.get(f"{copy.spaces_url}/apps/{STATIC}/", timeout=30).text
    # Models and datasets: their history, and their files (the weights from the restored LFS objects), and
    # where the chunks of what came through Xet are, which clients deduplicate their next uploads against.
    maps = {path.relative_to(server.data_dir) for path in (server.data_dir / "xet" / "maps").rglob("*.json")}
    assert maps == {path.relative_to(fresh) for path in (fresh / "xet" / "maps").rglob("*.json")}
    assert (fresh / "xet" / "namespace").read_text() == (server.data_dir / "xet" / "namespace").read_text()
    assert copy.api().model_info(MODEL).sha == server.api().model_info(MODEL).sha
    for repo_id, path, repo_type, content in (
        (MODEL, "model.safetensors", "model", WEIGHTS),
        (DATASET, "train.csv", "dataset", ROWS),
    ):
        got = hf_hub_download(
            repo_id, path, repo_type=repo_type, endpoint=copy.url, token=copy.token, cache_dir=tmp_path / "dl"
        )
        assert Path(got).read_bytes() == content, repo_id
    print(f"restored Podium: spaces back and answering in {time.monotonic() - started:.1f} s")
    # A second restore into a data folder that holds a Podium is refused.
    twice = podium_cli("restore", str(dest), env={**env, "PODIUM_DATA_DIR": str(fresh)})
    assert twice.returncode == 1 and "already holds a Podium" in twice.stderr


def test_secrets_are_readable_only_with_the_operators_key(original, backed_up, tmp_path):
    _server, env = original
    dest, _before = backed_up
    wanted = json.loads((dest / "manifest.json").read_text())["secrets_key_id"]
    missing = podium_cli(
        "restore",
        str(dest),
        env={"PODIUM_DATA_DIR": str(tmp_path / "a"), "PODIUM_SECRETS_KEY_FILE": str(tmp_path / "no-such.key")},
    )
    assert missing.returncode == 1 and wanted in missing.stderr and "no secrets key at" in missing.stderr
    other = podium_cli(
        "restore",
        str(dest),
        env={"PODIUM_DATA_DIR": str(tmp_path / "b"), "PODIUM_SECRETS_KEY_FILE": str(key_file(tmp_path / "other"))},
    )
    assert other.returncode == 1 and f"key whose id is {wanted}" in other.stderr
    # Nothing was left behind by the refusals.
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()

    # A data folder copied without its key (the database as it is): podium serve refuses it, naming the key.
    copied = tmp_path / "copied"
    assert podium_cli("restore", str(dest), env={**env, "PODIUM_DATA_DIR": str(copied)}).returncode == 0
    serve = subprocess.run(
        [str(PODIUM), "serve", "--port", str(free_port()), "--spaces-port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "PODIUM_DATA_DIR": str(copied),
            "PODIUM_SECRETS_KEY_FILE": str(key_file(tmp_path / "wrong")),
        },
    )
    assert serve.returncode == 2 and "cannot be decrypted" in serve.stderr, serve.stderr[-2000:]


def test_an_unfinished_backup_is_refused(original, tmp_path):
    _server, env = original
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "podium.db").write_bytes(b"")
    refused = podium_cli("restore", str(tmp_path / "half"), env={**env, "PODIUM_DATA_DIR": str(tmp_path / "data")})
    assert refused.returncode == 1 and "did not finish" in refused.stderr


@pytest.fixture(scope="module")
def postgres(tmp_path_factory) -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster (tests/postgres/cluster.py), for Podiums whose database it is."""
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL's server is not installed (Debian: apt-get install postgresql; scripts/test does)")
    root = Path(tempfile.mkdtemp(prefix="podium-backup-postgres-"))  # the server runs as `postgres`, not root
    cluster = PostgresCluster(root, binaries)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_podium_on_postgresql_is_backed_up_with_pg_dump_and_restored(postgres, start_podium, request, tmp_path):
    keys = key_file(tmp_path / "keys")
    env = {"PODIUM_SECRETS_KEY_FILE": str(keys), "PODIUM_DATABASE_URL": postgres.database_url()}
    server = start_podium(env=env)
    space = write_space(tmp_path / "report", "sdk: gradio", REPORTS_SETTINGS, files={"VERSION": "pg"})
    api = server.api()
    api.create_repo(SPACE, repo_type="space", space_sdk="gradio")
    api.add_space_variable(SPACE, "GREETING", "hello")
    api.add_space_secret(SPACE, "API_KEY", SECRET_VALUE)
    api.upload_folder(repo_id=SPACE, folder_path=space, repo_type="space")
    assert server.wait_for_stage(SPACE)["stage"] == "RUNNING"

    dest = tmp_path / "snapshot"
    made = podium_cli("backup", str(dest), env={**env, "PODIUM_DATA_DIR": str(server.data_dir)})
    assert made.returncode == 0, made.stderr
    database = json.loads((dest / "manifest.json").read_text())["database"]
    assert database == {"kind": "postgresql", "file": "podium.pgdump"}

    fresh = {**env, "PODIUM_DATA_DIR": str(tmp_path / "restored" / "data")}
    fresh["PODIUM_DATABASE_URL"] = postgres.database_url()
    restored = podium_cli("restore", str(dest), env=fresh)
    assert restored.returncode == 0, restored.stderr
    engine = create_engine(fresh["PODIUM_DATABASE_URL"])
    with engine.connect() as connection:  # restored as stored: encrypted
        (stored,) = connection.execute(text("SELECT value FROM secrets")).one()
    engine.dispose()
    assert SECRET_VALUE not in stored
    again = podium_cli("restore", str(dest), env={**fresh, "PODIUM_DATA_DIR": str(tmp_path / "other")})
    assert again.returncode == 1 and "already holds tables" in again.stderr  # the database is taken now
    copy = PodiumServer(Path(fresh["PODIUM_DATA_DIR"]), free_port(), free_port(), fresh, token=server.token).start()
    request.addfinalizer(copy.stop)
    assert copy.wait_for_stage(SPACE)["stage"] == "RUNNING", copy.log()[-3000:]
    assert report(copy, SPACE) == {"version": "pg", "greeting": "hello", "secret": SECRET_VALUE}
    assert history(copy, SPACE) == history(server, SPACE)
