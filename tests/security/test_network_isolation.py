"""A space's owner tries to reach what is not theirs over the network, from inside their own app.

The attacker's app answers `GET /?host=H&port=P` with what it got when it connected to H:P (the first
line the other side said, or the error), and runs a Gradio-style reload server on 7887 that names its
space. With the process backend each app has a network namespace of its own (slirp4netns): it reaches
the outside (a host the test stands up at 198.18.0.2) through Podium's proxy as before, but not a
server on the host's loopback, Podium's own ports, another space's ports, the host's own addresses, or
a fake metadata service at 169.254.169.254 that the host itself does reach. Without slirp4netns,
`--sandbox on` is refused and `auto` warns, and the same probe then does reach the host's loopback.
Docker spaces cannot reach the fake metadata service either, while a container on Docker's default
bridge can. Every packet goes to 127.0.0.1 or into namespaces the test creates (network_hosts.py).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import httpx
import pytest
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext, make_plan
from podium_runner.process import ProcessBackend, procs
from podium_runner.spec import load_spec

from tests.security import network_hosts
from tests.security.network_hosts import HOST_END, METADATA, OUTSIDE, FakeHosts, banner_server, first_line_from
from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import TEST_CACHE, free_port, shared_folders, write_space

pytestmark = pytest.mark.slow

RELOAD_PORT = 7887
PROBE_APP = f"""
    import http.server, json, os, socket, subprocess, threading, urllib.parse

    def reach(host, port):
        try:
            connection = socket.create_connection((host, port), timeout=3)
        except OSError as exc:
            return {{"connected": False, "said": type(exc).__name__}}
        with connection:
            connection.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")  # for servers that wait to be asked
            try:
                return {{"connected": True, "said": connection.makefile().readline().strip()}}
            except OSError as exc:
                return {{"connected": True, "said": type(exc).__name__}}

    class Probe(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            report = reach(query["host"][0], int(query["port"][0])) if "host" in query else {{}}
            if "ip" in query:  # a try at the namespace's routes
                done = subprocess.run(["ip", *query["ip"][0].split()], capture_output=True, text=True)
                report = {{"returncode": done.returncode, "stderr": done.stderr.strip()}}
            body = json.dumps(report).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

    def serve_reloads(reload_server):
        while True:
            connection = reload_server.accept()[0]
            connection.sendall(f"RELOAD-SERVER {{os.environ['SPACE_ID']}}\\n".encode())
            connection.close()

    # Like the spaces package's: on the host's network Podium holds 127.0.0.1:7887 (reload_port.py), the
    # bind fails and the app runs on without it.
    try:
        reload_server = socket.create_server(("0.0.0.0", {RELOAD_PORT}))
    except OSError as exc:
        print(f"no reload server: {{exc}}", flush=True)
    else:
        threading.Thread(target=serve_reloads, args=(reload_server,), daemon=True).start()
    address = (os.environ["GRADIO_SERVER_NAME"], int(os.environ["GRADIO_SERVER_PORT"]))
    print(f"listening on {{address}}", flush=True)
    http.server.ThreadingHTTPServer(address, Probe).serve_forever()
"""
PODIUM = Path(sys.executable).with_name("podium")
ATTACKER, VICTIM = "admin/net-attacker", "admin/net-victim"
hosts = network_hosts.hosts


def _probe_space(folder: Path) -> Path:
    return write_space(folder, "sdk: gradio", PROBE_APP)


def _from_inside(url: str, host: str, port: int) -> dict:
    """What the app at `url` got when it connected to host:port."""
    answer = httpx.get(url, params={"host": host, "port": port}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _app_port(podium: PodiumServer, space_id: str) -> int:
    """The host port Podium allotted to the space's app (from the process backend's saved state)."""
    for state_file in (podium.data_dir / "process" / "runs").glob("*/state.json"):
        state = json.loads(state_file.read_text())
        if state["space_id"] == space_id:
            return state["port"]
    raise AssertionError(f"no running instance of {space_id}")


def test_an_app_reaches_the_outside_but_not_the_host_podium_other_spaces_or_metadata(
    podium: PodiumServer, hosts: FakeHosts, tmp_path: Path
) -> None:
    for space_id in (VICTIM, ATTACKER):
        assert podium.push(space_id, _probe_space(tmp_path / space_id))["stage"] == "RUNNING", podium.log()
    attacker = f"{podium.spaces_url}/apps/{ATTACKER}/"  # through Podium's proxy: Podium reaches the app
    victim_port = _app_port(podium, VICTIM)

    # The outside world is reachable (this is how downloads work).
    assert _from_inside(attacker, OUTSIDE, hosts.port) == {"connected": True, "said": f"FAKE-HOST {OUTSIDE}"}

    # A fake metadata service that the host itself reaches ...
    assert first_line_from(METADATA, hosts.port) == f"FAKE-HOST {METADATA}"
    # ... is not reachable from the app, which cannot route around the block either.
    assert _from_inside(attacker, METADATA, hosts.port)["connected"] is False
    for change in (
        "route del prohibit 169.254.0.0/16",
        f"route add {METADATA}/32 via 10.0.2.2",
        f"route del prohibit {HOST_END}",
    ):
        tried = httpx.get(attacker, params={"ip": change}, timeout=30).json()
        assert tried["returncode"] != 0 and "Operation not permitted" in tried["stderr"], (change, tried)
    assert _from_inside(attacker, METADATA, hosts.port)["connected"] is False

    with (
        banner_server("127.0.0.1", "HOST-LOOPBACK-CANARY") as loopback_port,
        banner_server(HOST_END, "HOST-ADDRESS-CANARY") as address_port,
    ):
        assert first_line_from("127.0.0.1", loopback_port) == "HOST-LOOPBACK-CANARY"
        assert first_line_from(HOST_END, address_port) == "HOST-ADDRESS-CANARY"
        # The host's loopback: at 127.0.0.1 the app finds its own, and slirp's gateway does not lead there.
        for address in ("127.0.0.1", "10.0.2.2"):
            assert _from_inside(attacker, address, loopback_port)["connected"] is False, address
        # Nor do the host's own other addresses (what a host service on 0.0.0.0 listens on).
        assert _from_inside(attacker, HOST_END, address_port)["connected"] is False

    # Podium's own ports (the API and pages, the proxy), wherever the app looks for them.
    for port in (podium.port, podium.spaces_port):
        for address in ("127.0.0.1", "10.0.2.2", HOST_END):
            assert _from_inside(attacker, address, port)["connected"] is False, (address, port)

    # The other space: neither its app port nor its reload server on 7887.
    for address in ("127.0.0.1", "10.0.2.2", HOST_END):
        assert _from_inside(attacker, address, victim_port)["connected"] is False, address
        seen = _from_inside(attacker, address, RELOAD_PORT)
        assert seen["said"] != f"RELOAD-SERVER {VICTIM}", address
    # At 127.0.0.1:7887 the attacker finds only its own, and the host does not see the victim's.
    assert _from_inside(attacker, "127.0.0.1", RELOAD_PORT)["said"] == f"RELOAD-SERVER {ATTACKER}"
    assert first_line_from("127.0.0.1", RELOAD_PORT) != f"RELOAD-SERVER {VICTIM}"
    # The victim is unchanged and answers through Podium as before.
    assert httpx.get(f"{podium.spaces_url}/apps/{VICTIM}/", timeout=30).json() == {}


def _podium_run(folder: Path, port: int, sandbox: str, *, hide_slirp4netns: bool) -> subprocess.Popen[str]:
    """`podium run`, on a host without slirp4netns if asked (/dev/null over it, in a mount namespace
    of its own: the binary is not executable there, as if the package were not installed)."""
    command = [str(PODIUM), "run", str(folder), "--home", str(TEST_CACHE), "--port", str(port), "--sandbox", sandbox]
    if hide_slirp4netns:
        hide = 'mount --bind /dev/null "$(command -v slirp4netns)" && exec "$@"'
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", hide, "hide", *command]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _output_until(process: subprocess.Popen[str], marker: str, timeout: float = 120) -> str:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline and (line := process.stdout.readline()):
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"{marker!r} never came; output:\n" + "".join(lines))


def test_without_slirp4netns_sandbox_on_is_refused(tmp_path: Path) -> None:
    process = _podium_run(_probe_space(tmp_path / "space"), free_port(), "on", hide_slirp4netns=True)
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "slirp4netns not installed" in output and "apt-get install slirp4netns" in output, output


@pytest.mark.parametrize("hide_slirp4netns", [False, True], ids=["slirp4netns", "no-slirp4netns"])
def test_auto_shares_the_network_only_without_slirp4netns_and_says_so(tmp_path: Path, hide_slirp4netns: bool) -> None:
    port = free_port()
    with banner_server("127.0.0.1", "HOST-LOOPBACK-CANARY") as loopback_port:
        process = _podium_run(_probe_space(tmp_path / "space"), port, "auto", hide_slirp4netns=hide_slirp4netns)
        try:
            output = _output_until(process, "is running at")
            query = urllib.parse.urlencode({"host": "127.0.0.1", "port": loopback_port})
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/?{query}", timeout=30) as response:
                seen = json.load(response)
        finally:
            process.terminate()
            process.communicate(timeout=30)
    warned = "WARNING: apps share the host's network" in output
    if hide_slirp4netns:  # the negative control: this is what the namespace prevents
        assert warned and seen == {"connected": True, "said": "HOST-LOOPBACK-CANARY"}, output
    else:
        assert not warned and seen["connected"] is False, output


def _slirp_runs(state: dict) -> bool:
    """Whether the instance's slirp4netns (from its saved state) still runs."""
    return procs.is_same_process(state["network"]["pid"], state["network"]["start_ticks"])


