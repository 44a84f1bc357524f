"""One `Backend` made of several: each plan goes to the backend its recipe runs on, each instance back to
the backend that started it.

The platform and `podium run` hold one backend; behind it, the one the operator chose (process, docker,
ray) runs the spaces that run code, and the files backend serves static spaces. So no caller asks what
kind of space it has: the recipe names the backends that run it (`Recipe.backends`), and this router
picks the first of its own backends among them, the operator's before the others.
"""

from __future__ import annotations

from typing import Any

from podium_runner.backend import Backend, Environment, Exit, Instance, LogSink, Notice
from podium_runner.plan import BuildPlan, RunContext


class BackendRouter(Backend):
    def __init__(self, primary: Backend, *others: Backend):
        self.primary = primary
        self.backends = (primary, *others)
        # Messages and pages name the operator's backend ("the docker backend is unavailable").
        self.name = primary.name  # type: ignore[misc]
        self.schedules_gpus = primary.schedules_gpus  # type: ignore[misc]

    def _for_plan(self, plan: BuildPlan) -> Backend:
        for backend in self.backends:
            if not plan.recipe.refused_by(backend.name):
                return backend
        return self.primary  # whose `check` says why it cannot

    def _named(self, name: str | None) -> Backend:
        return next((backend for backend in self.backends if backend.name == name), self.primary)

    def watch_notices(self, notice: Notice) -> None:
        for backend in self.backends:
            backend.watch_notices(notice)

    def check(self, plan: BuildPlan) -> None:
        self._for_plan(plan).check(plan)

    async def prepare(
        self, plan: BuildPlan, log: LogSink, *, rebuild: bool = False, space_id: str | None = None
    ) -> Environment:
        return await self._for_plan(plan).prepare(plan, log, rebuild=rebuild, space_id=space_id)

    async def start(self, plan: BuildPlan, env: Environment, ctx: RunContext, log: LogSink) -> Instance:
        return await self._named(env.backend).start(plan, env, ctx, log)

    async def stop(self, instance: Instance, timeout: float = 10.0) -> None:
        await self._named(instance.backend).stop(instance, timeout)

    async def poll(self, instance: Instance) -> Exit | None:
        return await self._named(instance.backend).poll(instance)

    async def adopt(self, state: dict[str, Any], log: LogSink) -> Instance | None:
        # States saved before instances named their backend are the operator's backend's.
        return await self._named(state.get("backend")).adopt(state, log)

    async def freeze(self, instance: Instance) -> bool:
        return await self._named(instance.backend).freeze(instance)

    async def thaw(self, instance: Instance) -> None:
        await self._named(instance.backend).thaw(instance)

    async def memory_bytes(self, instance: Instance) -> int | None:
        return await self._named(instance.backend).memory_bytes(instance)

    async def delete_data(self, space_id: str) -> None:
        for backend in self.backends:
            await backend.delete_data(space_id)

    async def move_data(self, space_id: str, new_id: str) -> None:
        for backend in self.backends:
            await backend.move_data(space_id, new_id)

    async def list_orphans(self, known: set[str]) -> list[dict[str, Any]]:
        return [state for backend in self.backends for state in await backend.list_orphans(known)]

    async def cluster_status(self) -> dict[str, Any] | None:
        return await self.primary.cluster_status()

    async def close(self) -> None:
        for backend in self.backends:
            await backend.close()
