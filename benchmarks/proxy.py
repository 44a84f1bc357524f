"""Podium's proxy against direct access and nginx, side by side, in one run.

    .venv/bin/python benchmarks/proxy.py [--seconds 5] [--connections 50] [--sse-runs 10] [--baseline REV]

Targets, each on 127.0.0.1: the app itself ("direct"), Podium's ProxyApp served the way `podium
serve` serves its spaces origin (`podium.server.spaces_origin_config`, its garbage collection settings,
asyncio's loop), and nginx (Debian's package; installed here if missing, skipped with a message when
that fails) with one worker, upstream keep-alive and `proxy_buffering off`. Endpoints: a Gradio API endpoint
(`gradio_api/info`), a small static file from a minimal app, and the time to the first event of a
Gradio SSE stream. wrk, the proxies and the apps share the machine's cores, so the ratios reflect
CPU per request; each Podium proxy's own CPU per request is printed too, which other work on a shared
machine changes less than requests/s. `--baseline REV` adds Podium's proxy as of git revision REV as
one more target, served by that revision's own copy of this script, for before and after figures from
one run.

Then the whole path a visitor of a static space takes, as users get it: a real `podium serve` (its
resolver, its files backend) against nginx serving the same file from disk, with the connections above
and on one connection, whose latency shows a response held back per request (Nagle's algorithm against
a delayed ACK cost static spaces 40 ms a request until it was measured here).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from podium_runner.process import ProcessBackend  # noqa: E402

from tests.proxy.proxy_harness import SpaceRunner, wait_for  # noqa: E402
from tests.support.podium_server import PodiumServer  # noqa: E402
from tests.support.process_spaces import free_port, shared_folders, write_space  # noqa: E402

STATIC_BODY = b"<!doctype html><title>static space</title><p>Hello from a static space.</p>\n"
GRADIO, STATIC = "demo/echo", "demo/static"

NGINX_CONF = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    upstream gradio {{ server {gradio}; keepalive 64; }}
    upstream static {{ server {static}; keepalive 64; }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
    server {{
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_buffering off;
        proxy_read_timeout 1h;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        location /apps/{gradio_id}/ {{ proxy_pass http://gradio; }}
        location /apps/{static_id}/ {{ proxy_pass http://static; }}
        location /site/ {{ alias {tmp}/site/; }}
    }}
}}
"""


# ---- the servers this script starts as its own subprocesses ----


def serve_static(port: int) -> None:
    """A small static file from a minimal raw-ASGI app (uvloop, httptools), so that the upstream is
    cheap and the figures show what each proxy costs."""
    import uvicorn

    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(STATIC_BODY)).encode()),
    ]

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": STATIC_BODY})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


def serve_podium(port: int, upstreams: list[str]) -> None:
    """ProxyApp with a dict resolver, served as `podium serve` serves its spaces origin: the same uvicorn
    settings, on the same event loop."""
    import uvicorn
    from podium.proxy import ProxyApp, Upstream
    from podium.server import spaces_origin_config, tune_garbage_collection

    table = {}
    for item in upstreams:
        space_id, url = item.split("=", 1)
        table[space_id] = Upstream(url, prefix=f"/apps/{space_id}", frame_ancestors="'self'")

    async def resolve(owner: str, name: str, scope) -> Upstream | None:
        return table.get(f"{owner}/{name}")

    tune_garbage_collection()
    # asyncio's own loop, as `podium serve` runs: uvloop measured no cheaper per request here (git log f231a9a).
    asyncio.run(uvicorn.Server(spaces_origin_config(ProxyApp(resolve), "127.0.0.1", port)).serve())


def baseline_tree(rev: str, into: Path) -> Path:
    """The tree as of git revision `rev` (what its proxy and this script need), extracted into `into`."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "platform", "runner", "benchmarks", "tests"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


@contextlib.contextmanager
def subprocess_server(
    args: list[str], health: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        try:
            wait_for(health, 30, process)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:  # a server still draining its connections: the figures matter more
                process.kill()
                process.wait(10)


def nginx_available() -> str | None:
    """Path of nginx, installing Debian's package when missing; None (with a message) when impossible."""
    found = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
    if found:
        return found
    if shutil.which("apt-get"):
        print("nginx is not installed; installing Debian's nginx package for the comparison ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], capture_output=True)
        found = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
    if not found:
        print("nginx could not be installed (apt-get install nginx failed): skipping the nginx column.")
    return found or None


# ---- measurements ----


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system, all threads) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    @staticmethod
    def median(loads: list[Load]) -> Load:
        return Load(
            rps=statistics.median(load.rps for load in loads),
            p50_ms=statistics.median(load.p50_ms for load in loads),
            p99_ms=statistics.median(load.p99_ms for load in loads),
            errors=sum(load.errors for load in loads),
        )


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"wrk printed a latency this script cannot read: {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, seconds: int, connections: int) -> Load:
    out = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Load(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        errors=errors,
    )


