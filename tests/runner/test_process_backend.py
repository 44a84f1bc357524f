"""A space folder built into a shared uv environment and run as a sandboxed process, through the
backend API the platform uses. Real uv, real Gradio and Streamlit, real HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from podium_runner.backend import BuildError, Instance, StartError
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext, make_plan
from podium_runner.process import Limits, ProcessBackend, ProcessFolders, procs
from podium_runner.process.cgroups import CgroupSet
from podium_runner.process.ended import sweep
from podium_runner.process.logfile import MAX_BYTES, previous
from podium_runner.process.sandbox import SPACE_UID_BLOCKS_START
from podium_runner.spec import SpaceConfigError, load_spec
from podium_runner.stages import Stage

from tests.runner.conftest import running
from tests.support.process_spaces import (
    GRADIO_HELLO,
    STREAMLIT_HELLO,
    free_port,
    shared_folders,
    stdlib_app,
    write_space,
)

pytestmark = pytest.mark.slow


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


@pytest.mark.anyio
async def test_a_gradio_space_builds_and_answers(folders: ProcessFolders, tmp_path: Path) -> None:
    log: list[str] = []
    async with running(
        ProcessBackend(folders), write_space(tmp_path, "sdk: gradio", GRADIO_HELLO), log=log.append
    ) as space:
        status, page = await _get(space.instance.url + "/")
        assert status == 200 and "gradio" in page.lower()
        config_status, _ = await _get(space.instance.url + "/config")
        assert config_status == 200
    # A clean start prints no traceback of its own. Gradio's Spaces hot-reload watcher (SYSTEM=spaces, see
    # podium_runner.plan) makes throwaway event loops (gradio.utils.safe_get_lock); when the collector
    # finalizes a loop's socket before the loop, its __del__ prints "Exception ignored" with a traceback,
    # as it does run bare, outside Podium, in most runs. Those are Gradio's, not a failed start.
    text = "\n".join(log)
    gradios_own = text.count("Exception ignored in: <function BaseEventLoop.__del__")
    assert text.count("Traceback") == gradios_own


@pytest.mark.anyio
async def test_a_streamlit_space_builds_and_answers(folders: ProcessFolders, tmp_path: Path) -> None:
    space = write_space(tmp_path, "sdk: streamlit", STREAMLIT_HELLO)
    async with running(ProcessBackend(folders), space) as space:
        assert await _get(space.instance.url + "/_stcore/health") == (200, "ok")
        status, page = await _get(space.instance.url + "/")
        assert status == 200 and "streamlit" in page.lower()


@pytest.mark.anyio
async def test_spaces_with_the_same_requirements_share_one_environment(folders: ProcessFolders, tmp_path: Path) -> None:
    """A second space, and a code-only change of the first, start without installing anything."""
    backend = ProcessBackend(folders)
    first = write_space(tmp_path / "first", "sdk: gradio", stdlib_app())
    async with running(backend, first) as one:
        environment = Path(one.env.location)
        inode = environment.stat().st_ino
    other = write_space(tmp_path / "other", "title: Another space\nsdk: gradio", stdlib_app('REPORT["me"] = 2'))
    (first / "app.py").write_text(stdlib_app('REPORT["edited"] = True'))
    for folder in (other, first):
        async with running(ProcessBackend(folders), folder) as again:
            assert again.env.reused and again.env.location == str(environment)
            assert environment.stat().st_ino == inode  # not rebuilt in place either
            assert not any("Installed" in line or "Resolved" in line for line in again.build_log)
            assert again.build_log == [f"Reusing environment {again.env.key} (same requirements as an earlier build)"]


SANDBOX_PROBE = """
import os, socket
def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as exc:
        return type(exc).__name__
