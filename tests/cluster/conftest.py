"""Fixtures of the cluster tests: one real Ray cluster (ray_cluster.py) and one `podium serve` on it for this
package's tests, and the test spaces' environments made once on the host beforehand. Both go down after the
package's last test: a cluster left up until the session's end kept its apps and Ray's own processes busy
through every later test.

The nodes' namespaces reach no package index (nothing leaves the test's own namespaces), so each node
finds the spaces' environments ready in the shared test cache (PODIUM_RAY_ENVIRONMENTS_DIR), as a node
with a warm per-node cache would; building on the node is the same process-backend code either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from podium_runner.plan import make_plan
from podium_runner.process import ProcessBackend
from podium_runner.process.ended import sweep
from podium_runner.spec import load_spec

from tests.cluster.ray_cluster import RayTestCluster
from tests.cluster.spaces import OWNER, inspector_space, streamlit_space
from tests.support import podium_server
from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import TEST_CACHE, shared_folders


@pytest.fixture(scope="package")
async def warm_environments(
    tmp_path_factory: pytest.TempPathFactory, anyio_backend: str
) -> dict[str, tuple[Path, Path]]:
    """Each test space's folder and its environment, made on the host in the shared test cache."""
    root = tmp_path_factory.mktemp("cluster-spaces")
    folders = {"inspector": inspector_space(root / "inspector"), "streamlit": streamlit_space(root / "streamlit")}
    backend = ProcessBackend(shared_folders(root / "warm"))
    made = {}
    for name, folder in folders.items():
        plan = make_plan(load_spec(folder))
        environment = await backend.prepare(plan, lambda _line: None, space_id=f"{OWNER}/warm")
        made[name] = (folder, Path(environment.location))
    return made


@pytest.fixture(scope="package")
def space_folders(warm_environments: dict[str, tuple[Path, Path]]) -> dict[str, Path]:
    return {name: folder for name, (folder, _) in warm_environments.items()}


@pytest.fixture(scope="package")
def ray_nodes_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The nodes' PODIUM_RAY_NODE_HOME and shared /data. Torn down after the cluster (which needs it): the
    cluster going down kills every actor, whose runs' cgroups a space's next actor would free
    (ray/instance_folder.py); no next actor comes, so they are freed here as they would be."""
    folder = tmp_path_factory.mktemp("ray-nodes")
    yield folder
    for runs in sorted((folder / "home" / "instances").glob("**/runs")):
        sweep(runs)


@pytest.fixture(scope="package")
def ray_cluster(
    space_folders: dict[str, Path], ray_nodes_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RayTestCluster]:
    cluster = RayTestCluster(Path("/tmp/pdmc"))  # short: Ray's socket paths must fit in 107 bytes
    try:
        yield cluster.up()
    finally:
        cluster.keep_logs(tmp_path_factory.mktemp("ray-logs"))
        cluster.down()


@pytest.fixture(scope="package")
def ray_env(ray_cluster: RayTestCluster, ray_nodes_folder: Path) -> dict[str, str]:
    """Podium's settings for the test cluster."""
    nodes = ray_nodes_folder
    return {
        "PODIUM_BACKEND": "ray",
        "PODIUM_RAY_ADDRESS": ray_cluster.client_address,
        "PODIUM_RAY_TOKEN": ray_cluster.token,
        "PODIUM_RAY_NODE_HOME": str(nodes / "home"),
        "PODIUM_RAY_DATA_DIR": str(nodes / "shared-data"),  # one filesystem: shared storage for /data
        "PODIUM_RAY_ENVIRONMENTS_DIR": str(TEST_CACHE),
        "PODIUM_RAY_LOGICAL_GPUS": "true",
        "PODIUM_STOP_SPACES_ON_EXIT": "false",
    }


@pytest.fixture(scope="package", autouse=True)
def patient_podium_start() -> Iterator[None]:
    """`podium serve` on the ray backend answers once it has re-adopted its spaces from the cluster, after its
    Ray Client connected: the head starts a server process per client, which on a busy machine (or when
    Ray's first try fails, ray.md) takes longer than a podium serve on the host needs."""
    before = podium_server.START_TIMEOUT_S
    podium_server.START_TIMEOUT_S = 180
    yield
    podium_server.START_TIMEOUT_S = before


@pytest.fixture(scope="package")
def ray_podium(start_podium: Callable[..., PodiumServer], ray_env: dict[str, str]) -> Iterator[PodiumServer]:
    server = start_podium(env=ray_env, shared=True)
    yield server
    server.stop()  # before the cluster goes down with the package's last test, not at the session's end