async def sse_first_event_ms(base: str, runs: int) -> float:
    """Median time from asking for a streamed result (POST) to the first byte of its event stream."""
    times = []
    async with aiohttp.ClientSession() as session:
        for _ in range(runs):
            started = time.perf_counter()
            async with session.post(f"{base}/gradio_api/call/count", json={"data": ["2"]}) as response:
                event_id = (await response.json())["event_id"]
            async with session.get(f"{base}/gradio_api/call/count/{event_id}") as stream:
                await stream.content.readany()
                times.append((time.perf_counter() - started) * 1000)
                await stream.read()  # let the job finish before the next run
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per target and endpoint")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sse-runs", type=int, default=10)
    parser.add_argument("--baseline", metavar="REV", help="also measure Podium's proxy as of this git revision")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="podium-bench-proxy-"))
    me = [sys.executable, __file__]

    with contextlib.ExitStack() as stack:
        # No cgroup limits: the app would get one CPU and cap every column alike.
        runner = SpaceRunner(ProcessBackend(shared_folders(tmp), limits=None))
        stack.callback(runner.close)
        gradio = stack.enter_context(runner.running("echo", GRADIO)).url
        static_port = free_port()
        static = f"http://127.0.0.1:{static_port}"
        stack.enter_context(
            subprocess_server([*me, "serve-static", str(static_port)], f"{static}/apps/{STATIC}/", tmp / "static.log")
        )

        def serve_proxy(name: str, script: Path, env: dict[str, str] | None = None) -> None:
            """Podium's proxy in front of both apps, served by `script` (this one, or a revision's copy)."""
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            command = [
                sys.executable,
                str(script),
                "serve-podium",
                str(port),
                f"{GRADIO}={gradio}",
                f"{STATIC}={static}",
            ]
            log = tmp / f"{name.replace('@', '-')}.log"
            process = stack.enter_context(subprocess_server(command, f"{url}/apps/{STATIC}/", log, env))
            targets[name] = (url, url)
            proxies[name] = process.pid  # its own CPU per request: what other work on a shared machine changes less

        targets = {"direct": (gradio, static)}
        proxies: dict[str, int] = {}
        serve_proxy("podium", Path(__file__))
        if args.baseline:
            tree = baseline_tree(args.baseline, tmp / "baseline")
            path = os.pathsep.join(str(tree / part) for part in ("platform", "runner", ""))
            serve_proxy(f"podium@{args.baseline}", tree / "benchmarks/proxy.py", {**os.environ, "PYTHONPATH": path})
        nginx = nginx_available()
        if nginx:
            nginx_port = free_port()
            conf = tmp / "nginx.conf"
            conf.write_text(
                NGINX_CONF.format(
                    tmp=tmp,
                    port=nginx_port,
                    gradio=gradio.removeprefix("http://"),
                    static=static.removeprefix("http://"),
                    gradio_id=GRADIO,
                    static_id=STATIC,
                )
            )
            url = f"http://127.0.0.1:{nginx_port}"
            stack.enter_context(
                subprocess_server(
                    [nginx, "-c", str(conf), "-g", "daemon off;"], f"{url}/apps/{STATIC}/", tmp / "nginx.log"
                )
            )
            targets["nginx"] = (url, url)

        endpoints = {"gradio_api/info": f"/apps/{GRADIO}/gradio_api/info", "static file": f"/apps/{STATIC}/"}
        print(
            f"wrk -t2 -c{args.connections} -d{args.seconds}s per cell, {args.rounds} rounds in rotated "
            f"order, medians; {len(STATIC_BODY)} B static file; all processes share the machine's cores",
            flush=True,
        )
        rounds: dict[tuple[str, str], list[Load]] = {}
        cpu_us: dict[tuple[str, str], list[float]] = {}
        names = list(targets)
        for round_index in range(args.rounds):
            order = names[round_index % len(names) :] + names[: round_index % len(names)]
            for index, (endpoint, path) in enumerate(endpoints.items()):
                for name in order:
                    url = targets[name][index] + path
                    wrk(url, 1, args.connections)  # warm pools and caches
                    before = cpu_seconds(proxies[name]) if name in proxies else 0.0
                    load = wrk(url, args.seconds, args.connections)
                    rounds.setdefault((name, endpoint), []).append(load)
                    if name in proxies:
                        used = cpu_seconds(proxies[name]) - before
                        cpu_us.setdefault((name, endpoint), []).append(used / (load.rps * args.seconds) * 1e6)
        results = {name: {endpoint: Load.median(rounds[name, endpoint]) for endpoint in endpoints} for name in names}
        served = serving_a_static_space(tmp, targets["nginx"][0], args) if nginx else None
        sse = {
            name: asyncio.run(sse_first_event_ms(bases[0] + f"/apps/{GRADIO}", args.sse_runs))
            for name, bases in targets.items()
        }

    print()
    width = max(len(name) for name in targets)
    header = f"{'target':<{width}}"
    for endpoint in endpoints:
        header += f" | {endpoint + ' rps':>20} {'xdirect':>7} {'xnginx':>6} {'p50/p99 ms':>15} {'errors':>6}"
    # For the SSE column the ratios are of times: below 1 is faster.
    print(header + f" | {'SSE 1st event ms':>16} {'xdirect':>7} {'xnginx':>6}")
    for name in targets:
        line = f"{name:<{width}}"
        for endpoint in endpoints:
            load = results[name][endpoint]
            vs_direct = load.rps / results["direct"][endpoint].rps
            vs_nginx = f"{load.rps / results['nginx'][endpoint].rps:6.2f}" if "nginx" in targets else f"{'-':>6}"
            latency = f"{load.p50_ms:.1f}/{load.p99_ms:.1f}"
            line += f" | {load.rps:>20.0f} {vs_direct:>7.2f} {vs_nginx} {latency:>15} {load.errors:>6}"
        sse_nginx = f"{sse[name] / sse['nginx']:6.2f}" if "nginx" in targets else f"{'-':>6}"
        print(line + f" | {sse[name]:>16.1f} {sse[name] / sse['direct']:>7.2f} {sse_nginx}")
    print(
        "\nProxy CPU per request, us (median of the rounds): "
        + "; ".join(
            f"{name} "
            + ", ".join(f"{endpoint} {statistics.median(cpu_us[name, endpoint]):.0f}" for endpoint in endpoints)
            for name in proxies
        )
    )
    if served is not None:
        print(
            f"\nA static space ({len(STATIC_BODY)} B index.html) as users get it: podium serve, and nginx serving "
            "the file"
        )
        print(f"{'target':<13} | {'rps':>8} {'xnginx':>6} {'p50/p99 ms':>15} | {'1 connection: rps':>17} {'p50 ms':>7}")
        for name, (many, one) in served.items():
            ratio = many.rps / served["nginx"][0].rps
            latency = f"{many.p50_ms:.1f}/{many.p99_ms:.1f}"
            print(f"{name:<13} | {many.rps:>8.0f} {ratio:>6.2f} {latency:>15} | {one.rps:>17.0f} {one.p50_ms:>7.2f}")


