"""Fake backends for testing what drives a `Backend`, shipped with the interface as httpx ships
`MockTransport` and JupyterHub its mock spawners (MockSpawner, SlowSpawner, BadSpawner).

`FakeBackend` builds nothing and runs no process: an environment is a name, and an instance is a tiny
HTTP server on 127.0.0.1 in the caller's event loop that answers every path, so the caller's health
check (`podium_runner.health.wait_until_ready`) probes it as it would a real app. Its instances outlive
the caller the way real ones outlive `podium serve`: a second caller given the same backend object
re-adopts them from their `state`. The variants fail in the ways real spaces fail:

- `SlowBackend`: builds and starts take `delay_s` each;
- `FailingBuildBackend`: every build raises `BuildError` with a log tail;
- `CrashingBackend`: every instance exits before it answers;
- `NeverReadyBackend`: every instance answers 503 forever (the plan's startup timeout stops it).

Each variant's behaviour is an attribute a story may also flip midway on a plain `FakeBackend` (a
revision that builds, then one that does not), and `crash` ends a running instance as an app that dies.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

from podium_runner.backend import Backend, BuildError, Environment, Exit, Instance, LogSink, LogTail
from podium_runner.plan import BuildPlan, RunContext

_HOST = "127.0.0.1"


@dataclass
class FakeApp:
    """One fake instance's server and, once it ended, how."""

    instance_id: str
    space_id: str
    url: str
    server: asyncio.Server
    exit: Exit | None = None

    def end(self, exit: Exit) -> None:
        if self.exit is None:
            self.exit = exit
            self.server.close()


class FakeBackend(Backend):
    """A backend whose builds always succeed and whose instances answer at once."""

    name: ClassVar[str] = "fake"
    delay_s: float = 0.0  # each build and each start takes this long
    build_fails: bool = False
    crashes_on_start: bool = False
    status: int = 200  # what every instance's server answers: below 500 is ready for the health check

    def check(self, plan: BuildPlan) -> None:
        return None  # runs every sdk, so the supervisor's stories can use any

    def __init__(self) -> None:
        self.apps: dict[str, FakeApp] = {}
        self.builds: list[tuple[str | None, bool]] = []  # (space_id, rebuild) per prepare, for asserts
        self._ids = itertools.count(1)

    async def prepare(
        self, plan: BuildPlan, log: LogSink, *, rebuild: bool = False, space_id: str | None = None
    ) -> Environment:
        self.builds.append((space_id, rebuild))
        await asyncio.sleep(self.delay_s)
        if self.build_fails:
            tail = ["error: no solution found when resolving dependencies", "podium-no-such-package-xyz"]
            for line in tail:
                log(line)
            raise BuildError("fake build failed", tail=tail)
        log("fake build: nothing to install")
        return Environment(backend=self.name, key=f"fake-{plan.kind}", location="")

    async def start(self, plan: BuildPlan, env: Environment, ctx: RunContext, log: LogSink) -> Instance:
        await asyncio.sleep(self.delay_s)
        instance_id = f"fake-{next(self._ids)}"
        status = self.status
        logs = LogTail(log)
        logs(f"{instance_id}: serving {ctx.space_id}")

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.readuntil(b"\r\n\r\n")
                body = f"{instance_id}\n".encode()
                writer.write(
                    f"HTTP/1.1 {status} Fake\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(answer, _HOST, 0)
        port = server.sockets[0].getsockname()[1]
        self.apps[instance_id] = FakeApp(instance_id, ctx.space_id, f"http://{_HOST}:{port}", server)
        if self.crashes_on_start:
            logs("Traceback (most recent call last): fake crash at import")
            self.crash(instance_id)
        return Instance(self.name, instance_id, ctx.space_id, f"http://{_HOST}:{port}", tuple(ctx.gpu_ids), logs=logs)

    async def stop(self, instance: Instance, timeout: float = 10.0) -> None:
        app = self.apps.get(instance.instance_id)
        if app is not None:
            app.end(Exit(code=-15, reason="stopped"))

    async def poll(self, instance: Instance) -> Exit | None:
        app = self.apps.get(instance.instance_id)
        return Exit(code=None, reason="gone") if app is None else app.exit

    async def adopt(self, state: dict[str, Any], log: LogSink) -> Instance | None:
        app = self.apps.get(state["instance_id"])
        if app is None or app.exit is not None:
            return None
        return Instance(
            self.name, app.instance_id, app.space_id, app.url, tuple(state.get("gpu_ids", ())), logs=LogTail(log)
        )

    async def list_orphans(self, known: set[str]) -> list[dict[str, Any]]:
        return [
            {"instance_id": app.instance_id, "space_id": app.space_id, "url": app.url}
            for app in self.apps.values()
            if app.exit is None and app.instance_id not in known
        ]

    def running(self, space_id: str | None = None) -> list[str]:
        """Ids of the instances that run (of one space, when given)."""
        return [i for i, app in self.apps.items() if app.exit is None and space_id in (None, app.space_id)]

    def crash(self, instance_id: str, reason: str = "exit code 1") -> None:
        """End a running instance as an app that dies does."""
        self.apps[instance_id].end(Exit(code=1, reason=reason))

    async def close(self) -> None:
        """Leaves instances running, as real backends do (the next caller re-adopts them); `shutdown`
        ends them for good at the end of a test."""

    def shutdown(self) -> None:
        for app in self.apps.values():
            app.end(Exit(code=-15, reason="backend shut down"))


class SlowBackend(FakeBackend):
    """Builds and starts take a while: a deploy stays in flight long enough to be seen or overtaken."""

    delay_s = 0.3


class FailingBuildBackend(FakeBackend):
    """Every build fails, as a requirement that no index has would."""

    build_fails = True


class CrashingBackend(FakeBackend):
    """Every instance exits before it answers its health check."""

    crashes_on_start = True


class NeverReadyBackend(FakeBackend):
    """Every instance runs but answers 503 forever: only the plan's startup timeout ends the wait."""

    status = 503
