"""A hostile space owner against the process backend's builds and privilege drop (issue 10, items 1-2).

Each test is an attack as its author would write it, run through the runner's API with real uv, real
bubblewrap and real apps: a `./evilpkg` whose setup.py goes for the host, an `LD_PRELOAD` variable
aimed at a `.so` shipped with the space, `setpriv` and `sh` planted first on the app's PATH, a build
that poisons its uv cache for the next owner. Owners are fixed names in the machine-wide test cache,
so their caches stay warm between runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from podium_runner.backend import BuildError
from podium_runner.plan import RunContext, make_plan
from podium_runner.process import ProcessBackend, ProcessFolders, procs
from podium_runner.process.network import network_unavailable_reason
from podium_runner.process.owners import OWN_CACHE, owner_folder
from podium_runner.process.sandbox import (
    BUILD_UID_RANGE_SIZE,
    BUILD_UID_RANGE_START,
    SPACE_UID_BLOCKS_START,
    sandbox_unavailable_reason,
)
from podium_runner.spec import load_spec

from tests.security import network_hosts
from tests.security.network_hosts import HOST_END, METADATA, OUTSIDE, FakeHosts, banner_server
from tests.support.process_spaces import free_port, shared_folders, write_space

hosts = network_hosts.hosts

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox_unavailable_reason() is not None, reason=f"{sandbox_unavailable_reason()}"),
]

# A setup.py that tells what it could do, then fails the build so that uv prints what it said.
REPORTING_SETUP = """
    import json, os, sys
    report = {"uid": os.getuid(), "euid": os.geteuid(), "caps": "", "wrote": [], "read": [], "saw": []}
    for line in open("/proc/self/status"):
        if line.startswith("CapEff"):
            report["caps"] = line.split()[1]
    for path in WRITE:
        try:
            with open(path, "w") as out:
                out.write(f"written by uid {os.getuid()}")
            report["wrote"].append(path)
        except OSError:
            pass
    for path in READ:
        try:
            report["read"].append([path, open(path).read()])
        except OSError:
            pass
    for path in SEE:
        if os.path.exists(path):
            report["saw"].append(path)
    report["env"] = sorted(os.environ)
    report["secret_in_env"] = any(SECRET in value for value in os.environ.values())
    print("REPORT " + json.dumps(report), file=sys.stderr)
    sys.exit("the attack is over")
"""


def _reporting_package(write: list[str], read: list[str], see: list[str], secret: str) -> str:
    constants = f"WRITE = {write!r}\nREAD = {read!r}\nSEE = {see!r}\nSECRET = {secret!r}\n"
    return constants + textwrap.dedent(REPORTING_SETUP)


def _report(error: BuildError) -> dict:
    """What the attacker's setup.py printed, as uv passed it on in the build error's tail."""
    for line in error.tail:
        if "REPORT " in line:
            return json.loads(line.split("REPORT ", 1)[1])
    raise AssertionError("the setup.py never ran or its report is missing:\n" + "\n".join(error.tail))


def _attack_space(folder: Path, package: str, setup: str, files: dict[str, str] | None = None) -> Path:
    return write_space(
        folder, "sdk: gradio", "print('never started')\n", requirements=f"./{package}\n",
        files={f"{package}/setup.py": setup, **(files or {})},
    )  # fmt: skip


async def _build(backend: ProcessBackend, space: Path, space_id: str):
    return await backend.prepare(make_plan(load_spec(space)), lambda _line: None, space_id=space_id)


@contextlib.asynccontextmanager
async def _without_the_sandbox(folders: ProcessFolders) -> AsyncIterator[ProcessBackend]:
    """A backend without the sandbox, for the negative controls. Closed after: until then it holds the host's
    port 7887 (reload_port.py), and a later test's backend could not."""
    backend = ProcessBackend(folders, sandbox="off")
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
def folders(tmp_path: Path) -> ProcessFolders:
    return shared_folders(tmp_path / "podium")


