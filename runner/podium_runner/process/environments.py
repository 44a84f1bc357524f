"""Virtualenvs made with uv, one per dependency set, shared by every space with the same set.

Each build of a dependency set lives in its own generation folder `ROOT/<key>.<n>`, and the symlink
`ROOT/<key>` names the current one. Builds of one key are serialised by an asyncio lock (one build
per process) and an flock on `ROOT/<key>.lock` (one build across processes), so two spaces asking for
the same set at once share one build. A generation is built where it stays (so its scripts and
bytecode carry their final paths) and becomes current only when complete, by an atomic switch of the
symlink; a failed or interrupted build is removed, so no half environment is ever handed out. A
rebuild (factory reboot) makes a new generation and leaves the previous one for the instances that
still run from it; older generations are removed.

Where Podium can sandbox (root, bubblewrap), each build runs in a build sandbox (build_sandbox.py) as
the build uid of one owner, in that owner's own store (owners.py says why stores are per owner).
"""

from __future__ import annotations

import asyncio
import collections
import fcntl
import json
import os
import shutil
import stat
import time
from dataclasses import replace
from pathlib import Path

import uv

from podium_runner.backend import BuildError, Environment, LogSink, LogTail, StartError
from podium_runner.loglines import read_lines
from podium_runner.pip_settings import uv_environment
from podium_runner.plan import DependencySet
from podium_runner.process import seccomp
from podium_runner.process.build_sandbox import BuildSandbox, host_build_variables, loopback_settings
from podium_runner.process.cgroups import CgroupSet, Limits, cgroups_available
from podium_runner.process.network import AppNetwork, network_unavailable_reason, stop_saved
from podium_runner.process.pythons import find_python, installed_versions

COMPLETE_MARKER = ".podium-complete.json"
# What one sandboxed build step may use: an app's memory and processes, and every core (uv installs and
# compiles in parallel; concurrent builds are bounded by the caller).
BUILD_LIMITS = Limits(memory_mb=4096, pids=1024, cpus=None)
BUILD_GROUP_PREFIX = "build-"  # then Podium's pid, and the time the group was made


