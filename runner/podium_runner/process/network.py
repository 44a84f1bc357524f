"""A network namespace of its own for each sandboxed app, plumbed to the outside by slirp4netns (netns.md).

bwrap gives the app an empty network namespace (`--unshare-net`) and holds the app back (`--block-fd`)
until Podium has plumbed it. Podium, still root, then:

1. starts Debian's `slirp4netns` on the namespace's first process: a user-mode TCP/IP stack that
   carries the app's connections out through ordinary sockets of the host (downloads work; DNS goes
   through slirp's 10.0.2.3), with `--disable-host-loopback`, so the gateway 10.0.2.2 does not lead to
   the host's 127.0.0.1 (Podium's ports, other spaces' forwarded ports, any host-local service), and
   with its own sandbox and seccomp filter;
2. adds `prohibit` routes inside the namespace for link-local 169.254.0.0/16 (cloud metadata) and
   for each of the host's own IPv4 addresses (where every host service listening on 0.0.0.0
   answers). Routes in the app's own namespace die with it, leave no rule on the host,
   and the app cannot remove them: that takes CAP_NET_ADMIN over a namespace owned by the host's
   user namespace, and the app runs with no capability at all. Addresses the host gains after the
   app started are not covered until it restarts; slirp4netns carries no IPv6 (no `--enable-ipv6`);
   other hosts of the host's own networks stay reachable, as for any host process (the operator's
   firewall decides there);
3. forwards the port Podium allotted, on the host address Podium reaches apps at, to the same port
   inside, where the app listens on 0.0.0.0: only that port answers from outside, and only there.

Other spaces are apart by construction: each has its own namespace, its own 10.0.2.0/24 and its own
loopback. slirp4netns stops when the app's last process has gone (it holds `--exit-fd`'s read end, the
app's tree its write end), and Podium stops it when it releases the instance; being in a session of
its own, it outlives a restart of Podium together with an app that does, and is adopted with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium_runner.backend import StartError
from podium_runner.process import procs
from podium_runner.process.sandbox import ROOT_ENVIRONMENT, system_tool

# Where the app listens inside its namespace: slirp4netns delivers forwarded connections to the
# namespace's tap address, which a listener on 127.0.0.1 would not see.
INSIDE_HOST = "0.0.0.0"
SLIRP_DNS = "10.0.2.3"
METADATA_NETWORK = "169.254.0.0/16"
TOOLS = ("slirp4netns", "nsenter", "ip")
REFUSED_VARIABLE = "PODIUM_APP_REFUSED_NETWORKS"
_TAP = "tap0"
_PLUMBING_TIMEOUT_S = 10.0


def network_unavailable_reason() -> str | None:
    """Why apps cannot get a network namespace of their own here, or None when they can."""
    missing = [tool for tool in TOOLS if system_tool(tool) is None]
    if missing:
        return (
            f"{' and '.join(missing)} not installed, so apps would share the host's network "
            f"(Debian: apt-get install slirp4netns iproute2 util-linux)"
        )
    return None


def host_addresses() -> list[str]:
    """The host's own IPv4 addresses, loopback aside (127.0.0.0/8 inside the namespace is its own)."""
    listing = subprocess.run(
        [_required("ip"), "-4", "-j", "addr", "show"], capture_output=True, text=True, check=True, env=ROOT_ENVIRONMENT
    )
    return sorted(
        {
            address["local"]
            for link in json.loads(listing.stdout)
            for address in link.get("addr_info", [])
            if not address["local"].startswith("127.")
        }
    )


def refused() -> list[str]:
    """Further addresses or networks no app may reach, from `REFUSED_VARIABLE` (comma-separated): a cluster
    node runs each app with every Ray node's address here (podium_runner.ray.actor)."""
    return [item.strip() for item in os.environ.get(REFUSED_VARIABLE, "").split(",") if item.strip()]


def _required(name: str) -> str:
    path = system_tool(name)
    if path is None:
        raise StartError(f"{name} is not installed: {network_unavailable_reason()}")
    return path


