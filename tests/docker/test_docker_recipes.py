"""What Podium hands the engine, read before anything is built: Dockerfiles, contexts, base choice."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import tarfile
from pathlib import Path

from podium_runner.docker import bases, dockerfile
from podium_runner.docker.buildkit import TraceDecoder
from podium_runner.docker.context import BuildContext
from podium_runner.docker.host import HostPackageSettings
from podium_runner.front_matter_rules import HARDWARE_FLAVORS
from podium_runner.hardware import FLAVORS, flavor
from podium_runner.plan import DependencySet, make_plan
from podium_runner.spec import load_spec

from tests.support.process_spaces import write_space

HOST = HostPackageSettings(
    env={"UV_INDEX": "https://pypi.example/simple"}, constraints=b"torch<=2.14.1\n", ca_certificates=(), left_out=()
)


def _plan(tmp_path: Path):
    files = {"packages.txt": "ffmpeg\n", "pre-requirements.txt": "pip\n"}
    folder = write_space(
        tmp_path / "full", "sdk: gradio\nsdk_version: 6.31.0", "print('hi')\n", requirements="numpy\n", files=files
    )
    return make_plan(load_spec(folder))


def test_the_dependency_dockerfile_follows_hugging_faces_layer_order(tmp_path):
    recipe = dockerfile.dependency_dockerfile(
        _plan(tmp_path), "podium-base:bookworm", HOST, buildkit=True, cache_id="podium-uv-0123abcd"
    )
    order = [
        "FROM podium-base:bookworm",
        "apt-get install -y --no-install-recommends ffmpeg",
        "useradd --create-home --uid 1000",
        "USER 1000",
        "WORKDIR /home/user/app",
        "-r pre-requirements.txt",
        "-r requirements.txt",
        "uv pip install gradio==6.31.0",
    ]
    positions = [recipe.index(step) for step in order]
    assert positions == sorted(positions), recipe
    assert recipe.count("--mount=type=cache,id=podium-uv-0123abcd,") == 3
    assert 'UV_INDEX="https://pypi.example/simple"' in recipe


def test_without_buildkit_the_recipe_has_no_cache_mounts(tmp_path):
    recipe = dockerfile.dependency_dockerfile(_plan(tmp_path), "base", HOST, buildkit=False)
    assert "--mount" not in recipe and recipe.count("uv pip install --no-cache") == 3


def test_the_app_image_copies_the_code_then_sets_env_and_cmd(tmp_path):
    recipe = dockerfile.app_dockerfile(_plan(tmp_path), "podium-deps:abc")
    lines = recipe.splitlines()
    assert lines[0] == "FROM podium-deps:abc"
    assert lines[1] == "COPY --chown=1000:1000 app/ /home/user/app/"
    assert lines[2].startswith('ENV HOME="/tmp"') and lines[-1] == 'CMD ["python", "app.py"]'


def test_contexts_are_gnu_tars_without_pax_headers(tmp_path):
    context = BuildContext()
    (tmp_path / "app.py").write_text("print('hi')\n")
    context.add_file("app/app.py", tmp_path / "app.py")
    data = context.close()
    assert b"PaxHeader" not in data
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["app/app.py"]


def test_ml_spaces_pick_the_ml_base_unless_they_need_another_torch():
    def deps(*requirements: str, python: str = "3.11") -> DependencySet:
        return DependencySet(python_version=python, requirements=requirements)

    assert bases.wants_ml_base(deps("transformers", "sentencepiece"), "2.13.0+cpu", "3.11")
    assert bases.wants_ml_base(deps("torch>=2.0"), "2.13.0+cpu", "3.11")
    assert not bases.wants_ml_base(deps("torch==2.12.0"), "2.13.0+cpu", "3.11")
    assert not bases.wants_ml_base(deps("numpy"), "2.13.0+cpu", "3.11")
    assert not bases.wants_ml_base(deps("torch", python="3.12"), "2.13.0+cpu", "3.11")
    assert bases.base_for(bases.DEFAULT_BASE, deps("x", python="3.12")) == "python:3.12-slim"


def test_host_package_settings_keep_what_a_container_can_reach(tmp_path):
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\nextra-index-url = file:///opt/pypi/simple https://mirror.example/simple\nfind-links = /opt/wheels\n"
    )
    host = HostPackageSettings.from_host(
        ca_certificates=[], environ={"PIP_CONFIG_FILE": str(conf), "HOME": str(tmp_path)}
    )
    assert host.env["UV_INDEX"] == "https://mirror.example/simple"
    assert "extra-index-url file:///opt/pypi/simple" in host.left_out
    assert "find-links /opt/wheels" in host.left_out


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_buildkit_trace_messages_become_log_lines():
    vertex = _field(1, b"sha256:1") + _field(3, b"[2/3] RUN uv pip install gradio")
    log = _field(1, b"sha256:1") + _field(4, b"Resolved 60 packages\nInstalled 6")
    decoder = TraceDecoder()
    first = decoder.lines(base64.b64encode(_field(1, vertex) + _field(3, log)).decode())
    again = decoder.lines(base64.b64encode(_field(1, vertex)).decode())
    assert first == ["[2/3] RUN uv pip install gradio", "Resolved 60 packages"]
    assert again == [] and decoder.flush() == ["Installed 6"]


def test_a_second_bootstrap_is_a_no_op_that_says_so(base_image):
    podium = Path(sys.executable).with_name("podium")
    result = subprocess.run([str(podium), "images", "bootstrap"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"{base_image} exists already; nothing to do" in result.stdout


def test_the_flavor_table_names_every_hardware_the_readme_may_suggest():
    assert tuple(FLAVORS) == HARDWARE_FLAVORS
    assert flavor("t4-small").gpus == 1 and flavor("cpu-basic").gpus == 0
