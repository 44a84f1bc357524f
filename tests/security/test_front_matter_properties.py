"""Properties of the README front matter at the trust boundary, for any value Hypothesis can think of:
reading a space either accepts a value that follows its rule or raises SpaceConfigError, never anything
else; and what it accepts carries no newline, quote, `@` or `//` into a command, a file or a URL, and
never moves the app's URL off the space's own origin."""

from __future__ import annotations

import string
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from podium_runner.front_matter_rules import RULES
from podium_runner.plan import make_plan
from podium_runner.requirement_lines import check_line, local_path
from podium_runner.spec import SpaceConfigError, load_spec

# Values that reach a command line, a Dockerfile, a requirement file or a URL.
COMMAND_AND_URL_KEYS = (
    "sdk",
    "sdk_version",
    "python_version",
    "app_file",
    "base_path",
    "suggested_hardware",
    "models",
    "datasets",
    "preload_from_hub",
    "license",
    "colorFrom",
    "colorTo",
    "header",
)
KEYS = (*RULES, "app_port", "startup_duration_timeout", "custom_headers", "fullWidth", "pinned", "disable_embedding")
# The characters injections are made of, next to ordinary ones.
NASTY = "\n\r\t \"'`$;&|<>(){}[]@:/\\?#%=+~.,-_*!\x00\u2028\u202e١"
GOOD = {
    "sdk_version": "6.31.0",
    "python_version": "3.11",
    "app_file": "app.py",
    "base_path": "/docs",
    "models": "openai-community/gpt2",
    "tags": "demo",
    "colorFrom": "red",
    "title": "Demo",
    "emoji": "🚀",
    "preload_from_hub": "a/b f.bin",
    "license": "mit",
    "app_port": "7860",
}

texts = st.text(alphabet=st.sampled_from(string.ascii_letters + string.digits + NASTY), max_size=40)
mutated = st.builds(
    lambda good, bad, at: good[:at] + bad + good[at:], st.sampled_from(sorted(GOOD.values())), texts, st.integers(0, 20)
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts, mutated, st.text(max_size=30))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)


def for_key(key: str) -> st.SearchStrategy[tuple[str, object]]:
    """Anything, or (where the rule has a pattern) what the pattern itself matches: the accepted side."""
    rule = RULES.get(key)
    own = st.from_regex(rule.pattern, fullmatch=True) if rule is not None and rule.pattern else st.nothing()
    return st.tuples(st.just(key), st.one_of(values, own, own.map(lambda text: [text])))


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def read(folder: Path, front_matter: str) -> dict | None:
    """What `load_spec` makes of a README with this front matter: the card, or None when it refuses."""
    (folder / "README.md").write_text(f"---\n{front_matter}\n---\n", encoding="utf-8")
    try:
        return load_spec(folder).card_data()
    except SpaceConfigError:
        return None


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text("print()\n")
    return tmp_path


def strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return []


@SETTINGS
@given(entry=st.sampled_from(KEYS).flatmap(for_key))
@example(entry=("sdk_version", "6.31.0\nnumpy"))
@example(entry=("base_path", "/@evil.example"))
@example(entry=("base_path", "/%2e%2e/other"))
@example(entry=("colorFrom", "red; background: url(//evil.example)"))
def test_a_value_is_accepted_only_in_its_strict_form(folder: Path, entry: tuple[str, object]) -> None:
    key, value = entry
    card = read(folder, yaml.safe_dump({key: value}, allow_unicode=True))
    if card is None or key not in card:
        return
    accepted = card[key]
    if key in COMMAND_AND_URL_KEYS:
        for text in strings_in(accepted):
            assert (
                not any(char in text for char in "\n\r\"'`@\\ $;<>")
                or key == "preload_from_hub"
                and not any(char in text for char in "\n\r\"'`@\\$;<>")
            ), (key, text)
            assert "//" not in text and ".." not in text.split("?")[0].split("/"), (key, text)
    if key == "base_path" and accepted is not None:
        origin = "http://admin-demo.podium.localhost:7861"
        assert urlsplit(origin + "/" + accepted.lstrip("/"))[:2] == urlsplit(origin)[:2]
    for text in strings_in(accepted):
        assert "\n" not in text and "\r" not in text and "\x00" not in text, (key, text)


@SETTINGS
@given(text=st.text(max_size=300))
@example(text="a: &a [1]\nb: *a")
@example(text="x: " + "[" * 200)
@example(text="!!python/object:os.system x")
@example(text="x: !!timestamp 2024-99-99")
@example(text="? !!binary aGVsbG8=\n: 1")
def test_any_front_matter_text_is_read_or_refused_with_a_config_error(folder: Path, text: str) -> None:
    read(folder, text)  # any other exception fails the test


@SETTINGS
@given(requirements=st.lists(st.one_of(texts, mutated, st.text(max_size=40)), max_size=4))
@example(requirements=["numpy\n--index-url http://127.0.0.1:9/"])
@example(requirements=["pkg @ file:///etc/passwd", "./ok"])
def test_a_requirement_line_is_installed_only_when_it_carries_no_option_url_or_outside_path(
    folder: Path, requirements: list[str]
) -> None:
    (folder / "README.md").write_text("---\nsdk: gradio\n---\n")
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    try:
        deps = make_plan(load_spec(folder)).deps
    except SpaceConfigError:
        return
    for line in deps.requirements:
        check_line(line)  # what was accepted passes the check on its own too
        assert "\n" not in line and not line.lstrip().startswith("-") and "file:" not in line.lower(), line
        path = local_path(line)
        assert path is None or (folder / path).resolve().is_relative_to(folder.resolve()), line
