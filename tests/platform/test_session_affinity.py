"""A visitor who began on one revision finishes there while the new one takes over.

Gradio's queue is two requests (queue/join, then queue/data); were a switch to fall between them,
the second would reach an instance that never saw the first. Podium's instance cookie (which
gradio_client carries, as it does for any cookie-based session affinity) keeps a session on the
instance where it began while that one drains; new visitors get the new revision at once.
"""

from __future__ import annotations

import pytest
from gradio_client import Client

from tests.platform.spaces import echo_space

pytestmark = pytest.mark.slow

SPACE = "admin/sticky"


def test_a_session_stays_on_its_instance_while_it_drains(podium, tmp_path):
    folder = echo_space(tmp_path / "sticky", version="v1")
    assert podium.push(SPACE, folder)["stage"] == "RUNNING"
    host = podium.api().space_info(SPACE).host
    early = Client(host, verbose=False)
    assert early.predict(api_name="/about").startswith("v1 ")
    assert "podium_instance" in early.cookies

    echo_space(folder, version="v2")
    podium.api().upload_folder(repo_id=SPACE, folder_path=folder, repo_type="space")
    assert podium.wait_for_stage(SPACE)["stage"] == "RUNNING"

    # Within the drain time (PODIUM_DRAIN_S, 10 s) the early visitor is still served by v1 ...
    assert early.predict(api_name="/about").startswith("v1 ")
    # ... while a new visitor, and the early one once it drops the cookie, get v2.
    assert Client(host, verbose=False).predict(api_name="/about").startswith("v2 ")
    early.cookies.clear()
    assert early.predict(api_name="/about").startswith("v2 ")
