"""Numbers a client sends that a database column must hold: PostgreSQL's INTEGER has 32 bits where
SQLite's has 64, so a value past 2**31 - 1 is refused with a 422 before it reaches the database (on
PostgreSQL it was a 500: "integer out of range")."""

from __future__ import annotations

import pytest
from huggingface_hub.errors import HfHubHTTPError

from tests.support.podium_server import PodiumServer


def test_sleep_times_and_token_ids_past_32_bits_are_refused_not_a_server_error(podium: PodiumServer) -> None:
    api = podium.api()
    with pytest.raises(HfHubHTTPError) as refused:
        api.create_repo("admin/sleepy", repo_type="space", space_sdk="gradio", space_sleep_time=2**31)
    assert refused.value.response.status_code == 422
    api.create_repo("admin/sleepy", repo_type="space", space_sdk="gradio", space_sleep_time=2**31 - 1)
    with pytest.raises(HfHubHTTPError) as refused:
        api.set_space_sleep_time("admin/sleepy", 2**40)
    assert refused.value.response.status_code == 422
    assert api.get_space_runtime("admin/sleepy").raw["gcTimeout"] == 2**31 - 1
    assert podium.http().delete(f"/api/tokens/{2**31}").status_code == 422
    assert podium.http().delete(f"/api/tokens/{2**31 - 1}").status_code == 404
