"""A Gradio space built into an image and run as a hardened container, then its code changed.

The story of one operator: build the space (the build log streams line by line), start it, check
every hardening item on the real container, call it with gradio_client, change only app.py and see
the dependency image reused, build the same code again and see nothing built at all.
"""

from __future__ import annotations

import json
import uuid

import aiohttp
import docker
import pytest
from gradio_client import Client
from podium_runner.docker import DockerBackend
from podium_runner.docker.containers import LABEL_MANAGED, LABEL_SPACE, volume_name
from podium_runner.docker.dockerfile import DATA_DIR
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext

from tests.docker.spaces import TEST_FLAVORS, gradio_space, start_container, stdlib_space, write_probe
from tests.support.process_spaces import free_port

SPACE = "alice/greeter"


@pytest.fixture(scope="module")
async def greeter(backend: DockerBackend, tmp_path_factory, docker_client, anyio_backend):
    """The Greeter space, built and running behind a port on 127.0.0.1, with a model cache mounted."""
    plan = gradio_space(tmp_path_factory.mktemp("greeter"), nonce=uuid.uuid4().hex)
    models = tmp_path_factory.mktemp("models")
    (models / "weights.txt").write_text("pretend weights")
    models.chmod(0o755)  # readable by the space's uid 1000, as a real shared cache is
    build_log: list[str] = []
    ctx = RunContext(space_id=SPACE, port=free_port(), root_path=f"/apps/{SPACE}", model_cache=str(models))

    env = await backend.prepare(plan, build_log.append)
    instance = await backend.start(plan, env, ctx, lambda _line: None)
    await wait_until_ready(backend, instance, plan.launch(ctx).health_path, 120)
    yield plan, env, instance, ctx, build_log
    await backend.stop(instance)


def test_the_build_log_streams_line_by_line_from_buildkit(greeter):
    *_, build_log = greeter
    # The first run on a machine builds the dependency image; later runs find it and say so.
    assert any("podium-deps:" in line for line in build_log)
    # Steps decoded from BuildKit's trace, one line each.
    assert "[2/2] COPY --chown=1000:1000 app/ /home/user/app/" in build_log
    assert any(line.startswith("exporting to image") for line in build_log)


def test_the_container_is_hardened(greeter, docker_client):
    plan, env, instance, ctx, _ = greeter
    container = docker_client.containers.get(instance.state["id"])
    host = container.attrs["HostConfig"]
    flavor = TEST_FLAVORS["cpu-basic"]
    assert host["PortBindings"] == {"7860/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(ctx.port)}]}
    assert instance.url == f"http://127.0.0.1:{ctx.port}"
    assert container.attrs["Config"]["User"] == "1000:1000"
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["ReadonlyRootfs"] is True and "/tmp" in host["Tmpfs"]
    assert (host["Memory"], host["MemorySwap"]) == (flavor.memory_bytes, flavor.memory_bytes)
    assert host["NanoCpus"] == 1_000_000_000 and host["PidsLimit"] == flavor.pids
    assert host["Privileged"] is False
    mounts = {mount["Destination"]: mount for mount in container.attrs["Mounts"]}
    assert mounts[DATA_DIR]["Type"] == "volume" and mounts[DATA_DIR]["Name"] == volume_name(SPACE)
    assert mounts[DATA_DIR]["RW"] is True
    assert mounts[ctx.model_cache]["RW"] is False
    labels = container.attrs["Config"]["Labels"]
    assert labels[LABEL_MANAGED] == "1" and labels[LABEL_SPACE] == SPACE
    # Seen from inside: uid 1000, no capabilities, nothing gained by setuid.
    status = container.exec_run(["cat", "/proc/self/status"]).output.decode()
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["Uid"].split()[0] == "1000" and int(fields["CapEff"], 16) == 0
    assert fields["NoNewPrivs"].strip() == "1"
    assert container.exec_run(["cat", f"{ctx.model_cache}/weights.txt"]).output == b"pretend weights"


def test_gradio_client_calls_the_space(greeter):
    _, _, instance, ctx, _ = greeter
    client = Client(f"{instance.url}{ctx.root_path}/", verbose=False)
    assert client.predict("Ada", api_name="/greet") == "Hello Ada!"


def test_the_apps_output_reaches_the_instance_log(greeter):
    _, _, instance, _, _ = greeter
    assert any("Running on local URL" in line for line in instance.logs.lines)


@pytest.mark.anyio
async def test_a_code_only_change_reuses_the_dependency_image(greeter, backend, docker_client, tmp_path):
    plan, env, *_ = greeter
    changed = gradio_space(tmp_path / "greeter", greeting="Howdy", nonce=uuid.uuid4().hex)
    log: list[str] = []
    new_env = await backend.prepare(changed, log.append)
    assert new_env.location != env.location and not new_env.reused
    assert any("dependency image" in line and "exists; reusing it" in line for line in log), log
    old_layers = docker_client.images.get(env.location).attrs["RootFS"]["Layers"]
    new_layers = docker_client.images.get(new_env.location).attrs["RootFS"]["Layers"]
    # Everything but the last layer (the app's code) is shared byte for byte.
    assert new_layers[:-1] == old_layers[:-1] and new_layers[-1] != old_layers[-1]


@pytest.mark.anyio
async def test_the_same_code_again_builds_nothing(greeter, backend):
    plan, env, *_ = greeter
    again = await backend.prepare(plan, lambda _line: None)
    assert again.location == env.location and again.reused


@pytest.mark.anyio
async def test_data_persists_in_the_spaces_volume_and_the_rest_is_read_only(backend, tmp_path, cleanup):
    prelude = write_probe("/tmp/scratch.txt", "/data/counter.txt", "/home/user/app/note.txt", "/etc/motd2")
    plan = stdlib_space(tmp_path / "writer", prelude)
    ctx = RunContext(space_id="alice/writer", port=free_port())

    async def story():
        instance = await start_container(backend, plan, ctx, cleanup)
        await wait_until_ready(backend, instance, "/", 60)
        async with aiohttp.ClientSession() as session, session.get(instance.url) as response:
            report = await response.json()
        await backend.stop(instance)
        return report

    report = await story()
    assert report["/tmp/scratch.txt"] == "written" and report["/data/counter.txt"] == "written"
    assert report["/home/user/app/note.txt"] == "Read-only file system"
    assert report["/etc/motd2"] == "Read-only file system"
    # The next start of the same space finds what it wrote to /data.
    assert "counter.txt" in (await story())["data"]
    docker.from_env().volumes.get(volume_name("alice/writer")).remove(force=True)


def test_the_plan_is_printable_and_names_the_images_layers(greeter, docker_client):
    _, env, *_ = greeter
    history = json.dumps(docker_client.images.get(env.location).history())
    for step in ("useradd --create-home --uid 1000", "uv pip install", "gradio=="):
        assert step in history
