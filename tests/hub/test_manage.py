"""Managing spaces as a Hugging Face user does: `duplicate_repo`, `move_repo` and `update_repo_settings`
through the real huggingface_hub client, against a real `podium serve`, with the attacks each one invites."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from gradio_client import Client
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import write_space

# Counts its starts in /data, and says under which name it runs.
COUNTING_APP = """
    import os
    from pathlib import Path

    import gradio as gr

    starts = Path("/data") / "starts"
    with starts.open("a") as file:
        file.write("start\\n")
    COUNT = len(starts.read_text().splitlines())


    def greet(name: str) -> str:
        return f"{os.environ['GREETING']} {name} from {os.environ['SPACE_ID']} (start {COUNT})"


    gr.Interface(greet, "text", "text").launch()
"""


@pytest.fixture(scope="module")
def tokens(hub: PodiumServer) -> dict[str, str]:
    """bob's own write token, and one of admin's scoped to alice's spaces."""
    with hub.http() as http:
        bob = http.post("/api/tokens", json={"name": "bob", "user": "bob"}).json()["token"]
        scoped = http.post("/api/tokens", json={"name": "alice deploy", "user": "admin", "owner": "alice"})
    return {"bob": bob, "alice-scoped": scoped.json()["token"]}


@pytest.fixture(scope="module")
def original(hub: PodiumServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = write_space(tmp_path_factory.mktemp("original"), "sdk: gradio", COUNTING_APP)
    runtime = hub.push(
        "alice/original",
        folder,
        space_variables=[{"key": "GREETING", "value": "Hello"}],
        space_secrets=[{"key": "API_KEY", "value": "alice's own"}],
    )
    assert runtime["stage"] == "RUNNING", runtime
    return "alice/original"


def _greet(hub: PodiumServer, space_id: str, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return Client(f"{hub.spaces_url}/apps/{space_id}/", headers=headers, verbose=False).predict(
        "Ann", api_name="/greet"
    )


def _commits(hub: PodiumServer, space_id: str) -> list[str]:
    import subprocess

    git_dir = hub.data_dir / "repos" / f"{space_id}.git"
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), "rev-list", "--all"], capture_output=True, text=True
    ).stdout.split()


def _status(call: Callable[[], object]) -> int:
    with pytest.raises(HfHubHTTPError) as refused:
        call()
    return refused.value.response.status_code


def test_a_duplicate_gets_the_history_and_variables_but_its_own_secrets_and_runs(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str], original: str
) -> None:
    bob = hub_api(tokens["bob"])
    url = bob.duplicate_repo(
        original,
        "bob/copy",
        repo_type="space",
        private=True,
        space_hardware="cpu-basic",
        space_secrets=[{"key": "MINE", "value": "bob's"}],
        space_variables=[{"key": "GREETING", "value": "Hi"}],
    )
    assert url.repo_id == "bob/copy" and not url.files_copy_pending
    assert hub.wait_for_stage("bob/copy", token=tokens["bob"])["stage"] == "RUNNING"
    assert _greet(hub, "bob/copy", tokens["bob"]) == "Hi Ann from bob/copy (start 1)"  # a /data of its own
    assert sorted(_commits(hub, "bob/copy")) == sorted(_commits(hub, original)) != []
    assert bob.space_info("bob/copy").private is True
    assert {key: v.value for key, v in bob.get_space_variables("bob/copy").items()} == {"GREETING": "Hi"}
    assert list(hub.http().get("/api/spaces/bob/copy/secrets").json()) == ["MINE"]
    # Again, with exist_ok: the client reads the existing copy's url from the 409.
    assert bob.duplicate_repo(original, "bob/copy", repo_type="space", exist_ok=True).repo_id == "bob/copy"


def test_duplicating_refuses_what_the_caller_may_not_do_and_loses_nothing(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str], original: str
) -> None:
    bob, admin = hub_api(tokens["bob"]), hub_api()
    admin.create_repo("alice/hidden", repo_type="space", space_sdk="gradio", private=True)
    assert _status(lambda: bob.duplicate_repo(original, "alice/mine", repo_type="space")) == 403
    assert _status(lambda: bob.duplicate_repo("alice/hidden", "bob/peek", repo_type="space")) == 404
    assert _status(lambda: bob.duplicate_repo(original, "bob/_bad", repo_type="space")) == 400
    assert _status(lambda: bob.duplicate_repo(original, "bob/prot", repo_type="space", visibility="protected")) == 400
    assert _status(lambda: admin.duplicate_repo(original, "admin/hw", repo_type="space", space_hardware="h999")) == 400
    # Onto an existing space: a 409, and the space it would have replaced is untouched.
    before = _commits(hub, original)
    assert _status(lambda: admin.duplicate_repo("alice/hidden", original, repo_type="space")) == 409
    assert _commits(hub, original) == before
    for space_id in ("alice/mine", "bob/peek", "bob/prot", "admin/hw"):
        assert hub.http().get(f"/api/spaces/{space_id}").status_code == 404