@dataclass
class AppNetwork:
    """The plumbing of one app's namespace, from bwrap's command line to a forwarded port.

    Use: `bwrap_args()` into the sandbox's command line, start it with `child_fds` passed, then
    `await plumb(its pid)`; `saved()` goes into the instance's state, for `stop_saved` once it ended."""

    run_dir: Path
    host: str  # where Podium reaches the app, on the host
    port: int | None  # the port Podium allotted, the same inside; None (a build): nothing reaches in
    _info: tuple[int, int] = field(default_factory=os.pipe, init=False)  # bwrap tells its child's pid
    _block: tuple[int, int] = field(default_factory=os.pipe, init=False)  # bwrap waits for a byte
    _exit: tuple[int, int] = field(default_factory=os.pipe, init=False)  # slirp4netns stops at EOF
    _slirp: dict[str, int] | None = field(default=None, init=False)
    namespace_pid: int | None = field(default=None, init=False)  # the namespace's first process, once plumbed

    @property
    def child_fds(self) -> tuple[int, ...]:
        """The descriptors the sandbox's process must inherit."""
        return self._info[1], self._block[0], self._exit[1]

    def bwrap_args(self) -> list[str]:
        """bwrap options: a namespace of its own, held until `plumb`, resolving names through slirp."""
        resolv = self.run_dir / "resolv.conf"
        resolv.write_text(f"nameserver {SLIRP_DNS}\n")
        resolv.chmod(0o644)
        return [
            "--unshare-net",
            "--info-fd",
            str(self._info[1]),
            "--block-fd",
            str(self._block[0]),
            "--ro-bind",
            str(resolv),
            "/etc/resolv.conf",
        ]

    async def plumb(self, sandbox_pid: int) -> None:
        """Connect the namespace of the sandbox started as `sandbox_pid`, then let the app run. On
        failure the sandbox is killed before the app's first instruction."""
        for fd in self.child_fds:  # the sandbox holds its own copies; an EOF must reach their readers
            os.close(fd)
        # slirp4netns's API socket, in a folder root's alone (a socket's path has at most 107 bytes, which a
        # run folder's may exceed). It goes once the port is forwarded, so that nobody adds forwards later.
        api_folder = Path(tempfile.mkdtemp(prefix="podium-slirp-"))
        step = "learning the namespace's first process from bwrap"
        try:
            info = await asyncio.wait_for(asyncio.to_thread(_read_json, self._info[0]), _PLUMBING_TIMEOUT_S)
            self.namespace_pid = info["child-pid"]
            step = "waiting for bwrap to bring up the namespace's loopback"
            await asyncio.wait_for(_loopback_up(info["child-pid"]), _PLUMBING_TIMEOUT_S)
            step = "starting slirp4netns"
            await self._start_slirp(info["child-pid"], api_folder / "api.sock")
            step = "refusing the host's addresses and link-local ones"
            refusing = sorted({METADATA_NETWORK, *host_addresses(), *refused()})
            await asyncio.to_thread(_prohibit, info["child-pid"], refusing)
            if self.port is not None:
                step = f"forwarding {self.host}:{self.port} to the app"
                await self._forward_port(api_folder / "api.sock")
            step = "letting the app start (the sandbox stopped before: its log says why)"
            os.write(self._block[1], b"1")
        except (OSError, KeyError, TimeoutError, subprocess.CalledProcessError, ValueError, StartError) as exc:
            procs.signal_all(procs.tree(sandbox_pid), signal.SIGKILL)  # before `finally` unblocks it
            stop_saved(self._slirp)
            detail = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) else exc
            messages = self._log_path().read_text(errors="replace").strip() if self._log_path().exists() else ""
            raise StartError(
                f"could not give the app a network of its own ({step}): {detail}"
                + (f"\nslirp4netns said:\n{messages[-2000:]}" if messages else "")
            ) from None
        finally:
            shutil.rmtree(api_folder, ignore_errors=True)
            for fd in (self._info[0], self._block[1], self._exit[0]):  # slirp4netns holds its own copy
                os.close(fd)

    def saved(self) -> dict[str, int] | None:
        """slirp4netns's identity, for the instance's saved state."""
        return self._slirp

    def _log_path(self) -> Path:
        return self.run_dir / "slirp4netns.log"

    async def _start_slirp(self, pid: int, api_socket: Path) -> None:
        ready_read, ready_write = os.pipe()
        try:
            with self._log_path().open("ab") as log:
                slirp = subprocess.Popen(
                    [
                        _required("slirp4netns"),
                        "--configure",
                        "--mtu=65520",
                        "--disable-host-loopback",
                        "--enable-sandbox",
                        "--enable-seccomp",
                        "--api-socket",
                        str(api_socket),
                        "--ready-fd",
                        str(ready_write),
                        "--exit-fd",
                        str(self._exit[0]),
                        str(pid),
                        _TAP,
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=ROOT_ENVIRONMENT,
                    pass_fds=(ready_write, self._exit[0]),
                    start_new_session=True,  # not stopped with Podium: it serves an app that may outlive it
                )
            self._slirp = {"pid": slirp.pid, "start_ticks": procs.start_ticks(slirp.pid) or 0}
        finally:
            os.close(ready_write)
        try:
            ready = await asyncio.wait_for(asyncio.to_thread(os.read, ready_read, 1), _PLUMBING_TIMEOUT_S)
        finally:
            os.close(ready_read)
        if ready != b"1":
            raise OSError(f"slirp4netns stopped before the namespace was ready (exit code {slirp.poll()})")

    async def _forward_port(self, socket_path: Path) -> None:
        """Forward host:port to the app's port inside."""
        request = {
            "execute": "add_hostfwd",
            "arguments": {"proto": "tcp", "host_addr": self.host, "host_port": self.port, "guest_port": self.port},
        }
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(socket_path)), _PLUMBING_TIMEOUT_S)
        try:
            writer.write(json.dumps(request).encode())
            writer.write_eof()
            answer = json.loads(await asyncio.wait_for(reader.read(), _PLUMBING_TIMEOUT_S) or b"{}")
        finally:
            writer.close()
        if "return" not in answer:
            raise OSError(f"slirp4netns did not forward {self.host}:{self.port} to the app: {answer}")


