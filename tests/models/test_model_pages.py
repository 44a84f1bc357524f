"""The pages of models and datasets, over HTTP: a model's card rendered from its README (its HTML not
run), its files, the spaces that use it; a space's page linking the models it names; the listings;
a private model's page hidden from everyone but its owner."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub import CommitOperationAdd

from tests.hub.git_fixtures import deployed
from tests.support.podium_server import PodiumServer

pytestmark = pytest.mark.timeout(120)

CARD = b"""---
license: mit
tags: [shown-tag]
---
# A card heading

Some **bold** words and <script>alert("run me")</script> a script that must not run.

[a bad link](javascript:alert(1))
"""


@pytest.fixture(scope="module")
def pages(hub: PodiumServer, hub_api, tokens) -> httpx.Client:
    alice = hub_api(tokens["alice"])
    alice.create_repo("alice/paged")
    alice.create_commit(
        "alice/paged",
        [CommitOperationAdd("README.md", CARD), CommitOperationAdd("model.safetensors", b"\0" * 2_000_000)],
        commit_message="card and weights",
    )
    alice.create_repo("alice/hidden-page", private=True)
    alice.create_repo("alice/user-of-paged", repo_type="space", space_sdk="static")
    readme = b"---\nsdk: static\nmodels: [alice/paged]\ndatasets: [alice/some-data]\n---\n# uses\n"
    uses = alice.create_commit(
        "alice/user-of-paged",
        [CommitOperationAdd("README.md", readme), CommitOperationAdd("index.html", b"<p>uses a model</p>")],
        commit_message="a static page naming its model",
        repo_type="space",
    )
    deployed(hub, "alice/user-of-paged", uses.oid)  # a space's card is recorded as it deploys
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        yield client


def test_a_model_page_shows_its_card_files_and_the_spaces_using_it(pages: httpx.Client) -> None:
    page = pages.get("/alice/paged")
    assert page.status_code == 200, page.text
    html = page.text
    assert "<h1>A card heading</h1>" in html and "<strong>bold</strong>" in html
    assert '<script>alert("run me")</script>' not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert "license:mit" in html and "shown-tag" in html
    assert 'href="/alice/paged/resolve/main/model.safetensors"' in html and "1.9 MB" in html  # the content's size
    assert 'href="/spaces/alice/user-of-paged"' in html


def test_a_space_page_links_the_models_and_datasets_it_uses(pages: httpx.Client) -> None:
    html = pages.get("/spaces/alice/user-of-paged/files").text
    assert 'href="/alice/paged"' in html and 'href="/datasets/alice/some-data"' in html


def test_the_listing_filters_and_hides_private_models(pages: httpx.Client, hub: PodiumServer) -> None:
    listing = pages.get("/models").text
    assert 'href="/alice/paged"' in listing and "alice/hidden-page" not in listing
    assert 'href="/alice/paged"' not in pages.get("/models", params={"tag": "no-such"}).text
    assert 'href="/alice/paged"' in pages.get("/models", params={"q": "pag", "tag": "shown-tag"}).text
    assert pages.get("/alice/hidden-page").status_code == 404
    assert pages.get("/alice/no-such-model").status_code == 404
    assert pages.get("/datasets").status_code == 200
    missing_api = pages.get("/api/nothing-here")  # Podium's own addresses are no model's page
    assert missing_api.status_code == 404 and missing_api.headers["content-type"] == "application/json"
    # An app's old address on the pages' origin still leads to it, even where it reads like a model's file.
    app_address = pages.get("/apps/alice/resolve/main/x")
    assert app_address.status_code == 307 and "/apps/alice/resolve/main/x" in app_address.headers["location"]


def test_a_model_info_names_the_spaces_that_use_it(pages: httpx.Client, hub_api) -> None:
    assert hub_api(False).model_info("alice/paged").spaces == ["alice/user-of-paged"]