@pytest.fixture
def podium_data(folders: ProcessFolders, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """Podium's own secrets, where a build running as Podium would find them: a session secret in its
    data folder and a variable in its environment."""
    secret = "podium-session-secret-" + os.urandom(8).hex()
    folders.data.mkdir(parents=True, exist_ok=True)
    path = folders.data.parent / "session-secret"
    path.write_text(secret)
    path.chmod(0o600)
    monkeypatch.setenv("PODIUM_TEST_SECRET", secret)
    return path, secret


@pytest.mark.anyio
async def test_a_setup_py_in_a_local_requirement_gets_no_root_no_secret_and_no_host_file(
    folders: ProcessFolders, podium_data: tuple[Path, str], tmp_path: Path
) -> None:
    secret_file, secret = podium_data
    canary = Path(f"/tmp/podium-build-canary-{os.getpid()}-{time.monotonic_ns()}")
    in_data = folders.data / "written-by-a-build"
    other_owner = folders.environments / owner_folder("victim/space")
    setup = _reporting_package(
        write=[str(canary), str(in_data), str(other_owner / "planted")],
        read=[str(secret_file), "/etc/shadow"],
        see=[str(folders.data), str(folders.runs), str(other_owner), str(Path.home() / ".bashrc")],
        secret=secret,
    )
    space = _attack_space(tmp_path / "evil", "evilpkg", setup)
    try:
        with pytest.raises(BuildError) as caught:
            await _build(ProcessBackend(folders), space, "mallory/evil")
        report = _report(caught.value)
        assert report["uid"] == report["euid"] != 0
        assert BUILD_UID_RANGE_START <= report["uid"] < BUILD_UID_RANGE_START + BUILD_UID_RANGE_SIZE
        assert report["uid"] < SPACE_UID_BLOCKS_START  # no app's uid
        assert int(report["caps"], 16) == 0
        assert report["wrote"] == [str(canary)]  # into the sandbox's own /tmp, a tmpfs gone with it
        assert report["read"] == [] and report["saw"] == []
        assert not report["secret_in_env"] and "PODIUM_TEST_SECRET" not in report["env"]
        assert not canary.exists() and not in_data.exists() and not (other_owner / "planted").exists()
        assert (space / "evilpkg" / "setup.py").read_text() == setup  # the space's own files untouched
        assert not list(space.glob("evilpkg/*.egg-info"))  # setuptools wrote into a copy

        # Negative control: the same build without the sandbox runs as root with all of the above.
        async with _without_the_sandbox(folders) as plain:
            with pytest.raises(BuildError) as unsandboxed:
                await _build(plain, space, "mallory/evil")
        control = _report(unsandboxed.value)
        assert control["uid"] == 0 and canary.read_text() == "written by uid 0"
        assert control["read"][0] == [str(secret_file), secret] and control["secret_in_env"]
    finally:
        for planted in (canary, in_data, other_owner / "planted"):  # what the negative control wrote
            planted.unlink(missing_ok=True)


PRELOAD_SOURCE = r"""
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void podium_preload(void) {
    char exe[256] = {0};
    readlink("/proc/self/exe", exe, sizeof exe - 1);
    fprintf(stderr, "PRELOADED uid=%d euid=%d exe=%s\n", (int)getuid(), (int)geteuid(), exe);
}
"""

# Prints what it got, shows the secret is there, and keeps running while the test looks at /proc.
VARIABLES_APP = """
    import os, shutil, subprocess, sys, time
    print(f"APP uid={os.getuid()} secret={os.environ.get('API_KEY')} setpriv={shutil.which('setpriv')}", flush=True)
    subprocess.run(["sh", "-c", "true"])  # the app may run its own sh, as itself
    time.sleep(float(os.environ.get("LINGER", "0")))
"""


async def _run_until_exit(
    backend: ProcessBackend, space: Path, space_id: str, variables: dict[str, str], while_running=None
) -> list[str]:
    """Build and start the space, call `while_running(instance)` once its app printed, and return the
    run log once the app exited."""

    plan = make_plan(load_spec(space))
    env = await backend.prepare(plan, lambda _line: None, space_id=space_id)
    lines: list[str] = []
    ctx = RunContext(space_id=space_id, port=free_port(), env=variables)
    instance = await backend.start(plan, env, ctx, lines.append)
    try:
        deadline = time.monotonic() + 60
        while not any(line.startswith("APP ") for line in lines) and time.monotonic() < deadline:
            if await backend.poll(instance) is not None:
                break
            await asyncio.sleep(0.1)
        if while_running is not None:
            while_running(instance)
        while await backend.poll(instance) is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        await backend.stop(instance)
        await backend.close()
    return lines


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler for the preloaded library")
@pytest.mark.anyio
async def test_an_ld_preload_variable_loads_its_library_only_into_the_app_never_into_root(
    folders: ProcessFolders, tmp_path: Path
) -> None:
    space = write_space(tmp_path / "preload", "sdk: gradio", VARIABLES_APP)
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-o", str(space / "evil.so"), "-x", "c", "-"],
        input=PRELOAD_SOURCE,
        text=True,
        check=True,
    )
    (space / "evil.so").chmod(0o755)
    # The host path (what root-run processes would open) and the app's own path of the same file.
    preload = f"{space}/evil.so /home/user/app/evil.so"
    secret = "sk-" + os.urandom(12).hex()
    space_id = "mallory/preload"
    seen: dict[str, list] = {"root_environ": [], "cmdlines": []}

    def look_at_proc(instance) -> None:
        for pid in procs.tree(instance.state["pid"]):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                environ = Path(f"/proc/{pid}/environ").read_bytes()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
            if uid == 0:
                seen["root_environ"].append(environ)
            seen["cmdlines"].append(cmdline)

    lines = await _run_until_exit(
        ProcessBackend(folders),
        space,
        space_id,
        {"LD_PRELOAD": preload, "API_KEY": secret, "LINGER": "2"},
        look_at_proc,
    )
    preloaded = [line for line in lines if line.startswith("PRELOADED")]
    assert preloaded, lines  # the library works: the app itself loads it
    uid = ProcessBackend(folders).space_uid(space_id)
    assert all(line.startswith(f"PRELOADED uid={uid} euid={uid} ") for line in preloaded), preloaded
    assert f"APP uid={uid} secret={secret}" in "\n".join(lines)  # the app got its variables
    assert seen["root_environ"] and seen["cmdlines"]  # bwrap (root) was there to look at
    for environ in seen["root_environ"]:
        assert b"LD_PRELOAD" not in environ and secret.encode() not in environ
    assert not any(secret.encode() in cmdline for cmdline in seen["cmdlines"])

    # Negative control: the same variable in a root-run process's environment is the space's code as root.
    control = subprocess.run(["/bin/true"], env={"LD_PRELOAD": f"{space}/evil.so"}, capture_output=True, text=True)
    assert "PRELOADED uid=0 euid=0" in control.stderr


