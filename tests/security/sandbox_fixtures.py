"""Fixtures for the attacks on the process sandbox: one process backend's folders per module (shared
environments, per-run data), as the runner tests have."""

from __future__ import annotations

import pytest
from podium_runner.process import ProcessFolders

from tests.support.process_spaces import shared_folders


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> ProcessFolders:
    return shared_folders(tmp_path_factory.mktemp("sandbox"))
