"""Podium under load: a real `podium serve` (process backend) in front of a Gradio and a Streamlit space,
everything at once, on 127.0.0.1 only:

- wrk: CONNECTIONS concurrent HTTP connections for SECONDS to the Gradio space's page, through the proxy;
- WEBSOCKETS Streamlit sessions over WebSockets (each runs the script once, then stays open);
- SSE idle followers of a space's live run log (`/api/spaces/.../logs/run`) on the pages' port;
- CALLERS gradio_client callers of a streaming (generator) endpoint, calling again as each call ends;
- meanwhile a probe times a page (the space's page) and an API call (its runtime) every PROBE_S.

Prints one table: how many of each, how many failed (every request must succeed), the probe's p50/p99
while under load, and Podium's own resident memory (the `podium serve` process, not the apps) before, at
its peak, and after the load is gone; then the followers and sessions are opened once more, and their
peak shows whether the memory the first ones freed is reused (CPython keeps freed memory for reuse rather
than returning it to the system). Exits non-zero when a request failed, the second peak grew, or Podium
died. Environments come from the tests' shared cache (`~/.cache/podium-tests`), so only a first run builds.

    .venv/bin/python benchmarks/load.py            # 500 connections for 60 s, 200 sessions, 1000 followers, 50 callers
    .venv/bin/python benchmarks/load.py --quick    # the same, small and short (tests/reliability runs it)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from podium.server import raise_open_files_limit  # noqa: E402

from tests.support.podium_server import PodiumServer  # noqa: E402
from tests.support.process_spaces import TEST_CACHE, free_port, write_space  # noqa: E402

# `admin` owns them: the tests' cache holds admin's environments already, so no run starts with a cold build.
GRADIO, STREAMLIT = "admin/load-gradio", "admin/load-streamlit"
GRADIO_APP = """
    import time

    import gradio as gr


    def count(n: str):
        for i in range(int(n)):
            time.sleep(0.05)
            yield f"tick {i}"


    with gr.Blocks() as demo:
        text, result = gr.Textbox(), gr.Textbox()
        # No queue limit: the callers measure the proxy's streaming, not Gradio's one-at-a-time default.
        gr.Button("Count").click(count, text, result, api_name="count", concurrency_limit=None)

    demo.launch()
"""
STREAMLIT_APP = """
    import streamlit as st

    st.title("Load")
    st.write(f"Hello, {st.query_params.get('name', 'world')}!")
"""
# In Streamlit's rerun message, replaced by each session's name: as long as every name (s00000), since the
# message's protobuf fields carry their lengths.
NAME_PLACEHOLDER = b"@NAME@"
TICKS = 4  # each streaming call yields this many results
PROBE_S = 0.25
SCRIPT_RUN_S = 60  # a Streamlit session's script must have run within this
# CPython keeps most memory it freed for its next use instead of handing it back to the system, so "given back"
# is measured as reuse: the same held connections opened a second time may not raise the peak by more than this.
RSS_REUSE_MARGIN_MIB = 8.0


@dataclass(frozen=True)
class Profile:
    seconds: int
    connections: int
    websockets: int
    followers: int
    callers: int


FULL = Profile(seconds=60, connections=500, websockets=200, followers=1000, callers=50)
QUICK = Profile(seconds=5, connections=50, websockets=20, followers=100, callers=5)


@dataclass
class Tally:
    """Outcomes of one kind of load: successes, failures and the first few reasons."""

    ok: int = 0
    failed: int = 0
    reasons: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def success(self) -> None:
        with self.lock:
            self.ok += 1

    def failure(self, reason: str) -> None:
        with self.lock:
            self.failed += 1
            if len(self.reasons) < 3:
                self.reasons.append(reason[:200])


# ---- Podium's memory ----


def rss_mib(pid: int) -> float:
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else 0.0


class RssSampler(threading.Thread):
    """The peak resident memory of one process, sampled until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, rss_mib(pid), threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            self.peak = max(self.peak, rss_mib(self.pid))


