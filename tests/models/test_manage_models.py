"""Managing models and datasets as a Hugging Face user does: `move_repo` and `update_repo_settings` through
the real huggingface_hub client and git, against a real `podium serve`, with the attacks each one invites."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

from tests.hub.git_fixtures import Git
from tests.support.podium_server import PodiumServer

pytestmark = pytest.mark.timeout(300)

WEIGHTS = bytes(range(256)) * 1024  # 256 KiB, a *.bin: kept in LFS, granted to the repository it was sent to


def _status(call: Callable[[], object]) -> int:
    with pytest.raises(HfHubHTTPError) as refused:
        call()
    return refused.value.response.status_code


def _model(api: HfApi, repo_id: str, **create: object) -> str:
    api.create_repo(repo_id, **create)
    api.upload_file(path_or_fileobj=WEIGHTS, path_in_repo="weights.bin", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b'{"hidden_size": 8}', path_in_repo="config.json", repo_id=repo_id)
    return repo_id


def test_a_moved_model_keeps_its_history_and_files_and_its_old_name_redirects(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str], git: Git, tmp_path: Path
) -> None:
    alice, anonymous = hub_api(tokens["alice"]), hub_api(False)
    old = _model(alice, "alice/before-move")
    before = alice.list_repo_commits(old)
    assert alice.move_repo(old, "alice/after-move") is None
    info = anonymous.model_info("alice/after-move", files_metadata=True)
    assert info.id == "alice/after-move" and info.sha == before[0].commit_id
    assert [c.commit_id for c in anonymous.list_repo_commits("alice/after-move")] == [c.commit_id for c in before]
    weights = hf_hub_download("alice/after-move", "weights.bin", endpoint=hub.url, token=False, cache_dir=tmp_path)
    assert Path(weights).read_bytes() == WEIGHTS  # its LFS grant came along

    # The old name answers 307 to the new one: the API, the files, the page and git, and clients follow it.
    answer = httpx.get(f"{hub.url}/api/models/{old}/revision/main?blobs=true")
    assert answer.status_code == 307
    assert answer.headers["location"] == "/api/models/alice/after-move/revision/main?blobs=true"
    assert httpx.get(f"{hub.url}/{old}").headers["location"] == "/alice/after-move"
    assert anonymous.model_info(old).id == "alice/after-move"
    weights = hf_hub_download(old, "weights.bin", endpoint=hub.url, token=False, cache_dir=tmp_path / "old")
    assert Path(weights).read_bytes() == WEIGHTS
    clone = tmp_path / "clone"
    git("clone", "--quiet", f"{hub.url}/{old}.git", str(clone))
    assert (clone / "weights.bin").read_bytes() == WEIGHTS and (clone / "config.json").is_file()
    # A commit through the old name lands in the moved model.
    alice.upload_file(path_or_fileobj=b"notes", path_in_repo="notes.txt", repo_id=old)
    assert "notes.txt" in anonymous.list_repo_files("alice/after-move")

    # Moving back frees the name again: no redirect loops, and the model is where it started.
    alice.move_repo("alice/after-move", old)
    assert anonymous.model_info(old).id == old
    assert anonymous.model_info("alice/after-move").id == old
    # A model made at a name a move left takes it from the redirect.
    alice.create_repo("alice/after-move")
    assert anonymous.list_repo_files("alice/after-move") == [".gitattributes"]
    assert "notes.txt" in anonymous.list_repo_files(old)


def test_a_moved_dataset_redirects_its_api_and_files_and_stays_a_dataset(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str], tmp_path: Path
) -> None:
    alice = hub_api(tokens["alice"])
    alice.create_repo("alice/rows", repo_type="dataset")
    alice.upload_file(
        path_or_fileobj=b"a,b\n1,2\n", path_in_repo="train.csv", repo_id="alice/rows", repo_type="dataset"
    )
    alice.move_repo("alice/rows", "alice/table", repo_type="dataset")
    assert hub_api(False).dataset_info("alice/rows").id == "alice/table"
    resolve = httpx.get(f"{hub.url}/datasets/alice/rows/resolve/main/train.csv")
    assert resolve.status_code == 307 and resolve.headers["location"] == "/datasets/alice/table/resolve/main/train.csv"
    path = hf_hub_download(
        "alice/rows", "train.csv", repo_type="dataset", endpoint=hub.url, token=False, cache_dir=tmp_path
    )
    assert Path(path).read_bytes() == b"a,b\n1,2\n"
    # The move is the dataset's: a model of that name is another repository, which no redirect reaches.
    assert httpx.get(f"{hub.url}/api/models/alice/rows").status_code == 404


def test_moving_a_model_refuses_strangers_taken_names_and_bad_names_and_loses_nothing(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str]
) -> None:
    alice, bob = hub_api(tokens["alice"]), hub_api(tokens["bob"])
    model = _model(alice, "alice/stays")
    alice.create_repo("alice/taken")
    alice.create_repo("alice/hidden", private=True)
    assert _status(lambda: bob.move_repo(model, "bob/stolen")) == 403  # bob may read it, not move it
    assert _status(lambda: bob.move_repo("alice/hidden", "bob/stolen")) == 404  # nor learn a private one exists
    assert _status(lambda: alice.move_repo(model, "bob/gift")) == 403  # nor may alice put models under bob
    assert _status(lambda: hub_api(tokens["alice-read"]).move_repo(model, "alice/read-only")) == 403
    assert _status(lambda: alice.move_repo(model, "alice/taken")) == 409
    assert _status(lambda: alice.move_repo(model, model)) == 400
    for bad in ("alice/_bad", "api/x", "alice/a/b"):
        answer = httpx.post(
            f"{hub.url}/api/repos/move",
            json={"fromRepo": model, "toRepo": bad, "type": "model"},
            headers={"Authorization": f"Bearer {tokens['alice']}"},
        )
        assert answer.status_code == 400, (bad, answer.text)
    assert _status(lambda: alice.move_repo("alice/nothing-here", "alice/something")) == 404
    # A folder no record holds in the way of the new name (a leftover): refused, and it stays as it was.
    in_the_way = hub.data_dir / "repos" / "_models" / "alice" / "in-the-way.git"
    (in_the_way / "objects").mkdir(parents=True)
    assert _status(lambda: alice.move_repo(model, "alice/in-the-way")) == 409
    assert sorted(p.name for p in in_the_way.iterdir()) == ["objects"]
    assert _status(lambda: alice.move_repo(model, "alice/x", repo_type="widget")) == 400
    # Nothing moved: the model is where it was, whole, and no name it was offered exists.
    assert set(alice.list_repo_files(model)) == {".gitattributes", "weights.bin", "config.json"}
    for repo_id in ("bob/stolen", "bob/gift", "alice/read-only", "alice/something", "alice/in-the-way"):
        assert httpx.get(f"{hub.url}/api/models/{repo_id}").status_code == 404


def test_a_private_model_old_name_tells_its_new_one_only_to_its_readers(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str]
) -> None:
    alice = hub_api(tokens["alice"])
    alice.create_repo("alice/private-old", private=True)
    alice.move_repo("alice/private-old", "alice/private-new")
    for headers in ({}, {"Authorization": f"Bearer {tokens['bob']}"}, {"Authorization": "Bearer hf_forged"}):
        for url in ("/api/models/alice/private-old", "/alice/private-old/resolve/main/.gitattributes"):
            answer = httpx.get(f"{hub.url}{url}", headers=headers)
            assert answer.status_code in (401, 404) and "private-new" not in answer.text, (url, headers)
    assert alice.model_info("alice/private-old").id == "alice/private-new"


def test_model_and_dataset_settings_change_visibility_and_refuse_gating(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str], tmp_path: Path
) -> None:
    alice, anonymous = hub_api(tokens["alice"]), hub_api(False)
    model = _model(alice, "alice/shown")
    alice.update_repo_settings(model, private=True)
    assert _status(lambda: anonymous.model_info(model)) in (401, 404)
    assert _status(
        lambda: hf_hub_download(model, "weights.bin", endpoint=hub.url, token=tokens["bob"], cache_dir=tmp_path)
    ) in (401, 404)
    assert alice.model_info(model).private is True
    alice.update_repo_settings(model, visibility="public", gated=False)
    assert anonymous.model_info(model).private is False
    assert _status(lambda: alice.update_repo_settings(model, gated="manual")) == 400
    for body in ({"visibility": "protected"}, {"private": "yes"}, {"colour": "red"}, {}, []):
        answer = httpx.put(
            f"{hub.url}/api/models/{model}/settings", json=body, headers={"Authorization": f"Bearer {tokens['alice']}"}
        )
        assert answer.status_code == 400 and model in answer.json()["error"], (body, answer.text)
    assert _status(lambda: hub_api(tokens["bob"]).update_repo_settings(model, private=True)) == 403
    assert _status(lambda: hub_api(tokens["alice-read"]).update_repo_settings(model, private=True)) == 403
    assert anonymous.model_info(model).private is False  # none of the refused ones changed anything
    alice.create_repo("alice/shown-data", repo_type="dataset")
    alice.update_repo_settings("alice/shown-data", private=True, repo_type="dataset")
    assert _status(lambda: anonymous.dataset_info("alice/shown-data")) in (401, 404)
    assert alice.dataset_info("alice/shown-data").private is True


def test_super_squash_leaves_one_commit_of_the_same_files_and_refuses_spaces(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str], tmp_path: Path
) -> None:
    alice, anonymous = hub_api(tokens["alice"]), hub_api(False)
    model = _model(alice, "alice/long-history")
    alice.create_branch(model, branch="v2")
    alice.upload_file(path_or_fileobj=b"v2", path_in_repo="v2.txt", repo_id=model, revision="v2")
    alice.create_tag(model, tag="before-squash")
    files = sorted(anonymous.list_repo_files(model))
    assert len(alice.list_repo_commits(model)) == 3

    alice.super_squash_history(model, commit_message="one commit")
    [commit] = anonymous.list_repo_commits(model)
    assert commit.title == "one commit" and commit.authors == ["alice"]
    assert anonymous.model_info(model).sha == commit.commit_id
    [listed] = anonymous.list_models(search="alice/long-history")
    assert listed.sha == commit.commit_id  # the record follows main, and the listing reads it
    assert sorted(anonymous.list_repo_files(model)) == files
    weights = hf_hub_download(model, "weights.bin", endpoint=hub.url, token=False, cache_dir=tmp_path)
    assert Path(weights).read_bytes() == WEIGHTS
    # Only the branch named is squashed; the tag and the other branch keep the history they reach.
    assert len(anonymous.list_repo_commits(model, revision="before-squash")) == 3
    alice.super_squash_history(model, branch="v2")
    assert len(anonymous.list_repo_commits(model, revision="v2")) == 1
    assert "v2.txt" in anonymous.list_repo_files(model, revision="v2")
    assert anonymous.model_info(model).sha == commit.commit_id  # squashing v2 left main and its record alone

    alice.create_repo("alice/squashed-rows", repo_type="dataset")
    alice.upload_file(path_or_fileobj=b"x", path_in_repo="x.csv", repo_id="alice/squashed-rows", repo_type="dataset")
    alice.super_squash_history("alice/squashed-rows", repo_type="dataset")
    assert len(anonymous.list_repo_commits("alice/squashed-rows", repo_type="dataset")) == 1

    # Refused, nothing changed: a stranger, a read token, a missing branch, and any space.
    assert _status(lambda: hub_api(tokens["bob"]).super_squash_history(model)) == 403
    assert _status(lambda: hub_api(tokens["alice-read"]).super_squash_history(model)) == 403
    assert _status(lambda: alice.super_squash_history(model, branch="nothing")) == 404
    alice.create_repo("alice/kept-history", repo_type="space", space_sdk="static")
    alice.upload_file(
        path_or_fileobj=b"<p>", path_in_repo="index.html", repo_id="alice/kept-history", repo_type="space"
    )
    refused = httpx.post(
        f"{hub.url}/api/spaces/alice/kept-history/super-squash/main",
        json={"message": "squash"},
        headers={"Authorization": f"Bearer {tokens['alice']}"},
    )
    assert refused.status_code == 400 and "space's history" in refused.json()["error"]
    assert len(anonymous.list_repo_commits("alice/kept-history", repo_type="space")) == 2
    assert [c.commit_id for c in anonymous.list_repo_commits(model)] == [commit.commit_id]


def test_a_duplicated_model_has_the_history_and_files_and_goes_its_own_way(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tokens: dict[str, str], tmp_path: Path
) -> None:
    alice, bob, anonymous = hub_api(tokens["alice"]), hub_api(tokens["bob"]), hub_api(False)
    model = _model(alice, "alice/to-copy")
    alice.create_tag(model, tag="v1")
    copy = bob.duplicate_repo(model, "bob/copied")
    assert (copy.repo_type, copy.repo_id) == ("model", "bob/copied")
    commits = [c.commit_id for c in anonymous.list_repo_commits(model)]
    assert [c.commit_id for c in anonymous.list_repo_commits("bob/copied")] == commits
    assert [t.name for t in anonymous.list_repo_refs("bob/copied").tags] == ["v1"]
    assert anonymous.model_info("bob/copied").author == "bob"
    weights = hf_hub_download("bob/copied", "weights.bin", endpoint=hub.url, token=False, cache_dir=tmp_path)
    assert Path(weights).read_bytes() == WEIGHTS  # its LFS files were granted to the copy
    # The copy is bob's own: he commits to it, and the original does not change.
    bob.upload_file(path_or_fileobj=b"bob's", path_in_repo="bobs.txt", repo_id="bob/copied")
    assert "bobs.txt" not in anonymous.list_repo_files(model)
    assert [c.commit_id for c in anonymous.list_repo_commits(model)] == commits

    # Visibility follows the original unless asked; a dataset duplicates as a dataset.
    alice.create_repo("alice/hidden-copyable", private=True)
    alice.duplicate_repo("alice/hidden-copyable", "alice/hidden-copy")
    assert alice.model_info("alice/hidden-copy").private is True
    alice.duplicate_repo("alice/hidden-copyable", "alice/shown-copy", private=False)
    assert anonymous.model_info("alice/shown-copy").private is False
    alice.create_repo("alice/rows-to-copy", repo_type="dataset")
    data = alice.duplicate_repo("alice/rows-to-copy", "alice/rows-copy", repo_type="dataset")
    assert (data.repo_type, anonymous.dataset_info("alice/rows-copy").id) == ("dataset", "alice/rows-copy")

    # Refused, with no copy left: a private original to a stranger, someone else's owner, a taken name.
    assert _status(lambda: bob.duplicate_repo("alice/hidden-copyable", "bob/peek")) == 404
    assert _status(lambda: bob.duplicate_repo(model, "alice/bobs-gift")) == 403
    assert _status(lambda: bob.duplicate_repo(model, "bob/copied")) == 409
    for repo_id in ("bob/peek", "alice/bobs-gift"):
        assert httpx.get(f"{hub.url}/api/models/{repo_id}").status_code == 404
