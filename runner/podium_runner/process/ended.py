"""An instance that ended, or may have: whether it still runs, how it ended, and freeing what it held."""

from __future__ import annotations

import json
import logging
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podium_runner.backend import Exit
from podium_runner.process import procs
from podium_runner.process.cgroups import CgroupSet, Limits
from podium_runner.process.instance_state import SANDBOX_FOLDER, STATE_FILE, ProcessDetails
from podium_runner.process.network import stop_saved

logger = logging.getLogger("podium_runner.process")


def still_runs(details: ProcessDetails) -> bool:
    """Whether the instance's process still runs (not another process that got its pid since)."""
    return details.start_ticks is not None and procs.is_same_process(details.pid, details.start_ticks)


def describe_exit(code: int | None, sandboxed: bool, cgroups: CgroupSet | None, limits: Limits | None) -> Exit:
    """How an app ended, from its exit code (None: it ended while its caller was away) and its cgroups."""
    if cgroups is not None and cgroups.oom_killed():
        limit = f" (limit {limits.memory_mb} MB)" if limits and limits.memory_mb else ""
        return Exit(code, f"out of memory{limit}")
    if code is None:
        return Exit(None, "exited while its caller was away (exit code unknown)")
    # bwrap reports a child killed by a signal as 128 + the signal number, as shells do.
    signal_number = -code if code < 0 else (code - 128 if sandboxed and code > 128 else None)
    if signal_number:
        try:
            name = signal.Signals(signal_number).name
        except ValueError:
            name = str(signal_number)
        return Exit(code, f"killed by signal {name}")
    return Exit(code, f"exited with code {code}")


def release(details: ProcessDetails) -> None:
    """Free what an ended instance held: its cgroups, its sandbox folder, its saved state (not its log,
    which its follower may still be reading)."""
    if details.cgroups is not None:
        details.cgroups.kill_all()
        details.cgroups.remove()
    stop_saved(details.network)
    shutil.rmtree(details.run_dir / SANDBOX_FOLDER, ignore_errors=True)
    (details.run_dir / STATE_FILE).unlink(missing_ok=True)


def remove_run(details: ProcessDetails) -> None:
    """Delete an ended instance's run folder, its log included: the caller has every line it needs."""
    shutil.rmtree(details.run_dir, ignore_errors=True)


def sweep(runs: Path, skip: Callable[[str], bool] = lambda _instance_id: False) -> list[dict[str, Any]]:
    """Free what the instances under `runs` (a backend's run folders, but those `skip` names) that ended
    while nobody followed them left behind; the saved states of those that still run."""
    found = []
    for run_dir in sorted(runs.glob("*/")):
        if skip(run_dir.name):
            continue
        state_file = run_dir / STATE_FILE
        if not state_file.exists():
            # Its caller stopped before reading its last lines, or an older Podium kept its log.
            shutil.rmtree(run_dir, ignore_errors=True)
            continue
        try:
            state = json.loads(state_file.read_text())
            details = ProcessDetails.from_dict(state)
        except (ValueError, KeyError, TypeError) as exc:  # written by a release that wrote it in place
            logger.warning("%s: its saved state cannot be read (%s); look for its app by hand", run_dir, exc)
            continue
        if still_runs(details):
            found.append(state)
        else:  # it ended while nobody watched: free what it left behind
            release(details)
            remove_run(details)
    return found
