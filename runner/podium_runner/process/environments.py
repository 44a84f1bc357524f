"""Virtualenvs made with uv, one per dependency set, shared by every space with the same set.

Each build of a dependency set lives in its own generation folder `ROOT/<key>.<n>`, and the symlink
`ROOT/<key>` names the current one. Builds of one key are serialised by an asyncio lock (one build
per process) and an flock on `ROOT/<key>.lock` (one build across processes), so two spaces asking for
the same set at once share one build. A generation is built where it stays (so its scripts and
bytecode carry their final paths) and becomes current only when complete, by an atomic switch of the
symlink; a failed or interrupted build is removed, so no half environment is ever handed out. A
rebuild (factory reboot) makes a new generation and leaves the previous one for the instances that
still run from it; older generations are removed.
"""

from __future__ import annotations

import asyncio
import collections
import fcntl
import json
import os
import shutil
import time
from pathlib import Path

import uv

from podium_runner.backend import BuildError, Environment, LogSink, LogTail
from podium_runner.loglines import read_lines
from podium_runner.pip_settings import uv_environment
from podium_runner.plan import DependencySet
from podium_runner.process.pythons import find_python, installed_versions

COMPLETE_MARKER = ".podium-complete.json"


class EnvironmentStore:
    """Makes and hands out the virtualenvs under `root`, with one uv cache for all of them.

    Keep `uv_cache` on the same filesystem as `root`: uv then hardlinks packages from the cache, and
    a second environment with gradio costs megabytes, not hundreds."""

    def __init__(self, root: Path, uv_cache: Path, *, allow_python_downloads: bool = False):
        self.root = root
        self.uv_cache = uv_cache
        self.allow_python_downloads = allow_python_downloads
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

    async def ensure(
        self, deps: DependencySet, space: Path, log: LogSink, *, rebuild: bool = False
    ) -> Environment:
        """The environment for `deps`, built now if needed. `space` is the folder that relative
        requirement paths (`./wheels/x.whl`) are read from."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.uv_cache.mkdir(parents=True, exist_ok=True)
        async with self._locks[deps.key]:
            lock_file = await asyncio.to_thread(self._lock, deps.key)
            try:
                if self.is_ready(deps) and not rebuild:
                    log(f"Reusing environment {deps.key} (same requirements as an earlier build)")
                    return Environment(
                        backend="process", key=deps.key, location=str(self.path(deps)), reused=True
                    )
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
        try:
            await self._uv(["venv", "--relocatable", "--python", str(interpreter), str(target)], space, log)
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
                )
                requirements.unlink()
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
        log(f"Environment {deps.key} ready in {time.monotonic() - started:.1f} s")
        return target

    def _uv_env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
        env |= uv_environment()
        env |= {"UV_CACHE_DIR": str(self.uv_cache), "UV_LINK_MODE": "hardlink", "NO_COLOR": "1"}
        if not self.allow_python_downloads:
            env["UV_PYTHON_DOWNLOADS"] = "never"
        return env

    async def _uv(self, args: list[str], space: Path, log: LogSink) -> None:
        tail = LogTail(log)
        process = await asyncio.create_subprocess_exec(
            uv.find_uv_bin(),
            *args,
            cwd=space,
            env=self._uv_env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        try:
            await read_lines(process.stdout, tail)
            code = await process.wait()
        except asyncio.CancelledError:
            process.kill()
            await process.wait()
            raise
        if code != 0:
            raise BuildError(
                f"the build step `uv {args[0]}` failed with exit code {code}; uv's own message ends the "
                f"build log. Fix requirements.txt (a misspelt name, a version that does not exist, "
                f"a conflict) and push again.",
                tail=tail.last(),
            )
