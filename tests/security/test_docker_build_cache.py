"""An `sdk: docker` space's Dockerfile goes for the uv cache other owners' builds install from.

Alice's Gradio space is built by Podium (its dependency image installs Gradio through her uv cache
mount). Mallory writes her own Dockerfile that mounts every cache id she could know of: the id every
build shared before (`podium-uv`), the one Podium gives her own builds (shown in her build log), and
ids made the same way under guessable keys. Each is a new, empty cache: she sees none of Alice's
wheels, and what she plants there never reaches Alice's cache. As a control, a Dockerfile that knows
Alice's id (a leak) does see her wheels, so the cache is there and mounts by id work.
"""

from __future__ import annotations

import os
import re

import pytest
from podium_runner.docker import DockerBackend
from podium_runner.docker.build_cache import CacheIds
from podium_runner.plan import make_plan
from podium_runner.spec import load_spec

from tests.docker import conftest as docker_fixtures
from tests.docker.spaces import TEST_FLAVORS, run, stdlib_space
from tests.support.process_spaces import write_space

pytestmark = pytest.mark.docker
base_image, docker_client = docker_fixtures.base_image, docker_fixtures.docker_client

# Fixed, so Alice's dependency image and cache are made once per machine.
PODIUM_KEY = b"the cache key of the Podium under test"

# Lists what a cache mount holds (then Mallory plants a file in it); one RUN per id.
PROBE = (
    "RUN --mount=type=cache,id={id},target=/cache,uid=1000,gid=1000,sharing=shared "
    "echo \"PROBE {id} {nonce} wheels=$(find /cache -name '*.whl' -o -name 'gradio' | wc -l) "
    "files=$(find /cache -type f | wc -l) poisoned=$(find /cache -name planted-by-mallory | wc -l)\""
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


def _docker_space(folder, base: str, ids: list[str], nonce: str, plant: bool):
    probes = (PROBE.format(id=cache_id, nonce=nonce) + (PLANT if plant else "") for cache_id in ids)
    lines = [f"FROM {base}", *probes, 'CMD ["true"]']
    space = write_space(folder, "sdk: docker\napp_port: 7860", "\n".join(lines) + "\n", app_file="Dockerfile")
    return make_plan(load_spec(space))


def test_a_dockerfile_cannot_mount_another_owners_uv_cache(base_image, docker_client, tmp_path) -> None:
    backend = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS, cache_key=PODIUM_KEY)
    victim_log: list[str] = []
    # rebuild: where the build cache was pruned since the image was made, its RUN steps fill the cache again.
    run(backend.prepare(stdlib_space(tmp_path / "victim"), victim_log.append, rebuild=True, space_id="alice/victim"))
    alice = backend.builder.cache_ids.for_space("alice/victim")
    mallory = backend.builder.cache_ids.for_space("mallory/anything")
    assert alice != mallory and alice.startswith("podium-uv-") and mallory.startswith("podium-uv-")

    nonce = os.urandom(6).hex()  # new steps each run: nothing comes from BuildKit's layer cache
    guesses = ["podium-uv", mallory, CacheIds(b"").for_space("alice/victim"),
               CacheIds(b"podium").for_space("alice/victim"), "podium-uv-" + "0" * 32]
    attack_log: list[str] = []
    attack = _docker_space(tmp_path / "mallory", base_image, guesses, nonce, plant=True)
    images = [run(backend.prepare(attack, attack_log.append, space_id="mallory/greedy")).location]
    try:
        probes = _probes(attack_log, nonce)
        assert set(probes) == set(guesses), attack_log
        for cache_id, seen in probes.items():
            assert seen["wheels"] == 0, (cache_id, seen)  # none of Alice's wheels under any id she can name

        control_log: list[str] = []
        control = _docker_space(tmp_path / "leak", base_image, [alice], nonce, plant=False)
        images.append(run(backend.prepare(control, control_log.append, space_id="tester/control")).location)
        leaked = _probes(control_log, nonce)[alice]
        assert leaked["wheels"] > 0 and leaked["files"] > 0, control_log  # Alice's cache is there, with Gradio
        assert leaked["poisoned"] == 0  # and nothing Mallory planted reached it
    finally:
        for image in images:
            docker_client.images.remove(image, force=True)
