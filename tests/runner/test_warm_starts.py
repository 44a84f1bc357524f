"""Warm starts (issue 13): apps forked from a warm starter of their environment hold the same sandbox as cold
ones, outlive their starter, and never start from a starter of an environment that changed. Real bwrap,
slirp4netns, seccomp, cgroups and /data; real Gradio imported by the starter; real HTTP."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import anyio
import pytest
from podium_runner.backend import Environment, Instance
from podium_runner.health import wait_until_ready
from podium_runner.plan import BuildPlan, RunContext, make_plan
from podium_runner.process import ProcessBackend, ProcessFolders, procs
from podium_runner.process.cgroups import CgroupSet, Limits, cgroups_available
from podium_runner.process.sandbox import SPACE_UID_BLOCKS_START
from podium_runner.spec import load_spec

from tests.support.cancelled_starts import cancel_once_made
from tests.support.process_spaces import GRADIO_HELLO, STREAMLIT_HELLO, free_port, stdlib_app, write_space

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root to switch uids (CI runs as root)"),
]

# Secrets look like this, so that an app can look for any space's in its memory without holding one.
SECRET_PATTERN = rb"zzsecret-[0-9a-f]{24}"

PROBE = r"""
import os, re, socket, sys
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"):
    REPORT[key] = status[key].strip()