def test_a_moved_space_runs_under_its_new_name_with_everything_and_its_old_name_redirects(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str], original: str
) -> None:
    admin = hub_api()
    before = _commits(hub, original)
    admin.move_repo(original, "alice/renamed", repo_type="space")
    assert hub.wait_for_stage("alice/renamed")["stage"] == "RUNNING"
    # Its /data came along (second start), and the app knows its new name.
    assert _greet(hub, "alice/renamed") == "Hello Ann from alice/renamed (start 2)"
    assert _commits(hub, "alice/renamed") == before
    assert {key: v.value for key, v in admin.get_space_variables("alice/renamed").items()} == {"GREETING": "Hello"}
    assert list(hub.http().get("/api/spaces/alice/renamed/secrets").json()) == ["API_KEY"]
    # The old name: the API answers 307 to the new one (huggingface_hub follows it); no app is served there.
    old = httpx.get(f"{hub.url}/api/spaces/{original}/runtime?x=1", headers={"Authorization": f"Bearer {hub.token}"})
    assert old.status_code == 307 and old.headers["location"] == "/api/spaces/alice/renamed/runtime?x=1"
    assert admin.space_info(original).id == "alice/renamed"
    page = httpx.get(f"{hub.url}/spaces/{original}")  # the space's page, its files and git: the same
    assert page.status_code == 307 and page.headers["location"] == "/spaces/alice/renamed"
    assert httpx.get(f"{hub.spaces_url}/apps/{original}/").status_code == 404

    # Moving back frees the name again: no redirect loops, and the space is where it started.
    admin.move_repo("alice/renamed", original, repo_type="space")
    assert hub.wait_for_stage(original)["stage"] == "RUNNING"
    assert admin.space_info("alice/renamed").id == original
    assert _greet(hub, original) == "Hello Ann from alice/original (start 3)"


def test_moving_refuses_other_owners_taken_names_and_bad_names_and_loses_nothing(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str], original: str
) -> None:
    bob, scoped, admin = hub_api(tokens["bob"]), hub_api(tokens["alice-scoped"]), hub_api()
    admin.create_repo("bob/taken", repo_type="space", space_sdk="gradio")
    assert _status(lambda: bob.move_repo(original, "bob/stolen", repo_type="space")) == 403
    # A token scoped to alice's spaces moves nothing out of them, nor anything into them.
    assert _status(lambda: scoped.move_repo(original, "bob/moved", repo_type="space")) == 403
    assert _status(lambda: scoped.move_repo("bob/taken", "alice/taken", repo_type="space")) == 403
    assert _status(lambda: admin.move_repo(original, "bob/taken", repo_type="space")) == 409
    assert _status(lambda: admin.move_repo(original, "alice/_bad", repo_type="space")) == 400
    assert _status(lambda: admin.move_repo(original, "alice/x", repo_type="model")) == 404  # no model of that name
    assert hub.wait_for_stage(original)["stage"] == "RUNNING"
    assert admin.space_info("bob/taken").id == "bob/taken"
    for space_id in ("bob/stolen", "bob/moved", "alice/taken"):
        assert hub.http().get(f"/api/spaces/{space_id}").status_code == 404


def test_a_private_space_old_name_tells_its_new_one_only_to_its_readers(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str]
) -> None:
    admin = hub_api()
    admin.create_repo("alice/private-old", repo_type="space", space_sdk="gradio", private=True)
    admin.move_repo("alice/private-old", "alice/private-new", repo_type="space")
    for headers in ({}, {"Authorization": f"Bearer {tokens['bob']}"}):
        answer = httpx.get(f"{hub.url}/api/spaces/alice/private-old", headers=headers)
        assert answer.status_code == 404 and "private-new" not in answer.text
    assert admin.space_info("alice/private-old").id == "alice/private-new"
    # A space made at the old name takes it back from the redirect.
    admin.create_repo("alice/private-old", repo_type="space", space_sdk="gradio")
    assert admin.space_info("alice/private-old").id == "alice/private-old"


def test_repository_settings_change_visibility_and_refuse_gating(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str]
) -> None:
    admin, anonymous = hub_api(), hub_api(False)
    admin.create_repo("alice/visible", repo_type="space", space_sdk="gradio")
    admin.update_repo_settings("alice/visible", private=True, repo_type="space")
    assert _status(lambda: anonymous.space_info("alice/visible")) in (401, 404)
    admin.update_repo_settings("alice/visible", visibility="public", gated=False, repo_type="space")
    assert anonymous.space_info("alice/visible").private is False
    assert _status(lambda: admin.update_repo_settings("alice/visible", gated="manual", repo_type="space")) == 400
    assert (
        _status(lambda: admin.update_repo_settings("alice/visible", visibility="protected", repo_type="space")) == 400
    )
    assert (
        _status(lambda: hub_api(tokens["bob"]).update_repo_settings("alice/visible", private=True, repo_type="space"))
        == 403
    )
    odd = hub.http().put("/api/spaces/alice/visible/settings", json={"discussionsDisabled": True})
    assert odd.status_code == 400 and "discussionsDisabled" in odd.json()["error"]
    assert anonymous.space_info("alice/visible").private is False
