"""Tiered sleep and warm starts through a real `podium serve` (issue 13): an idle space is frozen first and a
request, a WebSocket or a gradio_client call thaws it at once; only after its sleep time is it stopped, its
/data kept. A code-only push starts the new revision warm next to the old one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
import websockets
from gradio_client import Client

from tests.support.process_spaces import write_space

pytestmark = [
    pytest.mark.slow,
    # huggingface_hub warns that Hugging Face fixes cpu-basic sleep times; Podium honours them.
    pytest.mark.filterwarnings("ignore:If your Space runs on the default 'cpu-basic'"),
]

SPACE = "admin/dozer"
FREEZER = Path("/sys/fs/cgroup/freezer/podium")
# A Gradio app mounted in FastAPI next to a WebSocket and a /data note, all under the prefix Podium serves
# it at (GRADIO_ROOT_PATH).
APP = """
import os
import time
from pathlib import Path

import gradio as gr
import uvicorn
from fastapi import FastAPI, WebSocket

ROOT = os.environ.get("GRADIO_ROOT_PATH", "")
VERSION = "{version}"
app = FastAPI()


@app.websocket(ROOT + "/ws")
async def echo(socket: WebSocket) -> None:
    await socket.accept()
    while True:
        await socket.send_text("echo: " + await socket.receive_text())


@app.get(ROOT + "/note")
def note(write: str = "") -> dict:
    if write:
        Path("/data/note.txt").write_text(write)
    kept = Path("/data/note.txt")
    return {{"note": kept.read_text() if kept.exists() else None, "version": VERSION}}


@app.get(ROOT + "/slow")
def slow(seconds: float) -> dict:
    time.sleep(seconds)
    return {{"slept": seconds}}


