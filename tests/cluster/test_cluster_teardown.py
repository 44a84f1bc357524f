"""The test cluster's teardown kills its own processes and nobody else's.

It finds a node's processes by the inode of the node's network namespace. Once the process holding a
namespace is gone, the kernel gives that inode number to the next new namespace at once, such as the
namespace a Docker build step runs in (BuildKit keeps a pool of them). Killing by a stale inode SIGKILLed
`runc init` in other tests' builds, which then failed at random with `exit code: 1`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cluster.ray_cluster import RayTestCluster, network_namespace_of

TRIES = 20  # new namespaces until one takes the freed inode number (the first does on a quiet machine)


def test_teardown_leaves_alone_a_stranger_whose_namespace_reuses_a_gone_nodes_inode(tmp_path: Path) -> None:
    cluster = RayTestCluster(tmp_path / "cluster")
    cluster.root.mkdir()
    cluster._new_namespace("pdmc-gone")
    holder = cluster._holders["pdmc-gone"]
    gone = network_namespace_of(holder)
    os.kill(holder, signal.SIGKILL)  # the node's namespace ends with its holder (a crash, an earlier run's end)
    os.waitpid(holder, 0)

    stranger = None
    for _ in range(TRIES):
        candidate = subprocess.Popen(["unshare", "--net", "--", "sleep", "infinity"])
        if network_namespace_of(candidate.pid) == gone:
            stranger = candidate
            break
        candidate.kill()
        candidate.wait()
    assert stranger is not None, f"none of {TRIES} new namespaces took the freed {gone}: nothing to show"
    try:
        cluster.down()
        time.sleep(0.2)
        assert stranger.poll() is None, "the teardown killed a process of another namespace with the same inode"
    finally:
        stranger.kill()
        stranger.wait()