def serving_a_static_space(tmp: Path, nginx: str, args: argparse.Namespace) -> dict[str, tuple[Load, Load]]:
    """(many connections, one connection) for a static space through a real `podium serve`, and for nginx
    serving the same file (its conf aliases /site/ to tmp/site), medians of the rounds."""
    site = write_space(tmp / "site", "sdk: static", STATIC_BODY.decode(), app_file="index.html")
    server = PodiumServer(tmp / "podium-data", free_port(), free_port(), {}).start()
    try:
        if server.push("bench/site", site, sdk="static")["stage"] != "RUNNING":
            raise RuntimeError(f"the static space did not start:\n{server.log()[-2000:]}")
        urls = {"podium serve": f"{server.spaces_url}/apps/bench/site/", "nginx": f"{nginx}/site/"}
        loads: dict[tuple[str, int], list[Load]] = {}
        for _ in range(args.rounds):
            for name, url in urls.items():
                wrk(url, 1, args.connections)
                for connections in (args.connections, 1):
                    loads.setdefault((name, connections), []).append(wrk(url, args.seconds, connections))
        return {name: (Load.median(loads[name, args.connections]), Load.median(loads[name, 1])) for name in urls}
    finally:
        server.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve-static":
        serve_static(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "serve-podium":
        serve_podium(int(sys.argv[2]), sys.argv[3:])
    else:
        main()
