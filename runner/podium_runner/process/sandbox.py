"""The bubblewrap + setpriv command line that isolates one app (runtime.md §5).

bwrap runs as root so that it can bind folders root alone may read (an interpreter under /root/.pyenv,
environments under /root/.cache), then `setpriv` drops to an unprivileged uid with no capabilities
and no-new-privileges before the app's first instruction. The app sees: /usr and a few /etc files,
its environment and its app folder read-only, a private /tmp and home, its persistent /data, and its
own pid/ipc/uts namespaces. It shares the host network so that it can listen on 127.0.0.1:PORT.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

# Space uids come from a range no host account uses (uid 1000 is already taken on these machines).
UID_RANGE_START = 200_000
UID_RANGE_SIZE = 50_000
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


def sandbox_unavailable_reason() -> str | None:
    """Why apps cannot be sandboxed here, or None when they can."""
    missing = [tool for tool in ("bwrap", "setpriv") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (Debian: apt-get install bubblewrap util-linux)"
    if os.geteuid() != 0:
        return "Podium does not run as root, so it cannot switch apps to their own uid"
    return None


def space_uid(space_id: str) -> int:
    """A stable uid for a space, from the dedicated range."""
    digest = int(hashlib.sha256(space_id.encode()).hexdigest()[:8], 16)
    return UID_RANGE_START + digest % UID_RANGE_SIZE


def interpreter_prefix(env_dir: Path) -> Path:
    """The installation folder of the base interpreter a virtualenv points at (its pyvenv.cfg `home`)."""
    for line in (env_dir / "pyvenv.cfg").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home":
            return Path(value.strip()).parent
    raise FileNotFoundError(f"{env_dir}/pyvenv.cfg names no base interpreter (home = ...)")


def _ro_bind_same_path(path: Path) -> list[str]:
    """Bind `path` read-only at the same place. bwrap makes missing parents mode 0700 and root's, which
    the app's uid could not traverse, so they are made 0755 first (they hold nothing else)."""
    args: list[str] = []
    for parent in reversed(path.parents[:-1]):
        if str(parent) not in ("/tmp", APP_HOME):
            args += ["--perms", "0755", "--dir", str(parent)]
    return args + ["--ro-bind", str(path), str(path)]


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
    # The NVIDIA device nodes; CUDA_VISIBLE_DEVICES (from RunContext.gpu_ids) picks the space's GPUs.
    gpus: bool = False

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
        binds = ["--ro-bind", "/usr", "/usr"]
        for link in ("bin", "lib", "lib64", "sbin"):
            if Path(f"/{link}").is_symlink():
                binds += ["--symlink", f"usr/{link}", f"/{link}"]
        binds += ["--perms", "0755", "--dir", "/etc"]  # see _ro_bind_same_path
        for etc in _ETC_FILES:
            binds += ["--ro-bind-try", etc, etc]
        binds += ["--ro-bind", str(self.scratch / "passwd"), "/etc/passwd"]
        binds += ["--ro-bind", str(self.scratch / "group"), "/etc/group"]
        prefix = interpreter_prefix(self.env_dir)
        if not prefix.is_relative_to("/usr"):
            binds += _ro_bind_same_path(prefix)
        binds += _ro_bind_same_path(self.env_dir)
        if self.model_cache:
            binds += _ro_bind_same_path(Path(self.model_cache))
        command = [
            shutil.which("bwrap") or "bwrap",  # the app's PATH, not Podium's, is searched otherwise
            # /tmp and home come before binds beneath them, or those binds are hidden.
            "--bind", str(self.scratch / "tmp"), "/tmp",
            "--perms", "0755", "--dir", str(Path(APP_HOME).parent),  # see _ro_bind_same_path
            "--bind", str(self.scratch / "home"), APP_HOME,
            *binds,
            "--ro-bind", str(self.app_dir), APP_DIR,
            "--bind", str(self.data_dir), DATA_DIR,
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--tmpfs", "/dev/shm",  # multiprocessing locks (Gradio's flagging)
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "space", "--new-session",
            "--chdir", APP_DIR,
        ]  # fmt: skip
        if self.gpus:
            for device in sorted(glob.glob("/dev/nvidia*")):
                command += ["--dev-bind", device, device]
        if self.die_with_parent:
            command.append("--die-with-parent")
        drop_privileges = [
            "setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
        ]  # fmt: skip
        return [*command, "--", *drop_privileges, "--", *argv]

    def environment(self) -> dict[str, str]:
        """Variables that describe the sandbox's own layout to the app."""
        return {
            "HOME": APP_HOME,
            "USER": "user",
            "LOGNAME": "user",
            "TMPDIR": "/tmp",
            "PATH": f"{self.env_dir}/bin:/usr/local/bin:/usr/bin:/bin",
        }