class EnvironmentStore:
    """Makes and hands out the virtualenvs under `root`, with one uv cache for all of them.

    Keep `uv_cache` on the same filesystem as `root`: uv then hardlinks packages from the cache, and
    a second environment with gradio costs megabytes, not hundreds. With `build_uid`, builds run in a
    build sandbox as that uid, and `uv_cache` must lie inside `root` (one mount, see build_sandbox.py);
    without, uv runs as the caller, unsandboxed."""

    def __init__(
        self, root: Path, uv_cache: Path, *, allow_python_downloads: bool = False, build_uid: int | None = None
    ):
        if build_uid is not None and not uv_cache.is_relative_to(root):
            raise ValueError(f"a sandboxed build's uv cache must lie inside {root}, not at {uv_cache}")
        self.root = root
        self.uv_cache = uv_cache
        self.allow_python_downloads = allow_python_downloads
        self.build_uid = build_uid
        self._said_loopback = False
        self._locks: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)

    def path(self, deps: DependencySet) -> Path:
        """The current generation of the environment for `deps` (it may not exist yet)."""
        return (self.root / deps.key).resolve()

    def is_ready(self, deps: DependencySet) -> bool:
        return (self.path(deps) / COMPLETE_MARKER).is_file()

    def _generations(self, key: str) -> list[Path]:
        numbered = [p for p in self.root.glob(f"{key}.*") if p.suffix[1:].isdigit() and p.is_dir()]
        return sorted(numbered, key=lambda p: int(p.suffix[1:]))

    def _make_current(self, key: str, generation: Path) -> None:
        link = self.root / key
        if link.is_dir() and not link.is_symlink():  # a folder from before generations existed
            link.rename(self.root / f"{key}.0")
        staged = self.root / f".{key}.link"
        staged.unlink(missing_ok=True)
        staged.symlink_to(generation.name)
        os.replace(staged, link)
        for old in self._generations(key)[:-2]:  # keep the new one and the one before it
            shutil.rmtree(old, ignore_errors=True)

    async def ensure(self, deps: DependencySet, space: Path, log: LogSink, *, rebuild: bool = False) -> Environment:
        """The environment for `deps`, built now if needed. `space` is the folder that relative
        requirement paths (`./wheels/x.whl`) are read from."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.uv_cache.mkdir(parents=True, exist_ok=True)
        if self.build_uid is not None:
            # The folder and its links stay root's; only the cache and generations are the build's.
            os.chown(self.root, 0, 0)
            self.root.chmod(0o755)
            os.chown(self.uv_cache, self.build_uid, self.build_uid)
            self.uv_cache.chmod(0o700)
        async with self._locks[deps.key]:
            lock_file = await asyncio.to_thread(self._lock, deps.key)
            try:
                if self.is_ready(deps) and not rebuild:
                    log(f"Reusing environment {deps.key} (same requirements as an earlier build)")
                    return Environment(backend="process", key=deps.key, location=str(self.path(deps)), reused=True)
                generation = await self._build(deps, space, log)
                self._make_current(deps.key, generation)
                return Environment(backend="process", key=deps.key, location=str(generation))
            finally:
                lock_file.close()  # closing the descriptor releases the flock

    def _lock(self, key: str):
        lock_file = open(self.root / f"{key}.lock", "w")  # noqa: SIM115 - held until the build ends
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        return lock_file

    async def _build(self, deps: DependencySet, space: Path, log: LogSink) -> Path:
        existing = self._generations(deps.key)
        target = self.root / f"{deps.key}.{int(existing[-1].suffix[1:]) + 1 if existing else 1}"
        interpreter = await asyncio.to_thread(find_python, deps.python_version)
        if interpreter is None:
            raise BuildError(
                f"Python {deps.python_version} (python_version in README.md) is not installed on this host; "
                f"installed: {', '.join(installed_versions()) or 'none found'}. Install it (for example "
                f"`pyenv install {deps.python_version}`) or set python_version to an installed one."
            )
        started = time.monotonic()
        log(f"Creating environment {deps.key} with Python {deps.python_version} ({interpreter})")
        target.mkdir()
        sandbox = None
        if self.build_uid is not None:
            os.chown(target, self.build_uid, self.build_uid)
            sandbox = BuildSandbox(
                self.build_uid, self.root, space, self.root / f".{target.name}.space",
                _prefix_of(interpreter), Path(uv.find_uv_bin()),
            )  # fmt: skip
        try:
            if sandbox is not None:
                await asyncio.to_thread(_copy_local_files, space, deps, sandbox.space_copy, self.build_uid)
            venv = ["venv", "--allow-existing", "--relocatable", "--python", str(interpreter), str(target)]
            await self._uv(venv, space, log, sandbox)
            for number, step in enumerate(deps.install_steps()):
                requirements = target / f".podium-requirements-{number}.txt"
                requirements.write_text("\n".join(step) + "\n")
                await self._uv(
                    [
                        "pip",
                        "install",
                        "--python",
                        str(target / "bin" / "python"),
                        "--compile-bytecode",
                        "-r",
                        str(requirements),
                    ],
                    space,
                    log,
                    sandbox,
                )
                requirements.unlink()
            await asyncio.to_thread(_seal, target)
            marker = {
                "key": deps.key,
                "python": str(interpreter),
                "built_at": time.time(),
                "pre_requirements": deps.pre_requirements,
                "requirements": deps.requirements,
                "sdk_requirement": deps.sdk_requirement,
            }
            (target / COMPLETE_MARKER).write_text(json.dumps(marker, indent=1))
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        finally:
            if sandbox is not None:
                shutil.rmtree(sandbox.space_copy, ignore_errors=True)
        log(f"Environment {deps.key} ready in {time.monotonic() - started:.1f} s")
        return target

    def _network(self, sandbox: BuildSandbox, env: dict[str, str], log: LogSink) -> AppNetwork | None:
        """A network namespace of the build's own, as an app's (network.py) but with nothing forwarded
        in: it downloads, yet reaches neither the host's loopback, the host's addresses nor link-local
        ones (cloud metadata). None, and the host's network, where the tools are missing (the backend
        warns) or the package settings name an index or proxy on the host's loopback."""
        if network_unavailable_reason() is not None:
            return None
        if local := loopback_settings(env):
            if not self._said_loopback:
                self._said_loopback = True
                log(f"note: {', '.join(local)} point at this host's loopback, so builds share the host's network")
            return None
        folder = self.root / f"{sandbox.space_copy.name}.net-{time.monotonic_ns()}"  # resolv.conf, slirp's log
        folder.mkdir(mode=0o755)
        return AppNetwork(folder, "127.0.0.1", None)

    def _uv_env(self, sandboxed: bool) -> dict[str, str]:
        if sandboxed:  # a fixed environment: nothing of Podium's own
            env = host_build_variables(uv_environment()) | {"HOME": "/tmp", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        else:
            env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
            env |= uv_environment()
        env |= {"UV_CACHE_DIR": str(self.uv_cache), "UV_LINK_MODE": "hardlink", "NO_COLOR": "1"}
        if not self.allow_python_downloads:
            env["UV_PYTHON_DOWNLOADS"] = "never"
        return env

    async def _uv(self, args: list[str], space: Path, log: LogSink, sandbox: BuildSandbox | None) -> None:
        tail = LogTail(log)
        env = self._uv_env(sandbox is not None)
        argv = [uv.find_uv_bin(), *args]
        cgroups = None
        kernel_filter = None
        network = None
        if sandbox is not None:
            if seccomp.unavailable_reason() is None:  # the backend warns about (or refuses) its absence
                kernel_filter = seccomp.program_fd()
                sandbox = replace(sandbox, seccomp_fd=kernel_filter)
            network = self._network(sandbox, env, log)
            argv = sandbox.wrap(argv, env, network.bwrap_args() if network else None)
            if cgroups_available():  # a sandboxed build is held to limits as an app is
                try:
                    cgroups = CgroupSet.create(f"{BUILD_GROUP_PREFIX}{os.getpid()}-{time.monotonic_ns()}", BUILD_LIMITS)
                    argv = cgroups.join_argv(argv)
                except OSError as exc:
                    log(f"WARNING: this build step runs without memory and process limits: no cgroups ({exc})")
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd="/" if sandbox else space,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                umask=0o022,  # the environment must be readable by the apps' uids
                pass_fds=(
                    *((kernel_filter,) if kernel_filter is not None else ()),
                    *(network.child_fds if network else ()),
                ),
            )
            assert process.stdout is not None
            try:
                if network is not None:
                    try:
                        await network.plumb(process.pid)
                    except StartError as exc:
                        await process.wait()
                        raise BuildError(f"the build step `uv {args[0]}` could not start: {exc}") from None
                await read_lines(process.stdout, tail)
                code = await process.wait()
            except asyncio.CancelledError:
                process.kill()
                await process.wait()
                raise
            out_of_memory = cgroups is not None and cgroups.oom_killed()
        finally:
            if network is not None:
                stop_saved(network.saved())
                shutil.rmtree(network.run_dir, ignore_errors=True)
            if kernel_filter is not None:
                os.close(kernel_filter)
            if cgroups is not None:
                cgroups.kill_all()
                cgroups.remove()
        if out_of_memory:
            raise BuildError(
                f"the build step `uv {args[0]}` ran out of memory (builds may use {BUILD_LIMITS.memory_mb} MB); "
                f"a package that compiles native code may need less parallelism or a prebuilt wheel.",
                tail=tail.last(),
            )
        if code != 0:
            raise BuildError(
                f"the build step `uv {args[0]}` failed with exit code {code}; uv's own message ends the "
                f"build log. Fix requirements.txt (a misspelt name, a version that does not exist, "
                f"a conflict) and push again.",
                tail=tail.last(),
            )


