"""Models and datasets on Podium through the real huggingface_hub client and git: create (private too),
upload, info with siblings and card, listing with search/author/filter, files, commits, refs, clone and push,
delete; who may read and write them; a model and a space sharing one name."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.hub.git_fixtures import Git
from tests.support.podium_server import PodiumServer

pytestmark = pytest.mark.timeout(300)

README = b"""---
license: mit
library_name: transformers
pipeline_tag: fill-mask
tags: [tiny, podium-test]
datasets: [alice/words]
---
# Tiny model

A model card.
"""
WEIGHTS = bytes(range(256)) * 4096  # 1 MiB, a *.bin: kept in LFS as on the Hub


def _status(call: Callable[[], object]) -> int:
    try:
        call()
    except HfHubHTTPError as exc:
        return exc.response.status_code
    return 200


@pytest.fixture(scope="module")
def model(hub_api: Callable[..., HfApi], tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """alice/tiny, a public model uploaded as a folder by alice."""
    folder = tmp_path_factory.mktemp("model")
    (folder / "README.md").write_bytes(README)
    (folder / "config.json").write_text('{"hidden_size": 32}')
    (folder / "weights.bin").write_bytes(WEIGHTS)
    alice = hub_api(tokens["alice"])
    url = alice.create_repo("alice/tiny", repo_type="model")
    assert url.repo_type == "model" and url.repo_id == "alice/tiny"
    alice.upload_folder(repo_id="alice/tiny", folder_path=folder, commit_message="first weights")
    return "alice/tiny"


def test_a_model_answers_model_info_with_its_files_card_and_tags(model: str, hub_api, tokens) -> None:
    info = hub_api(False).model_info(model, files_metadata=True)
    assert (info.id, info.author, info.private, info.downloads, info.likes) == (model, "alice", False, 0, 0)
    assert info.card_data.license == "mit" and info.library_name == "transformers"
    assert info.pipeline_tag == "fill-mask"
    assert {"tiny", "podium-test", "license:mit", "dataset:alice/words", "transformers"} <= set(info.tags)
    siblings = {s.rfilename: s for s in info.siblings}
    assert set(siblings) == {".gitattributes", "README.md", "config.json", "weights.bin"}
    assert siblings["weights.bin"].size == len(WEIGHTS) and siblings["weights.bin"].lfs is not None
    commits = hub_api(False).list_repo_commits(model)
    assert info.sha == commits[0].commit_id and commits[0].title == "first weights"
    assert hub_api(False).model_info(model, revision=commits[-1].commit_id).siblings[0].rfilename == ".gitattributes"


def test_a_model_files_download_list_and_branch_as_on_the_hub(model: str, hub_api, tokens, tmp_path: Path) -> None:
    anonymous, alice = hub_api(False), hub_api(tokens["alice"])
    weights = hf_hub_download(model, "weights.bin", endpoint=anonymous.endpoint, token=False, cache_dir=tmp_path)
    assert Path(weights).read_bytes() == WEIGHTS
    assert sorted(anonymous.list_repo_files(model)) == [".gitattributes", "README.md", "config.json", "weights.bin"]
    [info] = anonymous.get_paths_info(model, ["weights.bin"])
    assert info.lfs is not None and info.lfs.size == len(WEIGHTS)
    assert anonymous.file_exists(model, "config.json") and not anonymous.file_exists(model, "nothing.json")
    alice.create_branch(model, branch="v2")
    alice.upload_file(path_or_fileobj=b"{}", path_in_repo="extra.json", repo_id=model, revision="v2")
    alice.create_tag(model, tag="first", revision="main")
    refs = anonymous.list_repo_refs(model)
    assert {b.name for b in refs.branches} == {"main", "v2"} and [t.name for t in refs.tags] == ["first"]
    assert "extra.json" in anonymous.list_repo_files(model, revision="v2")
    assert "extra.json" not in anonymous.list_repo_files(model)  # main did not move, nor its record
    assert anonymous.model_info(model).sha == refs.branches[[b.name for b in refs.branches].index("main")].target_commit


def test_uploading_the_same_folder_again_commits_nothing(model: str, hub_api, tokens, tmp_path: Path) -> None:
    """huggingface_hub skips files whose git blob id matches the repository's: an LFS file's too, whose blob
    in git is its pointer (else every upload of unchanged weights is an empty commit)."""
    alice = hub_api(tokens["alice"])
    folder = tmp_path / "again"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 32}')
    (folder / "weights.bin").write_bytes(WEIGHTS)
    before = [commit.commit_id for commit in alice.list_repo_commits(model)]
    alice.upload_folder(repo_id=model, folder_path=folder, commit_message="the same again")
    assert [commit.commit_id for commit in alice.list_repo_commits(model)] == before
    (folder / "weights.bin").write_bytes(WEIGHTS[::-1])  # changed weights are a commit, as before
    alice.upload_folder(repo_id=model, folder_path=folder, commit_message="new weights")
    assert len(alice.list_repo_commits(model)) == len(before) + 1
    alice.upload_file(path_or_fileobj=WEIGHTS, path_in_repo="weights.bin", repo_id=model)  # as the others expect


def test_models_are_listed_by_search_author_and_tag(model: str, hub_api, tokens) -> None:
    anonymous = hub_api(False)
    hub_api(tokens["bob"]).create_repo("bob/other-model")
    assert [m.id for m in anonymous.list_models(search="tiny")] == [model]
    assert {m.id for m in anonymous.list_models(author="bob")} == {"bob/other-model"}
    assert [m.id for m in anonymous.list_models(filter=["license:mit", "tiny"])] == [model]
    assert [m.id for m in anonymous.list_models(filter="no-such-tag")] == []
    assert {m.id for m in anonymous.list_models()} >= {model, "bob/other-model"}
    assert [s.id for s in anonymous.list_spaces(search="tiny")] == []  # models are not spaces


def test_a_dataset_is_its_own_repository_type(hub_api, tokens, tmp_path: Path) -> None:
    """A CSV dataset uploaded and read back with hf_hub_download (the csv module: pandas is not installed)."""
    alice = hub_api(tokens["alice"])
    alice.create_repo("alice/words", repo_type="dataset")
    rows = b"text,label\nhello,1\nworld,0\n"
    alice.upload_file(path_or_fileobj=rows, path_in_repo="data/train.csv", repo_id="alice/words", repo_type="dataset")
    alice.upload_file(
        path_or_fileobj=b"---\nlicense: cc0-1.0\ntags: [words]\n---\n# Words\n",
        path_in_repo="README.md",
        repo_id="alice/words",
        repo_type="dataset",
    )
    info = hub_api(False).dataset_info("alice/words")
    assert info.id == "alice/words" and "license:cc0-1.0" in info.tags and info.card_data.license == "cc0-1.0"
    assert {s.rfilename for s in info.siblings} >= {"data/train.csv", "README.md"}
    assert [d.id for d in hub_api(False).list_datasets(filter="words")] == ["alice/words"]
    path = hf_hub_download(
        "alice/words", "data/train.csv", repo_type="dataset", endpoint=alice.endpoint, token=False, cache_dir=tmp_path
    )
    assert list(csv.DictReader(io.StringIO(Path(path).read_text()))) == [
        {"text": "hello", "label": "1"},
        {"text": "world", "label": "0"},
    ]
    assert _status(lambda: hub_api(False).model_info("alice/words")) == 404  # a dataset is no model


def test_a_model_and_a_space_may_share_a_name_and_keep_their_files_apart(model: str, hub_api, tokens) -> None:
    alice = hub_api(tokens["alice"])
    alice.create_repo(model, repo_type="space", space_sdk="static")
    alice.upload_file(path_or_fileobj=b"<p>hi</p>", path_in_repo="index.html", repo_id=model, repo_type="space")
    assert "index.html" in alice.list_repo_files(model, repo_type="space")
    assert "index.html" not in alice.list_repo_files(model)
    assert "weights.bin" not in alice.list_repo_files(model, repo_type="space")
    assert alice.create_repo(model, exist_ok=True).repo_id == model  # the 409 carries the model's url


def test_a_private_model_is_read_only_by_its_owner(hub_api, tokens, tmp_path: Path) -> None:
    alice, bob, anonymous = hub_api(tokens["alice"]), hub_api(tokens["bob"]), hub_api(False)
    alice.create_repo("alice/secret", private=True)
    alice.upload_file(path_or_fileobj=b"hidden", path_in_repo="weights.txt", repo_id="alice/secret")
    assert alice.model_info("alice/secret").private is True
    assert hub_api(tokens["alice-read"]).model_info("alice/secret").private is True
    for stranger in (bob, anonymous):
        with pytest.raises(RepositoryNotFoundError):
            stranger.model_info("alice/secret")
        assert "alice/secret" not in {m.id for m in stranger.list_models(author="alice")}
        assert _status(lambda stranger=stranger: stranger.list_repo_files("alice/secret")) in (401, 404)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("alice/secret", "weights.txt", endpoint=bob.endpoint, token=tokens["bob"], cache_dir=tmp_path)
    # Writing needs a write token of the owner: bob's is not, nor alice's read-only one.
    assert _status(lambda: bob.upload_file(path_or_fileobj=b"x", path_in_repo="x", repo_id="alice/tiny")) == 403
    assert (
        _status(
            lambda: hub_api(tokens["alice-read"]).upload_file(
                path_or_fileobj=b"x", path_in_repo="x", repo_id="alice/tiny"
            )
        )
        == 403
    )
    assert _status(lambda: bob.create_repo("alice/bobs")) == 403
    assert _status(lambda: bob.delete_repo("alice/secret")) == 404
    assert _status(lambda: anonymous.create_repo("alice/anon")) == 401


def test_model_names_that_would_hide_podium_pages_are_refused(hub: PodiumServer) -> None:
    with hub.http() as http:
        for owner in ("spaces", "datasets", "api"):
            answer = http.post("/api/repos/create", json={"name": "x", "organization": owner, "type": "model"})
            assert answer.status_code == 400, answer.text
        assert http.post("/api/repos/create", json={"name": "x", "type": "widget"}).status_code == 400


def test_a_model_clones_and_pushes_with_git(
    model: str, hub: PodiumServer, hub_api, tokens, git: Git, new_clone: Callable[..., Path]
) -> None:
    base = f"http://127.0.0.1:{hub.port}"
    clone = new_clone(f"{base}/{model}")
    assert (clone / "config.json").read_text() == '{"hidden_size": 32}'
    assert (clone / "weights.bin").read_bytes() == WEIGHTS  # through the LFS batch API, as git lfs fetches it
    (clone / "README.md").write_bytes(README.replace(b"license: mit", b"license: apache-2.0"))
    git("commit", "--quiet", "-am", "relicense", cwd=clone)
    refused = git("push", f"http://user:{tokens['bob']}@127.0.0.1:{hub.port}/{model}", "main", cwd=clone, check=False)
    assert refused.returncode != 0 and "may not push" in refused.stderr
    git("push", "--quiet", f"http://user:{tokens['alice']}@127.0.0.1:{hub.port}/{model}.git", "main", cwd=clone)
    info = hub_api(False).model_info(model)
    assert info.card_data.license == "apache-2.0" and info.sha == git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    bobs = f"http://user:{tokens['bob']}@127.0.0.1:{hub.port}/alice/secret"
    private = git("clone", "--quiet", bobs, str(clone.parent / "secret"), check=False)
    assert private.returncode != 0 and "Repository not found: no model alice/secret" in private.stderr
    git(
        "clone", "--quiet", f"http://user:{tokens['alice']}@127.0.0.1:{hub.port}/alice/secret", str(clone.parent / "s2")
    )
    dataset = new_clone(f"{base}/datasets/alice/words")
    assert (dataset / "data" / "train.csv").is_file()


def test_deleting_a_model_removes_it_and_frees_its_name(hub_api, tokens) -> None:
    alice = hub_api(tokens["alice"])
    alice.create_repo("alice/short-lived")
    alice.upload_file(path_or_fileobj=b"1", path_in_repo="a.txt", repo_id="alice/short-lived")
    alice.delete_repo("alice/short-lived")
    assert _status(lambda: alice.model_info("alice/short-lived")) == 404
    alice.create_repo("alice/short-lived")
    assert alice.list_repo_files("alice/short-lived") == [".gitattributes"]


def test_commit_urls_name_the_model(model: str, hub: PodiumServer, tokens) -> None:
    info = HfApi(endpoint=hub.url, token=tokens["alice"]).create_commit(
        model, [CommitOperationAdd("notes.txt", b"n")], commit_message="notes"
    )
    assert info.repo_url.repo_type == "model" and info.repo_url.repo_id == model
    assert httpx.get(f"{hub.url}/api/models/{model}/revision/{info.oid}").json()["sha"] == info.oid