FAKE_TOOL = """
    #!/bin/sh
    echo "FAKE $(basename "$0") ran as uid $(id -u)" >&2
    exit 0
"""


@pytest.mark.anyio
async def test_setpriv_and_sh_installed_first_on_the_apps_path_never_run_as_root(
    folders: ProcessFolders, tmp_path: Path
) -> None:
    tools = ("setpriv", "sh", "bwrap")
    scripts = [f"bin/{tool}" for tool in tools]
    setup = f"from setuptools import setup\nsetup(name='handy-tools', version='1.0', scripts={scripts!r})\n"
    space = write_space(
        tmp_path / "path", "sdk: gradio", VARIABLES_APP, requirements="./handy\n",
        files={"handy/setup.py": setup, **{f"handy/bin/{tool}": FAKE_TOOL for tool in tools}},
    )  # fmt: skip
    space_id = "mallory/path"
    lines = await _run_until_exit(ProcessBackend(folders), space, space_id, {})
    app_line = next(line for line in lines if line.startswith("APP "))
    uid = ProcessBackend(folders).space_uid(space_id)
    assert f"uid={uid}" in app_line
    assert "/bin/setpriv" in app_line and not app_line.endswith("/usr/bin/setpriv")  # the fake is first on PATH
    fakes = [line for line in lines if line.startswith("FAKE ")]
    assert fakes == [f"FAKE sh ran as uid {uid}"], lines  # only the app's own call of sh


POISON = "podium-poison-" + "0" * 8


