"""A Podium upgraded while its apps run adopts them from what the previous release saved.

The previous release's process state is the one of dec632e (before apps had their own network): the
same keys as now, less "network". Podium saves `Instance.state` in its database and the process
backend saves it beside the app (state.json); both must read back in the new release.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext, make_plan
from podium_runner.process import ProcessBackend, ProcessFolders
from podium_runner.process.instance_state import ProcessDetails
from podium_runner.spec import load_spec

from tests.support.process_spaces import free_port, stdlib_app, write_space

PREVIOUS_KEYS = (
    "instance_id",
    "space_id",
    "pid",
    "start_ticks",
    "port",
    "host",
    "url",
    "log_path",
    "env_key",
    "gpu_ids",
    "sandboxed",
    "cgroups",
    "started_at",
)


def test_a_saved_state_keeps_the_keys_every_release_reads() -> None:
    """What this release saves has every key the previous one reads, and reads back unchanged."""
    saved = {
        "instance_id": "alice--app-7861-1",
        "space_id": "alice/app",
        "pid": 4242,
        "start_ticks": 99,
        "port": 7861,
        "host": "127.0.0.1",
        "url": "http://127.0.0.1:7861",
        "log_path": "/runs/alice--app-7861-1/app.log",
        "env_key": "abc",
        "gpu_ids": ["0"],
        "sandboxed": True,
        "cgroups": {"version": "v2", "paths": ["/a"]},
        "started_at": 1.5,
        "network": {"pid": 4243, "start_ticks": 100},
    }
    details = ProcessDetails.from_dict(saved)
    assert details.cgroups is not None and details.cgroups.paths == ("/a",)
    assert {"instance_id", "space_id", "url", "gpu_ids"} | details.to_dict().keys() == saved.keys()
    assert json.loads(json.dumps(details.to_dict())) == {
        k: v for k, v in saved.items() if k not in ("instance_id", "space_id", "url", "gpu_ids")
    }
    assert ProcessDetails.from_dict({k: saved[k] for k in PREVIOUS_KEYS}).network is None


@pytest.mark.anyio
async def test_an_app_started_by_the_previous_release_is_adopted(folders: ProcessFolders, tmp_path: Path) -> None:
    """Both records the previous release left (the database's state and state.json) are adopted."""
    first = ProcessBackend(folders, sandbox="off", outlive_caller=True)
    plan = make_plan(load_spec(write_space(tmp_path, "sdk: gradio", stdlib_app())))
    env = await first.prepare(plan, lambda line: None)
    ctx = RunContext(space_id="tests/upgraded", port=free_port())
    instance = await first.start(plan, env, ctx, lambda line: None)
    await wait_until_ready(first, instance, "/", 30)
    await first.close()
    previous = {key: instance.state[key] for key in PREVIOUS_KEYS}  # as the previous release saved it
    run_dir = Path(previous["log_path"]).parent
    (run_dir / "state.json").write_text(json.dumps(previous))

    upgraded = ProcessBackend(folders, sandbox="off", outlive_caller=True)
    assert await upgraded.list_orphans(set()) == [previous]
    adopted = await upgraded.adopt(json.loads(json.dumps(previous)), lambda line: None)
    assert adopted is not None and await upgraded.poll(adopted) is None
    assert (adopted.instance_id, adopted.space_id, adopted.url) == (
        previous["instance_id"],
        "tests/upgraded",
        f"http://127.0.0.1:{ctx.port}",
    )
    async with aiohttp.ClientSession() as session, session.get(adopted.url + "/") as response:
        assert response.status == 200
    await upgraded.stop(adopted)
    assert not run_dir.exists()
    assert await upgraded.adopt(previous, lambda line: None) is None  # gone for good
    await upgraded.close()
