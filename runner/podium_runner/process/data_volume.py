"""Each space's /data as a filesystem of its own size: an ext4 image Podium (root) loop-mounts.

A plain folder on Podium's disk would let one app fill that disk for Podium and every other space; in
its own filesystem the app gets ENOSPC at its limit and nothing else notices. The image file is sparse
and mounted with `discard`, so it holds on the host only what the app keeps: the size is a limit, not
a reservation.

The image is made on the space's first start and mounted at the space's data folder (which the
sandbox binds at /data). It stays mounted through restarts and sleeps, and across Podium's own
restarts while apps outlive it, so the next instance reuses the mount; it is unmounted when the space
is deleted, or when Podium exits if its apps stop with it. A data folder an older Podium kept as a
plain folder becomes the image's first contents (`mkfs.ext4 -d`), then the folder is emptied, in
steps that a crash at any point leaves recoverable.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from pathlib import Path

from podium_runner.process.sandbox import run_system_tool, system_tool

# nosuid, nodev: the app's files give no privilege. noinit_itable: the kernel would otherwise write
# out every inode table in the background, filling the sparse image for nothing.
MOUNT_OPTIONS = "loop,nosuid,nodev,noatime,discard,noinit_itable"
# mkfs.ext4: no blocks reserved for root (the app is never root), tables written lazily (sparse image).
_MKFS_OPTIONS = ("-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard")
# Room for the filesystem's own tables when an older folder's files must fit into a new image.
_MIGRATION_MARGIN = 1.25
_MIGRATION_OVERHEAD_BYTES = 64 * 1024 * 1024
_TOOLS = {
    "mkfs.ext4": "e2fsprogs", "e2fsck": "e2fsprogs", "resize2fs": "e2fsprogs",
    "mount": "mount", "umount": "mount", "losetup": "mount",
}  # fmt: skip
_LOOP_CONTROL = "/dev/loop-control"
_LOOP_CONTROL_DEVICE = os.makedev(10, 237)  # the kernel's fixed number for it (Documentation/admin-guide/devices.txt)


def loop_unavailable_reason() -> str | None:
    """Why spaces' /data cannot be loop-mounted images here, or None when they can."""
    missing = sorted({package for tool, package in _TOOLS.items() if system_tool(tool) is None})
    if missing:
        return f"{', '.join(missing)} not installed (Debian: apt-get install {' '.join(missing)})"
    if os.geteuid() != 0:
        return "Podium does not run as root, so it cannot mount filesystems"
    try:
        is_loop_control = os.stat(_LOOP_CONTROL).st_rdev == _LOOP_CONTROL_DEVICE
    except OSError:
        is_loop_control = False
    if not is_loop_control:
        return f"no loop devices ({_LOOP_CONTROL} is missing: load the loop module, or give the container them)"
    return None


