"""Waiting for a started instance to answer, with the reasons it did not."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from podium_runner.backend import Backend, Instance, StartError

# First probes are short so that a black-holed port does not cost seconds each (ShinyProxy does
# the same). Probes come every _FIRST_INTERVAL_S for the first _STEADY_FOR_S, when warm starts answer
# (0.3 to 0.5 s on 2 cores), so that an answering app waits at most that long to be seen; later ones back
# off to keep a slow starter cheap to watch.
_PROBE_TIMEOUT_S = 2.0
_FIRST_INTERVAL_S = 0.05
_STEADY_FOR_S = 2.0
_MAX_INTERVAL_S = 1.0


async def probe(url: str, session: aiohttp.ClientSession) -> int | None:
    """The HTTP status at `url`, or None when nothing answers there."""
    try:
        async with session.get(url, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=_PROBE_TIMEOUT_S)) as r:
            return r.status
    except (TimeoutError, aiohttp.ClientError, OSError):
        return None


async def wait_until_ready(
    backend: Backend, instance: Instance, health_path: str, timeout_s: float, *, source: str | None = None
) -> float:
    """Wait until `health_path` answers below 500. Returns the seconds it took.

    Raises `StartError` with the app's last log lines when it exits first, and stops it and raises
    when it does not answer within `timeout_s` (a wrong port, a hang). `source`: the address probes
    come from (a Ray node probes its own app from 127.0.0.1: the app's namespace refuses the node's
    own address, replies included, and slirp4netns shows loopback callers as its gateway)."""
    url = instance.url.rstrip("/") + health_path
    started = time.monotonic()
    interval = _FIRST_INTERVAL_S
    connector = aiohttp.TCPConnector(local_addr=(source, 0)) if source else None
    async with aiohttp.ClientSession(connector=connector) as session:
        while True:
            status = await probe(url, session)
            if status is not None and status < 500:
                return time.monotonic() - started
            ended = await backend.poll(instance)
            if ended is not None:
                tail = instance.logs.last()
                raise StartError(
                    f"{instance.space_id}: the app stopped before it answered ({ended.reason}). "
                    f"Last log lines:\n" + "\n".join(tail),
                    tail=tail,
                )
            waited = time.monotonic() - started
            if waited > timeout_s:
                await backend.stop(instance)
                tail = instance.logs.last()
                raise StartError(
                    f"{instance.space_id}: the app did not answer at {url} within {timeout_s:.0f} s "
                    f"(startup_duration_timeout) and was stopped. Check that it listens on the port in "
                    f"$PORT (Gradio: GRADIO_SERVER_PORT, which launch() reads). Last log lines:\n" + "\n".join(tail),
                    tail=tail,
                )
            await asyncio.sleep(interval)
            if waited > _STEADY_FOR_S:
                interval = min(interval * 1.5, _MAX_INTERVAL_S)