@pytest.mark.anyio
async def test_one_owners_build_cannot_poison_what_another_owners_build_installs(
    folders: ProcessFolders, tmp_path: Path
) -> None:
    poisoner, victim = "poisoner/plant", "victim/probe"
    poisoner_cache = folders.environments / owner_folder(poisoner) / OWN_CACHE
    victim_cache = folders.environments / owner_folder(victim) / OWN_CACHE
    backend = ProcessBackend(folders)

    plant = "import os\n" + _reporting_package(
        write=["@CACHE@/" + POISON, str(victim_cache / POISON)], read=[], see=[], secret="-"
    ).replace("'@CACHE@/", "os.environ['UV_CACHE_DIR'] + '/")
    with pytest.raises(BuildError) as planted:
        await _build(backend, _attack_space(tmp_path / "plant", "plant", plant), poisoner)
    assert _report(planted.value)["wrote"] == [f"{poisoner_cache}/{POISON}"]  # its own cache only
    assert (poisoner_cache / POISON).exists()

    probe = "import os\n" + _reporting_package(
        write=[],
        read=["@CACHE@/" + POISON, str(poisoner_cache / POISON)],
        see=[str(poisoner_cache), str(folders.environments / owner_folder(poisoner))],
        secret="-",
    ).replace("'@CACHE@/", "os.environ['UV_CACHE_DIR'] + '/")
    with pytest.raises(BuildError) as probed:
        await _build(backend, _attack_space(tmp_path / "probe", "probe", probe), victim)
    report = _report(probed.value)
    assert report["read"] == [] and report["saw"] == []
    assert not (victim_cache / POISON).exists()
    assert poisoner_cache.stat().st_uid != victim_cache.stat().st_uid  # a build uid each
    assert oct(victim_cache.stat().st_mode & 0o777) == "0o700"


@pytest.mark.anyio
async def test_owners_never_share_an_environment_but_one_owners_spaces_do(
    folders: ProcessFolders, tmp_path: Path
) -> None:
    space = write_space(tmp_path / "plain", "sdk: gradio", "print('hi')\n", requirements="six\n")
    backend = ProcessBackend(folders)
    first = await _build(backend, space, "alice/one")
    same_owner = await _build(backend, space, "alice/two")
    other_owner = await _build(backend, space, "bob/one")
    assert same_owner.reused and same_owner.location == first.location
    assert other_owner.location != first.location
    env = Path(first.location)
    assert env.stat().st_uid == (folders.environments / owner_folder("alice/x") / OWN_CACHE).stat().st_uid
    # Readable by every app's uid, writable by none: nothing group- or world-writable, no set-id bit.
    for path in [env, *env.rglob("*")]:
        mode = path.lstat().st_mode
        if not path.is_symlink():
            assert mode & 0o444 == 0o444 and not mode & 0o6022, path


# Reads the first line at each (address, port), or the error's name, then fails the build to tell.
REACHING_SETUP = """
    import json, socket, sys
    seen = {}
    for address, port in TARGETS:
        try:
            with socket.create_connection((address, port), timeout=3) as connection:
                seen[address] = connection.makefile().readline().strip()
        except OSError as exc:
            seen[address] = type(exc).__name__
    print("REACHED " + json.dumps(seen), file=sys.stderr)
    sys.exit("the attack is over")
"""


def _reached(error: BuildError) -> dict[str, str]:
    line = next((line for line in error.tail if "REACHED " in line), None)
    assert line is not None, error.tail
    return json.loads(line.split("REACHED ", 1)[1])


@pytest.mark.skipif(network_unavailable_reason() is not None, reason=f"{network_unavailable_reason()}")
@pytest.mark.anyio
async def test_a_build_reaches_the_outside_but_not_the_hosts_loopback_addresses_or_metadata(
    folders: ProcessFolders, hosts: FakeHosts, tmp_path: Path
) -> None:
    with banner_server("127.0.0.1", "HOST-LOOPBACK") as loopback, banner_server(HOST_END, "HOST-ADDRESS") as own:
        targets = [("127.0.0.1", loopback), (HOST_END, own), (OUTSIDE, hosts.port), (METADATA, hosts.port)]
        setup = f"TARGETS = {targets!r}\n" + textwrap.dedent(REACHING_SETUP)
        space = _attack_space(tmp_path / "reach", "reacher", setup)
        with pytest.raises(BuildError) as sandboxed:
            await _build(ProcessBackend(folders), space, "mallory/reach")
        reached = _reached(sandboxed.value)
        assert reached[OUTSIDE] == f"FAKE-HOST {OUTSIDE}"  # downloads work
        assert reached["127.0.0.1"] != "HOST-LOOPBACK" and reached[HOST_END] != "HOST-ADDRESS"
        assert not reached[METADATA].startswith("FAKE-HOST")

        # Negative control: unsandboxed, the same build reaches the host's loopback and the metadata service.
        async with _without_the_sandbox(folders) as plain:
            with pytest.raises(BuildError) as unsandboxed:
                await _build(plain, space, "mallory/reach")
        control = _reached(unsandboxed.value)
        assert control["127.0.0.1"] == "HOST-LOOPBACK" and control[METADATA] == f"FAKE-HOST {METADATA}"
