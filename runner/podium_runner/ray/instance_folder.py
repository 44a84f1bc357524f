"""A space actor's folder on its node (`NODE_HOME/instances/OWNER/NAME@STARTED-INCARNATION`): the space's
files, the run folders of its app (with their cgroups and sandbox), and whose it is.

An actor that stops removes its folder. One that is killed (`kill -9`, the OOM killer, its node lost or
cut off) cannot, and Ray starts it again as a new actor with a folder of its own; so each actor, when it
starts, frees the folders its space's ended actors left on this machine, as the process backend frees
the runs that ended while nobody followed them (`process/ended.py`). An actor's folder names its process
(pid and start time) and where that pid means it (the boot and pid namespace), so a folder is freed only
when its actor is known to have ended, never one of a live actor, nor of a machine that shares the disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from podium_runner.process import procs
from podium_runner.process.ended import sweep

OWNER_FILE = "actor.json"
SPACE_FOLDER = "space"  # the space's files, as Podium sent them
RUNS_FOLDER = "runs"  # the process backend's run folders


def _process_world() -> str:
    """Where a pid names one process: this boot of this machine, in this pid namespace."""
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return f"{boot}/{os.readlink('/proc/self/ns/pid')}"


def claim(folder: Path) -> None:
    """Make `folder` this actor's: it names this process, so a later actor can tell when it has ended."""
    folder.mkdir(parents=True, exist_ok=True)
    owner = {"world": _process_world(), "pid": os.getpid(), "start_ticks": procs.start_ticks(os.getpid())}
    staged = folder / f"{OWNER_FILE}.new"
    staged.write_text(json.dumps(owner))
    staged.replace(folder / OWNER_FILE)


def _ended(folder: Path) -> bool:
    """Whether the actor that claimed `folder` is known to have ended (not when it cannot be told)."""
    try:
        owner = json.loads((folder / OWNER_FILE).read_text())
        world, pid, ticks = owner["world"], int(owner["pid"]), owner["start_ticks"]
    except (OSError, ValueError, KeyError, TypeError):  # not claimed yet, or not an actor's folder
        return False
    return world == _process_world() and ticks is not None and not procs.is_same_process(pid, ticks)


def release_ended(folder: Path, space_id: str) -> list[Path]:
    """Free the folders beside `folder` that ended actors of `space_id` left: each run's cgroups and
    sandbox (the runs still running keep the folder), then the folder. The folders freed."""
    prefix = f"{space_id.rsplit('/', 1)[-1]}@"  # `folder.parent` holds its owner's spaces: NAME@...
    freed = []
    with contextlib.suppress(FileNotFoundError):
        for other in sorted(folder.parent.iterdir()):
            if other == folder or not other.name.startswith(prefix) or not _ended(other):
                continue
            if not sweep(other / RUNS_FOLDER):  # none of its runs still runs
                shutil.rmtree(other, ignore_errors=True)
                freed.append(other)
    return freed
