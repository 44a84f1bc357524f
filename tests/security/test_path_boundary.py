"""A space owner names the files she uploads. Whatever name she picks, Podium either stores the file at
exactly that path inside her space or refuses it with a 4xx saying why: never a 500, never a file
elsewhere, never a second file smuggled in through the name (git's index format, a checkout).

Hypothesis drives both the path check with a real git repository and Podium's commit API."""

from __future__ import annotations

import base64
import json
import string
import uuid
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from podium.repos import Change, SpaceRepo
from podium.uploads import UploadRejected, safe_path

from tests.support.podium_server import PodiumServer

# Names built from the pieces that have broken path checks elsewhere, plus any text at all.
_PIECES = st.sampled_from(
    [".", "..", ".git", ".GIT", ".Git", "git~1", "a", "app.py", "", "/", "\\", "\n", "\r", "\t", "\x00", "\x7f",
     "\x1b[31m", " ", "~", "$HOME", "..\\", "con", "ü", "%2e%2e", ",", "100644,", "é/", "a" * 300]
)  # fmt: skip
BASE_FILE = "0-base.txt"  # sorts first; no drawn name equals it
PATHS = st.one_of(
    st.lists(_PIECES, min_size=1, max_size=6).map("/".join),
    st.lists(_PIECES, min_size=1, max_size=6).map("".join),
    st.text(min_size=0, max_size=40),
    st.text(alphabet=string.printable, min_size=1, max_size=40),
)


def _fresh_repo(parent: Path) -> SpaceRepo:
    repo = SpaceRepo(parent / f"{uuid.uuid4().hex}.git")
    repo.init()
    repo.commit([Change(BASE_FILE, b"was here first")], "first")
    return repo


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=PATHS)
def test_an_accepted_path_is_stored_exactly_there_and_a_refused_one_says_why(
    path: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    try:
        stored = safe_path(path)
    except UploadRejected as refused:
        assert 400 <= refused.status < 500 and "path" in str(refused)
        return
    content = b"canary " + path.encode("utf-8", "surrogatepass")
    repo = _fresh_repo(tmp_path_factory.getbasetemp())
    head = repo.commit([Change(stored, content)], "upload")
    assert [entry.path for entry in repo.files(head)] == sorted({stored, BASE_FILE})  # exactly one file added
    assert repo.read(head, stored) == content
    # A build's checkout puts it at that path inside the checkout, nowhere else.
    checkout = repo.checkout(head, tmp_path_factory.mktemp("checkout") / "tree")
    assert (checkout / stored).read_bytes() == content
    assert (checkout / stored).resolve().is_relative_to(checkout.resolve())
    repo.commit([Change(stored)], "remove it again")
    assert [entry.path for entry in repo.files("main")] == [BASE_FILE]


def _commit(client: httpx.Client, space_id: str, path: str) -> httpx.Response:
    lines = [
        {"key": "header", "value": {"summary": "a name chosen by the owner"}},
        {"key": "file", "value": {"path": path, "content": base64.b64encode(b"x").decode(), "encoding": "base64"}},
    ]
    body = "\n".join(json.dumps(line) for line in lines)
    return client.post(f"/api/spaces/{space_id}/commit/main", content=body,
                       headers={"Content-Type": "application/x-ndjson"})  # fmt: skip


def test_the_commit_api_answers_any_file_name_with_a_2xx_or_a_4xx(podium: PodiumServer) -> None:
    space_id = "attacker/paths"
    podium.api().create_repo(space_id, repo_type="space", space_sdk="static")
    answers: list[tuple[str, int]] = []

    @settings(max_examples=60, deadline=None)
    @given(path=PATHS)
    def post(path: str) -> None:
        with podium.http() as client:
            response = _commit(client, space_id, path)
            answers.append((path, response.status_code))
            assert response.status_code < 500, f"{path!r}: {response.status_code} {response.text[:300]}"
            if response.is_success:
                files = {entry.rfilename for entry in podium.api().space_info(space_id, files_metadata=False).siblings}
                assert safe_path(path) in files

    post()
    assert any(status == 400 for _, status in answers), "no name was refused: the strategy tried nothing hostile"


def test_known_bad_names_are_refused_with_the_reason(podium: PodiumServer) -> None:
    podium.api().create_repo("attacker/known-paths", repo_type="space", space_sdk="static")
    with podium.http() as client:
        for path in (".", "a/.git/config", ".GIT/config", "a\nb", "a/../../b", "/etc/passwd", "x\x1b[2J", "a" * 300):
            response = _commit(client, "attacker/known-paths", path)
            assert response.status_code == 400, f"{path!r}: {response.status_code} {response.text[:200]}"
            assert "path" in response.json()["error"]


def test_a_name_that_is_both_a_file_and_a_folder_is_a_conflict_not_a_crash(podium: PodiumServer) -> None:
    podium.api().create_repo("attacker/file-or-folder", repo_type="space", space_sdk="static")
    with podium.http() as client:
        assert _commit(client, "attacker/file-or-folder", "docs/index.html").status_code == 200
        for path in ("docs", "docs/index.html/inner.txt"):
            response = _commit(client, "attacker/file-or-folder", path)
            assert response.status_code == 409, f"{path!r}: {response.status_code} {response.text[:200]}"
            assert "delete" in response.json()["error"]


def test_a_name_that_looks_like_a_pattern_deletes_only_that_file(tmp_path: Path) -> None:
    repo = _fresh_repo(tmp_path)
    names = [":0", "*", "[ab]", ":(glob)**", "a", "b"]
    repo.commit([Change(name, b"x") for name in names], "files with pattern-like names")
    for name in (":0", "*", "[ab]", ":(glob)**"):
        repo.commit([Change(name)], f"delete {name}")
    assert [entry.path for entry in repo.files("main")] == [BASE_FILE, "a", "b"]