@pytest.mark.anyio
async def test_the_plumbing_ends_with_its_app_even_while_podium_is_away(tmp_path: Path) -> None:
    """An app that outlives its caller keeps its network across the caller's restart; killed while
    the caller is away, its slirp4netns ends too; stopped by the next caller, nothing is left."""

    folders = shared_folders(tmp_path)
    plan = make_plan(load_spec(_probe_space(tmp_path / "space")))
    first = ProcessBackend(folders, sandbox="on", outlive_caller=True)
    env = await first.prepare(plan, lambda line: None)
    instances = []
    for name in ("killed", "stopped"):
        instance = await first.start(
            plan, env, RunContext(space_id=f"admin/{name}", port=free_port()), lambda line: None
        )
        await wait_until_ready(first, instance, "/", 60)
        instances.append(json.loads(json.dumps(instance.state)))  # as the platform stores it
    await first.close()  # the caller goes away; its apps and their plumbing stay
    killed, stopped = instances
    assert all(_slirp_runs(state) for state in instances)

    procs.signal_all(procs.tree(killed["pid"]), signal.SIGKILL)  # the app dies with nobody watching
    deadline = time.monotonic() + 10
    while _slirp_runs(killed) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not _slirp_runs(killed)

    second = ProcessBackend(folders, sandbox="on", outlive_caller=True)
    assert [state["instance_id"] for state in await second.list_orphans(set())] == [stopped["instance_id"]]
    adopted = await second.adopt(stopped, lambda line: None)
    assert adopted is not None
    assert httpx.get(adopted.url, timeout=10).json() == {}  # still forwarded after the restart
    await second.stop(adopted)
    assert not _slirp_runs(stopped)
    await second.close()
