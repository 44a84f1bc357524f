"""A consistent snapshot of a Podium's data, taken while it runs, and a fresh data folder made from one.

A backup is a folder:

    manifest.json        written last: a folder without it is an incomplete backup, which restore refuses
    podium.db            the database: SQLite's online backup (podium.backup_database), a point in time
    podium.pgdump        or, for PostgreSQL, pg_dump's archive of one snapshot
    repos/OWNER/NAME.bundle         every ref of the space's repository (`git bundle --all`)
    repos/OWNER/NAME.lfs-grants     the LFS objects the space may point to (podium.lfs_store.grant), one per line
    repos/_models/OWNER/NAME.bundle (and .lfs-grants), repos/_datasets/...: models and datasets, alike
    lfs/objects/...      the LFS objects, in git-lfs's layout (podium.lfs_store)
    xet/maps/...         where the chunks of xorbs uploaded through Xet are in those objects (podium.xet.xorbs)
    xet/namespace        the Xet address's own name, so that clients keep deduplicating against those
    settings.json        the settings the backup was taken with, for the operator to start the restored Podium alike

The database is copied first, then the repositories: a commit moves the repository before the database
(podium.spaces.files), so every revision the database names is in the bundles; a commit that landed in
between is restored as the space's head, which then builds. LFS objects come last, since an object is
stored before any commit points to it. Secrets stay encrypted with the operator's key
(podium.secret_box), which a backup never holds: restore checks that the key it is given is the one the
manifest names. Not included: spaces' /data volumes, build and run logs, environments (rebuilt from the
repositories), the pages' session secret (visitors sign in again), and xorbs of uploads through Xet that
no rebuilt file holds yet (an upload cut short).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from podium import backup_database, lfs_store, migrations
from podium.backup_database import BackupError
from podium.models.records import relative_path
from podium.repos import SpaceRepo
from podium.secret_box import SecretBox, SecretsKeyError, box_for
from podium.settings import Settings
from podium.whole_files import write_whole
from podium.xet.xorbs import XorbStore

FORMAT = 1
MANIFEST = "manifest.json"
DELETED = "deleted while the backup ran"  # a repository the database named, gone by the time it was bundled


@dataclass(frozen=True)
class Summary:
    spaces: int
    repositories: int  # models and datasets
    lfs_objects: int
    size_bytes: int
    seconds: float


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"git {' '.join(args[:3])} failed: {result.stderr.strip()}")
    return result.stdout


def _bundle(repo: Path, dest: Path) -> bool:
    """The repository's every ref in one file; False for a repository without any commit (nothing to bundle)."""
    if not _git("--git-dir", str(repo), "for-each-ref", "--count=1").strip():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    _git("--git-dir", str(repo), "bundle", "create", "--quiet", str(dest), "--all")
    _git("--git-dir", str(repo), "bundle", "verify", "--quiet", str(dest))
    return True


def _grants(repo: Path) -> list[str]:
    folder = repo / lfs_store.GRANTS
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def _take(repo: Path, into: Path) -> str:
    """Bundle the repository `repo` as `into`.bundle, its LFS grants as `into`.lfs-grants; what the
    manifest says of it."""
    if not repo.is_dir():
        return DELETED
    if not _bundle(repo, Path(f"{into}.bundle")):
        return "empty"
    if grants := _grants(repo):
        Path(f"{into}.lfs-grants").write_text("\n".join(grants) + "\n")
    return "bundle"


def _hosted_path(repo_type: str, repo_id: str) -> str:
    """A model's or dataset's repository, relative to the repositories folder, without `.git`."""
    return relative_path(repo_type, repo_id).removesuffix(".git")


def _copy_lfs_objects(source: Path, dest: Path) -> int:
    """Objects in place (named by their sha256), never a temporary file still being written."""
    copied = 0
    for path in sorted(source.rglob("*")) if source.is_dir() else []:
        if not path.is_file() or path.is_symlink():
            continue
        try:
            lfs_store.check_oid(path.name)
        except ValueError:
            continue
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied += 1
    return copied


def _copy_xet(source: XorbStore, dest: Path) -> None:
    """The maps of xorbs (after the LFS objects they point into) and the namespace clients know them by,
    so that clients keep deduplicating against what they uploaded (podium.xet.xorbs)."""
    for path in sorted(source.maps.rglob("*.json")) if source.maps.is_dir() else []:
        target = dest / path.relative_to(source.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    if source.namespace_file.is_file():
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source.namespace_file, dest / source.namespace_file.relative_to(source.root))


