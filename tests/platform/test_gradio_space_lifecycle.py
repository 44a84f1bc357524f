"""A user's Gradio space on Podium, driven only with Hugging Face's own clients, from upload to delete.

The steps share one space and run in order, as one person would: upload it, call it, configure it,
rebuild it from scratch, ship new code while people use it, break a build, pause it, let it sleep,
delete it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from podium_runner.process.owners import owner_folder

from tests.platform.spaces import echo_space
from tests.support.process_spaces import TEST_CACHE

pytestmark = pytest.mark.slow

SPACE = "admin/echo"
# A requirement no other space has: the space gets an environment of its own, so its factory reboot
# rebuilds nothing that other tests' apps run from.
OWN_ENVIRONMENT = 'six; platform_system != "podium-lifecycle"\n'


@pytest.fixture(scope="module")
def echo(podium, tmp_path_factory):
    """The space, uploaded and running; the folder the tests edit and push again."""
    folder = echo_space(tmp_path_factory.mktemp("echo"), requirements=OWN_ENVIRONMENT)
    runtime = podium.push(SPACE, folder)
    assert runtime["stage"] == "RUNNING", runtime
    return folder


def about(podium) -> str:
    return Client(podium.api().space_info(SPACE).host, verbose=False).predict(api_name="/about")


def test_an_uploaded_space_runs_and_describes_itself(podium, echo):
    api = podium.api()
    info = api.space_info(SPACE)
    assert info.sdk == "gradio" and info.card_data.title == "Echo"
    assert {"README.md", "app.py"} <= {f.rfilename for f in info.siblings}
    assert len(info.sha) == 40 and info.runtime.stage == "RUNNING"
    assert info.host == f"{podium.spaces_url}/apps/{SPACE}/" and info.subdomain == "admin-echo"
    assert api.get_space_runtime(SPACE).hardware == "cpu-basic"
    assert SPACE in [space.id for space in api.list_spaces()]
    assert httpx.get(f"{podium.url}/api/spaces/{SPACE}/host").json() == {"host": info.host}


def test_gradio_client_calls_a_function_and_a_generator_through_the_proxy(podium, echo):
    client = Client(f"{podium.spaces_url}/apps/{SPACE}/", verbose=False)
    assert client.predict("hi", api_name="/echo") == "echo: hi"
    job = client.submit("3", api_name="/count")
    job.result()
    assert job.outputs() == ["tick 0", "tick 1", "tick 2"]


def test_gradio_client_finds_the_space_by_name_with_hf_endpoint(podium, echo):
    # huggingface_hub reads HF_ENDPOINT when it is imported, so the client runs in its own process.
    script = (
        "from gradio_client import Client\nprint(Client('admin/echo', verbose=False).predict('x', api_name='/echo'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_ENDPOINT": podium.url, "HF_TOKEN": podium.token},
    )
    assert result.stdout.strip() == "echo: x", result.stderr


def test_variables_and_secrets_reach_the_app_after_a_restart_and_secrets_never_come_back(podium, echo):
    api = podium.api()
    api.add_space_variable(SPACE, "GREETING", "bonjour")
    api.add_space_secret(SPACE, "TOKEN_WORD", "s3cr3t-value-123")
    assert api.get_space_variables(SPACE)["GREETING"].value == "bonjour"
    listed = podium.http().get(f"/api/spaces/{SPACE}/secrets").json()
    assert list(listed) == ["TOKEN_WORD"] and "value" not in listed["TOKEN_WORD"]

    api.restart_space(SPACE)
    assert podium.wait_for_stage(SPACE)["stage"] == "RUNNING"
    assert about(podium) == "v1 greeting=bonjour secret=True"
    assert "s3cr3t-value-123" not in podium.log()

    api.delete_space_variable(SPACE, "GREETING")
    api.delete_space_secret(SPACE, "TOKEN_WORD")
    assert "GREETING" not in api.get_space_variables(SPACE)
    assert podium.http().get(f"/api/spaces/{SPACE}/secrets").json() == {}


def environment_of(podium) -> Path:
    """The environment generation (`<key>.<n>`) the space's last build made or reused, by its build log."""
    build_log = "".join(podium.api().fetch_space_logs(SPACE, build=True))
    key = re.search(r"(?:Creating|Reusing) environment (\w+)", build_log).group(1)
    return (TEST_CACHE / "environments" / owner_folder(SPACE) / key).resolve()  # each owner's are its own


def test_a_factory_reboot_builds_the_environment_afresh_and_the_app_serves_again(podium, echo):
    api = podium.api()
    before = environment_of(podium)
    api.restart_space(SPACE, factory_reboot=True)
    assert podium.wait_for_stage(SPACE)["stage"] == "RUNNING"
    build_log = "".join(api.fetch_space_logs(SPACE, build=True))
    assert "Creating environment" in build_log and "Reusing environment" not in build_log
    after = environment_of(podium)
    assert after.stem == before.stem and int(after.suffix[1:]) > int(before.suffix[1:])  # a new generation
    assert about(podium).startswith("v1 ")


