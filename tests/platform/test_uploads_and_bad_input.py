"""What people upload, good and bad: plain uploads and archives, and every bad input the API refuses.

This Podium has small limits so that bombs and oversized files are cheap to make. Uploads here are
static spaces, which need no build, so the stories stay fast.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import zipfile

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.platform.spaces import static_space

KiB = 1024
LIMITS = {
    "PODIUM_LIMITS__MAX_FILE_SIZE": str(64 * KiB),
    "PODIUM_LIMITS__MAX_UPLOAD_SIZE": str(512 * KiB),
    "PODIUM_LIMITS__MAX_ARCHIVE_ENTRIES": "50",
    "PODIUM_LIMITS__MAX_ARCHIVE_EXPANSION": str(128 * KiB),
}


@pytest.fixture(scope="module")
def small(start_podium):
    """A Podium with small upload limits."""
    return start_podium(env=LIMITS)


@pytest.fixture(scope="module")
def plain(small):
    """An empty static space to upload into."""
    small.api().create_repo("admin/plain", repo_type="space", space_sdk="static")
    return "admin/plain"


def ndjson(*items: dict) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


HEADER = {"key": "header", "value": {"summary": "test"}}


def commit(server, space: str, body: bytes) -> httpx.Response:
    return server.http().post(
        f"/api/spaces/{space}/commit/main", content=body, headers={"Content-Type": "application/x-ndjson"}
    )


def upload(server, space: str, files: list[tuple[str, bytes]]) -> httpx.Response:
    return server.http().post(
        f"/api/spaces/{space}/upload", files=[("files", (name, content)) for name, content in files]
    )


def zip_of(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def tar_of(add) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        add(archive)
    return buffer.getvalue()


def regular(archive: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    archive.addfile(info, io.BytesIO(content))


# -- uploads that work -------------------------------------------------------------------------


def test_a_folder_uploaded_as_multipart_files_serves_through_the_proxy(small, plain):
    response = upload(
        small,
        plain,
        [
            ("README.md", b"---\nsdk: static\n---\n"),
            ("index.html", b"<h1>Hello from a folder</h1>"),
            ("css/site.css", b"h1 { color: teal }"),
        ],
    )
    assert response.status_code == 200, response.text
    assert small.wait_for_stage(plain)["stage"] == "RUNNING"
    assert "Hello from a folder" in httpx.get(f"{small.spaces_url}/apps/{plain}/").text
    css = httpx.get(f"{small.spaces_url}/apps/{plain}/css/site.css")
    assert css.text == "h1 { color: teal }" and "frame-ancestors" in css.headers["content-security-policy"]


def test_a_zip_of_a_folder_replaces_the_space_and_history_is_kept(small, plain):
    before = small.api().space_info(plain).sha
    archive = zip_of({"site/README.md": b"---\nsdk: static\n---\n", "site/index.html": b"<h1>From a zip</h1>"})
    response = upload(small, plain, [("site.zip", archive)])
    assert response.status_code == 200, response.text
    info = small.api().space_info(plain)
    assert {f.rfilename for f in info.siblings} == {".gitattributes", "README.md", "index.html"}
    assert info.sha == response.json()["commitOid"] != before
    old = small.http().get(f"/api/spaces/{plain}/revision/{before}").json()
    assert "css/site.css" in {f["rfilename"] for f in old["siblings"]}
    assert small.wait_for_stage(plain)["stage"] == "RUNNING"
    assert "From a zip" in httpx.get(f"{small.spaces_url}/apps/{plain}/").text


def test_hf_upload_folder_works_for_a_static_space(small, tmp_path):
    assert small.push("admin/hub-static", static_space(tmp_path), sdk="static")["stage"] == "RUNNING"
    assert "A static space" in httpx.get(f"{small.spaces_url}/apps/admin/hub-static/").text


def test_a_readme_naming_an_unknown_sdk_is_a_config_error_that_says_what_is_allowed(small, tmp_path):
    api = small.api()
    api.create_repo("admin/flask", repo_type="space", space_sdk="gradio")
    response = upload(small, "admin/flask", [("README.md", b"---\nsdk: flask\n---\n"), ("app.py", b"")])
    assert response.status_code == 200
    runtime = small.wait_for_stage("admin/flask")
    assert runtime["stage"] == "CONFIG_ERROR"
    assert "'flask'" in runtime["errorMessage"] and "gradio" in runtime["errorMessage"]


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["two/parts", "has space", "-dash-first", "a" * 97])
def test_a_repo_name_with_slashes_or_spaces_is_refused(small, name):
    response = small.http().post("/api/repos/create", json={"name": name, "type": "space", "sdk": "gradio"})
    assert response.status_code == 400
    assert "not a valid space name" in response.json()["error"]


def test_creating_a_space_twice_is_a_conflict(small, plain):
    with pytest.raises(HfHubHTTPError) as error:
        small.api().create_repo(plain, repo_type="space", space_sdk="static")
    assert error.value.response.status_code == 409


def test_writes_need_a_valid_token(small, plain):
    anonymous = httpx.post(f"{small.url}/api/repos/create", json={"name": "x", "type": "space"})
    assert anonymous.status_code == 401 and "Authorization: Bearer" in anonymous.json()["error"]
    with pytest.raises(HfHubHTTPError) as error:
        HfApi(endpoint=small.url, token="hf_not-a-real-token").create_repo(
            "admin/x", repo_type="space", space_sdk="gradio"
        )
    assert error.value.response.status_code == 401
    wrong = httpx.post(
        f"{small.url}/api/spaces/{plain}/commit/main",
        content=ndjson(HEADER),
        headers={"Authorization": "Bearer hf_wrong"},
    )
    assert wrong.status_code == 401
    # Reads of a public space need no token.
    assert httpx.get(f"{small.url}/api/spaces/{plain}").status_code == 200


def test_a_token_made_for_another_user_cannot_write_the_admins_space(small, plain):
    made = small.http().post("/api/podium/tokens", json={"user": "alice"})
    alice = made.json()["token"]
    assert HfApi(endpoint=small.url, token=alice).whoami()["name"] == "alice"
    response = httpx.post(f"{small.url}/api/spaces/{plain}/pause", headers={"Authorization": f"Bearer {alice}"})
    assert response.status_code == 403 and "only its owner" in response.json()["error"]
    refused = httpx.post(
        f"{small.url}/api/podium/tokens", json={"user": "bob"}, headers={"Authorization": f"Bearer {alice}"}
    )
    assert refused.status_code == 403


def test_commit_lines_that_are_not_json_are_refused_with_the_line_number(small, plain):
    response = commit(small, plain, ndjson(HEADER) + b"{this is not json\n")
    assert response.status_code == 400 and "line 2" in response.json()["error"]


def test_file_content_that_is_not_base64_is_refused(small, plain):
    bad = {"key": "file", "value": {"path": "a.txt", "content": "%%% not base64 %%%", "encoding": "base64"}}
    response = commit(small, plain, ndjson(HEADER, bad))
    assert response.status_code == 400 and "not valid base64" in response.json()["error"]


@pytest.mark.parametrize("path", ["../escape.py", "/etc/passwd", "nul\x00byte.py", "sub/../../x.py"])
def test_paths_that_could_escape_the_space_are_refused(small, plain, path):
    line = {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(b"x").decode(), "encoding": "base64"},
    }
    response = commit(small, plain, ndjson(HEADER, line))
    assert response.status_code == 400
    assert "path" in response.json()["error"]


def test_a_file_over_the_size_limit_is_refused_before_upload_naming_the_limit(small, plain, tmp_path):
    (tmp_path / "big.bin").write_bytes(b"x" * (65 * KiB))
    with pytest.raises(HfHubHTTPError) as error:
        small.api().upload_file(
            path_or_fileobj=tmp_path / "big.bin", path_in_repo="big.bin", repo_id=plain, repo_type="space"
        )
    assert error.value.response.status_code == 413
    assert "max_file_size = 64 KiB" in error.value.response.json()["error"]


def test_an_upload_over_the_total_limit_is_refused_naming_the_limit(small, plain):
    response = upload(small, plain, [(f"f{i}.bin", b"x" * (60 * KiB)) for i in range(10)])
    assert response.status_code == 413 and "max_upload_size" in response.json()["error"]


def test_an_archive_with_parent_folder_entries_is_refused(small, plain):
    response = upload(small, plain, [("evil.zip", zip_of({"../../outside.py": b"x", "app.py": b""}))])
    assert response.status_code == 400 and "'..'" in response.json()["error"]


def test_archives_with_symlinks_or_hardlinks_are_refused(small, plain):
    response = upload(small, plain, [("link.zip", zip_of({"app.py": b""}, symlink="passwd"))])
    assert response.status_code == 400 and "symbolic link" in response.json()["error"]

    def with_symlink(archive: tarfile.TarFile) -> None:
        link = tarfile.TarInfo("passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)

    def with_hardlink(archive: tarfile.TarFile) -> None:
        regular(archive, "app.py", b"")
        link = tarfile.TarInfo("copy.py")
        link.type, link.linkname = tarfile.LNKTYPE, "app.py"
        archive.addfile(link)

    symlinked = upload(small, plain, [("s.tar.gz", tar_of(with_symlink))])
    assert symlinked.status_code == 400 and "symbolic link" in symlinked.json()["error"]
    hardlinked = upload(small, plain, [("h.tar.gz", tar_of(with_hardlink))])
    assert hardlinked.status_code == 400 and "hard link" in hardlinked.json()["error"]


def test_archive_bombs_stop_at_the_configured_limits(small, plain):
    many = upload(small, plain, [("many.zip", zip_of({f"f{i}.txt": b"" for i in range(60)}))])
    assert many.status_code == 413 and "max_archive_entries" in many.json()["error"]

    # Three files of 60 KiB of zeros: under a kilobyte packed, 180 KiB unpacked.
    def zeros(archive: tarfile.TarFile) -> None:
        for i in range(3):
            regular(archive, f"zeros{i}.bin", bytes(60 * KiB))

    packed = tar_of(zeros)
    assert len(packed) < 2 * KiB
    bomb = upload(small, plain, [("bomb.tar.gz", packed)])
    assert bomb.status_code == 413 and "max_archive_expansion" in bomb.json()["error"]
    one_big = upload(small, plain, [("big.zip", zip_of({"big.bin": bytes(100 * KiB)}))])
    assert one_big.status_code == 413 and "max_file_size" in one_big.json()["error"]


def test_a_space_that_does_not_exist_is_a_clear_404_not_a_stack_trace(small):
    page = httpx.get(f"{small.spaces_url}/apps/nobody/nothing/", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "No such space" in page.text and "Traceback" not in page.text
    api = httpx.get(f"{small.url}/api/spaces/nobody/nothing/runtime")
    assert api.status_code == 404 and "nobody/nothing" in api.json()["error"]
    # The pages' origin sends visitors of a space's path to the spaces origin.
    moved = httpx.get(f"{small.url}/apps/nobody/nothing/")
    assert moved.status_code == 307 and moved.headers["location"].startswith(small.spaces_url)


def test_hardware_requests_name_a_known_flavor(small, plain):
    api = small.api()
    assert api.request_space_hardware(plain, "cpu-upgrade").requested_hardware == "cpu-upgrade"
    assert small.wait_for_stage(plain)["hardware"]["requested"] == "cpu-upgrade"
    with pytest.raises(HfHubHTTPError) as error:
        api.request_space_hardware(plain, "quantum-xl")
    assert error.value.response.status_code == 400 and "cpu-basic" in error.value.response.json()["error"]