def _settings_record(settings: Settings) -> dict[str, Any]:
    record = settings.model_dump(mode="json", exclude={"secrets_key"})
    if settings.database_url:
        record["database_url"] = make_url(settings.database_url).render_as_string(hide_password=True)
    return record


def _folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _secrets_key_id(settings: Settings, secret_values: list[str]) -> str | None:
    """The id of the key the snapshot's secrets need (None without secrets), checked against them."""
    if not secret_values:
        return None
    try:
        box = box_for(settings, create=False)
        for value in secret_values:
            box.decrypt(value)
    except SecretsKeyError as exc:
        raise BackupError(
            f"this backup holds secrets, and its manifest names the key they need, but {exc}. Run podium backup "
            "with the PODIUM_SECRETS_KEY_FILE (or PODIUM_SECRETS_KEY) that podium serve runs with"
        ) from None
    return box.key_id


def backup(settings: Settings, dest: Path) -> Summary:
    """Write a backup of the Podium whose data folder `settings` names into `dest` (new or empty)."""
    started = time.monotonic()
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty: back up into a new folder")
    if dest.resolve().is_relative_to(settings.data_dir.resolve()):
        raise BackupError(f"{dest} is inside the data folder {settings.data_dir}: back up somewhere else")
    backup_database.kind_of(settings.db_url)  # refused before anything is written
    dest.mkdir(parents=True, exist_ok=True)
    snapshot = backup_database.snapshot(settings.db_url, dest)
    key_id = _secrets_key_id(settings, snapshot.secret_values)

    spaces = [
        {
            "id": space_id,
            "sha": sha,
            "repository": _take(settings.repos_dir / f"{space_id}.git", dest / "repos" / space_id),
        }
        for space_id, sha in snapshot.spaces
    ]
    repositories = [
        {
            "type": repo_type,
            "id": repo_id,
            "sha": sha,
            "repository": _take(
                settings.repos_dir / f"{_hosted_path(repo_type, repo_id)}.git",
                dest / "repos" / _hosted_path(repo_type, repo_id),
            ),
        }
        for repo_type, repo_id, sha in snapshot.hosted
    ]
    lfs_objects = _copy_lfs_objects(lfs_store.objects_dir(settings.data_dir), dest / "lfs" / "objects")
    _copy_xet(XorbStore(settings.data_dir), dest / "xet")

    (dest / "settings.json").write_text(json.dumps(_settings_record(settings), indent=2) + "\n")
    manifest = {
        "format": FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data_dir": str(settings.data_dir),
        "database": {"kind": snapshot.kind, "file": snapshot.file},
        "schema_revision": snapshot.schema_revision,
        "secrets_key_id": key_id,
        "spaces": spaces,
        "repositories": repositories,
        "lfs_objects": lfs_objects,
        "not_included": [
            "spaces' /data volumes",
            "build and run logs",
            "environments",
            "the pages' session secret",
            "xorbs of uploads through Xet that no rebuilt file holds yet",
        ],
    }
    write_whole(dest / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    return Summary(len(spaces), len(repositories), lfs_objects, _folder_size(dest), time.monotonic() - started)


def read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(
            f"{src} has no {MANIFEST}: it is not a Podium backup, or one that did not finish; use another"
        ) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{src} is a backup of format {manifest.get('format')!r}; this Podium reads format {FORMAT}")
    return manifest


def _check_key(settings: Settings, src: Path, manifest: dict[str, Any]) -> SecretBox | None:
    wanted = manifest.get("secrets_key_id")
    if wanted is None:
        return None
    try:
        box = box_for(settings, create=False)
    except SecretsKeyError as exc:
        raise BackupError(f"{src} holds secrets encrypted with the key whose id is {wanted}; {exc}") from None
    if box.key_id != wanted:
        raise BackupError(
            f"{src} holds secrets encrypted with the key whose id is {wanted}, but {box.source} holds the key "
            f"{box.key_id}: set PODIUM_SECRETS_KEY_FILE to the key file of the Podium that was backed up"
        )
    return box


def _check_fresh(settings: Settings) -> None:
    if settings.repos_dir.exists():
        raise BackupError(
            f"{settings.data_dir} already holds a Podium ({settings.repos_dir}): restore into a new, empty data "
            "folder (PODIUM_DATA_DIR)"
        )
    try:
        backup_database.check_fresh(settings.db_url)
    except BackupError as exc:
        raise BackupError(f"{settings.data_dir} already holds a Podium: {exc}") from None


def _restore_repository(repo_path: Path, bundled: Path, status: str) -> str | None:
    """A repository from its bundle (`bundled`.bundle, grants in `bundled`.lfs-grants); the head of main it
    has (None for an empty one)."""
    repo = SpaceRepo(repo_path)
    repo.init()
    if status == "bundle":
        _git("--git-dir", str(repo.path), "fetch", "--quiet", f"{bundled}.bundle", "+refs/*:refs/*")
        grants = Path(f"{bundled}.lfs-grants")
        for oid in grants.read_text().split() if grants.exists() else []:
            lfs_store.grant(repo.path, oid)
    return repo.head()


def restore(settings: Settings, src: Path) -> Summary:
    """A fresh data folder (`settings.data_dir`) holding the Podium backed up in `src`. Its spaces build and
    start when `podium serve` starts on it (instances of the backed-up machine are not adopted)."""
    started = time.monotonic()
    manifest = read_manifest(src)
    _check_fresh(settings)
    box = _check_key(settings, src, manifest)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _restore_into(settings, src, manifest, box, started)
    except BaseException:
        # Nothing half-made stays behind to be taken for a Podium: a second try starts clean.
        for folder in (settings.repos_dir, lfs_store.objects_dir(settings.data_dir), XorbStore(settings.data_dir).root):
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _restore_into(
    settings: Settings, src: Path, manifest: dict[str, Any], box: SecretBox | None, started: float
) -> Summary:
    heads: dict[str, str | None] = {}
    gone: list[str] = []
    for space in manifest["spaces"]:
        if space["repository"] == DELETED:
            gone.append(space["id"])
        else:
            repo = settings.repos_dir / f"{space['id']}.git"
            heads[space["id"]] = _restore_repository(repo, src / "repos" / space["id"], space["repository"])
    hosted_heads: dict[tuple[str, str], str | None] = {}
    hosted_gone: list[tuple[str, str]] = []
    for entry in manifest.get("repositories", []):  # backups of a release before models and datasets have none
        key, folder = (entry["type"], entry["id"]), _hosted_path(entry["type"], entry["id"])
        if entry["repository"] == DELETED:
            hosted_gone.append(key)
        else:
            repo = settings.repos_dir / f"{folder}.git"
            hosted_heads[key] = _restore_repository(repo, src / "repos" / folder, entry["repository"])
    lfs_objects = _copy_lfs_objects(src / "lfs" / "objects", lfs_store.objects_dir(settings.data_dir))
    _copy_xet(XorbStore(src), XorbStore(settings.data_dir).root)

    def fix_up(connection: Connection) -> None:
        if box is not None:
            for (value,) in connection.execute(text("SELECT value FROM secrets")):
                box.decrypt(value)
        for space_id in gone:
            owner, _, name = space_id.partition("/")
            connection.execute(text("DELETE FROM spaces WHERE owner = :o AND name = :n"), {"o": owner, "n": name})
        for space_id, head in heads.items():
            owner, _, name = space_id.partition("/")
            # The repository is the truth about revisions; the instances ran on another machine (or Podium).
            connection.execute(
                text("UPDATE spaces SET sha = :sha, instance_state = NULL WHERE owner = :o AND name = :n"),
                {"sha": head, "o": owner, "n": name},
            )
        hosted = "WHERE repo_type = :t AND owner = :o AND name = :n"
        for repo_type, repo_id in hosted_gone:
            owner, _, name = repo_id.partition("/")
            connection.execute(text(f"DELETE FROM hub_repos {hosted}"), {"t": repo_type, "o": owner, "n": name})
        for (repo_type, repo_id), head in hosted_heads.items():
            owner, _, name = repo_id.partition("/")
            values = {"sha": head, "t": repo_type, "o": owner, "n": name}
            connection.execute(text(f"UPDATE hub_repos SET sha = :sha {hosted}"), values)
        connection.execute(
            text("UPDATE runs SET ended_at = :now, end_reason = 'backed up while running' WHERE ended_at IS NULL"),
            {"now": dt.datetime.now(dt.UTC).replace(tzinfo=None)},
        )

    database = manifest["database"]
    backup_database.restore(settings.db_url, src, database["kind"], database["file"], fix_up)
    return Summary(
        len(heads), len(hosted_heads), lfs_objects, _folder_size(settings.data_dir), time.monotonic() - started
    )


def schema_note(manifest: dict[str, Any]) -> str:
    """What `podium serve` will do to the restored database's schema."""
    head = migrations.head_revision()
    revision = manifest.get("schema_revision")
    if revision == head:
        return f"its schema is this release's ({head})"
    return f"its schema ({revision or 'before migrations'}) is upgraded to {head} when podium serve starts"
