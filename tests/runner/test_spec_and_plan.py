"""A space folder, as written for Hugging Face, read into a spec and a build plan (no builds here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from podium_runner.plan import DEFAULT_SDK_VERSIONS, HOST_PYTHON, BuildPlan, make_plan
from podium_runner.process.warm_starter import modules_for
from podium_runner.spec import SpaceConfigError, load_spec
from podium_runner.stages import Stage

from tests.support.process_spaces import GRADIO_HELLO, write_space

EVERY_KEY = """
    title: Every key
    emoji: 🚀
    colorFrom: indigo
    colorTo: pink
    sdk: streamlit
    sdk_version: "1.67.0"
    python_version: "3.12"
    app_file: src/main.py
    app_port: 9000
    base_path: /docs
    fullWidth: false
    header: mini
    short_description: A space that sets every key
    models: [openai-community/gpt2]
    datasets: squad
    tags: [demo, test]
    license: apache-2.0
    pinned: true
    suggested_hardware: t4-small
    disable_embedding: true
    startup_duration_timeout: 1h
    custom_headers:
      cross-origin-opener-policy: same-origin
    preload_from_hub: [openai-community/gpt2]
    my_own_key: kept as given
"""


def test_every_hugging_face_key_is_read(tmp_path: Path) -> None:
    space = write_space(tmp_path, EVERY_KEY, "import streamlit\n", app_file="src/main.py")
    spec = load_spec(space)
    card = spec.card
    assert (card.title, card.emoji, card.color_from, card.color_to) == ("Every key", "🚀", "indigo", "pink")
    assert (spec.sdk, card.sdk_version, card.python_version) == ("streamlit", "1.67.0", "3.12")
    assert (spec.app_file, spec.app_port, card.base_path) == ("src/main.py", 9000, "/docs")
    assert (card.full_width, card.header, card.pinned, card.disable_embedding) == (False, "mini", True, True)
    assert card.short_description == "A space that sets every key"
    assert card.models == ["openai-community/gpt2"] and card.datasets == ["squad"]
    assert card.tags == ["demo", "test"] and card.license == "apache-2.0"
    assert card.suggested_hardware == "t4-small"
    assert card.startup_duration_timeout == 3600
    assert card.custom_headers == {"cross-origin-opener-policy": "same-origin"}
    assert card.preload_from_hub == ["openai-community/gpt2"]
    assert spec.extra_keys == {"my_own_key": "kept as given"}
    assert spec.card_data()["colorFrom"] == "indigo" and spec.card_data()["my_own_key"] == "kept as given"


def test_defaults_for_a_minimal_gradio_space(tmp_path: Path) -> None:
    plan = make_plan(load_spec(write_space(tmp_path, "sdk: gradio", GRADIO_HELLO)))
    assert (plan.kind, plan.sdk, plan.app_file, plan.app_port) == ("python", "gradio", "app.py", 7860)
    assert plan.startup_timeout_s == 30 * 60
    assert plan.deps.python_version == HOST_PYTHON
    assert plan.deps.sdk_requirement == f"gradio=={DEFAULT_SDK_VERSIONS['gradio']}"


def test_a_folder_without_front_matter_is_a_gradio_space(tmp_path: Path) -> None:
    spec = load_spec(write_space(tmp_path, None, GRADIO_HELLO))
    assert (spec.sdk, spec.app_file, spec.has_front_matter) == ("gradio", "app.py", False)


def test_sdk_version_wins_over_a_pin_in_requirements(tmp_path: Path) -> None:
    space = write_space(
        tmp_path, 'sdk: gradio\nsdk_version: "6.31.0"', GRADIO_HELLO, requirements="gradio==4.0.0\nnumpy<3\n"
    )
    deps = make_plan(load_spec(space)).deps
    assert deps.requirements == ("numpy<3",)
    assert deps.sdk_requirement == "gradio==6.31.0"


def _plan(folder: Path, front_matter: str, requirements: str, app: str = GRADIO_HELLO) -> BuildPlan:
    return make_plan(load_spec(write_space(folder, front_matter, app, requirements=requirements)))


def test_a_pin_in_requirements_is_kept_when_no_sdk_version_is_given(tmp_path: Path) -> None:
    deps = _plan(tmp_path, "sdk: gradio", "gradio==6.30.0\n").deps
    assert deps.requirements == ("gradio==6.30.0",) and deps.sdk_requirement is None


def test_the_environment_key_depends_on_requirements_not_on_code(tmp_path: Path) -> None:
    first = _plan(tmp_path / "a", "sdk: gradio", "numpy\n")
    again = _plan(tmp_path / "a", "sdk: gradio", "numpy\n")
    edited = _plan(tmp_path / "b", "sdk: gradio", "numpy\n", app=GRADIO_HELLO + "# edited\n")
    more = _plan(tmp_path / "c", "sdk: gradio", "numpy\nrich\n")
    assert first.build_key == again.build_key == edited.build_key
    assert first.code_hash == again.code_hash != edited.code_hash
    assert more.build_key != first.build_key


def _config_error(
    tmp_path: Path,
    front_matter: str | None,
    *,
    readme: str | None = None,
    app_file: str = "app.py",
    requirements: str | None = None,
) -> SpaceConfigError:
    space = write_space(tmp_path, front_matter, GRADIO_HELLO, app_file=app_file, requirements=requirements)
    if readme is not None:
        (space / "README.md").write_text(readme)
    with pytest.raises(SpaceConfigError) as caught:
        make_plan(load_spec(space))
    return caught.value


def test_broken_yaml_says_where(tmp_path: Path) -> None:
    error = _config_error(tmp_path, None, readme="---\nsdk: gradio\ntitle: [unclosed\n---\n")
    assert error.stage == Stage.CONFIG_ERROR
    assert "README.md" in str(error) and "does not parse at line" in str(error)


@pytest.mark.parametrize(("front_matter", "kind"), [("- sdk: gradio", "list"), ("just a sentence", "str")])
def test_front_matter_must_be_a_mapping(tmp_path: Path, front_matter: str, kind: str) -> None:
    error = _config_error(tmp_path, front_matter)
    assert error.stage == Stage.CONFIG_ERROR
    assert f"must be a mapping of keys (sdk: gradio, ...), not a {kind}" in str(error)


def test_an_unknown_sdk_lists_the_allowed_ones(tmp_path: Path) -> None:
    error = _config_error(tmp_path, "sdk: flask")
    assert error.stage == Stage.CONFIG_ERROR and error.key == "sdk"
    assert "'flask' is not allowed" in str(error) and "gradio" in str(error) and "streamlit" in str(error)


@pytest.mark.parametrize("app_file", ["../../etc/passwd", "/etc/passwd"])
def test_app_file_outside_the_space_is_refused(tmp_path: Path, app_file: str) -> None:
    error = _config_error(tmp_path / "space", f"sdk: gradio\napp_file: {app_file}")
    assert error.stage == Stage.CONFIG_ERROR and error.key == "app_file"
    assert "must be a path inside the space" in str(error)


def test_a_missing_app_file_is_no_app_file(tmp_path: Path) -> None:
    space = write_space(tmp_path, "sdk: gradio", GRADIO_HELLO, app_file="main.py")
    with pytest.raises(SpaceConfigError) as caught:
        load_spec(space)
    assert caught.value.stage == Stage.NO_APP_FILE
    assert "'app.py' is not in the space" in str(caught.value) and "app_file" in str(caught.value)


@pytest.mark.parametrize("line", ["../outside/pkg", "mypkg @ /etc/mypkg.whl", "~/wheels/mypkg.whl"])
def test_a_requirement_outside_the_space_is_refused(tmp_path: Path, line: str) -> None:
    error = _config_error(tmp_path / "space", "sdk: gradio", requirements=line + "\n")
    assert error.stage == Stage.CONFIG_ERROR and error.file == "requirements.txt"
    assert "points outside the space" in str(error)


def test_a_warm_starter_imports_the_same_whichever_sdk_s_app_of_its_environment_comes_first(tmp_path: Path) -> None:
    """One starter serves an environment's Gradio and Streamlit apps alike (the examples'): it imports what
    each sdk among its requirements imports once it serves, not only the first app's."""
    requirements = "gradio==6.31.0\nstreamlit==1.67.0\ntransformers\n"
    gradio = make_plan(load_spec(write_space(tmp_path / "g", "sdk: gradio", GRADIO_HELLO, requirements=requirements)))
    streamlit = make_plan(load_spec(write_space(tmp_path / "s", "sdk: streamlit", "", requirements=requirements)))
    assert set(modules_for(gradio)) == set(modules_for(streamlit))
    expected = {"gradio.http_server", "streamlit.web.bootstrap", "transformers.generation.utils"}
    assert expected <= set(modules_for(gradio))
    # A Gradio-only environment imports nothing of Streamlit's.
    alone = make_plan(load_spec(write_space(tmp_path / "a", "sdk: gradio", GRADIO_HELLO)))
    assert "gradio.http_server" in modules_for(alone) and not any("streamlit" in name for name in modules_for(alone))
