"""Per-instance memory, pids and cpu limits through cgroups (v2 where it has controllers, else v1).

No systemd here (PID 1 is not systemd, so `systemd-run` fails): Podium writes the cgroup files itself.
The instance joins its groups before it executes anything (`join_argv`), so every process it forks
is counted.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_V1_CONTROLLERS = ("memory", "pids", "cpu")
_V1_FREEZER = "freezer"
_FREEZE_TIMEOUT_S = 5.0
_LEFTOVER_AFTER_NS = 60 * 10**9
_CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class Limits:
    """What one instance may use. None means no limit of that kind."""

    memory_mb: int | None = 4096
    pids: int | None = 1024
    cpus: float | None = 1.0


DEFAULT_LIMITS = Limits()


def _v2_available() -> bool:
    controllers = CGROUP_ROOT / "cgroup.controllers"
    return controllers.is_file() and "memory" in controllers.read_text().split()


def _v1_available() -> bool:
    return all(os.access(CGROUP_ROOT / c, os.W_OK) for c in _V1_CONTROLLERS)


def cgroups_available() -> str | None:
    """ "v2", "v1", or None when this process cannot create cgroups."""
    if _v2_available() and os.access(CGROUP_ROOT, os.W_OK):
        return "v2"
    return "v1" if _v1_available() else None


@dataclass(frozen=True)
class CgroupSet:
    """The groups (one per v1 controller, or one v2 group) that hold one instance."""

    version: str
    paths: tuple[str, ...]

    @classmethod
    def create(cls, name: str, limits: Limits) -> CgroupSet:
        """Make the groups `podium/<name>` and write the limits. Raises OSError when it cannot."""
        version = cgroups_available()
        if version is None:
            raise OSError("no writable cgroup hierarchy")
        if version == "v2":
            parent = CGROUP_ROOT / "podium"
            parent.mkdir(exist_ok=True)
            for level in (CGROUP_ROOT, parent):
                (level / "cgroup.subtree_control").write_text("+memory +pids +cpu")
            group = parent / name
            group.mkdir(exist_ok=True)
            files = {
                "memory.max": limits.memory_mb and limits.memory_mb * 1024 * 1024,
                "pids.max": limits.pids,
                "cpu.max": limits.cpus and f"{int(limits.cpus * _CPU_PERIOD_US)} {_CPU_PERIOD_US}",
            }
            for file, value in files.items():
                if value:
                    (group / file).write_text(str(value))
            return cls("v2", (str(group),))
        groups = {c: CGROUP_ROOT / c / "podium" / name for c in _V1_CONTROLLERS}
        if os.access(CGROUP_ROOT / _V1_FREEZER, os.W_OK):  # optional: without it, idle spaces stop at once
            groups[_V1_FREEZER] = CGROUP_ROOT / _V1_FREEZER / "podium" / name
        for group in groups.values():
            group.mkdir(parents=True, exist_ok=True)
        if limits.memory_mb:
            (groups["memory"] / "memory.limit_in_bytes").write_text(str(limits.memory_mb * 1024 * 1024))
        if limits.pids:
            (groups["pids"] / "pids.max").write_text(str(limits.pids))
        if limits.cpus:
            (groups["cpu"] / "cpu.cfs_period_us").write_text(str(_CPU_PERIOD_US))
            (groups["cpu"] / "cpu.cfs_quota_us").write_text(str(int(limits.cpus * _CPU_PERIOD_US)))
        return cls("v1", tuple(str(g) for g in groups.values()))

    @classmethod
    def named(cls, prefix: str | tuple[str, ...]) -> list[tuple[str, CgroupSet]]:
        """The groups `podium/<name>` on this host whose name starts with `prefix` (or one of them), by name."""
        version = cgroups_available()
        if version is None:
            return []
        controllers = ("",) if version == "v2" else (*_V1_CONTROLLERS, _V1_FREEZER)
        roots = [CGROUP_ROOT / controller / "podium" for controller in controllers]
        names = {group.name for root in roots if root.is_dir() for group in root.iterdir() if group.is_dir()}
        return [
            (name, cls(version, tuple(str(root / name) for root in roots if (root / name).is_dir())))
            for name in sorted(names)
            if name.startswith(prefix)
        ]

    def is_empty(self) -> bool:
        """Whether no process is in any of the groups (one that cannot be read counts as not empty)."""
        try:
            return not any((Path(path) / "cgroup.procs").read_text().strip() for path in self.paths)
        except OSError:
            return False

    def join_argv(self, argv: list[str]) -> list[str]:
        """`argv` wrapped so that it enters the groups before it runs."""
        procs = [str(Path(p) / "cgroup.procs") for p in self.paths]
        script = 'while [ "$1" != -- ]; do echo $$ > "$1"; shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "podium-cgroup", *procs, "--", *argv]

    def _memory_group(self) -> Path:
        return Path(next(p for p in self.paths if self.version == "v2" or "/memory/" in p))

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of this instance for going over its memory limit."""
        group = self._memory_group()
        events = group / ("memory.events" if self.version == "v2" else "memory.oom_control")
        try:
            fields = dict(line.split() for line in events.read_text().splitlines() if len(line.split()) == 2)
        except OSError:
            return False
        return int(fields.get("oom_kill", "0")) > 0

    def _freezer(self) -> Path | None:
        if self.version == "v2":
            return Path(self.paths[0])
        return next((Path(p) for p in self.paths if f"/{_V1_FREEZER}/" in p), None)

    def can_freeze(self) -> bool:
        return self._freezer() is not None

    def set_frozen(self, frozen: bool) -> bool:
        """Freeze (or thaw) every process of the instance (the cgroup freezer), waiting until the kernel says
        it is done. False where the groups have no freezer, or it did not settle in time."""
        group = self._freezer()
        if group is None:
            return False
        if self.version == "v2":
            control, wanted = group / "cgroup.freeze", ("1" if frozen else "0")
            done = lambda: f"frozen {wanted}" in (group / "cgroup.events").read_text()  # noqa: E731
        else:
            control, wanted = group / "freezer.state", ("FROZEN" if frozen else "THAWED")
            done = lambda: (group / "freezer.state").read_text().strip() == wanted  # noqa: E731
        deadline = time.monotonic() + _FREEZE_TIMEOUT_S
        try:
            control.write_text(wanted)
            while not done():
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.002)
        except OSError:
            return False
        return True

    def memory_bytes(self) -> int | None:
        """The memory charged to the instance now (frozen or not), or None when it cannot be read."""
        group = self._memory_group()
        try:
            return int((group / ("memory.current" if self.version == "v2" else "memory.usage_in_bytes")).read_text())
        except (OSError, ValueError):
            return None

    def kill_all(self) -> None:
        for path in self.paths:
            try:
                pids = (Path(path) / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def remove(self) -> None:
        """Remove the groups; the kernel allows it only once they are empty, which takes a moment."""
        for path in self.paths:
            for _ in range(20):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def remove_leftovers(prefixes: tuple[str, ...]) -> int:
    """Remove the groups of short-lived jobs (build steps, warm starters: names starting with one of `prefixes`)
    that a Podium killed in the middle left behind, and say how many. Such a job ends with its Podium, but
    nothing removes its groups, which pile up. Their names end with the CLOCK_MONOTONIC time they were made,
    one clock for every process of this boot: a group older than a minute with no process in it is nobody's,
    since a job joins its group as it starts (`join_argv`)."""
    now = time.monotonic_ns()
    removed = 0
    for name, group in CgroupSet.named(prefixes):
        made = name.rsplit("-", 1)[-1]
        if made.isdigit() and now - int(made) > _LEFTOVER_AFTER_NS and group.is_empty():
            group.remove()
            removed += 1
    return removed