# ---- the load ----


def wrk(url: str, seconds: int, connections: int) -> tuple[Tally, str]:
    """wrk's count of answered and failed requests (non-2xx/3xx, socket errors), and its rate and latencies."""
    threads = min(connections, 2)  # as benchmarks/proxy.py: wrk's threads share the cores with Podium
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    tally = Tally()
    tally.ok = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    tally.failed = non_2xx + (sum(int(n) for n in socket.groups()) if socket else 0)
    tally.ok -= non_2xx
    if tally.failed:
        tally.reasons.append(
            " ".join(line.strip() for line in out.splitlines() if "error" in line or "Non-2xx" in line)
        )
    p50, p99 = (re.search(rf"^\s+{share}%\s+(\S+)", out, re.M).group(1) for share in (50, 99))
    latency_max = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.M).group(1)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return tally, f"{rate:.0f} req/s, p50 {p50}, p99 {p99}, max {latency_max}"


async def follow_log(session: aiohttp.ClientSession, url: str, opened: Tally, stop: asyncio.Event) -> Tally:
    """One idle follower of a live log: opened, then held until `stop`; the stream must not end before."""
    outcome = Tally()
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=None, sock_connect=30)) as response:
            if response.status != 200:
                opened.failure(f"HTTP {response.status}")
                return outcome
            opened.success()
            reader = asyncio.ensure_future(response.content.read())
            waiter = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({reader, waiter}, return_when=asyncio.FIRST_COMPLETED)
            reader.cancel()
            waiter.cancel()
            if reader in done:
                outcome.failure("the log stream ended while followed")
            else:
                outcome.success()
    except (aiohttp.ClientError, OSError) as exc:
        opened.failure(f"{type(exc).__name__}: {exc}")
    return outcome


