"""The bubblewrap + setpriv command line that isolates one app (runtime.md §5).

bwrap runs as root so that it can bind folders root alone may read (an interpreter under /root/.pyenv,
environments under /root/.cache), then `setpriv` drops to an unprivileged uid with no capabilities
and no-new-privileges before the app's first instruction. The app sees: /usr and a few /etc files,
its environment and its app folder read-only, a private /tmp and home, its persistent /data, and its
own pid/ipc/uts namespaces, and with `network_args` a network namespace of its own (network.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from podium_runner.process.gpu_nodes import gpu_device_nodes

# Uids no host account uses (uid 1000 is already taken on these machines). Builds run as their owner's build
# uid (owners.py, build_sandbox.py). Each owner's spaces run as uids from a block of the owner's own, the
# block numbered as the owner's build uid is among build uids: an owner's warm starter can become these
# uids and no other owner's (user_namespace.py). Within its block a space's uid comes from its id, so two
# spaces of one owner may share one (1 in 4,096 for a pair); each still has its own namespaces and /data.
BUILD_UID_RANGE_START = 250_000
BUILD_UID_RANGE_SIZE = 50_000
SPACE_UID_BLOCKS_START = BUILD_UID_RANGE_START + BUILD_UID_RANGE_SIZE
SPACE_UIDS_PER_OWNER = 4_096
# Where every space's uid came from before owners had blocks: a /data written then is handed over to the
# space's uid at its next start (backend.py).
OLDER_SPACE_UIDS = range(200_000, 250_000)
APP_HOME = "/home/user"
APP_DIR = f"{APP_HOME}/app"
DATA_DIR = "/data"
# The dynamic loader's cache and configuration let apps find host libraries outside the default
# folders (a GPU driver's libcuda, for one).
_ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/etc/mime.types",
)


# Root-run helpers are looked up here, never on a PATH a space could have put a program of its own
# first on (its environment's bin/ comes first on the app's PATH).
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The whole environment of every process that runs as root before privileges drop (the cgroup joiner,
# bwrap, setpriv): nothing of Podium's and nothing of the space's, so no LD_PRELOAD or PATH of theirs.
ROOT_ENVIRONMENT = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8"}
# The namespaces every sandbox (an app's, a build's) gets besides its mounts.
NAMESPACES = ("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--new-session")


def system_tool(name: str) -> str | None:
    """The absolute path of a system program (bwrap, setpriv), or None when it is not installed."""
    return shutil.which(name, path=SYSTEM_PATH)


def run_system_tool(tool: str, *args: str, succeeded: tuple[int, ...] = (0,)) -> None:
    """Run a system tool as root, by absolute path and with a fixed environment; raise OSError saying
    what it answered when it fails (exits with a code not in `succeeded`)."""
    command = [system_tool(tool) or tool, *args]
    result = subprocess.run(command, env=ROOT_ENVIRONMENT, capture_output=True, text=True, check=False)
    if result.returncode not in succeeded:
        raise OSError(f"{' '.join(command)} failed: {(result.stderr or result.stdout).strip()}")


def sandbox_unavailable_reason() -> str | None:
    """Why apps cannot be sandboxed here, or None when they can."""
    missing = [tool for tool in ("bwrap", "setpriv") if system_tool(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (Debian: apt-get install bubblewrap util-linux)"
    if os.geteuid() != 0:
        return "Podium does not run as root, so it cannot switch apps to their own uid"
    return None


def space_uids(build_uid: int) -> range:
    """The block of uids of the spaces of the owner whose build uid is `build_uid`."""
    start = SPACE_UID_BLOCKS_START + (build_uid - BUILD_UID_RANGE_START) * SPACE_UIDS_PER_OWNER
    return range(start, start + SPACE_UIDS_PER_OWNER)


def space_uid(space_id: str, build_uid: int) -> int:
    """A stable uid for a space, from its owner's block."""
    digest = int(hashlib.sha256(space_id.encode()).hexdigest()[:8], 16)
    block = space_uids(build_uid)
    return block.start + digest % len(block)


def interpreter_prefix(env_dir: Path) -> Path:
    """The installation folder of the base interpreter a virtualenv points at (its pyvenv.cfg `home`)."""
    for line in (env_dir / "pyvenv.cfg").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home":
            return Path(value.strip()).parent
    raise FileNotFoundError(f"{env_dir}/pyvenv.cfg names no base interpreter (home = ...)")


def bind_same_path(path: Path, *, writable: bool = False, source: Path | None = None) -> list[str]:
    """Bind `path` (or `source` there) at the same place, read-only unless `writable`. bwrap makes
    missing parents mode 0700 and root's, which the sandbox's uid could not traverse, so they are made
    0755 first (they hold nothing else)."""
    args: list[str] = []
    for parent in reversed(path.parents[:-1]):
        if str(parent) not in ("/tmp", APP_HOME):
            args += ["--perms", "0755", "--dir", str(parent)]
    return args + ["--bind" if writable else "--ro-bind", str(source or path), str(path)]


