"""An `sdk: docker` space's Dockerfile goes for the uv cache other owners' builds install from.

Alice's Gradio space is built by Podium (its dependency image installs Gradio through her uv cache
mount). Mallory writes her own Dockerfile that mounts every cache id she could know of: the id every
build shared before (`podium-uv`), the one Podium gives her own builds (shown in her build log), ids
made the same way under guessable keys, even Alice's own (as if it leaked). Each is a new, empty cache
of Mallory's: a space's cache mounts are always renamed into its owner's namespace, so she sees none of
Alice's wheels and plants nothing in Alice's cache. As a control, a build outside Podium that mounts
Alice's id sees her wheels: the cache is there and mounts by id work.

The same holds for the caches Dockerfiles ask for out of habit: `--mount=type=cache,target=/root/.cache/pip`
names one cache engine-wide as written, and two owners with that line get two caches.
"""

from __future__ import annotations

import os
import re

import pytest
from podium_runner.backend import BuildError
from podium_runner.docker import DockerBackend
from podium_runner.docker.build_cache import CacheIds
from podium_runner.docker.cache_mounts import own_cache_mounts
from podium_runner.docker.context import BuildContext
from podium_runner.plan import make_plan
from podium_runner.spec import load_spec

from tests.docker import conftest as docker_fixtures
from tests.docker.spaces import TEST_FLAVORS, stdlib_space
from tests.support.process_spaces import write_space

base_image, docker_client = docker_fixtures.base_image, docker_fixtures.docker_client

# Fixed, so Alice's dependency image and cache are made once per machine.
PODIUM_KEY = b"the cache key of the Podium under test"

# Lists what a cache mount holds (then Mallory plants a file in it); one RUN per id.
PROBE = (
    "RUN --mount=type=cache,id={id},target=/cache,uid=1000,gid=1000,sharing=shared "
    "echo \"PROBE {id} {nonce} wheels=$(find /cache -name '*.whl' -o -name 'gradio' | wc -l) "
    'files=$(find /cache -type f | wc -l) poisoned=$(find /cache -name planted-by-mallory | wc -l)"'
)
PLANT = " && touch /cache/planted-by-mallory"


def _probes(log: list[str], nonce: str) -> dict[str, dict[str, int]]:
    found = {}
    for line in log:
        match = re.search(rf"PROBE (\S+) {nonce} wheels=(\d+) files=(\d+) poisoned=(\d+)", line)
        if match:
            wheels, files, poisoned = map(int, match.groups()[1:])
            found[match.group(1)] = {"wheels": wheels, "files": files, "poisoned": poisoned}
    return found


def _probe_dockerfile(base: str, ids: list[str], nonce: str, plant: bool) -> str:
    probes = (PROBE.format(id=cache_id, nonce=nonce) + (PLANT if plant else "") for cache_id in ids)
    return "\n".join([f"FROM {base}", *probes, 'CMD ["true"]']) + "\n"


@pytest.mark.docker
@pytest.mark.anyio
async def test_a_dockerfile_cannot_mount_another_owners_uv_cache(base_image, docker_client, tmp_path) -> None:
    backend = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS, cache_key=PODIUM_KEY)
    # rebuild: where the build cache was pruned since the image was made, its RUN steps fill the cache again.
    await backend.prepare(stdlib_space(tmp_path / "victim"), lambda _line: None, rebuild=True, space_id="alice/victim")
    alice = backend.builder.cache_ids.for_space("alice/victim")
    mallory = backend.builder.cache_ids.for_space("mallory/anything")
    assert alice != mallory and alice.startswith("podium-uv-") and mallory.startswith("podium-uv-")

    nonce = os.urandom(6).hex()  # new steps each run: nothing comes from BuildKit's layer cache
    guesses = [
        "podium-uv",
        mallory,
        CacheIds(b"").for_space("alice/victim"),
        CacheIds(b"podium").for_space("alice/victim"),
        alice,
    ]
    attack_log: list[str] = []
    dockerfile = _probe_dockerfile(base_image, guesses, nonce, plant=True)
    attack = make_plan(
        load_spec(write_space(tmp_path / "mallory", "sdk: docker\napp_port: 7860", dockerfile, app_file="Dockerfile"))
    )
    image = (await backend.prepare(attack, attack_log.append, space_id="mallory/greedy")).location
    docker_client.images.remove(image, force=True)
    probes = _probes(attack_log, nonce)
    assert set(probes) == set(guesses), attack_log
    for cache_id, seen in probes.items():
        assert seen["wheels"] == 0, (cache_id, seen)  # none of Alice's wheels under any id she can name

    # Control, outside Podium's handling of spaces: Alice's id holds her wheels and nothing of Mallory's.
    control_log: list[str] = []
    context = BuildContext()
    context.add_bytes("Dockerfile", _probe_dockerfile(base_image, [alice], nonce, plant=False).encode())
    tag = f"podium-test-cache-control:{nonce}"
    backend.engine.build(context.close(), tag, control_log.append, buildkit=True, what="control")
    docker_client.images.remove(tag, force=True)
    leaked = _probes(control_log, nonce)[alice]
    assert leaked["wheels"] > 0 and leaked["files"] > 0, control_log
    assert leaked["poisoned"] == 0