REPORT["uid"], REPORT["groups"] = os.getuid(), os.getgroups()
REPORT["mounts"] = sorted(line.split()[4] for line in open("/proc/self/mountinfo"))
REPORT["proc_writable"] = [d for d in ("sys", "sysrq-trigger", "irq", "bus") if os.access(f"/proc/{d}", os.W_OK)]
REPORT["root"] = sorted(os.listdir("/"))
REPORT["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
REPORT["fds"] = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
REPORT["prefix"] = sys.prefix
REPORT["environment"] = sorted(os.environ)
REPORT["data"] = sorted(os.listdir("/data"))
# Constants huggingface_hub computed from the environment at import, and a copy another module imported:
# in a warm start they were imported by the starter, long before the app's variables existed.
from huggingface_hub import constants as hub_constants
from huggingface_hub.utils import _cache_manager
REPORT["hub"] = [hub_constants.HF_HUB_CACHE, hub_constants.HF_HUB_OFFLINE, _cache_manager.HF_HUB_CACHE]
def outcome(action):
    try:
        action()
        return "allowed"
    except OSError as exc:
        return type(exc).__name__
port = int(os.environ["HOST_PORT"])
REPORT["host_loopback"] = outcome(lambda: socket.create_connection(("127.0.0.1", port), 2).close())
REPORT["host_through_gateway"] = outcome(lambda: socket.create_connection(("10.0.2.2", port), 2).close())
REPORT["other_data"] = outcome(lambda: open(os.environ["OTHER_DATA"] + "/secret.txt").read())
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
REPORT["new_namespace"] = "allowed" if libc.unshare(0x00020000) == 0 else os.strerror(ctypes.get_errno())
found = set()
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as memory:
    for line in maps:
        span, perms = line.split()[:2]
        if not perms.startswith("r") or line.rstrip().endswith(("[vvar]", "[vsyscall]", "[vvar_vclock]")):
            continue
        start, end = (int(x, 16) for x in span.split("-"))
        try:
            memory.seek(start)
            found.update(m.decode() for m in re.findall(PATTERN, memory.read(end - start)))
        except (OSError, ValueError, OverflowError):
            continue
REPORT["secrets_in_memory"] = sorted(found)
""".replace("PATTERN", repr(SECRET_PATTERN))


def new_secret() -> str:
    return "zzsecret-" + secrets.token_hex(12)


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(30)) as response:
        return response.status, await response.text()


class Spaces:
    """Starts spaces on one backend and remembers what it started, to stop them at the end."""

    def __init__(self, backend: ProcessBackend):
        self.backend = backend
        self.started: list[Instance] = []
        self.logs: dict[str, list[str]] = {}
        self.resident_secret = new_secret()  # the secret of the space the module keeps running

    async def start(
        self, plan: BuildPlan, space_id: str, env: dict[str, str], environment: Environment | None = None
    ) -> Instance:
        environment = environment or await self.backend.prepare(plan, lambda line: None)
        log = self.logs.setdefault(space_id, [])
        ctx = RunContext(space_id=space_id, port=free_port(), env=env)
        instance = await self.backend.start(plan, environment, ctx, log.append)
        self.started.append(instance)
        await wait_until_ready(self.backend, instance, plan.launch(ctx).health_path, 300)
        return instance

    async def stop_all(self) -> None:
        for instance in self.started:
            await self.backend.stop(instance)
        await self.backend.close()


@pytest.fixture(scope="module")
def host_port() -> Iterator[int]:
    """A server on the host's loopback, which no app may reach."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture(scope="module")
def probe_plan(tmp_path_factory: pytest.TempPathFactory) -> BuildPlan:
    return make_plan(load_spec(write_space(tmp_path_factory.mktemp("probe"), "sdk: gradio", stdlib_app(PROBE))))


@pytest.fixture(scope="module")
async def warm(folders: ProcessFolders, probe_plan: BuildPlan, host_port: int) -> AsyncIterator[Spaces]:
    """A warm-starting backend with a resident space (its secret set, a file in its /data) running all along."""
    spaces = Spaces(ProcessBackend(folders, sandbox="on", warm_starts=True))
    variables = {"TOKEN": spaces.resident_secret, "HOST_PORT": str(host_port), "OTHER_DATA": "/nowhere"}
    await spaces.start(probe_plan, "tests/warm-resident", variables)
    (folders.data / "tests--warm-resident" / "secret.txt").write_text("resident's")
    assert any(line.startswith("warm start from") for line in spaces.logs["tests/warm-resident"])
    yield spaces
    await spaces.stop_all()


def holds_the_sandbox(report: dict, own_secret: str, other_secret: str) -> None:
    """The one list of checks a space passes, cold or warm."""
    assert report["uid"] >= SPACE_UID_BLOCKS_START and report["groups"] == []
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert report[key] == "0000000000000000", key
    assert report["NoNewPrivs"] == "1" and report["Seccomp"] == "2"
    assert report["new_namespace"] == os.strerror(1)  # EPERM: the seccomp filter refuses new namespaces
    assert "/data" in report["mounts"] and "/home/user/app" in report["mounts"]
    assert report["proc_writable"] == []
    assert not any(m.startswith(("/root/.config", "/var", "/work")) for m in report["mounts"])
    assert len(report["pids"]) <= 3 and max(report["pids"]) < 10  # its own pid namespace
    assert report["host_loopback"] == "ConnectionRefusedError"  # its own loopback, nothing listens
    assert report["host_through_gateway"] != "allowed"
    assert report["other_data"] == "FileNotFoundError" and report["data"] == []
    assert "TOKEN" in report["environment"] and "OTHER_DATA" in report["environment"]
    assert own_secret in report["secrets_in_memory"]  # the scan works: its own secret is in its memory
    assert other_secret not in report["secrets_in_memory"]


@pytest.mark.anyio
async def test_a_warm_started_space_passes_the_same_isolation_checks_as_a_cold_one(
    warm: Spaces, folders: ProcessFolders, probe_plan: BuildPlan, host_port: int
) -> None:
    other_data = str(folders.data / "tests--warm-resident")
    reports = {}
    cold = Spaces(ProcessBackend(folders, sandbox="on"))
    try:
        for name, spaces in (("cold", cold), ("warm", warm)):
            own = new_secret()
            variables = {"TOKEN": own, "HOST_PORT": str(host_port), "OTHER_DATA": other_data}
            variables |= {"HF_HOME": f"/tmp/hf-{name}", "HF_HUB_OFFLINE": "1"}
            instance = await spaces.start(probe_plan, f"tests/{name}-probe", variables)
            status, body = await _get(instance.url + "/")
            assert status == 200
            reports[name] = json.loads(body)
            holds_the_sandbox(reports[name], own, warm.resident_secret)
            assert reports[name]["hub"] == [f"/tmp/hf-{name}/hub", True, f"/tmp/hf-{name}/hub"]
    finally:
        await cold.stop_all()
    assert any(line.startswith("warm start from") for line in warm.logs["tests/warm-probe"])
    assert not any(line.startswith("warm start") for line in cold.logs["tests/cold-probe"])
    # Not only each check: the same mounts, variables and root as the cold start, for any space. bwrap covers
    # /proc's kernel folders read-only only where its user could write them: in the owner's user namespace
    # it cannot write /proc/bus and /proc/irq (root's), so it leaves them as they are.
    uncovered = {"/proc/bus", "/proc/irq"}
    assert [m for m in reports["cold"]["mounts"] if m not in uncovered] == reports["warm"]["mounts"]
    for key in ("environment", "root", "prefix", "CapBnd", "Seccomp"):
        assert reports["warm"][key] == reports["cold"][key], key
    assert reports["warm"]["fds"] == [0, 1, 2, 3]  # 3: the listing of /proc/self/fd itself


@pytest.mark.anyio
async def test_a_killed_warm_starter_takes_none_of_its_spaces_down(warm: Spaces, probe_plan: BuildPlan) -> None:
    location = Path((await warm.backend.prepare(probe_plan, lambda line: None)).location).resolve()
    starter = warm.backend.warm.get(location)
    assert starter is not None and starter.alive
    procs.signal_all(procs.tree(starter.process.pid), signal.SIGKILL)  # the starter and its bwrap
    starter.process.wait()
    for instance in warm.started:  # the resident, and the probe if it ran first
        assert (await _get(instance.url + "/"))[0] == 200
        assert await warm.backend.poll(instance) is None
    again = await warm.start(
        probe_plan, "tests/after-the-crash", {"HOST_PORT": "1", "OTHER_DATA": "/nowhere", "TOKEN": new_secret()}
    )
    said = warm.logs["tests/after-the-crash"]
    assert any("had stopped" in line for line in said) and any(line.startswith("warm start from") for line in said)
    assert (await _get(again.url + "/"))[0] == 200


@pytest.mark.anyio
async def test_a_space_whose_environment_changed_never_starts_from_a_stale_starter(
    folders: ProcessFolders, tmp_path: Path
) -> None:
    # A requirement no other test has: an environment of its own, which this test may rebuild.
    space = write_space(
        tmp_path, "sdk: gradio", stdlib_app(PROBE), requirements='six; platform_system != "podium-warm"\n'
    )
    plan = make_plan(load_spec(space))
    spaces = Spaces(ProcessBackend(folders, sandbox="on", warm_starts=True))
    variables = {"HOST_PORT": "1", "OTHER_DATA": "/nowhere", "TOKEN": new_secret()}
    try:
        first_environment = await spaces.backend.prepare(plan, lambda line: None)
        first = await spaces.start(plan, "tests/stale-1", variables, first_environment)
        old_starter = spaces.backend.warm.get(Path(first_environment.location).resolve())
        assert old_starter is not None and old_starter.alive
        rebuilt = await spaces.backend.prepare(plan, lambda line: None, rebuild=True)
        assert rebuilt.location != first_environment.location
        second = await spaces.start(plan, "tests/stale-2", variables, rebuilt)
        new_location = Path(rebuilt.location).resolve()
        assert any(
            f"warm starter of environment {new_location.name} ready" in line for line in spaces.logs["tests/stale-2"]
        )
        assert json.loads((await _get(second.url + "/"))[1])["prefix"] == str(new_location)
        await spaces.backend.stop(first)  # the last instance of the old environment: its starter goes
        assert spaces.backend.warm.get(Path(first_environment.location).resolve()) is None
        assert not old_starter.alive
    finally:
        await spaces.stop_all()


# What the code of an environment (any package's import) tries inside a warm starter, which it runs in.
# FITHAW on a filesystem that is not frozen changes nothing: EINVAL with the host's CAP_SYS_ADMIN, else EPERM.
STARTER_ATTACK = """
import fcntl, json, os, socket
def outcome(action):
    try:
        action()
        return "allowed"
    except OSError as exc:
        return type(exc).__name__ + " " + os.strerror(exc.errno)
def thaw_host_filesystem():
    fd = os.open("/usr", os.O_RDONLY)
    try:
        fcntl.ioctl(fd, 0xC0045878)  # FITHAW
    finally:
        os.close(fd)
report = {
    "uid": os.getuid(),
    "become_root": outcome(lambda: os.setresuid(0, 0, 0)),
    "become_root_group": outcome(lambda: os.setresgid(0, 0, 0)),
    "thaw_host_filesystem": outcome(thaw_host_filesystem),
    "signal_other_owners_app": outcome(lambda: os.kill(OTHER_PID, 0)),
    "become_other_owners_space": outcome(lambda: os.setresuid(OTHER_UID, OTHER_UID, OTHER_UID)),
    "proc": os.path.exists("/proc/1"),
    "host_loopback": outcome(lambda: socket.create_connection(("127.0.0.1", PORT), 2).close()),
    "write_environment": outcome(lambda: open(__file__ + ".planted", "w")),
    "root_listing": sorted(os.listdir("/root")) if os.path.isdir("/root") else [],
}
print("ATTACK " + json.dumps(report), flush=True)
"""


@pytest.mark.anyio
async def test_environment_code_in_a_warm_starter_cannot_become_root_nor_reach_the_host(
    warm: Spaces, folders: ProcessFolders, tmp_path: Path, host_port: int
) -> None:
    """The starter imports the environment's packages, which its owner's builds wrote: they run as the build
    uid, which can never become root, with no /proc, no network and the environment read-only; its
    capabilities count in its owner's user namespace alone, so the host's kernel and another owner's
    spaces (the module's resident, of owner "tests") are out of its reach."""
    space = write_space(
        tmp_path, "sdk: gradio", stdlib_app(PROBE), requirements='six; platform_system != "podium-warm"\n'
    )
    plan = make_plan(load_spec(space))
    backend = ProcessBackend(folders, sandbox="on", warm_starts=True)
    location = Path((await backend.prepare(plan, lambda line: None)).location).resolve()
    planted = next(location.glob("lib/python*/site-packages")) / "podium_warm_attack.py"
    resident = warm.started[0]
    other_pid = procs.tree(resident.details.pid)[-1]  # its app, below the sandbox's bwrap and holder
    other_uid = warm.backend.space_uid(resident.space_id)
    attack = STARTER_ATTACK.replace("PORT", str(host_port)).replace("OTHER_PID", str(other_pid))
    planted.write_text(attack.replace("OTHER_UID", str(other_uid)))
    assert plan.deps is not None
    attacking = replace(plan, deps=replace(plan.deps, requirements=("podium-warm-attack",)))
    try:
        build_uid = backend.environments.for_space(None).build_uid
        assert build_uid is not None
        starter = await backend.warm.for_start(location, attacking, build_uid, lambda line: None)
        said = [line for line in starter.log_path.read_text().splitlines() if line.startswith("ATTACK ")]
        python = procs.tree(starter.process.pid)[-1]
        outside_uid = [line.split()[1] for line in Path(f"/proc/{python}/status").read_text().splitlines()
                       if line.startswith("Uid:")]  # fmt: skip
        user_namespace = os.readlink(f"/proc/{python}/ns/user")
    finally:
        backend.warm.close()
        planted.unlink()
        await backend.close()
    report = json.loads(said[-1].removeprefix("ATTACK "))
    assert report["uid"] == 0 and outside_uid == [str(build_uid)]  # uid 0 of its own namespace only
    assert user_namespace != os.readlink("/proc/self/ns/user")
    assert report["become_root"].startswith("PermissionError")  # the filter refuses uid 0 even there
    assert report["become_root_group"].startswith("PermissionError")
    assert report["thaw_host_filesystem"].startswith("PermissionError")
    assert report["signal_other_owners_app"].startswith("PermissionError")
    assert report["become_other_owners_space"] == "OSError " + os.strerror(22)  # EINVAL: not in its map
    assert report["proc"] is False and report["root_listing"] in ([], [".cache"], [".pyenv"])
    assert report["host_loopback"] != "allowed" and report["write_environment"] != "allowed"


@pytest.mark.anyio
async def test_a_warm_started_instance_is_adopted_after_its_caller_restarts(
    folders: ProcessFolders, probe_plan: BuildPlan
) -> None:
    first = ProcessBackend(folders, sandbox="on", warm_starts=True, outlive_caller=True)
    environment = await first.prepare(probe_plan, lambda line: None)
    ctx = RunContext(
        space_id="tests/warm-adopted", port=free_port(), env={"HOST_PORT": "1", "OTHER_DATA": "/", "TOKEN": "x"}
    )
    log: list[str] = []
    instance = await first.start(probe_plan, environment, ctx, log.append)
    await wait_until_ready(first, instance, "/", 300)
    assert any(line.startswith("warm start from") for line in log)
    await first.close()  # Podium stops: its warm starters go, its apps stay
    state = json.loads(json.dumps(instance.state))

    second = ProcessBackend(folders, sandbox="on", warm_starts=True, outlive_caller=True)
    assert state["instance_id"] in [s["instance_id"] for s in await second.list_orphans(set())]
    adopted = await second.adopt(state, lambda line: None)
    assert adopted is not None and await second.poll(adopted) is None
    assert (await _get(adopted.url + "/"))[0] == 200
    await second.stop(adopted)
    assert await second.poll(adopted) is not None and not procs.tree(state["pid"])[1:]
    assert await second.adopt(state, lambda line: None) is None
    await second.close()


@pytest.mark.anyio
async def test_a_streamlit_space_starts_warm_and_answers(folders: ProcessFolders, tmp_path: Path) -> None:
    """Streamlit's command names where it listens (the namespace's 0.0.0.0): the starter runs that command."""
    plan = make_plan(load_spec(write_space(tmp_path, "sdk: streamlit", STREAMLIT_HELLO)))
    spaces = Spaces(ProcessBackend(folders, sandbox="on", warm_starts=True))
    try:
        instance = await spaces.start(plan, "tests/warm-streamlit", {})
        assert any(line.startswith("warm start from") for line in spaces.logs["tests/warm-streamlit"])
        assert await _get(instance.url + "/_stcore/health") == (200, "ok")
        status, page = await _get(instance.url + "/")
        assert status == 200 and "streamlit" in page.lower()
    finally:
        await spaces.stop_all()


@pytest.mark.anyio
async def test_a_warm_apps_end_reaches_its_caller_as_a_cold_apps_does(folders: ProcessFolders, tmp_path: Path) -> None:
    """The holder, the sandbox's pid 1, exits with its app's status: its exit code, or 128 + the signal that
    killed it, which bwrap passes on and the backend reads as a cold app's."""
    endings = {
        "code": ("threading.Timer(3.0, os._exit, (3,)).start()", "exited with code 3"),
        "signal": ("threading.Timer(3.0, os.kill, (os.getpid(), 9)).start()", "killed by signal SIGKILL"),
    }
    for warm in (False, True):
        spaces = Spaces(ProcessBackend(folders, sandbox="on", warm_starts=warm))
        try:
            for name, (prelude, reason) in endings.items():
                folder = write_space(
                    tmp_path / f"{name}-{warm}", "sdk: gradio", stdlib_app(f"import threading\n{prelude}")
                )
                space_id = f"tests/ends-{name}-{'warm' if warm else 'cold'}"
                instance = await spaces.start(make_plan(load_spec(folder)), space_id, {})
                assert any(line.startswith("warm start from") for line in spaces.logs[space_id]) == warm
                for _ in range(100):
                    if (ended := await spaces.backend.poll(instance)) is not None:
                        break
                    await anyio.sleep(0.1)
                assert ended is not None and ended.reason == reason, (space_id, ended)
        finally:
            await spaces.stop_all()


@pytest.mark.skipif(cgroups_available() is None, reason="no writable cgroup hierarchy")
@pytest.mark.anyio
async def test_a_warm_start_cancelled_while_its_sandbox_is_plumbed_leaves_nothing_and_the_starter_serves_on(
    folders: ProcessFolders, probe_plan: BuildPlan
) -> None:
    """A pause or a shutdown cancels a start in flight: its sandbox, already running, would run for nobody, and
    the starter's exchange, cut off, would leave its answer to the next start. The sandbox goes; the next start
    from the same starter gets its own answer."""
    spaces = Spaces(ProcessBackend(folders, sandbox="on", warm_starts=True))
    variables = {"HOST_PORT": "1", "OTHER_DATA": "/", "TOKEN": "x"}
    try:
        await spaces.start(probe_plan, "tests/cancel-first", variables)  # the starter is ready
        environment = await spaces.backend.prepare(probe_plan, lambda line: None)

        async def sandbox_made(ctx: RunContext) -> bool:
            return bool(_groups_of("tests--cancelled", ctx.port))

        def context() -> RunContext:
            return RunContext(space_id="tests/cancelled", port=free_port(), env=variables)

        ctx = await cancel_once_made(spaces.backend, probe_plan, environment, context, sandbox_made, "sandbox")
        assert not await sandbox_made(ctx) and not list(folders.runs.glob(f"tests--cancelled-{ctx.port}-*"))
        after = await spaces.start(probe_plan, "tests/cancel-after", variables)
        assert any(line.startswith("warm start from") for line in spaces.logs["tests/cancel-after"])
        assert (await _get(after.url + "/"))[0] == 200
    finally:
        await spaces.stop_all()


def _groups_of(slug: str, port: int) -> list[str]:
    """The names of the cgroups of the instances of space `slug` on `port`."""
    return [name for name, _ in CgroupSet.named(f"{slug}-{port}-")]


def _listening_ports(instance: Instance) -> set[int]:
    """The TCP ports listened on in the instance's own network namespace (a process's /proc/PID/net/tcp)."""
    host = os.readlink("/proc/self/ns/net")
    inside = next(pid for pid in procs.tree(instance.details.pid) if os.readlink(f"/proc/{pid}/ns/net") != host)
    lines = Path(f"/proc/{inside}/net/tcp").read_text().splitlines()[1:]
    return {int(fields[1].split(":")[1], 16) for fields in (line.split() for line in lines) if fields[3] == "0A"}


@pytest.mark.anyio
async def test_a_warm_gradio_app_runs_without_the_spaces_reload_server(folders: ProcessFolders, tmp_path: Path) -> None:
    """Gradio starts the `spaces` package's hot-reload server on 7887 beside every app where SYSTEM=spaces;
    a warm app starts without it (zygote._without_gradio_reload_server), a cold one as Gradio does it."""
    plan = make_plan(load_spec(write_space(tmp_path, "sdk: gradio", GRADIO_HELLO)))
    found = {}
    for warm in (False, True):
        spaces = Spaces(ProcessBackend(folders, sandbox="on", warm_starts=warm))
        space_id = f"tests/reload-{'warm' if warm else 'cold'}"
        try:
            instance = await spaces.start(plan, space_id, {})
            assert (await _get(instance.url + "/config"))[0] == 200
            ports: set[int] = set()
            for _ in range(50):  # the watcher starts its server in a thread of its own, beside the app's
                if 7887 in (ports := _listening_ports(instance)):
                    break
                await anyio.sleep(0.1)
            found[warm] = ports
            assert any(line.startswith("warm start from") for line in spaces.logs[space_id]) == warm
        finally:
            await spaces.stop_all()
    assert 7887 in found[False], found  # the control: a cold app has it
    assert 7887 not in found[True] and found[True], found


@pytest.mark.skipif(cgroups_available() is None, reason="no writable cgroup hierarchy")
def test_the_groups_of_a_killed_podiums_builds_and_starters_are_removed_and_no_others(folders: ProcessFolders) -> None:
    """A build step or a warm starter of a Podium that was killed ends, but its groups stayed, a set per job per
    kill: the next process backend removes them, and no group a job is in or is about to join."""
    now, old = time.monotonic_ns(), time.monotonic_ns() - 120 * 10**9
    marker = secrets.token_hex(4)
    leftovers = [CgroupSet.create(f"{kind}{marker}-left-{old}", Limits()) for kind in ("warm-", "build-")]
    just_made = CgroupSet.create(f"warm-{marker}-new-{now}", Limits())  # its job is about to join it
    busy = CgroupSet.create(f"build-{marker}-busy-{old}", Limits())
    sleeper = subprocess.Popen(busy.join_argv(["sleep", "60"]))
    try:
        deadline = time.monotonic() + 10
        while busy.is_empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        ProcessBackend(folders)
        left = {name for name, _ in CgroupSet.named((f"warm-{marker}-", f"build-{marker}-"))}
        assert left == {f"warm-{marker}-new-{now}", f"build-{marker}-busy-{old}"}
        assert not any(Path(path).exists() for group in leftovers for path in group.paths)
    finally:
        sleeper.kill()
        sleeper.wait()
        for group in (*leftovers, just_made, busy):
            group.remove()