def _prefix_of(interpreter: Path) -> Path:
    """The installation folder of a base interpreter (`/usr`, `/root/.pyenv/versions/3.11.9`)."""
    return interpreter.resolve().parent.parent


def _copy_local_files(space: Path, deps: DependencySet, copy: Path, uid: int) -> None:
    """A private copy of the space's files the requirements point at, for the build to read and write
    (setuptools writes egg-info next to setup.py): copied, not hardlinked, so the build cannot change
    the space's own files."""
    copy.mkdir(mode=0o755)
    for rel, _ in deps.local_files:
        source, target = space / rel, copy / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target, follow_symlinks=False)
    for path in [copy, *copy.rglob("*")]:
        os.lchown(path, uid, uid)


def _seal(environment: Path) -> None:
    """Every file of a finished environment readable and none writable by anyone but its builder, and
    no set-id bit: what the build left is for the apps' uids to read."""
    for path in [environment, *environment.rglob("*")]:
        mode = path.lstat()
        if stat.S_ISLNK(mode.st_mode):
            continue
        wanted = (mode.st_mode & ~(stat.S_ISUID | stat.S_ISGID | 0o022)) | 0o444
        if stat.S_ISDIR(mode.st_mode):
            wanted |= 0o111
        if wanted != stat.S_IMODE(mode.st_mode):
            path.chmod(stat.S_IMODE(wanted))