# The same Dockerfile for everyone: lists the common pip cache, then plants a file named for the builder.
SHARED_HABIT = """FROM {base}
RUN --mount=type=cache,target=/root/.cache/pip \\
    echo "PROBE {nonce} $(ls /root/.cache/pip | tr '\\n' ' ')" && touch /root/.cache/pip/planted-by-{who}
CMD ["true"]
"""


async def _habit_build(backend: DockerBackend, folder, base: str, who: str, space_id: str) -> tuple[str, str]:
    """Build the common Dockerfile as `space_id`: what its cache held, and the image to remove."""
    nonce = os.urandom(6).hex()
    text = SHARED_HABIT.format(base=base, nonce=nonce, who=who)
    plan = make_plan(load_spec(write_space(folder, "sdk: docker\napp_port: 7860", text, app_file="Dockerfile")))
    log: list[str] = []
    try:
        image = (await backend.prepare(plan, log.append, space_id=space_id)).location
    except BuildError as error:  # the whole log: what the step printed says why a shell command failed
        raise AssertionError("\n".join([str(error), *log])) from error
    seen = next((line.split(nonce, 1)[1] for line in log if f"PROBE {nonce}" in line and "$(" not in line), None)
    assert seen is not None, log
    return seen, image


@pytest.mark.docker
@pytest.mark.anyio
async def test_a_cache_mount_a_dockerfile_asks_for_by_its_usual_target_is_its_owners_own(
    base_image, docker_client, tmp_path
) -> None:
    backend = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS, cache_key=os.urandom(16))
    images = []
    try:
        _, image = await _habit_build(backend, tmp_path / "m1", base_image, "mallory", "mallory/first")
        images.append(image)
        alice_saw, image = await _habit_build(backend, tmp_path / "a1", base_image, "alice", "alice/victim")
        images.append(image)
        mallory_saw, image = await _habit_build(backend, tmp_path / "m2", base_image, "mallory", "mallory/second")
        images.append(image)
        assert "planted-by-mallory" not in alice_saw  # another owner's cache, though the same Dockerfile
        assert "planted-by-mallory" in mallory_saw  # control: one owner's builds do share theirs
    finally:
        for image in images:
            docker_client.images.remove(image, force=True)


def test_cache_mounts_are_renamed_for_their_owner_and_nothing_else_changes() -> None:
    dockerfile = (
        "FROM base\n"
        "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\n"
        "run --network=none \\\n    # a comment\n    --mount=type=cache,id=podium-uv,target=/c,sharing=locked \\\n"
        "    --mount=type=bind,source=a,target=/a echo --mount=type=cache,target=/z\n"
        "RUN echo --mount=type=cache,target=/q\n"
    )
    mine, theirs = own_cache_mounts(dockerfile, "podium-uv-mine"), own_cache_mounts(dockerfile, "podium-uv-theirs")
    assert mine.count(",id=podium-uv-mine-") == 2 and "id=podium-uv," not in mine
    assert mine.replace("mine", "theirs") == theirs  # only the owner's part differs
    assert "target=/root/.cache/pip,id=podium-uv-mine-" in mine
    assert "--mount=type=bind,source=a,target=/a echo --mount=type=cache,target=/z\n" in mine  # the command's own
    assert "RUN echo --mount=type=cache,target=/q\n" in mine
    backtick = "# escape=`\nFROM b\nRUN `\n  --mount=type=cache,target=/c x\n"
    assert own_cache_mounts(backtick, "o").count(",id=o-") == 1