def system_binds() -> list[str]:
    """/usr, its links at the root, and the few /etc files programs need, all read-only."""
    binds = ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if Path(f"/{link}").is_symlink():
            binds += ["--symlink", f"usr/{link}", f"/{link}"]
    binds += ["--perms", "0755", "--dir", "/etc"]  # see bind_same_path
    for etc in _ETC_FILES:
        binds += ["--ro-bind-try", etc, etc]
    return binds


def drop_privileges(uid: int) -> list[str]:
    """The command that becomes `uid` with no capability and no way to gain one, then runs what follows
    `--`; by absolute path, since it runs as root inside the sandbox."""
    setpriv = system_tool("setpriv") or "/usr/bin/setpriv"
    return [
        setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
    ]  # fmt: skip


@dataclass(frozen=True)
class Sandbox:
    """One instance's sandbox. `scratch` is a folder of its own on disk (not RAM: model downloads and
    uploads can be large) that `prepare` fills with the app's home, /tmp and a passwd naming its uid."""

    env_dir: Path
    app_dir: Path
    data_dir: Path
    scratch: Path
    uid: int
    model_cache: str | None = None
    die_with_parent: bool = True
    # The space's GPUs (RunContext.gpu_ids): only their device nodes are bound, from `dev`.
    gpu_ids: tuple[str, ...] = ()
    dev: Path = Path("/dev")
    # A file descriptor holding the seccomp program (seccomp.program_fd), passed to bwrap.
    seccomp_fd: int | None = None
    # bwrap options that give the app a network namespace of its own (network.py); none: the host's.
    network_args: tuple[str, ...] = ()
    # The command is the namespace's pid 1, without bwrap's reaper: a warm start's holder (warm_starter.py).
    as_pid_1: bool = False

    def prepare(self) -> None:
        owned = {self.scratch / "home": 0o700, self.scratch / "tmp": 0o1777, self.data_dir: 0o700}
        for folder, mode in owned.items():
            folder.mkdir(parents=True, exist_ok=True)
            os.chown(folder, self.uid, self.uid)
            folder.chmod(mode)
        # Hugging Face's image runs apps as "user"; tools that look the uid up (getpass, ssh, torch
        # compile caches) find it here.
        user = f"user:x:{self.uid}:{self.uid}::{APP_HOME}:/bin/sh"
        (self.scratch / "passwd").write_text(f"root:x:0:0::/root:/bin/sh\n{user}\n")
        (self.scratch / "group").write_text(f"root:x:0:\nuser:x:{self.uid}:\n")

    def wrap(self, argv: list[str]) -> list[str]:
        """`argv` (run in the app folder) as a sandboxed command line."""
        binds = system_binds()
        binds += ["--ro-bind", str(self.scratch / "passwd"), "/etc/passwd"]
        binds += ["--ro-bind", str(self.scratch / "group"), "/etc/group"]
        prefix = interpreter_prefix(self.env_dir)
        if not prefix.is_relative_to("/usr"):
            binds += bind_same_path(prefix)
        binds += bind_same_path(self.env_dir)
        if self.model_cache:
            binds += bind_same_path(Path(self.model_cache))
        command = [
            system_tool("bwrap") or "/usr/bin/bwrap",
            # /tmp and home come before binds beneath them, or those binds are hidden.
            "--bind", str(self.scratch / "tmp"), "/tmp",
            "--perms", "0755", "--dir", str(Path(APP_HOME).parent),  # see bind_same_path
            "--bind", str(self.scratch / "home"), APP_HOME,
            *binds,
            *self.network_args,  # after the /etc binds: it may replace /etc/resolv.conf
            "--ro-bind", str(self.app_dir), APP_DIR,
            "--bind", str(self.data_dir), DATA_DIR,
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--tmpfs", "/dev/shm",  # multiprocessing locks (Gradio's flagging)
            *NAMESPACES, "--hostname", "space",
            "--chdir", APP_DIR,
        ]  # fmt: skip
        for node in gpu_device_nodes(self.gpu_ids, self.dev):
            command += ["--dev-bind", str(node), f"/dev/{node.name}"]
        if self.seccomp_fd is not None:
            command += ["--seccomp", str(self.seccomp_fd)]
        if self.die_with_parent:
            command.append("--die-with-parent")
        if self.as_pid_1:
            command.append("--as-pid-1")
        return [*command, "--", *drop_privileges(self.uid), "--", *argv]

    def gpu_environment(self) -> dict[str, str]:
        """The app's own numbering of its GPUs, which replaces the host's in its variables: CUDA numbers
        the GPUs it can open from 0, so a host number (CUDA_VISIBLE_DEVICES=1) would name none."""
        return {"CUDA_VISIBLE_DEVICES": ",".join(map(str, range(len(self.gpu_ids))))} if self.gpu_ids else {}

    def environment(self) -> dict[str, str]:
        """Variables that describe the sandbox's own layout to the app."""
        return {
            "HOME": APP_HOME,
            "USER": "user",
            "LOGNAME": "user",
            "TMPDIR": "/tmp",
            "PATH": f"{self.env_dir}/bin:/usr/local/bin:/usr/bin:/bin",
        }
