"""A hostile space owner writes the README front matter and the requirement files: each injection is
tried as an attacker would, first on the spec and plan (fast, no build), then through a real Podium.

What each one would have done without the checks: a newline in `sdk_version` adds requirement lines
and Dockerfile instructions; `base_path: /@evil.example` sends /open (with a private space's ticket)
to another host; `colorFrom` writes CSS into the pages; 230 bytes of YAML aliases become megabytes;
requirement options and file: URLs install from wherever the attacker likes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from podium.web.views import SpaceView
from podium_runner.docker import dockerfile
from podium_runner.docker.host import HostPackageSettings
from podium_runner.front_matter_rules import RULES
from podium_runner.plan import DependencySet, make_plan
from podium_runner.requirement_lines import check_line
from podium_runner.spec import SpaceConfigError, load_spec, split_front_matter, valid_entries
from podium_runner.stages import Stage

from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import GRADIO_HELLO, write_space
from tests.support.tokens import pages_session

HOST = HostPackageSettings(env={}, constraints=b"", ca_certificates=(), left_out=())
# Each level multiplies by nine: 230-odd bytes that a plain yaml.safe_load expands to millions of items.
ALIAS_BOMB = """
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
"""
CSS_INJECTION = "red); } body { display: none } .x { --y: var(--c-red"


def refused(
    tmp_path: Path, front_matter: str, *, requirements: str | None = None, files: dict[str, str] | None = None
) -> SpaceConfigError:
    space = write_space(tmp_path / "space", front_matter, GRADIO_HELLO, requirements=requirements, files=files)
    with pytest.raises(SpaceConfigError) as caught:
        make_plan(load_spec(space))
    assert caught.value.stage == Stage.CONFIG_ERROR
    return caught.value


# -- sdk_version and the other values that reach commands ------------------------------------------


def test_a_newline_in_sdk_version_adds_no_requirement_and_no_dockerfile_instruction(tmp_path: Path) -> None:
    error = refused(tmp_path, 'sdk: gradio\nsdk_version: "6.31.0\\n--index-url http://127.0.0.1:9/simple"')
    assert error.key == "sdk_version" and "\\n--index-url" in str(error) and "6.31.0" in str(error)
    # The negative control: that value, had it reached the plan, is a new Dockerfile instruction.
    deps = DependencySet(python_version="3.11", sdk_requirement="gradio==6.31.0\nRUN touch /pwned")
    plan = make_plan(load_spec(write_space(tmp_path / "good", "sdk: gradio", GRADIO_HELLO)))
    injected = dockerfile.dependency_dockerfile(dataclasses.replace(plan, deps=deps), "base", HOST, buildkit=False)
    assert any(line.startswith("RUN touch /pwned") for line in injected.splitlines())


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sdk_version", '"6.31.0 ; echo pwned"'),
        ("sdk_version", '"6.31.0\\rRUN x"'),
        ("sdk_version", '">=0"'),
        ("python_version", '"3.11 --system"'),
        ("python_version", '"3.١١"'),  # Arabic-Indic digits are \\d to Python's re, never to an interpreter
        ("app_file", "-c"),
        ("app_file", "'app.py\\nRUN x'"),
        ("app_port", '"7860\\nEXPOSE 22"'),
        ("suggested_hardware", "'cpu-basic\\n'"),
        ("startup_duration_timeout", ".nan"),
        ("startup_duration_timeout", "1e400"),
        ("custom_headers", '{cross-origin-opener-policy: "same-origin\\r\\nSet-Cookie: podium_session=x"}'),
        ("preload_from_hub", '["a/b ../../etc/passwd"]'),
        ("models", '["a/b/../../c"]'),
    ],
)
def test_values_that_reach_a_command_or_a_header_follow_their_pattern(tmp_path: Path, key: str, value: str) -> None:
    error = refused(tmp_path, f"sdk: gradio\n{key}: {value}")
    assert error.key == key or error.key.startswith(key), error


def test_the_refused_value_is_quoted_escaped_and_cut(tmp_path: Path) -> None:
    error = refused(tmp_path, 'sdk: gradio\ntitle: "' + "x" * 500 + '\\n"')
    assert error.key == "title" and len(str(error)) < 300 and "…" in str(error) and "\n" not in str(error)


@pytest.mark.parametrize("key", [key for key, rule in RULES.items() if rule.pattern])
def test_no_rule_can_be_made_to_backtrack(key: str) -> None:
    # '/' + 25 letters + '!' took 3 s against an earlier base_path pattern, doubling with each letter.
    rule = RULES[key]
    for start in ("", "/", "a/b "):
        for filler in ("a", "a/", "a,", "1.", "a-", "a.", "a/b,"):
            value = (start + filler * rule.max_length)[: rule.max_length - 1] + "!"
            started = time.perf_counter()
            with pytest.raises(ValueError):
                rule.check(value)
            assert time.perf_counter() - started < 0.05, (key, value[:40])


def test_packages_txt_names_debian_packages_only(tmp_path: Path) -> None:
    error = refused(tmp_path, "sdk: gradio", files={"packages.txt": "ffmpeg\n-o APT::Get::AllowUnauthenticated=1\n"})
    assert error.file == "packages.txt" and "-o APT" in str(error) and "Debian package name" in str(error)


# -- requirement lines -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("--index-url http://127.0.0.1:9/simple", "--index-url"),
        ("--extra-index-url=http://127.0.0.1:9/simple", "--extra-index-url"),
        ("-i http://127.0.0.1:9/simple", "-i"),
        ("numpy --index-url http://127.0.0.1:9/simple", "--index-url"),
        ("-e ./pkg", "-e"),
        ("-r other.txt", "-r"),
        ("-c constraints.txt", "-c"),
        ("--find-links /tmp/wheels", "--find-links"),
        ("--trusted-host 127.0.0.1", "--trusted-host"),
        ("numpy --config-settings=--build-option=x", "--config-settings"),
        ("mypkg @ file:///etc/mypkg.whl", "file: URLs"),
        ("mypkg@file:///etc/mypkg.whl", "file: URLs"),
        ("git+file:///srv/repo#egg=x", "file: URLs"),
        ("FILE:./pkg", "file: URLs"),
        ("/opt/wheels/x.whl", "outside the space"),
        ("./wheels/../../x.whl", "outside the space"),
        ("mypkg @ ../x", "outside the space"),
        ("~/x.whl", "outside the space"),
        ("https://127.0.0.1:9/${PODIUM_SECRET}.whl", "environment variables"),
    ],
)
def test_requirement_lines_cannot_carry_options_file_urls_or_outside_paths(
    tmp_path: Path, line: str, says: str
) -> None:
    for name in ("requirements.txt", "pre-requirements.txt"):
        error = refused(tmp_path / name, "sdk: gradio", files={name: f"numpy\n{line}\n"})
        assert error.file == name and says in str(error) and repr(line)[:50] in str(error), error


@pytest.mark.parametrize(
    "line",
    ["pkg" + " " * 200_000 + "x", "pkg" + " " * 100_000 + "[" + " " * 100_000, "pkg" + " --hash=sha256:" * 20_000],
)
def test_a_long_requirement_line_is_read_in_linear_time(line: str) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ValueError):
        check_line(line)
    assert time.perf_counter() - started < 0.2  # 0.33 s for 20 000 spaces, quadratic, before


def test_local_packages_inside_the_space_and_hash_pins_stay_allowed(tmp_path: Path) -> None:
    sha = "0" * 64
    space = write_space(
        tmp_path,
        "sdk: gradio",
        GRADIO_HELLO,
        requirements=(
            f"./wheels/demo-1.0-py3-none-any.whl\n./pkg\nnumpy==2.0 \\\n    --hash=sha256:{sha}\n"
            "six @ https://files.example/six-1.0-py3-none-any.whl\n"
        ),
        files={"wheels/demo-1.0-py3-none-any.whl": "wheel", "pkg/setup.py": "print()"},
    )
    deps = make_plan(load_spec(space)).deps
    assert f"numpy==2.0  --hash=sha256:{sha}" in deps.requirements  # one line again, as pip reads it
    assert {path for path, _ in deps.local_files} == {"wheels/demo-1.0-py3-none-any.whl", "pkg"}


def test_a_symlink_inside_the_space_that_leads_out_is_refused(tmp_path: Path) -> None:
    space = write_space(tmp_path / "space", "sdk: gradio", GRADIO_HELLO, requirements="./vendored\n")
    (space / "vendored").symlink_to("/etc")
    with pytest.raises(SpaceConfigError, match="points outside the space"):
        make_plan(load_spec(space))


# -- YAML ------------------------------------------------------------------------------------------


def test_a_yaml_alias_bomb_is_refused_at_once_in_little_memory() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(SpaceConfigError, match="anchors and aliases") as caught:
        split_front_matter(f"---\n{ALIAS_BOMB}---\n# hi\n")
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "line 3" in str(caught.value)
    # The negative control: plain safe_load shares each alias, and the card's JSON writes every copy out.
    four_levels = "\n".join(ALIAS_BOMB.strip().splitlines()[:4])
    assert len(json.dumps(yaml.safe_load(four_levels))) > 200 * len(four_levels)
    assert seconds < 0.5 and peak < 1024 * 1024, (seconds, peak)


@pytest.mark.parametrize(
    ("front_matter", "says"),
    [
        ("x: " + "[" * 20 + "]" * 20, "nested more than 16 deep"),
        ("x: " + "[" * 5000 + "]" * 5000, "nest"),  # libyaml's own limit (1000) may speak first
        ("x: " + "a" * (40 * 1024), "at most 32768"),
        ("x: !!binary aGVsbG8=", "bytes is not allowed"),
        ("x: !!set {a, b}", "set is not allowed"),
        ("x: .inf", "not a finite number"),
        ("? [a, b]\n: c", "does not parse"),
    ],
)
def test_front_matter_that_would_not_fit_in_memory_json_or_the_parser_is_a_config_error(
    front_matter: str, says: str
) -> None:
    with pytest.raises(SpaceConfigError, match=says.replace("[", r"\[")):
        split_front_matter(f"---\n{front_matter}\n---\n")


def test_a_date_in_an_unknown_key_stays_text() -> None:
    assert split_front_matter("---\nreleased: 2024-01-31\n---\n")[0] == {"released": "2024-01-31"}


def view_of(card: dict, url: str = "http://alice-demo.podium.localhost:7861", sdk: str = "streamlit") -> SpaceView:
    return SpaceView(
        id="alice/demo",
        owner="alice",
        name="demo",
        sdk=sdk,
        stage="RUNNING",
        private=True,
        hardware="cpu-basic",
        sleep_time=None,
        sha=None,
        error_message=None,
        card=card,
        url=url,
        browsable=True,
    )


@pytest.mark.parametrize(
    "base_path",
    ["/@evil.example", "@evil.example", "//evil.example/x", "/\\evil.example", "/:80@evil.example", "\t//evil.example"],
)
def test_the_app_url_never_leaves_the_spaces_origin(base_path: str) -> None:
    # Even from a card that skipped the rules (a record an older Podium wrote): the origin check holds.
    for card in ({"base_path": base_path}, valid_entries({"base_path": base_path})):
        for url in ("http://alice-demo.podium.localhost:7861", "http://127.0.0.1:7861/apps/alice/demo/"):
            view = view_of(card, url)
            for built in (view.app_url, view.embed_url):
                assert urlsplit(built)[:2] == urlsplit(url)[:2], (base_path, built)


def test_a_good_base_path_joins_the_space_url_with_one_slash_and_keeps_its_query() -> None:
    view = view_of({"base_path": "/docs/?view=api"})
    assert view.app_url == "http://alice-demo.podium.localhost:7861/docs/?view=api"
    assert view.embed_url == "http://alice-demo.podium.localhost:7861/docs/?view=api&embed=true"


# -- through a real Podium -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hosted(start_podium) -> PodiumServer:
    """A Podium in host mode (each space on a host of its own), where /open hands out tickets."""
    return start_podium(env={"PODIUM_DOMAIN": "podium.localhost"})


def push_files(server: PodiumServer, space_id: str, files: dict[str, str], private: bool = False) -> dict:
    server.api().create_repo(space_id, repo_type="space", space_sdk="static", private=private)
    response = server.http().post(
        f"/api/spaces/{space_id}/upload", files=[("files", (name, text.encode())) for name, text in files.items()]
    )
    assert response.status_code == 200, response.text
    return server.wait_for_stage(space_id, timeout=60)


def readme(front_matter: str) -> str:
    return f"---\n{front_matter}\n---\n# An attacker's space\n"


def test_base_path_at_another_host_is_a_config_error_and_open_stays_on_the_spaces_host(hosted: PodiumServer) -> None:
    space_id = "admin/open-redirect"
    runtime = push_files(
        hosted,
        space_id,
        {"README.md": readme("sdk: static\nbase_path: /@evil.example"), "index.html": "<p>hi</p>"},
        private=True,
    )
    assert runtime["stage"] == "CONFIG_ERROR" and "base_path" in runtime["errorMessage"]
    own_host = "admin-open-redirect.podium.localhost"
    # The negative control: the URL the App tab used to build, the space's URL plus base_path.
    assert urlsplit(f"http://{own_host}:{hosted.spaces_port}" + "@evil.example").hostname == "evil.example"
    browser = pages_session(hosted, hosted.token)
    for route in ("open", "embed/frame"):
        answer = browser.get(f"/spaces/{space_id}/{route}")
        assert answer.status_code == 303
        assert urlsplit(answer.headers["location"]).hostname == own_host, answer.headers["location"]
    page = browser.get(f"/spaces/{space_id}").text
    assert "base_path" in page  # the error is shown, as text; no link or frame leads there
    assert not re.search(r'(src|href|action)="[^"]*evil\.example', page)


def test_a_colour_that_writes_css_never_reaches_the_pages(hosted: PodiumServer) -> None:
    space_id = "admin/css-injection"
    runtime = push_files(
        hosted,
        space_id,
        {
            "README.md": readme(f'sdk: static\ncolorFrom: "{CSS_INJECTION}"\ncolorTo: pink\ntitle: Looks harmless'),
            "index.html": "<p>hi</p>",
        },
    )
    assert runtime["stage"] == "CONFIG_ERROR" and "colorFrom" in runtime["errorMessage"]
    for path in ("/", f"/spaces/{space_id}"):
        page = httpx.get(hosted.url + path, timeout=30).text
        assert "Looks harmless" in page  # the good parts of the raw front matter are still shown
        # The value appears only as the escaped text of the error, never inside a style or a class.
        assert "style=" not in page and "<style" not in page
        assert not re.search(r'class="[^"]*(display|var\()', page)
        assert "from-indigo to-pink" in page  # an unknown colour falls back to the default


def test_an_alias_bomb_readme_is_refused_and_podium_stays_small(hosted: PodiumServer) -> None:
    def rss_kib() -> int:
        status = Path(f"/proc/{hosted.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))

    before = rss_kib()
    started = time.monotonic()
    runtime = push_files(
        hosted, "admin/alias-bomb", {"README.md": readme("sdk: static" + ALIAS_BOMB), "index.html": "<p>hi</p>"}
    )
    assert runtime["stage"] == "CONFIG_ERROR" and "anchors and aliases" in runtime["errorMessage"]
    # The pages read a CONFIG_ERROR space's raw README again, to show its title.
    assert httpx.get(f"{hosted.url}/spaces/admin/alias-bomb", timeout=30).status_code == 200
    assert time.monotonic() - started < 30
    grown_kib = rss_kib() - before
    assert grown_kib < 20 * 1024, f"podium serve grew by {grown_kib} KiB"


def test_a_requirement_option_is_a_config_error_naming_the_line(hosted: PodiumServer) -> None:
    space_id = "admin/index-swap"
    hosted.api().create_repo(space_id, repo_type="space", space_sdk="gradio")
    line = "--extra-index-url http://127.0.0.1:9/simple"
    response = hosted.http().post(
        f"/api/spaces/{space_id}/upload",
        files=[
            ("files", ("README.md", readme("sdk: gradio").encode())),
            ("files", ("app.py", b"print()\n")),
            ("files", ("requirements.txt", f"numpy\n{line}\n".encode())),
        ],
    )
    assert response.status_code == 200
    runtime = hosted.wait_for_stage(space_id, timeout=60)
    assert runtime["stage"] == "CONFIG_ERROR"
    assert "requirements.txt" in runtime["errorMessage"] and line in runtime["errorMessage"]
