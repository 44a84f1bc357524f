"""Each sdk's recipe: the command, variables and health path one start gets, and the stage each runner
error leaves a space in (read alike by the supervisor and `podium run`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from podium_runner.backend import BackendUnavailable, BuildError, StartError
from podium_runner.front_matter_rules import SDKS
from podium_runner.plan import RunContext, make_plan
from podium_runner.recipes import RECIPES
from podium_runner.spec import SpaceConfigError, load_spec
from podium_runner.stages import SpaceFailure, Stage

from tests.support.process_spaces import write_space

CTX = RunContext(
    space_id="alice/app",
    port=9000,
    host="0.0.0.0",
    root_path="/spaces/alice/app/",
    env={"GRADIO_SERVER_PORT": "1", "PORT": "2", "MINE": "yes"},
)


def _launch(tmp_path: Path, sdk: str, app: str = "app.py"):
    return make_plan(load_spec(write_space(tmp_path, f"sdk: {sdk}", "", app_file=app))).launch(CTX)


def test_every_sdk_a_readme_may_name_has_a_recipe() -> None:
    assert set(SDKS) == set(RECIPES)


def test_gradio_reads_where_it_listens_and_its_prefix_from_its_variables(tmp_path: Path) -> None:
    launch = _launch(tmp_path, "gradio")
    assert launch.argv == ("python", "app.py")
    assert launch.health_path == "/spaces/alice/app/"
    assert {
        key: launch.env[key]
        for key in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "GRADIO_ROOT_PATH", "PORT", "MINE", "SPACE_ID")
    } == {
        "GRADIO_SERVER_NAME": "0.0.0.0",
        "GRADIO_SERVER_PORT": "9000",
        "GRADIO_ROOT_PATH": "/spaces/alice/app",
        "PORT": "9000",
        "MINE": "yes",
        "SPACE_ID": "alice/app",
    }


def test_streamlit_takes_where_it_listens_and_its_prefix_as_options(tmp_path: Path) -> None:
    launch = _launch(tmp_path, "streamlit")
    assert launch.argv == (
        "python",
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        "9000",
        "--server.address",
        "0.0.0.0",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--server.baseUrlPath",
        "spaces/alice/app",
    )
    assert launch.health_path == "/spaces/alice/app/_stcore/health"
    assert "GRADIO_ROOT_PATH" not in launch.env and launch.env["PORT"] == "9000"


def test_a_docker_space_runs_its_image_command_behind_a_stripped_prefix(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    plan = make_plan(load_spec(write_space(tmp_path, "sdk: docker", "", app_file="serve.py")))
    assert not plan.accepts_root_path and plan.app_port == 7860 and plan.app_file == "Dockerfile"
    launch = plan.launch(CTX)
    assert (launch.argv, launch.health_path) == ((), "/")


def test_a_static_space_has_no_process_and_is_served_at_the_root(tmp_path: Path) -> None:
    plan = make_plan(load_spec(write_space(tmp_path, "sdk: static", "<p>hi</p>", app_file="index.html")))
    launch = plan.launch(CTX)
    assert (launch.argv, launch.health_path, plan.accepts_root_path) == ((), "/", False)


@pytest.mark.parametrize(
    ("sdk", "backends", "python_environment", "own_dockerfile", "always_on"),
    [
        ("gradio", {"process", "docker", "ray"}, True, False, False),
        ("streamlit", {"process", "docker", "ray"}, True, False, False),
        ("docker", {"docker"}, False, True, False),
        ("static", {"files"}, False, False, True),
    ],
)
def test_each_recipe_says_what_runs_it_and_what_it_builds(
    sdk: str, backends: set[str], python_environment: bool, own_dockerfile: bool, always_on: bool
) -> None:
    recipe = RECIPES[sdk]
    assert (recipe.backends, recipe.python_environment, recipe.own_dockerfile, recipe.always_on) == (
        backends,
        python_environment,
        own_dockerfile,
        always_on,
    )
    assert recipe.builds == (python_environment or own_dockerfile)
    for backend in ("process", "docker", "ray", "files"):
        refused = recipe.refused_by(backend)
        assert (refused is None) == (backend in backends)
        if refused is not None:
            assert refused.startswith(f"a {sdk} space")


def test_a_docker_space_refuses_packages_txt_and_only_streamlit_embeds_with_a_query(tmp_path: Path) -> None:
    files = {"packages.txt": "curl\n", "Dockerfile": "FROM scratch\n"}
    with pytest.raises(SpaceConfigError, match="in their own Dockerfile, not from packages.txt") as caught:
        make_plan(load_spec(write_space(tmp_path, "sdk: docker", "", app_file="serve.py", files=files)))
    assert caught.value.file == "packages.txt"
    assert {sdk: recipe.embed_query for sdk, recipe in RECIPES.items() if recipe.embed_query} == {
        "streamlit": "embed=true"
    }


@pytest.mark.parametrize(
    ("error", "stage"),
    [
        (SpaceConfigError("bad"), Stage.CONFIG_ERROR),
        (SpaceConfigError("gone", stage=Stage.NO_APP_FILE), Stage.NO_APP_FILE),
        (BuildError("no wheel"), Stage.BUILD_ERROR),
        (StartError("crashed"), Stage.RUNTIME_ERROR),
    ],
)
def test_each_runner_error_names_the_stage_it_leaves_a_space_in(error: SpaceFailure, stage: Stage) -> None:
    assert isinstance(error, SpaceFailure) and error.stage is stage


def test_an_engine_that_is_away_is_no_failure_of_the_space() -> None:
    assert not isinstance(BackendUnavailable("dockerd stopped"), SpaceFailure)
