"""Spaces run someone's JavaScript, so they live on their own origin unless an operator says otherwise,
and private spaces stay invisible to visitors without a token."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.platform.spaces import static_space


def test_spaces_on_the_pages_origin_work_but_podium_warns_loudly(start_podium, tmp_path):
    server = start_podium(env={"PODIUM_SPACES_ON_PAGES_ORIGIN": "true"})
    assert "PODIUM_SPACES_ON_PAGES_ORIGIN is on" in server.log()
    api = server.api()
    assert server.push("admin/same", static_space(tmp_path), sdk="static")["stage"] == "RUNNING"
    assert api.space_info("admin/same").host == f"{server.url}/apps/admin/same/"
    assert "A static space" in httpx.get(f"{server.url}/apps/admin/same/").text
    assert httpx.get(f"{server.url}/api/spaces/admin/same").status_code == 200


def test_a_private_space_is_invisible_without_a_token(podium, tmp_path):
    api = podium.api()
    runtime = podium.push("admin/secret-site", static_space(tmp_path), sdk="static", private=True)
    assert runtime["stage"] == "RUNNING"

    anonymous = HfApi(endpoint=podium.url, token=False)
    assert "admin/secret-site" not in [s.id for s in anonymous.list_spaces()]
    assert httpx.get(f"{podium.url}/api/spaces/admin/secret-site").status_code == 404
    assert httpx.get(f"{podium.spaces_url}/apps/admin/secret-site/").status_code == 404

    owner = {"Authorization": f"Bearer {podium.token}"}
    assert "admin/secret-site" in [s.id for s in api.list_spaces()]
    assert "A static space" in httpx.get(f"{podium.spaces_url}/apps/admin/secret-site/", headers=owner).text


def test_a_public_space_made_private_or_deleted_is_refused_on_the_next_request(podium, tmp_path):
    """The spaces origin keeps what it read of a public space between requests (spaces_origin.py); a
    change of the space must reach the very next request, not the next read."""
    api = podium.api()
    url = f"{podium.spaces_url}/apps/admin/open-site/"
    assert podium.push("admin/open-site", static_space(tmp_path), sdk="static")["stage"] == "RUNNING"
    for _ in range(3):  # read, then answered from what the origin kept
        assert "A static space" in httpx.get(url).text

    api.update_repo_settings("admin/open-site", private=True, repo_type="space")
    assert httpx.get(url).status_code == 404
    owner = {"Authorization": f"Bearer {podium.token}"}
    assert "A static space" in httpx.get(url, headers=owner).text
    assert httpx.get(url).status_code == 404  # the owner's request left nothing behind for others

    api.update_repo_settings("admin/open-site", private=False, repo_type="space")
    assert "A static space" in httpx.get(url).text
    api.delete_repo("admin/open-site", repo_type="space")
    assert httpx.get(url).status_code == 404


def test_framing_is_podiums_policy_and_disable_embedding_limits_it_to_podiums_pages(podium, tmp_path):
    for name, card in [
        ("admin/embeddable", "sdk: static"),
        ("admin/no-embed", "sdk: static\ndisable_embedding: true"),
    ]:
        folder = tmp_path / name.split("/")[1]
        folder.mkdir()
        (folder / "README.md").write_text(f"---\n{card}\n---\n")
        (folder / "index.html").write_text("<p>framed?</p>")
        assert podium.push(name, folder, sdk="static")["stage"] == "RUNNING"
    open_to_all = httpx.get(f"{podium.spaces_url}/apps/admin/embeddable/")
    assert open_to_all.headers["content-security-policy"] == "frame-ancestors *"
    own_pages_only = httpx.get(f"{podium.spaces_url}/apps/admin/no-embed/")
    assert own_pages_only.headers["content-security-policy"] == f"frame-ancestors 'self' {podium.url}"


def test_host_mode_reaches_spaces_whose_names_a_host_name_cannot_spell(start_podium, tmp_path):
    """Host names are lower case and hold no '_' or '.': `admin/My_Site.v2` lives at admin-my-site-v2."""
    server = start_podium(env={"PODIUM_DOMAIN": "podium.test"})
    assert server.push("admin/My_Site.v2", static_space(tmp_path), sdk="static")["stage"] == "RUNNING"
    address = f"admin-my-site-v2.podium.test:{server.spaces_port}"
    assert server.api().space_info("admin/My_Site.v2").host == f"http://{address}"
    by_host = httpx.get(f"{server.spaces_url}/", headers={"Host": address})
    assert by_host.status_code == 200 and "A static space" in by_host.text
    assert "A static space" in httpx.get(f"{server.spaces_url}/apps/admin/My_Site.v2/").text
    unknown = {"Host": f"admin-my-site-v3.podium.test:{server.spaces_port}"}
    assert httpx.get(f"{server.spaces_url}/", headers=unknown).status_code == 404
    with pytest.raises(HfHubHTTPError, match="would share its address admin-my-site-v2 with admin/My_Site.v2"):
        server.api().create_repo("admin/my-site_v2", repo_type="space", space_sdk="static")