async def streamlit_session(
    session: aiohttp.ClientSession, url: str, origin: str, rerun: bytes, name: str, opened: Tally, stop: asyncio.Event
) -> Tally:
    """One Streamlit browser session: connect, run the script with ?name=NAME and see its greeting arrive,
    then stay connected until `stop`."""
    outcome = Tally()
    greeting = f"Hello, {name}!".encode()
    try:
        async with session.ws_connect(
            url, protocols=("streamlit",), origin=origin, timeout=aiohttp.ClientWSTimeout(ws_receive=None)
        ) as ws:
            await ws.send_bytes(rerun.replace(NAME_PLACEHOLDER, name.encode()))
            deadline = time.monotonic() + SCRIPT_RUN_S
            while True:
                try:
                    message = await asyncio.wait_for(ws.receive(), max(1.0, deadline - time.monotonic()))
                except TimeoutError:
                    raise ConnectionError(f"the script's greeting did not arrive within {SCRIPT_RUN_S} s") from None
                if message.type != aiohttp.WSMsgType.BINARY:
                    raise ConnectionError(
                        f"the session ended before the script ran ({message.type.name} {message.data} {message.extra})"
                    )
                if greeting in message.data:
                    break
            opened.success()
            stopped = asyncio.ensure_future(stop.wait())
            while True:  # held: whatever the app sends is read, until the load ends or the session closes
                received = asyncio.ensure_future(ws.receive())
                await asyncio.wait({received, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if stopped.done():
                    received.cancel()
                    outcome.success()
                    return outcome
                if received.result().type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                    stopped.cancel()
                    outcome.failure(f"the session closed while held ({received.result().type.name})")
                    return outcome
    except (aiohttp.ClientError, OSError, ConnectionError, TimeoutError) as exc:
        opened.failure(f"{type(exc).__name__}: {exc}")
    return outcome


class HeldConnections(threading.Thread):
    """The SSE followers and the WebSocket sessions, opened together in one event loop and held until `close`."""

    def __init__(self, server: PodiumServer, profile: Profile, rerun: bytes):
        super().__init__(daemon=True)
        self.server, self.profile, self.rerun = server, profile, rerun
        self.followers_opened, self.sessions_opened = Tally(), Tally()
        self.followers_held, self.sessions_held = Tally(), Tally()
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._hold())

    async def _hold(self) -> None:
        self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
        log = f"{self.server.url}/api/spaces/{GRADIO}/logs/run"
        ws = self.server.spaces_url.replace("http://", "ws://") + f"/apps/{STREAMLIT}/_stcore/stream"
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            followers = [
                asyncio.ensure_future(follow_log(session, log, self.followers_opened, self.stop))
                for _ in range(self.profile.followers)
            ]
            sessions = []
            for index in range(self.profile.websockets):
                coroutine = streamlit_session(
                    session, ws, self.server.spaces_url, self.rerun, f"s{index:05d}", self.sessions_opened, self.stop
                )
                sessions.append(asyncio.ensure_future(coroutine))
                if index % 10 == 9:
                    await asyncio.sleep(0.05)  # as browsers arrive, not in one instant
            watcher = asyncio.ensure_future(self._signal_ready())
            for tasks, held in ((followers, self.followers_held), (sessions, self.sessions_held)):
                for outcome in await asyncio.gather(*tasks):
                    held.ok += outcome.ok
                    held.failed += outcome.failed
                    held.reasons.extend(outcome.reasons[: 3 - len(held.reasons)])
            watcher.cancel()

    async def _signal_ready(self) -> None:
        wanted = self.profile.followers + self.profile.websockets
        while True:
            opened = self.followers_opened.ok + self.followers_opened.failed
            opened += self.sessions_opened.ok + self.sessions_opened.failed
            if opened >= wanted:
                self.ready.set()
                return
            await asyncio.sleep(0.1)

    def close(self) -> None:
        if self.loop is not None and self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.join(60)


def gradio_callers(url: str, callers: int, until: Callable[[], bool], tally: Tally, ready: threading.Event) -> None:
    """`callers` gradio_client clients, connected before the load starts (`ready`), each calling the streaming
    endpoint again as its call ends, until `until()`."""
    from gradio_client import Client

    clients: list[Client] = []
    lock = threading.Lock()

    def connect() -> None:
        try:
            client = Client(url, verbose=False, download_files=False, httpx_kwargs={"timeout": 60})
        except Exception as exc:  # a client that cannot even connect counts as a failed call
            tally.failure(f"connect: {type(exc).__name__}: {exc}")
            return
        with lock:
            clients.append(client)

    def call_until_done(client: Client) -> None:
        try:
            while not until():
                try:
                    job = client.submit(str(TICKS), api_name="/count")
                    job.result(timeout=120)
                    outputs = job.outputs()
                    if outputs and outputs[-1] == f"tick {TICKS - 1}":
                        tally.success()
                    else:
                        tally.failure(f"streamed {outputs!r}")
                except Exception as exc:
                    tally.failure(f"{type(exc).__name__}: {exc}")
        finally:
            client.close()

    connecting = [threading.Thread(target=connect, daemon=True) for _ in range(callers)]
    for thread in connecting:
        thread.start()
    for thread in connecting:
        thread.join(120)
    ready.set()
    calling = [threading.Thread(target=call_until_done, args=(client,), daemon=True) for client in clients]
    for thread in calling:
        thread.start()
    for thread in calling:
        thread.join(180)


class Probe(threading.Thread):
    """Times of the space's page and of an API call, one after the other every PROBE_S, until `finished`."""

    def __init__(self, server: PodiumServer, finished: threading.Event):
        super().__init__(daemon=True)
        self.server, self.finished = server, finished
        self.page_ms: list[float] = []
        self.api_ms: list[float] = []
        self.tally = Tally()

    def run(self) -> None:
        paths = ((f"/spaces/{GRADIO}", self.page_ms), (f"/api/spaces/{GRADIO}/runtime", self.api_ms))
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            while not self.finished.is_set():
                for path, times in paths:
                    started = time.perf_counter()
                    try:
                        client.get(path).raise_for_status()
                        times.append((time.perf_counter() - started) * 1000)
                        self.tally.success()
                    except httpx.HTTPError as exc:
                        self.tally.failure(f"{path}: {exc}")
                self.finished.wait(PROBE_S)

    def figures(self) -> str:
        """p50 and p99 of the page and the API call, in ms."""

        def at(values: list[float], share: float) -> str:
            return f"{sorted(values)[min(len(values) - 1, int(share * len(values)))]:.0f}" if values else "-"

        page, api = self.page_ms, self.api_ms
        return f"p50 {at(page, 0.5)} / {at(api, 0.5)} ms, p99 {at(page, 0.99)} / {at(api, 0.99)} ms"


# ---- set-up ----


def streamlit_rerun_message(server: PodiumServer) -> bytes:
    """Streamlit's "run the script" message with a placeholder name, made by the space's own Python (it has
    Streamlit's protobuf classes), so the load needs no protobuf of its own."""
    owner, _, name = STREAMLIT.partition("/")
    with sqlite3.connect(server.data_dir / "podium.db") as db:
        (state,) = db.execute(
            "SELECT instance_state FROM spaces WHERE owner = ? AND name = ?", (owner, name)
        ).fetchone()
    env_key = json.loads(state)["env_key"]
    candidates = sorted(TEST_CACHE.glob(f"environments/{owner}-*/{env_key}*/bin/python"))
    if not candidates:
        raise SystemExit(f"no environment {env_key} of {owner}'s under {TEST_CACHE}/environments")
    python = candidates[-1]
    code = (
        "import sys; from streamlit.proto.BackMsg_pb2 import BackMsg; m = BackMsg(); "
        f"m.rerun_script.query_string = 'name={NAME_PLACEHOLDER.decode()}'; "
        "sys.stdout.buffer.write(m.SerializeToString())"
    )
    return subprocess.run([str(python), "-c", code], capture_output=True, check=True, timeout=60).stdout


def start_spaces(server: PodiumServer, folder: Path) -> float:
    """Push both spaces and wait until they run; the seconds it took (builds, when the cache is cold)."""
    started = time.monotonic()
    gradio = write_space(folder / "gradio", "sdk: gradio", GRADIO_APP)
    streamlit = write_space(folder / "streamlit", "sdk: streamlit", STREAMLIT_APP)
    api = server.api()
    for space_id, sdk, path in ((GRADIO, "gradio", gradio), (STREAMLIT, "streamlit", streamlit)):
        api.create_repo(space_id, repo_type="space", space_sdk=sdk)
        api.upload_folder(repo_id=space_id, folder_path=path, repo_type="space")
    for space_id in (GRADIO, STREAMLIT):
        stage = server.wait_for_stage(space_id, timeout=900)["stage"]
        if stage != "RUNNING":
            raise SystemExit(f"{space_id} did not start ({stage}):\n{server.log()[-3000:]}")
    for path in (f"/apps/{GRADIO}/", f"/apps/{STREAMLIT}/"):
        httpx.get(server.spaces_url + path, timeout=60).raise_for_status()
    return time.monotonic() - started


# ---- the run ----


def run(profile: Profile, tmp: Path) -> int:
    limit = raise_open_files_limit()  # this script's own thousands of sockets
    server = PodiumServer(tmp / "data", free_port(), free_port(), {"PODIUM_SECRETS_KEY_FILE": str(tmp / "secrets.key")})
    server.start()
    try:
        setup_s = start_spaces(server, tmp / "spaces")
        rerun = streamlit_rerun_message(server)
        pid = server.process.pid
        time.sleep(2)
        rss_before = rss_mib(pid)
        sampler = RssSampler(pid)
        sampler.start()

        load_started = time.monotonic()
        held = HeldConnections(server, profile, rerun)
        held.start()
        if not held.ready.wait(120):
            raise SystemExit("the followers and sessions did not all open within 120 s")
        open_s = time.monotonic() - load_started

        finished = threading.Event()
        calls, callers_started = Tally(), threading.Event()
        callers = threading.Thread(
            target=gradio_callers,
            args=(f"{server.spaces_url}/apps/{GRADIO}/", profile.callers, finished.is_set, calls, callers_started),
            daemon=True,
        )
        callers.start()
        prober = Probe(server, finished)
        prober.start()
        callers_started.wait(150)
        http, http_figures = wrk(f"{server.spaces_url}/apps/{GRADIO}/", profile.seconds, profile.connections)
        finished.set()
        callers.join(180)
        prober.join(60)
        peak_during = sampler.peak
        held.close()
        load_s = time.monotonic() - load_started

        time.sleep(5)  # the closed connections' buffers and tasks are let go
        rss_after, first_peak = rss_mib(pid), sampler.peak
        # The followers and sessions again: their memory is taken from what the first ones gave back.
        again = HeldConnections(server, profile, rerun)
        again.start()
        again.ready.wait(120)
        again.close()
        time.sleep(5)
        sampler.stopped.set()
        second_peak, rss_after_again = sampler.peak, rss_mib(pid)
        alive = server.process.poll() is None
    finally:
        server.stop()

    rows = [
        (f"HTTP, wrk -c{profile.connections} {profile.seconds} s", http, http_figures),
        (f"Streamlit WebSocket sessions ({profile.websockets})", held.sessions_opened, "ran the script"),
        ("  held to the end", held.sessions_held, ""),
        (f"idle SSE log followers ({profile.followers})", held.followers_opened, f"all open in {open_s:.1f} s"),
        ("  held to the end", held.followers_held, ""),
        ("followers and sessions again, after the load", again.followers_opened, ""),
        ("  held to the end", again.followers_held, ""),
        ("  sessions", again.sessions_opened, ""),
        (f"gradio_client streaming calls ({profile.callers} callers)", calls, f"{TICKS} results each"),
        (
            "probe: space page / API runtime",
            prober.tally,
            prober.figures(),
        ),
    ]
    print(
        f"\nPodium under load: {load_s:.0f} s of load (set-up {setup_s:.0f} s); all on 127.0.0.1; "
        f"open files limit {limit}\n"
    )
    print(f"{'load':<48} {'ok':>8} {'failed':>7}  figures")
    failed = 0
    for name, tally, figures in rows:
        print(f"{name:<48} {tally.ok:>8} {tally.failed:>7}  {figures}")
        failed += tally.failed
        for reason in tally.reasons:
            print(f"{'':<48} {'':>8} {'':>7}  failure: {reason}")
    reused = second_peak <= first_peak + RSS_REUSE_MARGIN_MIB
    print(
        f"\nPodium's RSS: before {rss_before:.0f} MiB, peak {first_peak:.0f} MiB (x{first_peak / rss_before:.2f}; "
        f"{peak_during:.0f} MiB with everything open), after {rss_after:.0f} MiB; the held connections again: "
        f"peak {second_peak:.0f} MiB, after {rss_after_again:.0f} MiB "
        f"({'reused' if reused else 'NOT reused: it grew'}; at most +{RSS_REUSE_MARGIN_MIB:.0f} MiB allowed)"
    )
    print(f"failed requests: {failed}; podium serve {'still running' if alive else 'DIED'}")
    return 0 if failed == 0 and reused and alive else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"a short run: {QUICK}")
    parser.add_argument("--seconds", type=int, help="override the HTTP load's duration")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (scripts/test installs it)")
    profile = QUICK if args.quick else FULL
    if args.seconds:
        profile = Profile(args.seconds, profile.connections, profile.websockets, profile.followers, profile.callers)
    tmp = Path(tempfile.mkdtemp(prefix="podium-bench-load-"))
    try:
        code = run(profile, tmp)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
