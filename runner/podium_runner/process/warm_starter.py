"""Warm starts: one warm starter (zygote.py) per environment, and handing it an app to fork into its sandbox.

When one exists: on demand, at the first start of an environment (that start waits for its imports, as a cold
start would wait for its own); kept while an instance started from that environment runs or is frozen;
stopped once none does. A starter belongs to one generation of one environment (its folder): a rebuild makes a
new folder, so the next start gets a new starter and the old one stops once its last instance ended; a starter
whose process died is replaced. Its memory (the imported libraries, shared with every app it forked, which
are charged only for what they write) is held to `memory_mb` by a cgroup of its own.

A starter runs in its owner's user namespace (user_namespace.py), so that the capabilities it keeps count
there alone and it can become no uid but its owner's spaces'. One warm start, as the cold one up to the last
step (launch.py): the same bubblewrap command line, cgroups, network namespace plumbed by slirp4netns, seccomp
filter, /data, run in the starter's user namespace (where its namespaces are the starter's to enter), and
bwrap's command is the holder: a few lines of Perl (`HOLDER`: nothing of the space is read) as the space's
uid, as pid 1 of the namespace (`--as-pid-1`). The backend then hands the starter the holder's
namespaces and root, the app's log, its variables (a memfd the starter never reads) and the holder's pipe; the
starter forks the app into them (zygote.py). The holder learns the app's pid, reaps it (the app is re-parented
to it) and exits with its status, so the instance is bwrap's process as for a cold start: stop, poll, adoption
and the run log read the same. Where a warm start cannot apply, the cold path runs and the run log says why.

Longer than most modules because a starter's lifetime and the hand-over of one start are one protocol:
split, each half would have to know the other's invariants.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from podium_runner.backend import LogSink, StartError
from podium_runner.plan import BuildPlan, requirement_name
from podium_runner.process import procs, seccomp
from podium_runner.process.cgroups import CgroupSet, Limits, cgroups_available
from podium_runner.process.sandbox import (
    APP_HOME,
    ROOT_ENVIRONMENT,
    bind_same_path,
    interpreter_prefix,
    system_binds,
    system_tool,
)
from podium_runner.process.user_namespace import OwnerNamespaces, entered

# The holder, pid 1 of the app's namespace as the space's uid: argv [pipe fd]. It reads the app's pid
# from the pipe (EOF: the warm start failed), reaps every orphan, and exits with the app's status
# (128 + the signal, as bwrap reports one) once the app ended; the kernel then ends the rest. It is Perl
# (Debian's perl-base, which every Debian system has): a bare perl dirties 0.4 MiB where Python's
# interpreter dirties 2.6, and one holder runs beside every warm app. It reads no file and no variable of
# the space: its environment is the fixed one of the processes before the app (launch.py).
HOLDER = r"""
open(my $pipe, '<&=', $ARGV[0]) or exit 70;
my $app = <$pipe>;
defined $app or exit 70;
close $pipe;
while (1) {
    my $pid = waitpid(-1, 0);
    if ($pid == -1) { select(undef, undef, undef, 0.02); next }
    exit($? & 127 ? 128 + ($? & 127) : $? >> 8) if $pid == $app;
}
"""
# What every starter imports besides the sdk and the requirements (the sdks' own servers).
_ALWAYS = ("fastapi", "uvicorn")
# What an sdk's app imports only once it serves: imported by the starter too, so that every app shares them
# instead of importing its own copy. A warm Gradio app runs without the Spaces hot-reload server
# (zygote._without_gradio_reload_server), so `spaces` is here for the apps that import it (ZeroGPU's decorator).
_SERVING = {
    "gradio": (
        "gradio.http_server", "uvicorn.loops.asyncio", "uvicorn.loops.auto", "uvicorn.lifespan.on",
        "uvicorn.protocols.http.auto", "uvicorn.protocols.http.h11_impl", "uvicorn.protocols.websockets.auto",
        "anyio._backends._asyncio", "anyio.streams.memory", "anyio.streams.stapled", "pydantic.v1",
        "starlette.middleware.cors", "multiprocessing.synchronize", "encodings.idna", "spaces",
    ),
    # Measured on a Streamlit hello app up to its health check and first page: 40.3 MiB private, 35.5 with these.
    "streamlit": (
        "streamlit.web.cli", "streamlit.web.bootstrap", "streamlit.web.server.app_discovery",
        "streamlit.web.server.starlette.starlette_agent_routes", "streamlit.runtime.credentials",
        "streamlit.watcher.polling_path_watcher", "streamlit.components.v2.manifest_scanner",
        "starlette.middleware.sessions", "uvicorn.lifespan.on", "uvicorn.protocols.http.auto",
        "uvicorn.protocols.http.h11_impl", "uvicorn.protocols.websockets.websockets_sansio_impl",
        "anyio._backends._asyncio", "anyio.streams.memory", "anyio.streams.stapled", "websockets.server",
        "websockets.extensions.permessage_deflate",
    ),
}  # fmt: skip
# Libraries that import their heavy parts lazily, and the parts apps use (the examples: `pipeline`, models).
# transformers' generation, masking and layer modules and tqdm's logging bridge come with every model a
# pipeline loads, whatever its architecture: 3 to 4 MiB less private memory per app (six pipelines measured).
_LAZY_PARTS = {
    "transformers": (
        "transformers.pipelines",
        "transformers.modeling_utils",
        "transformers.models.auto.modeling_auto",
        "transformers.generation.utils",
        "transformers.masking_utils",
        "transformers.modeling_layers",
        "tqdm.contrib.logging",
    ),
    "torch": ("torch.nn", "torch.nn.functional"),
}
# Requirement names whose module is named otherwise.
_MODULE_NAMES = {
    "scikit-learn": "sklearn",
    "pillow": "PIL",
    "opencv-python": "cv2",
    "opencv-python-headless": "cv2",
    "beautifulsoup4": "bs4",
    "pyyaml": "yaml",
    "python-dotenv": "dotenv",
    "sentence-transformers": "sentence_transformers",
}
# The same for every app of every space, set before the imports so that they read them (zygote.md gotcha 3);
# single-threaded numeric libraries and no jemalloc background thread keep the starter at one thread.
_STARTER_VARIABLES = {
    "HOME": APP_HOME,
    "TMPDIR": "/tmp",
    "SYSTEM": "spaces",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
    "MPLBACKEND": "Agg",
}
_HOLDER_NAMESPACES = ("net", "uts", "ipc", "cgroup", "pid", "mnt")  # zygote.py's order
WARM_GROUP_PREFIX = "warm-"  # then the environment generation's name, and the time the group was made
_READY_TIMEOUT_S = 300.0  # torch and transformers import for a minute on a busy 2-core host
_START_TIMEOUT_S = 30.0
_CAPABILITIES = ("CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_SYS_CHROOT", "CAP_SYS_ADMIN")


class WarmStartFailed(StartError):
    """The warm path failed for this start; the backend starts it cold instead."""


def modules_for(plan: BuildPlan) -> list[str]:
    """What a starter of the plan's environment imports: its sdk, the servers, its requirements' modules, and
    what each sdk among them imports once it serves. One starter serves every app of its environment, whatever
    its sdk (the examples' environment holds Gradio and Streamlit apps), so that does not depend on which app
    came first."""
    names = [plan.sdk, *_ALWAYS]
    lines = (*plan.deps.pre_requirements, *plan.deps.requirements) if plan.deps else ()
    for line in lines:
        name = requirement_name(line)
        if name and name not in names:
            module = _MODULE_NAMES.get(name, name.replace("-", "_"))
            names += [module, *_LAZY_PARTS.get(module, ())]
    names += [part for sdk in _SERVING if sdk in names for part in _SERVING[sdk]]
    return [name for name in dict.fromkeys(names) if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name)]


def app_argv(argv: Sequence[str]) -> list[str] | None:
    """The recipe's command as the starter runs it (a file, or `-m module`), or None where it is no Python
    program the starter can run."""
    if len(argv) < 2 or argv[0] != "python" or argv[1].startswith("-") and argv[1] != "-m":
        return None
    return list(argv[1:]) if argv[1] != "-m" or len(argv) > 2 else None


@dataclass
class WarmStarter:
    """One zygote: its process (bwrap), the socket it takes starts on, its cgroups and its log."""

    location: Path  # the environment generation it imported
    userns_fd: int  # its owner's user namespace (held by WarmStarters), where its holders run too
    process: subprocess.Popen[bytes]
    sock: socket.socket
    log_path: Path
    cgroups: CgroupSet | None
    ready_in_s: float = 0.0
    skipped: list[str] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    async def start(self, holder_pid: int, uid: int, app: list[str], cwd: str, log_fd: int, variables_fd: int,
                    holder_pipe: int, cgroups: CgroupSet | None) -> None:  # fmt: skip
        """Fork the app into the sandbox whose holder is `holder_pid`. Raises WarmStartFailed."""
        opened: list[int] = []
        try:
            for name in _HOLDER_NAMESPACES:
                opened.append(os.open(f"/proc/{holder_pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC))
            opened.append(os.open(f"/proc/{holder_pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
            for path in cgroups.paths if cgroups else ():
                opened.append(os.open(f"{path}/cgroup.procs", os.O_WRONLY | os.O_CLOEXEC))
        except OSError as exc:
            for fd in opened:
                os.close(fd)
            raise WarmStartFailed(f"the holder's namespaces could not be opened: {exc}") from None
        spec = {"uid": uid, "argv": app, "cwd": cwd, "seccomp": seccomp.program().hex()}
        # The exchange is shielded and sends copies of the caller's descriptors: a cancelled start (a pause, a
        # shutdown) must neither close them nor let the next start take the lock while the exchange's thread still
        # sends them or waits for the answer (the numbers could name another space's namespaces by then, and the
        # answers would cross). The caller's clean-up ends the sandbox meanwhile.
        descriptors = [*(os.dup(fd) for fd in (log_fd, variables_fd, holder_pipe)), *opened]
        exchange = asyncio.ensure_future(self._exchange_once(spec, descriptors))
        # Read once it ends, so that a failure nobody awaits any more is not reported as never retrieved.
        exchange.add_done_callback(lambda done: done.cancelled() or done.exception())
        answer = await asyncio.shield(exchange)
        if not answer.get("started"):
            raise WarmStartFailed(str(answer.get("error", answer)))

    async def _exchange_once(self, spec: dict, descriptors: list[int]) -> dict:
        """Send one start to the starter and read its answer, one start at a time; closes `descriptors` after."""
        try:
            async with self.lock:
                return await asyncio.wait_for(
                    asyncio.to_thread(self._exchange, json.dumps(spec).encode(), descriptors), _START_TIMEOUT_S
                )
        except (OSError, TimeoutError, ValueError) as exc:
            self.stop()  # a starter that does not answer is not trusted with the next start
            raise WarmStartFailed(f"the warm starter did not answer: {exc!r}") from None
        finally:
            for fd in descriptors:
                os.close(fd)

    def _exchange(self, message: bytes, descriptors: list[int]) -> dict:
        socket.send_fds(self.sock, [message], descriptors)
        reply = self.sock.recv(65536)
        if not reply:
            raise OSError("the warm starter closed its socket")
        return json.loads(reply)

    def stop(self) -> None:
        """Stop the starter (the apps it started are not its children and run on)."""
        with contextlib.suppress(OSError):
            self.sock.close()
        procs.signal_all(procs.tree(self.process.pid), signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.cgroups is not None:
            self.cgroups.kill_all()
            self.cgroups.remove()


class WarmStarters:
    """The starters of one backend, by environment generation (module docstring: when one exists)."""

    def __init__(self, folder: Path, memory_mb: int | None):
        self.folder = folder  # their logs
        self.memory_mb = memory_mb
        self.namespaces = OwnerNamespaces()
        self._starters: dict[Path, WarmStarter] = {}
        self._creating: dict[Path, asyncio.Lock] = {}

    def get(self, location: Path) -> WarmStarter | None:
        return self._starters.get(location)

    async def for_start(self, location: Path, plan: BuildPlan, build_uid: int, log: LogSink) -> WarmStarter:
        """The live starter of the environment at `location`, started now when there is none (or it died).
        Raises WarmStartFailed when none can be had."""
        lock = self._creating.setdefault(location, asyncio.Lock())
        async with lock:
            starter = self._starters.get(location)
            if starter is not None and starter.alive:
                return starter
            if starter is not None:
                log(f"the warm starter of {location.name} had stopped ({_ended(starter)}); starting a new one")
                starter.stop()
                del self._starters[location]
            starter = await self._launch(location, plan, build_uid)
            self._starters[location] = starter
            skipped = f"; not importable: {', '.join(starter.skipped)}" if starter.skipped else ""
            log(f"warm starter of environment {location.name} ready in {starter.ready_in_s:.1f} s{skipped}")
            return starter

    async def _launch(self, location: Path, plan: BuildPlan, build_uid: int) -> WarmStarter:
        self.folder.mkdir(parents=True, exist_ok=True)
        log_path = self.folder / f"{location.name}.log"
        python = location / "bin" / "python"
        try:
            userns_fd = self.namespaces.for_owner(build_uid)
        except OSError as exc:
            raise WarmStartFailed(f"no user namespace for the warm starter: {exc}") from None
        program = seccomp.program_fd(starter=True)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        theirs_fd = theirs.fileno()
        settings = {
            "socket": theirs_fd,
            "modules": modules_for(plan),
            "site_packages": sorted({str(location), os.path.realpath(location)}),
        }
        source = (Path(__file__).parent / "zygote.py").read_text()
        argv = [str(python), "-I", "-S", "-c", source, json.dumps(settings)]
        command = entered(_starter_sandbox(location, program) + ["--", *argv], userns_fd)
        cgroups = None
        if cgroups_available():
            try:
                cgroups = CgroupSet.create(f"{WARM_GROUP_PREFIX}{location.name}-{time.monotonic_ns()}", self._limits())
                command = cgroups.join_argv(command)
            except OSError:
                cgroups = None
        started = time.monotonic()
        try:
            with log_path.open("ab") as out:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=ROOT_ENVIRONMENT | _STARTER_VARIABLES,
                    pass_fds=(program, theirs.fileno(), userns_fd),
                    start_new_session=True,
                )
        finally:
            os.close(program)
            theirs.close()
        starter = WarmStarter(location, userns_fd, process, ours, log_path, cgroups)
        ours.settimeout(_READY_TIMEOUT_S)
        try:
            reply = await asyncio.to_thread(ours.recv, 65536)
            ours.settimeout(_START_TIMEOUT_S)
            answer = json.loads(reply) if reply else {"error": f"it stopped ({_ended(starter)})"}
        except (OSError, ValueError) as exc:
            answer = {"error": repr(exc)}
        if not answer.get("ready"):
            starter.stop()
            said = log_path.read_text(errors="replace").strip()[-1500:] if log_path.exists() else ""
            raise WarmStartFailed(f"no warm starter: {answer.get('error')}" + (f"\nit said:\n{said}" if said else ""))
        if threads := _threads_of(starter):
            starter.stop()  # a fork keeps the calling thread alone: the others' locks would stay held
            raise WarmStartFailed(f"no warm starter: importing {', '.join(modules_for(plan))} started {threads}")
        starter.ready_in_s = time.monotonic() - started
        starter.skipped = list(answer.get("skipped", []))
        return starter

    def _limits(self) -> Limits:
        return Limits(memory_mb=self.memory_mb, pids=64, cpus=None)

    def keep_only(self, in_use: set[Path]) -> None:
        """Stop the starters of environments no instance runs from any more."""
        for location in [loc for loc in self._starters if loc not in in_use]:
            self._starters.pop(location).stop()

    def close(self) -> None:
        self.keep_only(set())
        self.namespaces.close()


def _threads_of(starter: WarmStarter) -> str | None:
    """What threads the starter runs besides its main one ("2 more thread(s): jemalloc_bg_thd, ..."), or
    None. Read here: the starter has no /proc."""
    for pid in procs.tree(starter.process.pid):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "bwrap":
                continue
            tasks = [task for task in os.listdir(f"/proc/{pid}/task") if int(task) != pid]
            names = [Path(f"/proc/{pid}/task/{task}/comm").read_text().strip() for task in tasks]
        except OSError:
            continue
        if names:
            return f"{len(names)} more thread(s): {', '.join(names)}"
    return None


def _ended(starter: WarmStarter) -> str:
    code = starter.process.poll()
    if starter.cgroups is not None and starter.cgroups.oom_killed():
        return "over its memory budget"
    return "running" if code is None else f"exit code {code}"


def _starter_sandbox(location: Path, seccomp_fd: int) -> list[str]:
    """bwrap for a starter: the interpreter and the environment read-only, /usr, no network, no home."""
    binds = system_binds()
    prefix = interpreter_prefix(location)
    if not prefix.is_relative_to("/usr"):
        binds += bind_same_path(prefix)
    binds += bind_same_path(location)
    capabilities = [arg for cap in _CAPABILITIES for arg in ("--cap-add", cap)]
    # fmt: off
    return [
        system_tool("bwrap") or "/usr/bin/bwrap",
        "--perms", "1777", "--tmpfs", "/tmp",
        *binds,
        "--dev", "/dev",  # no /proc: the host's processes (and their roots) are none of its business
        "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--new-session",
        "--die-with-parent", "--chdir", "/",
        "--cap-drop", "ALL", *capabilities,
        "--seccomp", str(seccomp_fd),
    ]
    # fmt: on


def holder_interpreter() -> str | None:
    """The holder's interpreter (the host's perl, which the sandbox sees in its /usr); None where there is none."""
    return system_tool("perl")


@dataclass
class WarmHandoff:
    """One warm start's part in launch.py: the holder's command and pipe, then the hand-over to the starter."""

    starter: WarmStarter
    uid: int
    _pipe: tuple[int, int] = field(default_factory=os.pipe, init=False)

    @property
    def child_fds(self) -> tuple[int, ...]:
        return (self._pipe[0], self.starter.userns_fd)

    def holder_argv(self) -> list[str]:
        return [holder_interpreter() or "perl", "-e", HOLDER, str(self._pipe[0])]

    def sandbox_started(self) -> None:
        os.close(self._pipe[0])

    async def hand_over(self, holder_pid: int, argv: Sequence[str], cwd: str, log_path: Path, variables_fd: int,
                        cgroups: CgroupSet | None) -> None:  # fmt: skip
        """Have the starter fork the app (the recipe's command `argv`, as the sandbox runs it) into the holder's
        sandbox, once the holder runs as the space's uid."""
        try:
            app = app_argv(argv)
            if app is None:
                raise WarmStartFailed(f"{' '.join(argv)} is no Python program a warm starter runs")
            deadline = time.monotonic() + _START_TIMEOUT_S
            while _uid_of(holder_pid) != self.uid:
                if time.monotonic() > deadline or not procs.start_ticks(holder_pid):
                    raise WarmStartFailed("the sandbox's holder did not start (see the app's log)")
                await asyncio.sleep(0.005)
            log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
            try:
                await self.starter.start(holder_pid, self.uid, app, cwd, log_fd, variables_fd, self._pipe[1],
                                         cgroups)  # fmt: skip
            finally:
                os.close(log_fd)
        finally:
            os.close(self._pipe[1])


def _uid_of(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None
