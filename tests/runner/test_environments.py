"""Environments: the host's pip settings carried over to uv, and one build for two callers at once."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from podium_runner.pip_settings import uv_environment
from podium_runner.plan import HOST_PYTHON, DependencySet
from podium_runner.process.environments import EnvironmentStore

from tests.support.process_spaces import TEST_CACHE


def test_pip_settings_from_files_and_environment_become_uv_settings(tmp_path: Path) -> None:
    system, user = tmp_path / "etc-pip.conf", tmp_path / "user-pip.conf"
    system.write_text(
        "[global]\nindex-url = https://mirror.example/simple\ncert = /etc/ssl/corp.pem\n"
        "constraint = /etc/pip-constraints.txt\n"
    )
    user.write_text(
        "[global]\nextra-index-url =\n    https://one.example/simple\n    https://two.example/simple\n"
        "[install]\nfind-links = /opt/wheels /srv/wheels\ntrusted-host = one.example\n"
    )
    environ = {"PIP_INDEX_URL": "https://corp.example/simple", "UV_CONSTRAINT": "/mine.txt"}
    uv = uv_environment(environ, [system, user])
    assert uv == {
        "UV_DEFAULT_INDEX": "https://corp.example/simple",  # PIP_* variables win over files, as in pip
        "UV_INDEX": "https://one.example/simple https://two.example/simple",
        "UV_INDEX_STRATEGY": "unsafe-best-match",  # pip's rule: the best version across all indexes
        "UV_FIND_LINKS": "/opt/wheels,/srv/wheels",
        "UV_INSECURE_HOST": "one.example",
        "SSL_CERT_FILE": "/etc/ssl/corp.pem",
    }  # UV_CONSTRAINT is left out: the host set its own


def test_a_broken_pip_conf_does_not_stop_a_build(tmp_path: Path) -> None:
    broken = tmp_path / "pip.conf"
    broken.write_text("this is not an ini file\n[global\n")
    assert uv_environment({}, [broken]) == {}


@pytest.mark.slow
@pytest.mark.anyio
async def test_two_callers_asking_for_the_same_set_at_once_share_one_build(tmp_path: Path) -> None:
    store = EnvironmentStore(tmp_path / "environments", TEST_CACHE / "uv-cache")
    deps = DependencySet(python_version=HOST_PYTHON, requirements=("six",))
    logs: tuple[list[str], list[str]] = ([], [])
    first, second = await asyncio.gather(*(store.ensure(deps, tmp_path, log.append) for log in logs))
    assert first.location == second.location and {first.reused, second.reused} == {False, True}
    assert sum(line.startswith("Creating environment") for log in logs for line in log) == 1
    assert (Path(first.location) / "bin" / "python").exists()
    names = sorted(p.name for p in (tmp_path / "environments").iterdir())
    assert names == [deps.key, f"{deps.key}.1", f"{deps.key}.lock"]


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_factory_rebuild_leaves_the_environment_running_apps_use(tmp_path: Path) -> None:
    """A rebuild makes a new generation; an app still running from the old one keeps its files."""
    store = EnvironmentStore(tmp_path / "environments", TEST_CACHE / "uv-cache")
    deps = DependencySet(python_version=HOST_PYTHON, requirements=("six",))
    first = await store.ensure(deps, tmp_path, print)
    still_running = subprocess.Popen(
        [f"{first.location}/bin/python", "-c", "import sys; sys.stdin.readline(); import six; print(six.PY3)"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    second = await store.ensure(deps, tmp_path, print, rebuild=True)
    assert second.location != first.location and not second.reused
    assert store.path(deps) == Path(second.location)  # new starts get the new build
    output, _ = still_running.communicate("go\n", timeout=60)
    assert output.strip() == "True"  # the old instance could still import from its environment

    third = await store.ensure(deps, tmp_path, print, rebuild=True)
    assert not Path(first.location).exists()  # only the current build and the one before it stay
    assert Path(second.location).exists() and Path(third.location).exists()
