"""Cancelling a start at the moment that matters: once what it makes (a container, a sandbox) exists, before the
start returns, as a pause or a shutdown cancels a start in flight. For the tests that show nothing is left."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from podium_runner.backend import Backend, Environment
from podium_runner.plan import BuildPlan, RunContext

_TRIES = 5


async def cancel_once_made(
    backend: Backend,
    plan: BuildPlan,
    environment: Environment,
    context: Callable[[], RunContext],
    made: Callable[[RunContext], Awaitable[bool]],
    what: str,
) -> RunContext:
    """Start `plan` (each try with a new `context()`) and cancel the start as soon as `made` says its `what`
    exists; a start that ends first is stopped and tried again. The context of the cancelled start."""
    for _ in range(_TRIES):
        ctx = context()
        start = asyncio.ensure_future(backend.start(plan, environment, ctx, lambda _line: None))
        while not start.done() and not await made(ctx):
            await asyncio.sleep(0.001)
        if start.done():
            await backend.stop(start.result())
            continue
        start.cancel()
        with pytest.raises(asyncio.CancelledError):
            await start
        return ctx
    pytest.fail(f"no start was still going once its {what} existed, in {_TRIES} tries")
