"""What the process backend keeps about one instance, beyond what every `Instance` has.

It is saved twice: by the caller (`Instance.state`, in Podium's database) and beside the app
(`state.json` in its run folder, which `list_orphans` reads). Both outlive a Podium upgrade, so
`from_dict` reads what older Podiums wrote: a key added later takes its default when absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium_runner.backend import Instance, LogTail
from podium_runner.process.cgroups import CgroupSet

# What an instance's run folder holds besides its log (app.log):
STATE_FILE = "state.json"  # its saved state, for `list_orphans`
SANDBOX_FOLDER = "sandbox"  # its app copy, home and /tmp, gone at exit


@dataclass(frozen=True)
class ProcessDetails:
    pid: int
    start_ticks: int | None  # when `pid` started, so a reused pid is never taken for the app
    port: int
    host: str
    log_path: Path
    env_key: str
    sandboxed: bool
    cgroups: CgroupSet | None
    started_at: float
    network: dict[str, int] | None = None  # its slirp4netns (network.py); absent before apps had their own

    @property
    def run_dir(self) -> Path:
        return self.log_path.parent

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "start_ticks": self.start_ticks,
            "port": self.port,
            "host": self.host,
            "log_path": str(self.log_path),
            "env_key": self.env_key,
            "sandboxed": self.sandboxed,
            "cgroups": self.cgroups and {"version": self.cgroups.version, "paths": list(self.cgroups.paths)},
            "started_at": self.started_at,
            "network": self.network,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ProcessDetails:
        cgroups = state.get("cgroups")
        return cls(
            pid=int(state["pid"]),
            start_ticks=state["start_ticks"],
            port=int(state["port"]),
            host=state["host"],
            log_path=Path(state["log_path"]),
            env_key=state.get("env_key", ""),
            sandboxed=bool(state.get("sandboxed", False)),
            cgroups=CgroupSet(cgroups["version"], tuple(cgroups["paths"])) if cgroups else None,
            started_at=float(state.get("started_at", 0.0)),
            network=state.get("network"),
        )


def details_of(instance: Instance) -> ProcessDetails:
    """The process backend's own part of an instance it started or adopted."""
    details = instance.details
    if not isinstance(details, ProcessDetails):
        raise TypeError(f"{instance.space_id}: instance {instance.instance_id} is not the process backend's")
    return details


def instance_from(state: dict[str, Any], logs: LogTail) -> Instance:
    """An `Instance` from a saved `Instance.state` (this Podium's or an older one's)."""
    return Instance(
        backend="process",
        instance_id=state["instance_id"],
        space_id=state["space_id"],
        url=state["url"],
        gpu_ids=tuple(state.get("gpu_ids") or ()),
        details=ProcessDetails.from_dict(state),
        logs=logs,
    )
