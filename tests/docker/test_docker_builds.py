"""Spaces that bring their own system packages or their own Dockerfile, and builds that fail."""

from __future__ import annotations

import aiohttp
import pytest
from podium_runner.backend import BuildError
from podium_runner.docker import DockerBackend
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext

from tests.docker.spaces import TEST_FLAVORS, docker_space, start_container, stdlib_space
from tests.support.process_spaces import free_port


async def _get_json(backend, plan, space_id: str, cleanup: list[str], path: str = "/") -> dict:
    """Build, start, read `path` as JSON, stop."""
    ctx = RunContext(space_id=space_id, port=free_port())
    instance = await start_container(backend, plan, ctx, cleanup)
    try:
        await wait_until_ready(backend, instance, path, 60)
        async with aiohttp.ClientSession() as session, session.get(instance.url + path) as response:
            return await response.json(content_type=None)
    finally:
        await backend.stop(instance)


@pytest.mark.anyio
async def test_a_space_uses_the_apt_package_its_packages_txt_names(backend, tmp_path, cleanup):
    plan = stdlib_space(
        tmp_path / "jq",
        """
        import subprocess
        jq = subprocess.run(["jq", "-n", "[1,2] | add"], capture_output=True, text=True)
        REPORT["jq"] = jq.stdout.strip()
    """,
        packages="jq\n",
    )
    assert await _get_json(backend, plan, "alice/jq", cleanup) == {"jq": "3"}


@pytest.mark.anyio
async def test_packages_txt_naming_a_missing_package_fails_the_build_in_apts_words(backend, tmp_path):
    plan = stdlib_space(tmp_path / "typo", packages="podium-no-such-package\n")
    with pytest.raises(BuildError) as failure:
        await backend.prepare(plan, lambda _line: None)
    message = str(failure.value) + "\n".join(failure.value.tail)
    assert failure.value.args[0].startswith("typo: the image build failed")
    assert "Unable to locate package podium-no-such-package" in message


SERVE_FOLDER = """
FROM {base}
WORKDIR /srv
COPY index.html .
CMD ["python3", "-m", "http.server", "8080"]
"""


@pytest.mark.anyio
async def test_a_docker_space_builds_its_own_dockerfile_and_answers_on_its_app_port(
    backend, base_image, tmp_path, cleanup
):
    plan = docker_space(
        tmp_path / "own",
        SERVE_FOLDER.format(base=base_image),
        files={"index.html": '{"hello": "from my own Dockerfile"}'},
        app_port=8080,
    )
    assert not plan.accepts_root_path
    answer = await _get_json(backend, plan, "alice/own", cleanup, "/index.html")
    assert answer == {"hello": "from my own Dockerfile"}


@pytest.mark.anyio
async def test_a_docker_space_whose_build_fails_reports_the_failing_step(backend, base_image, tmp_path):
    plan = docker_space(tmp_path / "broken", f"FROM {base_image}\nRUN echo 'compiling...' && exit 3\n")
    log: list[str] = []
    with pytest.raises(BuildError) as failure:
        await backend.prepare(plan, log.append)
    assert "broken: the image build failed" in str(failure.value)
    assert "exit code: 3" in str(failure.value), log
    assert "compiling..." in failure.value.tail  # the step's own output, streamed as it ran


@pytest.mark.anyio
async def test_without_buildkit_the_classic_builder_streams_its_steps(base_image, tmp_path, cleanup):
    backend = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS, buildkit=False)
    plan = docker_space(
        tmp_path / "classic",
        SERVE_FOLDER.format(base=base_image),
        files={"index.html": '{"builder": "classic"}'},
        app_port=8080,
    )
    log: list[str] = []
    env = await backend.prepare(plan, log.append, rebuild=True)
    assert any(line.startswith("Step 1/4 : FROM") for line in log), log
    assert env.location.startswith("podium-space:")
