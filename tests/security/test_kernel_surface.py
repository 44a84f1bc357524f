"""A space's owner goes for the kernel from inside their own app: the calls kernel exploits start from.

The attacker's app tries each call with ctypes (call numbers resolved on the host by libseccomp, so
the probe is the same on any architecture) and reports the errno it got: a new user namespace (the
door to mounting filesystems as "root"), mount, ptrace of its own child, bpf, the keyrings,
perf_event_open, io_uring, userfaultfd, loading a kernel module, clone with CLONE_NEWNS, a personality
that makes memory executable, a 32-bit `int 0x80` call around the 64-bit rules. Under the sandbox's
seccomp filter each fails with EPERM (clone3 with ENOSYS, so glibc falls back to clone) while threads,
subprocesses and multiprocessing pools work and /proc/self/status says "Seccomp: 2". The negative
control runs the same app with the filter left out: there the user namespace, a mount inside it and
the rest go through. A build runs under the same filter: a setup.py gets EPERM too.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import aiohttp
import pyseccomp
import pytest
from podium_runner.backend import BuildError
from podium_runner.plan import make_plan
from podium_runner.process import ProcessBackend, ProcessFolders
from podium_runner.spec import load_spec

from tests.runner.conftest import running
from tests.security.sandbox_fixtures import folders  # noqa: F401 (a fixture)
from tests.support.process_spaces import stdlib_app, write_space

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root to switch uids (CI runs as root)"),
]

CALLS = (
    "unshare", "clone", "clone3", "mount", "ptrace", "bpf", "keyctl", "add_key", "perf_event_open",
    "io_uring_setup", "userfaultfd", "init_module", "finit_module", "personality", "setns",
    "process_vm_readv", "open_by_handle_at", "kexec_load", "fsopen", "getpid",
)  # fmt: skip
NUMBERS = {name: pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name) for name in CALLS}

PROBE = f"""
import ctypes, errno, mmap, multiprocessing, os, signal, subprocess, sys, threading, time

NR = {NUMBERS!r}
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
CLONE_NEWNS, CLONE_NEWUSER, SIGCHLD = 0x00020000, 0x10000000, 17
READ_IMPLIES_EXEC = 0x0400000

def call(name, *args):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(NR[name]), *(ctypes.c_long(a) for a in args))
    return ("ok", result) if result >= 0 else (errno.errorcode.get(ctypes.get_errno(), "?"), result)

def outcome(name, *args):
    return call(name, *args)[0]

def in_child(attempt):
    # What `attempt` says, run in a forked child: it may change the process for good.
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(writer, attempt().encode())
        finally:
            os._exit(0)
    os.close(writer)
    os.waitpid(pid, 0)
    with os.fdopen(reader) as said:
        return said.read()

def user_namespace_then_mount():
    # The classic chain: a new user namespace makes the app "root" there, and root may mount.
    state = outcome("unshare", CLONE_NEWUSER | CLONE_NEWNS)
    if state != "ok":
        return state
    return "ok" if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0 else errno.errorcode[ctypes.get_errno()]

def clone_new_mount_namespace():
    state, pid = call("clone", CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0)
    if state == "ok" and pid == 0:
        os._exit(0)  # the clone itself
    if state == "ok":
        os.waitpid(pid, 0)
    return state

def ptrace_own_child():
    child = os.fork()
    if child == 0:
        time.sleep(30)
        os._exit(0)
    state = outcome("ptrace", 16, child, 0, 0)  # PTRACE_ATTACH
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    return state

def i386_getpid():
    # mov eax, 20 (getpid in the 32-bit table); int 0x80; ret: a call the 64-bit rules never see.
    code = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    code.write(bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3]))
    result = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(code)))()
    return "ok" if result == os.getpid() else errno.errorcode.get(-result, result)

def square(number):
    return number * number

REPORT["calls"] = {{
    "unshare(CLONE_NEWUSER)": in_child(lambda: outcome("unshare", CLONE_NEWUSER)),
    "unshare(CLONE_NEWUSER) then mount": in_child(user_namespace_then_mount),
    "clone(CLONE_NEWNS)": clone_new_mount_namespace(),
    "clone3": outcome("clone3", 0, 0),
    "mount": outcome("mount", 0, 0, 0, 0, 0),
    "ptrace(PTRACE_ATTACH, own child)": ptrace_own_child(),
    "bpf": outcome("bpf", 0, 0, 0),
    "keyctl(KEYCTL_GET_KEYRING_ID)": outcome("keyctl", 0, -3, 1),
    "perf_event_open": outcome("perf_event_open", 0, 0, -1, -1, 0),
    "io_uring_setup": outcome("io_uring_setup", 1, 0),
    "userfaultfd": outcome("userfaultfd", 0),
    "init_module": outcome("init_module", 0, 0, 0),
    "finit_module": outcome("finit_module", -1, 0, 0),
    "kexec_load": outcome("kexec_load", 0, 0, 0, 0),
    "setns": outcome("setns", -1, 0),
    "process_vm_readv": outcome("process_vm_readv", os.getpid(), 0, 0, 0, 0, 0),
    "open_by_handle_at": outcome("open_by_handle_at", -1, 0, 0),
    "fsopen": outcome("fsopen", 0, 0),
    "personality(READ_IMPLIES_EXEC)": in_child(lambda: outcome("personality", READ_IMPLIES_EXEC)),
    "personality(READ_IMPLIES_EXEC | bit 31)": in_child(lambda: outcome("personality", READ_IMPLIES_EXEC | 1 << 31)),
}}
if {platform.machine() == "x86_64"!r}:
    REPORT["calls"]["int 0x80 getpid"] = i386_getpid()