REPORT["write_app_folder"] = attempt(lambda: open("app.py", "a").write("# changed"))
REPORT["create_in_app_folder"] = attempt(lambda: open("new_file.py", "w").write("x"))
REPORT["read_root_pip_conf"] = attempt(lambda: open("/root/.config/pip/pip.conf").read())
REPORT["root_listing"] = sorted(os.listdir("/root")) if os.path.isdir("/root") else []
REPORT["docker_socket_visible"] = os.path.exists("/var/run/docker.sock")
REPORT["pids_visible"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
REPORT["uid"] = os.getuid()
import getpass
REPORT["user"] = getpass.getuser()
import pwd
REPORT["home_from_passwd"] = pwd.getpwuid(os.getuid()).pw_dir
REPORT["write_home"] = attempt(lambda: open(os.path.expanduser("~/.config-test"), "w").write("ok"))
REPORT["capabilities"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
REPORT["no_new_privs"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")][0]
REPORT["write_environment"] = attempt(lambda: open(os.path.join(os.path.dirname(os.__file__), "x"), "w"))
REPORT["write_tmp"] = attempt(lambda: open("/tmp/scratch", "w").write("ok"))
REPORT["write_data"] = attempt(lambda: open("/data/kept", "w").write("ok"))
"""


@pytest.mark.anyio
@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root to switch uids (CI runs as root)")
async def test_the_sandbox_holds(folders: ProcessFolders, tmp_path: Path) -> None:
    """An app that tries to change its own code, read root's files and see host processes fails at each."""
    backend = ProcessBackend(folders, sandbox="on")
    space = write_space(tmp_path, "sdk: gradio", stdlib_app(SANDBOX_PROBE))
    async with running(backend, space, space_id="tests/sandbox") as probe:
        status, body = await _get(probe.instance.url + "/")
        # In the space's volume, mounted at its data folder while it runs (data_volume.py).
        assert (folders.data / "tests--sandbox" / "kept").read_text() == "ok"
    report = json.loads(body)
    assert status == 200
    assert report["write_app_folder"] != "allowed" and report["create_in_app_folder"] != "allowed"
    assert report["read_root_pip_conf"] == "FileNotFoundError"
    assert report["root_listing"] in ([], [".cache"], [".pyenv"])  # only what the sandbox binds
    assert report["docker_socket_visible"] is False
    assert len(report["pids_visible"]) <= 3  # bwrap's init, setpriv-exec'd app: not the host's
    assert report["uid"] >= SPACE_UID_BLOCKS_START and report["capabilities"] == "0000000000000000"
    assert report["no_new_privs"] == "1"
    assert report["write_environment"] != "allowed"
    assert report["write_tmp"] == "allowed" and report["write_data"] == "allowed"
    assert report["write_home"] == "allowed" and report["home_from_passwd"] == "/home/user"
    assert report["user"] == "user"
    run_dir = Path(probe.instance.state["log_path"]).parent
    assert not (run_dir / "sandbox").exists()  # its home, /tmp and app copy went with it
    assert (space / "app.py").read_text() == stdlib_app(SANDBOX_PROBE)


@pytest.mark.anyio
async def test_a_requirement_that_does_not_exist_is_a_build_error_with_uvs_message(
    folders: ProcessFolders, tmp_path: Path
) -> None:
    space = write_space(tmp_path, "sdk: gradio", GRADIO_HELLO, requirements="podium-no-such-package-4711\n")
    plan = make_plan(load_spec(space))
    lines: list[str] = []
    with pytest.raises(BuildError) as caught:
        await ProcessBackend(folders).prepare(plan, lines.append)
    assert any("podium-no-such-package-4711" in line and "not found" in line for line in lines), lines
    assert "uv pip" in str(caught.value) and "requirements.txt" in str(caught.value)
    # No half environment left, in whichever owner's folder it was built.
    left = [path for path in folders.environments.glob(f"*/{plan.build_key}*") if path.suffix != ".lock"]
    assert not left, f"a failed build left {left}"


@pytest.mark.anyio
async def test_a_python_version_not_installed_is_a_build_error(folders: ProcessFolders, tmp_path: Path) -> None:
    plan = make_plan(load_spec(write_space(tmp_path, 'sdk: gradio\npython_version: "3.99"', GRADIO_HELLO)))
    with pytest.raises(BuildError, match=r"Python 3\.99 \(python_version in README.md\) is not installed"):
        await ProcessBackend(folders).prepare(plan, lambda line: None)


def test_docker_spaces_and_missing_system_packages_need_the_docker_backend(
    folders: ProcessFolders, tmp_path: Path
) -> None:
    backend = ProcessBackend(folders)
    docker = make_plan(load_spec(write_space(tmp_path / "d", "sdk: docker", "FROM scratch\n", app_file="Dockerfile")))
    with pytest.raises(SpaceConfigError, match="needs the docker backend") as caught:
        backend.check(docker)
    assert caught.value.stage == Stage.CONFIG_ERROR
    packages_txt = {"packages.txt": "coreutils\nlibpodium-nope0\n"}
    packages = write_space(tmp_path / "p", "sdk: gradio", GRADIO_HELLO, files=packages_txt)
    with pytest.raises(SpaceConfigError, match="libpodium-nope0 is not installed on this host") as caught:
        backend.check(make_plan(load_spec(packages)))
    assert caught.value.file == "packages.txt" and "docker backend" in str(caught.value)


async def _start_failing(folders: ProcessFolders, folder: Path, **backend_options) -> tuple[StartError, bool]:
    backend = ProcessBackend(folders, **backend_options)
    plan = make_plan(load_spec(folder))
    env = await backend.prepare(plan, lambda line: None)
    ctx = RunContext(space_id="tests/failing", port=free_port())
    instance = await backend.start(plan, env, ctx, lambda line: None)
    with pytest.raises(StartError) as caught:
        await wait_until_ready(backend, instance, plan.launch(ctx).health_path, plan.startup_timeout_s)
    gone = await backend.poll(instance) is not None
    await backend.stop(instance)
    await backend.close()
    return caught.value, gone


@pytest.mark.anyio
async def test_an_app_that_exits_at_once_reports_its_last_lines(folders: ProcessFolders, tmp_path: Path) -> None:
    app = 'import sys\nprint("loading the model failed: weights.bin missing", flush=True)\nsys.exit(3)\n'
    error, gone = await _start_failing(folders, write_space(tmp_path, "sdk: gradio", app))
    assert gone and "exited with code 3" in str(error)
    assert "loading the model failed: weights.bin missing" in error.tail


@pytest.mark.anyio
async def test_an_app_that_never_answers_times_out_and_is_stopped(folders: ProcessFolders, tmp_path: Path) -> None:
    app = 'import time\nprint("thinking forever", flush=True)\ntime.sleep(3600)\n'
    space = write_space(tmp_path, "sdk: gradio\nstartup_duration_timeout: 3s", app)
    error, gone = await _start_failing(folders, space)
    assert gone and "did not answer" in str(error) and "within 3 s" in str(error)
    assert "thinking forever" in error.tail


@pytest.mark.anyio
async def test_an_app_on_the_wrong_port_times_out_with_a_hint(folders: ProcessFolders, tmp_path: Path) -> None:
    space = write_space(tmp_path, "sdk: gradio\nstartup_duration_timeout: 3s", stdlib_app(port_offset=1))
    error, gone = await _start_failing(folders, space)
    assert gone and "did not answer" in str(error) and "GRADIO_SERVER_PORT" in str(error)


@pytest.mark.skipif(not os.access("/sys/fs/cgroup/memory", os.W_OK), reason="needs writable cgroups (CI has)")
@pytest.mark.anyio
async def test_an_app_over_its_memory_limit_is_out_of_memory(folders: ProcessFolders, tmp_path: Path) -> None:
    app = "hog = []\nwhile True:\n    hog.append(bytearray(20 * 1024 * 1024))\n"
    space = write_space(tmp_path, "sdk: gradio", app)
    error, gone = await _start_failing(folders, space, limits=Limits(memory_mb=150, pids=64, cpus=1))
    assert gone and "out of memory (limit 150 MB)" in str(error)


class _FrozenAgainAfterItsThaw(ProcessBackend):
    """A freeze in flight as a stop begins, landing just after the stop's own thaw: the app then holds
    SIGTERM and, under cgroup v1's freezer, even SIGKILL until it is thawed again."""

    refreeze = False

    async def thaw(self, instance: Instance) -> None:
        await super().thaw(instance)
        if self.refreeze:
            self.refreeze = False
            assert await self.freeze(instance)


@pytest.mark.skipif(not os.access("/sys/fs/cgroup/freezer", os.W_OK), reason="needs the cgroup freezer (CI has)")
@pytest.mark.anyio
async def test_a_stop_ends_an_app_frozen_again_after_its_own_thaw(folders: ProcessFolders, tmp_path: Path) -> None:
    backend = _FrozenAgainAfterItsThaw(folders)
    space = write_space(tmp_path, "sdk: gradio", stdlib_app())
    async with running(backend, space, space_id="tests/refrozen") as app:
        tree = {pid: procs.start_ticks(pid) for pid in procs.tree(app.instance.state["pid"])}
        backend.refreeze = True
        # Before the fix this stop waited forever for an app that could not receive its SIGKILL.
        await asyncio.wait_for(backend.stop(app.instance, timeout=2), 60)
        assert not backend.refreeze, "the stop never thawed the app"
        assert await backend.poll(app.instance) is not None
        assert not [pid for pid, ticks in tree.items() if ticks and procs.is_same_process(pid, ticks)]


# A caller that starts an app with the backend's defaults (apps end with their caller), freezes it, closes
# the backend and exits. Prints the app's processes as {pid: start ticks} before it closes.
_CALLER_THAT_FREEZES = """
import asyncio, json, sys
from pathlib import Path
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext, make_plan
from podium_runner.process import ProcessBackend, procs
from podium_runner.spec import load_spec
from tests.support.process_spaces import free_port, shared_folders

async def main():
    backend = ProcessBackend(shared_folders(Path(sys.argv[1])))
    plan = make_plan(load_spec(Path(sys.argv[2])))
    env = await backend.prepare(plan, lambda line: None)
    ctx = RunContext(space_id="tests/frozen-caller", port=free_port())
    instance = await backend.start(plan, env, ctx, lambda line: None)
    await wait_until_ready(backend, instance, plan.launch(ctx).health_path, plan.startup_timeout_s)
    assert await backend.freeze(instance)
    print(json.dumps({pid: procs.start_ticks(pid) for pid in procs.tree(instance.state["pid"])}))
    await backend.close()

asyncio.run(main())
"""


@pytest.mark.skipif(not os.access("/sys/fs/cgroup/freezer", os.W_OK), reason="needs the cgroup freezer (CI has)")
def test_an_app_frozen_when_its_caller_exits_ends_with_it(folders: ProcessFolders, tmp_path: Path) -> None:
    space = write_space(tmp_path / "space", "sdk: gradio", stdlib_app())
    caller = subprocess.run(
        [sys.executable, "-c", _CALLER_THAT_FREEZES, str(tmp_path / "caller"), str(space)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).parents[2],
    )
    assert caller.returncode == 0, caller.stderr
    tree = {int(pid): ticks for pid, ticks in json.loads(caller.stdout.splitlines()[-1]).items()}
    assert tree
    deadline = time.monotonic() + 30
    alive = list(tree)
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in alive if tree[pid] and procs.is_same_process(pid, tree[pid])]
    for _, groups in CgroupSet.named("tests--frozen-caller-"):  # a failed run's frozen app must not outlive it
        groups.set_frozen(False)
        groups.kill_all()
    sweep(shared_folders(tmp_path / "caller").runs)  # its cgroups, as the caller's next start frees them
    # Before the fix the frozen app held the SIGKILL it got as its caller exited, and lived on.
    assert not alive, f"the frozen app outlived its caller: {alive}"


@pytest.mark.anyio
async def test_an_instance_is_adopted_after_its_caller_restarts(folders: ProcessFolders, tmp_path: Path) -> None:
    """The platform restarts: a new backend re-attaches to the running app by its saved state."""
    first = ProcessBackend(folders, outlive_caller=True)
    plan = make_plan(load_spec(write_space(tmp_path, "sdk: gradio", stdlib_app())))
    env = await first.prepare(plan, lambda line: None)
    ctx = RunContext(space_id="tests/adopted", port=free_port())
    instance = await first.start(plan, env, ctx, lambda line: None)
    await wait_until_ready(first, instance, "/", 30)
    await first.close()
    state = json.loads(json.dumps(instance.state))  # as the platform would store it

    second = ProcessBackend(folders, outlive_caller=True)
    assert [s["instance_id"] for s in await second.list_orphans(set())] == [state["instance_id"]]
    adopted = await second.adopt(state, lambda line: None)
    assert adopted is not None and await second.poll(adopted) is None
    assert f"listening on ('0.0.0.0', {ctx.port})" in adopted.logs.last()
    assert (await _get(adopted.url + "/"))[0] == 200
    await second.stop(adopted)
    assert await second.adopt(state, lambda line: None) is None  # gone for good
    assert await second.list_orphans(set()) == []
    await second.close()


EXITS_SOON = "import threading\nthreading.Timer(1.5, os._exit, (1,)).start()"  # a crash after it answered


@pytest.mark.anyio
async def test_an_instance_leaves_no_run_folder_behind(folders: ProcessFolders, tmp_path: Path) -> None:
    """Stopped, or crashed once its last lines reached the caller: its run folder and log are gone, so
    restarts and deploys do not fill the disk."""
    space = write_space(tmp_path / "stopped", "sdk: gradio", stdlib_app())
    async with running(ProcessBackend(folders), space, space_id="tests/stopped") as app:
        run_dir = Path(app.instance.state["log_path"]).parent
        assert (run_dir / "app.log").exists()
    assert not run_dir.exists()

    crashing = write_space(tmp_path / "crashing", "sdk: gradio", stdlib_app(EXITS_SOON))
    backend = ProcessBackend(folders)
    async with running(backend, crashing, space_id="tests/crashing") as app:
        run_dir = Path(app.instance.state["log_path"]).parent
        while (ended := await backend.poll(app.instance)) is None:
            await asyncio.sleep(0.1)
        assert ended.reason == "exited with code 1"
        assert any(line.startswith("listening on") for line in app.instance.logs.last())
        assert not run_dir.exists()


@pytest.mark.anyio
async def test_a_restarted_caller_clears_what_ended_instances_left_and_keeps_what_it_adopts(
    folders: ProcessFolders, tmp_path: Path
) -> None:
    """The platform restarts: it re-adopts one app and finds another as an orphan (both folders stay);
    the folder of one that crashed meanwhile, and one an older Podium kept, are deleted."""
    first = ProcessBackend(folders, outlive_caller=True)
    plan = make_plan(load_spec(write_space(tmp_path / "app", "sdk: gradio", stdlib_app())))
    crashing = make_plan(load_spec(write_space(tmp_path / "crashing", "sdk: gradio", stdlib_app(EXITS_SOON))))
    env = await first.prepare(plan, lambda line: None)
    states = {}
    for name, space_plan in (("kept", plan), ("orphan", plan), ("crashed", crashing)):
        ctx = RunContext(space_id=f"tests/{name}", port=free_port())
        instance = await first.start(space_plan, env, ctx, lambda line: None)
        await wait_until_ready(first, instance, "/", 30)
        states[name] = instance.state
    await first.close()
    older = folders.runs / "tests--older-8000-1700000000000"  # a run folder as Podium kept them before
    older.mkdir()
    (older / "app.log").write_text("listening on ('127.0.0.1', 8000)\n")
    run_dirs = {name: Path(state["log_path"]).parent for name, state in states.items()}
    for _ in range(100):
        if not procs.is_same_process(states["crashed"]["pid"], states["crashed"]["start_ticks"]):
            break
        await asyncio.sleep(0.1)

    second = ProcessBackend(folders, outlive_caller=True)
    kept = await second.adopt(states["kept"], lambda line: None)
    assert kept is not None
    orphans = await second.list_orphans({states["kept"]["instance_id"]})
    assert [orphan["instance_id"] for orphan in orphans] == [states["orphan"]["instance_id"]]
    assert run_dirs["kept"].exists() and run_dirs["orphan"].exists()
    assert not run_dirs["crashed"].exists() and not older.exists()
    orphan = await second.adopt(orphans[0], lambda line: None)
    assert orphan is not None
    for instance in (kept, orphan):
        await second.stop(instance)
    await second.close()
    assert not run_dirs["kept"].exists() and not run_dirs["orphan"].exists()


CHATTY_LINES = 5 * MAX_BYTES // 2 // 100  # two and a half times the limit, in lines of 100 bytes


@pytest.mark.anyio
async def test_a_chatty_apps_log_file_stays_bounded_and_following_it_loses_no_line(
    folders: ProcessFolders, tmp_path: Path
) -> None:
    """Past the limit, what was read moves to app.log.1 and app.log starts anew, while the app writes
    on; every line still reaches the platform once, in order, and the newest are there after a restart."""
    filesystem = subprocess.run(["stat", "-f", "-c", "%T", tmp_path], capture_output=True, text=True).stdout
    if filesystem.strip() not in ("ext2/ext3", "xfs"):
        pytest.skip(f"rotation loses no line where files collapse (ext4, xfs); {tmp_path} is {filesystem}")
    chatty = f"""
        for i in range({CHATTY_LINES}):
            print(f"line {{i:07d}} " + "x" * 86)
        print("all written", flush=True)
    """

    seen: list[str] = []
    space = write_space(tmp_path, "sdk: gradio", stdlib_app(chatty))
    async with running(ProcessBackend(folders), space, space_id="tests/chatty", log=seen.append) as app:
        for _ in range(600):
            if "all written" in seen:
                break
            await asyncio.sleep(0.1)
        numbers = [int(line.split()[1]) for line in seen if line.startswith("line ")]
        assert numbers == list(range(CHATTY_LINES))
        log_path = Path(app.instance.state["log_path"])
        one_read = 1024 * 1024  # the follower reads this much at a time, then rotates if past the limit
        assert previous(log_path).stat().st_size <= MAX_BYTES + one_read
        assert log_path.stat().st_size <= MAX_BYTES + one_read
        assert sorted(p.name for p in log_path.parent.glob("app.log*")) == ["app.log", "app.log.1"]
        restarted = ProcessBackend(folders)  # the platform restarts and finds the app again
        adopted = await restarted.adopt(app.instance.state, lambda line: None)
        await restarted.close()
        assert adopted is not None
        for logs in (app.instance.logs, adopted.logs):
            newest = logs.last(10)  # then "listening on ..." and the health checks
            assert newest[newest.index("all written") - 1] == f"line {CHATTY_LINES - 1:07d} " + "x" * 86


@pytest.mark.anyio
async def test_without_the_sandbox_the_app_runs_plainly_and_podium_says_so_once(
    folders: ProcessFolders, tmp_path: Path
) -> None:
    backend = ProcessBackend(folders, sandbox="off")
    space = write_space(tmp_path, "sdk: gradio", stdlib_app('REPORT["uid"] = os.getuid()'))
    plan = make_plan(load_spec(space))
    env = await backend.prepare(plan, lambda line: None)
    logs: list[list[str]] = [[], []]
    for log in logs:
        ctx = RunContext(space_id="tests/plain", port=free_port())
        instance = await backend.start(plan, env, ctx, log.append)
        await wait_until_ready(backend, instance, "/", 30)
        assert json.loads((await _get(instance.url + "/"))[1]) == {"uid": os.getuid()}
        await backend.stop(instance)
    await backend.close()
    assert any("WARNING: apps run as plain child processes" in line for line in logs[0])
    assert not any("WARNING" in line for line in logs[1])


@pytest.mark.anyio
async def test_static_spaces_have_no_process_to_build_or_start(folders: ProcessFolders, tmp_path: Path) -> None:
    plan = make_plan(load_spec(write_space(tmp_path, "sdk: static", "<h1>Hi</h1>", app_file="index.html")))
    with pytest.raises(SpaceConfigError, match=r"a static space \(sdk: static\), which needs the files backend"):
        await ProcessBackend(folders).prepare(plan, lambda line: None)
