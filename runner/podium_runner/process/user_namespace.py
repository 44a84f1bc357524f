"""One user namespace per owner for warm starts: where a warm starter's capabilities count, and nowhere else.

A warm starter (warm_starter.py) needs capabilities to fork an app into its sandbox: CAP_SYS_ADMIN and
CAP_SYS_CHROOT to enter the namespaces of the app's holder, CAP_SETUID and CAP_SETGID to become the app's uid.
It also runs its environment's code, which the owner's builds wrote. Held in the host's user namespace,
CAP_SYS_ADMIN reaches the host's kernel (freezing a filesystem, poisoning memory pages), and CAP_SETUID
reaches every uid: another owner's spaces', whose processes it could then signal.

So each owner gets a user namespace of its own, made by root, whose map holds two ranges: its uid 0 is the
owner's build uid, and the owner's block of space uids (sandbox.py) maps to itself. A starter and the
holders of its warm starts run in it, as its uid 0: their capabilities count only for the namespaces made
in it, and no uid but the owner's can be taken (setuid to an unmapped uid fails with EINVAL).

Bubblewrap in that namespace runs as the build uid, which cannot pass root's private folders (/root is 0700)
to reach a bind source; bwrap 0.8's `--bind-fd` turns its descriptor back into a path first, so it does not
help. So such sources are staged: root makes a private mount namespace, mounts a tmpfs over `STAGE`, binds
each source there, then enters the user namespace and runs bwrap with the staged paths. Nothing of it shows
outside that mount namespace, which ends with the sandbox's processes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

from podium_runner.process.sandbox import ROOT_ENVIRONMENT, space_uids, system_tool

# A folder anyone may pass through; only ever mounted over inside a private mount namespace.
STAGE = "/run/podium-stage"
# bwrap's options that bind a source path somewhere in the sandbox: each takes the source, then the target.
_BIND_OPTIONS = frozenset({"--bind", "--ro-bind", "--bind-try", "--ro-bind-try", "--dev-bind", "--dev-bind-try"})
# Run by root in the private mount namespace: argv STAGE SOURCE... -- COMMAND...
_STAGE_SCRIPT = """
stage=$1; shift
mount -t tmpfs -o mode=0755,size=64k podium-stage "$stage" || exit 125
i=0
while [ "$1" != -- ]; do
    if [ -d "$1" ]; then mkdir "$stage/$i"; else : > "$stage/$i"; fi
    mount --bind "$1" "$stage/$i" || exit 125
    i=$((i + 1)); shift
done
shift
exec "$@"
"""
_CREATE_TIMEOUT_S = 10.0


def owner_map(build_uid: int) -> str:
    """The uid (and gid) map of an owner's namespace: 0 is the build uid, its space uids are themselves."""
    block = space_uids(build_uid)
    return f"0 {build_uid} 1\n{block.start} {block.start} {len(block)}\n"


def create(mapping: str) -> int:
    """A new user namespace with `mapping` for uids and gids, held by the descriptor returned."""
    unshare = system_tool("unshare") or "/usr/bin/unshare"
    holder = subprocess.Popen(
        [unshare, "--user", "--", "/bin/cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=ROOT_ENVIRONMENT
    )
    try:
        ours = os.readlink("/proc/self/ns/user")
        deadline = time.monotonic() + _CREATE_TIMEOUT_S
        while os.readlink(f"/proc/{holder.pid}/ns/user") == ours:
            if holder.poll() is not None or time.monotonic() > deadline:
                raise OSError(f"unshare --user did not make a user namespace (exit code {holder.poll()})")
            time.sleep(0.001)
        for name in ("uid_map", "gid_map"):  # each map in one write, as the kernel takes them
            with open(f"/proc/{holder.pid}/{name}", "w") as map_file:
                map_file.write(mapping)
        return os.open(f"/proc/{holder.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            holder.wait(timeout=5)
        if holder.poll() is None:
            holder.kill()
            holder.wait()


class OwnerNamespaces:
    """The user namespace of each owner, by build uid: made on first use, held open until `close`."""

    def __init__(self) -> None:
        self._held: dict[int, int] = {}

    def for_owner(self, build_uid: int) -> int:
        if build_uid not in self._held:
            self._held[build_uid] = create(owner_map(build_uid))
        return self._held[build_uid]

    def close(self) -> None:
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()


def entered(bwrap_argv: list[str], userns_fd: int) -> list[str]:
    """`bwrap_argv` run as uid 0 of the user namespace `userns_fd` (which the command must inherit), its bind
    sources that not everybody may pass through staged first (module docstring). Run by root."""
    staged: list[str] = []
    argv = list(bwrap_argv)
    index = 1
    while index < len(argv) and argv[index] != "--":
        if argv[index] in _BIND_OPTIONS:
            source = os.path.realpath(argv[index + 1])
            if os.path.exists(source) and not _passable_by_anyone(Path(source)):
                argv[index + 1] = f"{STAGE}/{len(staged)}"
                staged.append(source)
            index += 3
        else:
            index += 1
    unshare = system_tool("unshare") or "/usr/bin/unshare"
    nsenter = system_tool("nsenter") or "/usr/bin/nsenter"
    enter = [nsenter, f"--user=/proc/self/fd/{userns_fd}", "--setuid", "0", "--setgid", "0", "--", *argv]
    if not staged:
        return enter
    Path(STAGE).mkdir(mode=0o755, exist_ok=True)
    # fmt: off
    return [
        unshare, "--mount", "--propagation", "private", "--",
        "/bin/sh", "-c", _STAGE_SCRIPT, "podium-stage", STAGE, *staged, "--", *enter,
    ]
    # fmt: on


def _passable_by_anyone(path: Path) -> bool:
    """Whether every folder above `path` lets any uid pass (search permission for others)."""
    return all(os.stat(parent).st_mode & 0o001 for parent in path.parents)