def test_new_code_builds_while_the_old_revision_serves_and_the_switch_drops_no_request(podium, echo):
    host = podium.api().space_info(SPACE).host
    answers, failures, stop = [], [], threading.Event()

    def keep_calling() -> None:
        # One visitor after another, each with its own session. (A single Gradio session that stays
        # open across the switch keeps its queue stream on the old instance; it ends with it.)
        while not stop.is_set():
            try:
                client = Client(host, verbose=False)
                try:
                    answers.append(client.predict(api_name="/about").split()[0])
                finally:
                    client.close()
            except Exception as exc:  # any failed request is what this test is about
                failures.append(repr(exc))

    build_log: list[dict] = []

    def read_build_log() -> None:
        with httpx.stream("GET", f"{podium.url}/api/spaces/{SPACE}/logs/build", timeout=120) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    build_log.append(
                        {**json.loads(line[6:]), "stage_then": podium.api().get_space_runtime(SPACE).stage}
                    )

    caller = threading.Thread(target=keep_calling)
    caller.start()
    echo_space(echo, version="v2")
    podium.api().upload_folder(repo_id=SPACE, folder_path=echo, repo_type="space")
    reader = threading.Thread(target=read_build_log)
    reader.start()
    stages = set()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        stage = podium.api().get_space_runtime(SPACE).stage
        stages.add(stage)
        if stage == "RUNNING" and answers and answers[-1] == "v2":
            break
        time.sleep(0.2)
    time.sleep(1)
    stop.set()
    caller.join(60)
    reader.join(60)

    assert "RUNNING_BUILDING" in stages or "RUNNING_APP_STARTING" in stages, stages
    assert failures == []
    assert "v1" in answers and answers[-1] == "v2"
    # Once v2 answered, v1 never did again: traffic switched once, when the new instance was healthy.
    assert "v1" not in answers[answers.index("v2") :]
    # The build log streamed live, in Hugging Face's event format, while the build ran.
    assert build_log and all(set(event) >= {"data", "timestamp"} for event in build_log)
    assert any(event["stage_then"] != "RUNNING" for event in build_log)
    assert any("RUNNING_APP_STARTING" in event["data"] for event in build_log)


def test_a_failed_build_leaves_the_old_revision_serving_and_says_why(podium, echo):
    api = podium.api()
    echo_space(echo, version="v3", requirements="podium-no-such-package-xyz==1.0\n")
    api.upload_folder(repo_id=SPACE, folder_path=echo, repo_type="space")
    runtime = podium.wait_for_stage(SPACE)
    assert runtime["stage"] == "BUILD_ERROR"
    assert "podium-no-such-package-xyz" in runtime["errorMessage"]
    assert runtime["errorMessage"].count("not found in the package registry") == 1  # uv's words, once
    assert "previous revision keeps serving" in runtime["errorMessage"]
    assert about(podium).startswith("v2 ")
    build_log = "".join(api.fetch_space_logs(SPACE, build=True))
    assert "podium-no-such-package-xyz" in build_log

    (echo / "requirements.txt").unlink()
    api.upload_folder(repo_id=SPACE, folder_path=echo, repo_type="space", delete_patterns="requirements.txt")
    assert podium.wait_for_stage(SPACE)["stage"] == "RUNNING"
    assert about(podium).startswith("v3 ")


def test_a_paused_space_stays_down_until_its_owner_restarts_it(podium, echo):
    api = podium.api()
    assert api.pause_space(SPACE).stage == "PAUSED"
    page = httpx.get(f"{podium.spaces_url}/apps/{SPACE}/", headers={"Accept": "text/html"})
    assert page.status_code == 503 and "PAUSED" in page.text
    assert api.get_space_runtime(SPACE).stage == "PAUSED"
    api.restart_space(SPACE)
    assert podium.wait_for_stage(SPACE)["stage"] == "RUNNING"


# huggingface_hub warns that Hugging Face fixes cpu-basic sleep times; Podium honours them.
@pytest.mark.filterwarnings("ignore:If your Space runs on the default 'cpu-basic'")
def test_a_space_sleeps_without_traffic_and_the_next_request_wakes_it(podium, echo):
    api = podium.api()
    api.set_space_sleep_time(SPACE, 2)
    deadline = time.monotonic() + 30
    while api.get_space_runtime(SPACE).stage != "STOPPED" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert api.get_space_runtime(SPACE).stage == "STOPPED"

    url = f"{podium.spaces_url}/apps/{SPACE}/config"
    starting = httpx.get(url, headers={"Accept": "text/html"})
    assert starting.status_code == 503 and "http-equiv=refresh" in starting.text  # a browser's page
    api.set_space_sleep_time(SPACE, -1)
    woken = httpx.get(url, timeout=120)  # an API client simply waits until it is up
    assert woken.status_code == 200 and woken.json()["version"]
    assert api.get_space_runtime(SPACE).stage == "RUNNING"


def test_an_app_that_exits_is_a_runtime_error_with_its_last_log_lines(podium, echo):
    api = podium.api()
    # The app dies while answering; only what Podium makes of that matters here.
    Client(api.space_info(SPACE).host, verbose=False).submit(api_name="/crash")
    deadline = time.monotonic() + 30
    while api.get_space_runtime(SPACE).stage != "RUNTIME_ERROR" and time.monotonic() < deadline:
        time.sleep(0.5)
    runtime = api.get_space_runtime(SPACE).raw
    assert runtime["stage"] == "RUNTIME_ERROR"
    assert "crashing on request" in runtime["errorMessage"]
    assert "crashing on request" in "".join(api.fetch_space_logs(SPACE))
    page = httpx.get(f"{podium.spaces_url}/apps/{SPACE}/", headers={"Accept": "text/html"})
    assert page.status_code == 503 and "RUNTIME_ERROR" in page.text


def test_a_deleted_space_is_gone_everywhere(podium, echo):
    api = podium.api()
    api.delete_repo(SPACE, repo_type="space")
    with pytest.raises(RepositoryNotFoundError):
        api.space_info(SPACE)
    assert httpx.get(f"{podium.spaces_url}/apps/{SPACE}/").status_code == 404
    with pytest.raises(HfHubHTTPError):
        api.get_space_runtime(SPACE)