def _mounted_device(folder: Path) -> str:
    """The device mounted at `folder` (its loop device), from /proc/self/mountinfo."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, filesystem = line.partition(" - ")
        if fields.split()[4] == os.path.realpath(folder):
            return filesystem.split()[1]
    raise OSError(f"nothing is mounted at {folder}")


def _bytes_in(folder: Path) -> int:
    """What the files under `folder` take on disk (hard links once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, _folders, files in os.walk(folder):
        for name in files:
            info = os.lstat(os.path.join(root, name))
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
    return total


@dataclass(frozen=True)
class DataVolumes:
    """The spaces' data folders (mount points) under `root`, their images in `root/.volumes`: on the same
    filesystem, so an older folder moves aside by a rename. No space's folder is called that (space
    names start with a letter or digit)."""

    root: Path

    @property
    def images(self) -> Path:
        return self.root / ".volumes"

    def folder(self, name: str) -> Path:
        return self.root / name

    def image(self, name: str) -> Path:
        return self.images / f"{name}.ext4"

    def _premigration(self, name: str) -> Path:
        """Where an older plain data folder waits while its image is completed."""
        return self.images / f"{name}.premigration"

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """One mount or removal of a space's volume at a time, across Podium processes too."""
        self.images.mkdir(mode=0o700, parents=True, exist_ok=True)  # the images hold every space's data
        with open(self.images / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def mount(self, name: str, size_bytes: int, log: Callable[[str], None]) -> Path:
        """The data folder of space `name`, its image mounted there: made on first use (with an older
        plain folder's files in it), reused as it is when an earlier instance mounted it, grown when
        `size_bytes` is larger than it is (a bigger flavor); never shrunk, which could lose files."""
        folder, image = self.folder(name), self.image(name)
        with self._locked(name):
            if os.path.ismount(folder):
                if image.stat().st_size < size_bytes:
                    self._grow_mounted(name, size_bytes, log)
                return folder
            self._finish_migration(name)
            created = not image.exists()
            if created:
                self._create(name, size_bytes, log)
            elif image.stat().st_size < size_bytes:
                os.truncate(image, size_bytes)
                # resize2fs wants a freshly checked filesystem; 1: errors found and fixed.
                run_system_tool("e2fsck", "-f", "-p", str(image), succeeded=(0, 1))
                run_system_tool("resize2fs", str(image))
                log(f"{name}: its /data grew to {size_bytes >> 20} MB")
            folder.mkdir(parents=True, exist_ok=True)
            run_system_tool("mount", "-o", MOUNT_OPTIONS, str(image), str(folder))
            if created:
                with contextlib.suppress(OSError):  # the app's /data starts as an empty folder
                    (folder / "lost+found").rmdir()
        return folder

    def _grow_mounted(self, name: str, size_bytes: int, log: Callable[[str], None]) -> None:
        """Grow the filesystem while in use (ext4 can); where the kernel refuses (it takes
        CAP_SYS_RESOURCE), the space keeps its size until the volume is next mounted."""
        image = self.image(name)
        old_size = image.stat().st_size
        device = _mounted_device(self.folder(name))
        try:
            os.truncate(image, size_bytes)
            run_system_tool("losetup", "--set-capacity", device)
            run_system_tool("resize2fs", device)
        except OSError as exc:
            # The filesystem never reached past its old size: the image goes back to it, so that the
            # next mount sees it is smaller than asked and grows it then.
            os.truncate(image, old_size)
            run_system_tool("losetup", "--set-capacity", device)
            log(f"{name}: its /data stays at {old_size >> 20} MB until it is next mounted ({exc})")
            return
        log(f"{name}: its /data grew to {size_bytes >> 20} MB")

    def _create(self, name: str, size_bytes: int, log: Callable[[str], None]) -> None:
        folder, image = self.folder(name), self.image(name)
        older = folder if folder.is_dir() and any(folder.iterdir()) else None
        if older is not None:
            needed = int(_bytes_in(older) * _MIGRATION_MARGIN) + _MIGRATION_OVERHEAD_BYTES
            if needed > size_bytes:
                log(
                    f"{name}: its data ({needed >> 20} MB with room for the filesystem) is larger than its "
                    f"/data size ({size_bytes >> 20} MB); the new volume gets {needed >> 20} MB to keep it all"
                )
                size_bytes = needed
            log(f"{name}: moving its data folder into a volume of its own ({size_bytes >> 20} MB)")
        partial = image.with_suffix(".partial")
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as sparse:
            sparse.truncate(size_bytes)
        try:
            run_system_tool("mkfs.ext4", *_MKFS_OPTIONS, *(("-d", str(older)) if older else ()), str(partial))
        except OSError:
            partial.unlink()
            raise
        if older is not None:
            older.rename(self._premigration(name))  # the image is complete: the folder's files go
        partial.rename(image)
        self._finish_migration(name)

    def _finish_migration(self, name: str) -> None:
        """After a crash: the older folder is deleted once its image exists, else put back."""
        waiting = self._premigration(name)
        if not waiting.exists():
            return
        if self.image(name).exists():
            shutil.rmtree(waiting)
            return
        folder = self.folder(name)
        if folder.exists():
            folder.rmdir()  # made empty by the rename; never holds anything while the folder waits
        waiting.rename(folder)

    def unmount(self, name: str) -> None:
        """Unmount the space's volume (its next start mounts it again). An app still running keeps its
        own view of it; the loop device goes with the last one."""
        with self._locked(name):
            self._unmount(self.folder(name))

    @staticmethod
    def _unmount(folder: Path) -> None:
        if os.path.ismount(folder):
            try:
                run_system_tool("umount", str(folder))
            except OSError:
                run_system_tool("umount", "--lazy", str(folder))  # busy in Podium's namespace: gone once unused

    def move(self, name: str, new_name: str) -> None:
        """Give space `name`'s volume and data folder to `new_name` (the space moved): unmounted, renamed.
        Refused (FileExistsError) where `new_name` has data of its own, which is never overwritten."""
        old_folder, new_folder = self.folder(name), self.folder(new_name)
        first, second = sorted((name, new_name))  # two moves between the same names lock in one order
        with self._locked(first), self._locked(second):
            self._unmount(old_folder)
            self._finish_migration(name)
            if self.image(new_name).exists() or (new_folder.is_dir() and any(new_folder.iterdir())):
                raise FileExistsError(f"{new_name} already has a /data volume; delete it first")
            if self.image(name).exists():
                self.image(name).rename(self.image(new_name))
            if old_folder.is_dir():
                if new_folder.is_dir():
                    new_folder.rmdir()  # an empty mount point left by an earlier space of that name
                old_folder.rename(new_folder)
        (self.images / f"{name}.lock").unlink(missing_ok=True)

    def remove(self, name: str) -> None:
        """Unmount and delete the space's volume and data folder, for good (the space is deleted)."""
        folder = self.folder(name)
        with self._locked(name):
            self._unmount(folder)
            self.image(name).unlink(missing_ok=True)
            shutil.rmtree(folder, ignore_errors=True)
        (self.images / f"{name}.lock").unlink(missing_ok=True)


def hand_over(folder: Path, old_uids: Container[int], new_uid: int) -> None:
    """Give `new_uid` what any of `old_uids` owns under `folder` (the folder too): a space's /data after its
    uid changed (a move to another owner, or an upgrade that changed its uid). By folder descriptors, never
    following a link, so that an app still running cannot swap a folder for a link to another space's files."""
    if os.lstat(folder).st_uid in old_uids:
        os.lchown(folder, new_uid, new_uid)
    for _root, folders, files, root_fd in os.fwalk(folder, follow_symlinks=False):
        for name in (*folders, *files):
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                if os.stat(name, dir_fd=root_fd, follow_symlinks=False).st_uid in old_uids:
                    os.chown(name, new_uid, new_uid, dir_fd=root_fd, follow_symlinks=False)