demo = gr.Interface(lambda text: "echo: " + text, "text", "text", api_name="echo")
app = gr.mount_gradio_app(app, demo, path=ROOT or "/", root_path=ROOT)
uvicorn.run(app, host=os.environ["GRADIO_SERVER_NAME"], port=int(os.environ["GRADIO_SERVER_PORT"]))
"""


@pytest.fixture(scope="module")
def podium(start_podium):
    """A Podium that freezes a space after 1 s without traffic (and starts apps warm, as by default)."""
    return start_podium(env={"PODIUM_FREEZE_AFTER_S": "1", "PODIUM_WATCH_INTERVAL_S": "0.2"})


@pytest.fixture(scope="module")
def dozer(podium, tmp_path_factory):
    # uvicorn serves WebSockets only with a WebSocket library, which Gradio does not install.
    folder = write_space(
        tmp_path_factory.mktemp("dozer"), "sdk: gradio", APP.format(version="v1"), requirements="websockets\n"
    )
    runtime = podium.push(SPACE, folder)
    assert runtime["stage"] == "RUNNING", (runtime, podium.log()[-3000:])
    podium.api().set_space_sleep_time(SPACE, 3600)  # a space that may sleep is frozen long before
    return folder


def runtime(podium) -> dict:
    return podium.http().get(f"/api/spaces/{SPACE}/runtime").json()


def frozen_in_the_kernel() -> bool:
    states = [path.read_text().strip() for path in FREEZER.glob("admin--dozer-*/freezer.state")]
    return states == ["FROZEN"]


def wait_until_frozen(podium) -> dict:
    deadline = time.monotonic() + 30
    while not (answer := runtime(podium))["frozen"]:
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    if FREEZER.is_dir():
        assert frozen_in_the_kernel()
    assert answer["stage"] == "RUNNING" and answer["memoryBytes"] > 10 * 2**20  # frozen memory, accounted
    return answer


def url(podium, path: str = "") -> str:
    return f"{podium.spaces_url}/apps/{SPACE}/{path}"


def test_a_frozen_space_wakes_on_an_http_request(podium, dozer):
    wait_until_frozen(podium)
    assert "frozen · " in podium.http().get(f"/spaces/{SPACE}").text  # its page says so, with its memory
    started = time.monotonic()
    answer = httpx.get(url(podium, "note"), timeout=30)
    assert answer.status_code == 200 and answer.json()["version"] == "v1"
    assert time.monotonic() - started < 5  # a thaw, not a start (which takes seconds of imports)
    assert runtime(podium)["frozen"] is False


@pytest.mark.anyio
async def test_a_frozen_space_wakes_on_a_websocket(podium, dozer):
    wait_until_frozen(podium)
    ws_url = url(podium, "ws").replace("http://", "ws://")
    async with websockets.connect(ws_url, open_timeout=30) as socket:
        await socket.send("hi")
        assert await socket.recv() == "echo: hi"


def test_a_frozen_space_wakes_on_a_gradio_client_call(podium, dozer):
    wait_until_frozen(podium)
    assert Client(url(podium), verbose=False).predict("hi", api_name="/echo") == "echo: hi"


def test_a_request_that_outlasts_the_freeze_time_is_answered(podium, dozer):
    """A request open longer than the 1 s of quiet that freezes a space is a visitor still: no freeze under it."""
    answer = httpx.get(url(podium, "slow"), params={"seconds": 4}, timeout=30)
    assert answer.status_code == 200 and answer.json() == {"slept": 4.0}


@pytest.mark.anyio
async def test_a_quiet_open_websocket_keeps_its_space_awake(podium, dozer):
    async with websockets.connect(url(podium, "ws").replace("http://", "ws://"), open_timeout=30) as socket:
        await socket.send("hi")
        assert await socket.recv() == "echo: hi"
        await asyncio.sleep(3)  # nothing said for three times the freeze time
        assert runtime(podium)["frozen"] is False
        await socket.send("still there?")
        assert await asyncio.wait_for(socket.recv(), 30) == "echo: still there?"
    wait_until_frozen(podium)  # and once it closes, the space freezes as before


def test_a_frozen_space_stopped_after_its_sleep_time_keeps_its_data(podium, dozer):
    assert httpx.get(url(podium, "note"), params={"write": "kept"}, timeout=30).json()["note"] == "kept"
    wait_until_frozen(podium)
    podium.api().set_space_sleep_time(SPACE, 3)
    deadline = time.monotonic() + 30
    while runtime(podium)["stage"] != "STOPPED":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    woken = httpx.get(url(podium, "note"), timeout=120)  # starts it again
    assert woken.status_code == 200 and woken.json()["note"] == "kept"
    podium.api().set_space_sleep_time(SPACE, 3600)


def test_a_code_only_push_starts_the_new_revision_warm_next_to_the_old(podium, dozer):
    (dozer / "app.py").write_text(APP.format(version="v2").lstrip())
    pushed = time.monotonic()
    podium.api().upload_folder(repo_id=SPACE, folder_path=dozer, repo_type="space")
    while httpx.get(url(podium, "note"), timeout=30).json()["version"] != "v2":
        assert time.monotonic() - pushed < 120
        time.sleep(0.1)
    run_log = (podium.data_dir / "logs" / SPACE / "run.log").read_text()
    assert run_log.count("warm start from") >= 2 and "cold start" not in run_log


def test_a_frozen_space_is_stopped_at_once_when_the_host_runs_short_of_memory(start_podium, dozer):
    # Every host is short of this much memory: the space is stopped as soon as it is frozen.
    short = start_podium(
        env={
            "PODIUM_FREEZE_AFTER_S": "1",
            "PODIUM_WATCH_INTERVAL_S": "0.2",
            "PODIUM_FROZEN_STOP_BELOW_AVAILABLE_MB": "1000000000",
        }
    )
    space = "admin/pressed"
    assert short.push(space, dozer)["stage"] == "RUNNING"
    short.api().set_space_sleep_time(space, 3600)
    deadline = time.monotonic() + 30
    while (stage := short.http().get(f"/api/spaces/{space}/runtime").json()["stage"]) != "STOPPED":
        assert time.monotonic() < deadline, stage
        time.sleep(0.2)
    assert "stopped while frozen: the host has" in short.log()
    woken = httpx.get(f"{short.spaces_url}/apps/{space}/note", timeout=120)
    assert woken.status_code == 200
