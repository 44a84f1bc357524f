"""Spaces load models from Podium (issue 12 item 3): every space's app gets HF_ENDPOINT (the door in its
own network namespace) and a read token of its owner's, so `hf_hub_download` in a real sandboxed Gradio app
reads its owner's private model and not another owner's, and models Podium caches from its upstream are
downloaded once for every space."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.models import cache_fixtures
from tests.models.cache_fixtures import CountingUpstream, publish_model
from tests.support.hub_loader import LOADER_APP
from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import write_space

# The fixtures of these stories (tests/models/cache_fixtures.py).
origin = cache_fixtures.origin
upstream = cache_fixtures.upstream
edge = cache_fixtures.edge

SECRET = '{"model_type": "alice-only"}'
SHARED = "weights shared by every space"


@pytest.fixture(scope="module")
def loader(edge: PodiumServer, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Client]:
    """`loader("alice/loader")`: that space RUNNING the loader app on `edge` (made once), as a client."""
    made: dict[str, Client] = {}

    def space(space_id: str) -> Client:
        if space_id not in made:
            folder = write_space(tmp_path_factory.mktemp("loader"), "sdk: gradio", LOADER_APP)
            runtime = edge.push(space_id, folder)
            assert runtime["stage"] == "RUNNING", (runtime, edge.log()[-3000:])
            made[space_id] = Client(f"{edge.spaces_url}/apps/{space_id}/", verbose=False)
        return made[space_id]

    return space


@pytest.fixture(scope="module")
def models(origin: PodiumServer, edge: PodiumServer) -> None:
    """alice's private model on `edge` itself, bob's too, and a public model upstream only."""
    publish_model(edge.api(), "alice/secret", {"config.json": SECRET.encode()}, private=True)
    publish_model(edge.api(), "bob/private", {"config.json": b"bob's"}, private=True)
    publish_model(origin.api(), "org/shared", {"weights.txt": SHARED.encode()})


def test_a_private_model_is_read_by_its_owners_space_and_not_another_owners(
    models: None, loader: Callable[[str], Client]
) -> None:
    alice, bob = loader("alice/loader"), loader("bob/loader")
    assert alice.predict("HF_ENDPOINT", api_name="/variable") == "http://127.0.0.1:7850"  # the door
    assert alice.predict("alice/secret:config.json", api_name="/fetch") == SECRET
    assert bob.predict("alice/secret:config.json", api_name="/fetch").startswith("refused: RepositoryNotFoundError")
    assert bob.predict("bob/private:config.json", api_name="/fetch") == "bob's"


def test_two_spaces_loading_one_upstream_model_download_it_once(
    models: None, loader: Callable[[str], Client], upstream: CountingUpstream
) -> None:
    for space_id in ("alice/loader", "bob/loader"):
        assert loader(space_id).predict("org/shared:weights.txt", api_name="/fetch") == SHARED
    assert upstream.file_downloads("org/shared", "weights.txt") == 1


def test_through_the_door_a_space_reaches_only_the_read_routes_of_models_and_datasets(
    models: None, loader: Callable[[str], Client]
) -> None:
    alice = loader("alice/loader")
    for path in (
        "/api/models/alice/secret",
        "/api/models/alice/secret/revision/main",
        "/api/models/alice/secret/tree/main",
    ):
        assert alice.predict(path, api_name="/reach") == "200", path
    for path in (
        "/api/spaces/alice/loader",  # a space, even its own
        "/spaces/alice/loader/resolve/main/app.py",
        "/spaces/alice/resolve/resolve/main/app.py",  # read by the router as a space's file
        "/api/models",  # listings
        "/api/whoami-v2",
        "/api/tokens",
        "/signin",
        "/api/models/alice/secret/refs",
        "/api/models/alice/secret/commits/main",
    ):
        assert alice.predict(path, api_name="/reach") == "404", path


def test_a_space_loads_a_moved_model_by_its_old_name_never_from_upstream(
    models: None, loader: Callable[[str], Client], origin: PodiumServer, edge: PodiumServer
) -> None:
    """Through the door too, a moved model's old name leads to where it went, not to the upstream's model of
    that name. A private one's leads there only for spaces whose owner may read it: to another's, the name is
    one Podium does not hold, as if the model had never been (what the upstream has under it)."""
    publish_model(origin.api(), "alice/old-weights", {"config.json": b"the upstream's"})
    publish_model(edge.api(), "alice/old-weights", {"config.json": b"alice's"}, private=True)
    edge.api().move_repo("alice/old-weights", "alice/new-weights")
    assert loader("alice/loader").predict("alice/old-weights:config.json", api_name="/fetch") == "alice's"
    assert loader("bob/loader").predict("alice/old-weights:config.json", api_name="/fetch") == "the upstream's"


def test_a_spaces_token_reads_only_what_its_owner_reads_and_ends_with_its_deploy(
    edge: PodiumServer, models: None, loader: Callable[[str], Client], tmp_path: Path
) -> None:
    alice = loader("alice/loader")
    token = alice.predict("HF_TOKEN", api_name="/variable")
    assert token.startswith("hf_")
    api = HfApi(endpoint=edge.url, token=token)
    assert api.model_info("alice/secret").id == "alice/secret"
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("bob/private")
    with pytest.raises(HfHubHTTPError) as refused:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/secret")
    assert refused.value.response.status_code == 403
    assert (
        httpx.post(
            f"{edge.url}/api/tokens", json={"name": "wider"}, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 403
    )
    # Never on a page or in a log.
    assert token not in httpx.get(f"{edge.url}/spaces/alice/loader").text
    assert token not in "".join(edge.api().fetch_space_logs("alice/loader"))
    assert token not in "".join(edge.api().fetch_space_logs("alice/loader", build=True))
    assert token not in edge.log()
    # A restart gives the app a new token and ends the old one.
    edge.api().restart_space("alice/loader")
    deadline = time.monotonic() + 180
    renewed = token
    while renewed == token:  # the restarted instance serves once the switch is made
        assert time.monotonic() < deadline, edge.log()[-3000:]
        time.sleep(1)
        with contextlib.suppress(Exception):
            fresh = Client(f"{edge.spaces_url}/apps/alice/loader/", verbose=False)
            renewed = fresh.predict("HF_TOKEN", api_name="/variable")
    assert renewed.startswith("hf_")
    assert (
        httpx.get(f"{edge.url}/api/models/alice/secret", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    # Deleting the space ends its token too.
    edge.api().delete_repo("alice/loader", repo_type="space")
    assert (
        httpx.get(f"{edge.url}/api/models/alice/secret", headers={"Authorization": f"Bearer {renewed}"}).status_code
        == 401
    )


def test_a_static_space_runs_no_code_and_gets_no_token(
    edge: PodiumServer, loader: Callable[[str], Client], tmp_path: Path
) -> None:
    loader("bob/loader")
    (tmp_path / "README.md").write_text("---\nsdk: static\n---\n")
    (tmp_path / "index.html").write_text("<!doctype html><title>site</title>\n")
    assert edge.push("alice/site", tmp_path, sdk="static")["stage"] == "RUNNING"
    names = [record["name"] for record in edge.http().get("/api/tokens").json()]
    assert any(name.startswith("bob/loader:") for name in names)  # the loader's, made by its deploy
    assert not any(name.startswith("alice/site") for name in names)