# What every app does must still work.
REPORT["personality query"] = outcome("personality", 0xFFFFFFFF)
thread_ran = []
worker = threading.Thread(target=lambda: thread_ran.append(True))
worker.start(); worker.join()
REPORT["thread"] = thread_ran == [True]
REPORT["subprocess"] = subprocess.run(["/bin/echo", "hi"], capture_output=True, text=True).stdout
REPORT["fork pool"] = multiprocessing.get_context("fork").Pool(2).map(square, [2, 3])
# A spawned worker imports the main module again: this one would probe (and spawn) once more.
SPAWN = ("import multiprocessing as mp\\n"
         "if __name__ == '__main__': print(mp.get_context('spawn').Pool(2).map(abs, [-2, -3]))")
REPORT["spawn pool"] = subprocess.run([sys.executable, "-c", SPAWN], capture_output=True, text=True).stdout
REPORT["status"] = {{line.split(":")[0]: line.split()[1] for line in open("/proc/self/status")
                    if line.startswith(("Seccomp:", "NoNewPrivs:"))}}
"""


async def _report(backend: ProcessBackend, folder: Path, space_id: str) -> dict:
    async with running(backend, folder, space_id=space_id) as space:
        async with aiohttp.ClientSession() as session, session.get(space.instance.url + "/") as response:
            assert response.status == 200
            return json.loads(await response.text())


@pytest.mark.anyio
async def test_the_kernels_dangerous_calls_are_refused_and_ordinary_ones_work(
    folders: ProcessFolders,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    space = write_space(tmp_path / "attacker", "sdk: gradio", stdlib_app(PROBE))
    report = await _report(ProcessBackend(folders, sandbox="on"), space, "mallory/kernel")
    # clone3 and the 32-bit calls say "not implemented": glibc then uses clone, a 32-bit program stops.
    refused = {call: "ENOSYS" if call in ("clone3", "int 0x80 getpid") else "EPERM" for call in report["calls"]}
    assert report["calls"] == refused
    assert report["status"] == {"Seccomp": "2", "NoNewPrivs": "1"}
    assert report["personality query"] == "ok" and report["thread"] is True
    assert report["subprocess"] == "hi\n"
    assert report["fork pool"] == [4, 9] and report["spawn pool"] == "[2, 3]\n"


@pytest.mark.anyio
async def test_without_the_filter_the_same_app_gets_a_user_namespace_and_mounts(
    folders: ProcessFolders,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    """The negative control: the sandbox as it was before the filter (uid dropped, no capabilities)."""
    space = write_space(tmp_path / "attacker", "sdk: gradio", stdlib_app(PROBE))
    backend = ProcessBackend(folders, sandbox="on")
    backend.kernel_filtered = False
    report = await _report(backend, space, "mallory/kernel-unfiltered")
    calls = report["calls"]
    assert calls["unshare(CLONE_NEWUSER)"] == "ok" and calls["unshare(CLONE_NEWUSER) then mount"] == "ok"
    assert calls["ptrace(PTRACE_ATTACH, own child)"] == "ok"
    assert calls["keyctl(KEYCTL_GET_KEYRING_ID)"] == "ok"
    assert calls["personality(READ_IMPLIES_EXEC)"] == "ok"
    assert calls.get("int 0x80 getpid", "ok") == "ok"
    assert report["status"]["Seccomp"] == "0"


# A `./evilpkg` requirement whose setup.py tries for a user namespace while the environment builds,
# then fails the build so that uv prints what it found.
EVIL_SETUP = f"""
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
unshare = "ok" if libc.syscall({NUMBERS["unshare"]}, 0x10000000) == 0 else errno.errorcode[ctypes.get_errno()]
seccomp = [line.split()[1] for line in open("/proc/self/status") if line.startswith("Seccomp:")][0]
print(f"REPORT unshare={{unshare}} seccomp={{seccomp}}", file=sys.stderr)
sys.exit("the attack is over")
"""


@pytest.mark.anyio
async def test_a_builds_setup_py_gets_no_user_namespace_either(
    folders: ProcessFolders,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    space = write_space(
        tmp_path / "evil", "sdk: gradio", "print('never started')\n", requirements="./evilpkg\n",
        files={"evilpkg/setup.py": EVIL_SETUP},
    )  # fmt: skip
    backend = ProcessBackend(folders, sandbox="on")
    with pytest.raises(BuildError) as caught:
        await backend.prepare(make_plan(load_spec(space)), lambda _line: None, space_id="mallory/evil-build")
    assert any("REPORT unshare=EPERM seccomp=2" in line for line in caught.value.tail), caught.value.tail