def _read_json(fd: int) -> dict[str, Any]:
    """One JSON object from a pipe whose writer may keep it open after writing it."""
    data = b""
    while chunk := os.read(fd, 4096):
        data += chunk
        with contextlib.suppress(ValueError):
            return json.loads(data)
    raise OSError("bwrap stopped before it created the namespace (see the app's log)")


async def _loopback_up(pid: int) -> None:
    """Wait until bwrap has given the namespace of `pid` its loopback: slirp4netns configuring the
    namespace meanwhile makes bwrap's own request fail ("loopback: Failed RTM_NEWADDR"). The kernel
    lists 127.0.0.1 among the namespace's local routes once lo has it and is up."""
    while "127.0.0.1" not in Path(f"/proc/{pid}/net/fib_trie").read_text():
        await asyncio.sleep(0.005)


def _prohibit(pid: int, destinations: list[str]) -> None:
    """Routes in the namespace of `pid` that refuse every connection to `destinations`."""
    commands = "".join(f"route add prohibit {destination}\n" for destination in destinations)
    subprocess.run(
        [_required("nsenter"), f"--net=/proc/{pid}/ns/net", "--", _required("ip"), "-batch", "-"],
        input=commands,
        text=True,
        capture_output=True,
        check=True,
        env=ROOT_ENVIRONMENT,
    )


def stop_saved(saved: dict[str, int] | None) -> None:
    """Stop the slirp4netns of an ended instance (it stops by itself once the app's last process has
    gone; this also reaps it when this process started it)."""
    if not saved or procs.start_ticks(saved["pid"]) != saved["start_ticks"]:
        return  # gone already: the pid may be another process's now
    with contextlib.suppress(ProcessLookupError):
        os.kill(saved["pid"], signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):  # another Podium started it: init reaps it
        os.waitpid(saved["pid"], 0)
