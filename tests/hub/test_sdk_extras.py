"""A Gradio space gets what Hugging Face installs into every Gradio space (podium_runner.sdk_extras): a
ZeroGPU-style app (`import spaces`, `@spaces.GPU`) with a `gr.LoginButton` reaches RUNNING without listing
either package, answers through gradio_client, and starts without Gradio's traceback about `spaces`. (The
`spaces` package's own reload watcher may still print "Exception ignored in: BaseEventLoop.__del__" once on
Python 3.11: it walks every object the garbage collector holds, finalising event loops left for collection.)"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from gradio_client import Client
from podium_runner.plan import DEFAULT_SDK_VERSIONS, PLAN_FORMAT, DependencySet, dependency_set, make_plan
from podium_runner.spec import load_spec

from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import write_space

ZERO_GPU_APP = """
    import gradio as gr
    import spaces


    @spaces.GPU(duration=10)
    def shout(text: str) -> str:
        return text.upper()


    with gr.Blocks() as demo:
        gr.LoginButton()
        text = gr.Textbox()
        answer = gr.Textbox()
        text.submit(shout, text, answer, api_name="shout")

    demo.launch()
"""
# What Hugging Face gives a space with `hf_oauth: true`; Gradio checks them when a LoginButton is on the page.
OAUTH_VARIABLES = [
    {"key": "OAUTH_CLIENT_ID", "value": "test-client"},
    {"key": "OAUTH_SCOPES", "value": "openid profile"},
    {"key": "OPENID_PROVIDER_URL", "value": "http://127.0.0.1:9"},
]


def test_a_zero_gpu_space_with_a_login_button_runs_without_listing_spaces_or_gradio_oauth(
    hub: PodiumServer, tmp_path: Path
) -> None:
    folder = write_space(tmp_path / "zero", "sdk: gradio", ZERO_GPU_APP)
    runtime = hub.push(
        "admin/zero",
        folder,
        space_variables=OAUTH_VARIABLES,
        space_secrets=[{"key": "OAUTH_CLIENT_SECRET", "value": "test-secret"}],
    )
    api = hub.api()
    assert runtime["stage"] == "RUNNING", (runtime, "".join(api.fetch_space_logs("admin/zero")), hub.log()[-3000:])

    client = Client(f"{hub.spaces_url}/apps/admin/zero/", verbose=False)
    assert client.predict("quiet", api_name="/shout") == "QUIET"

    logs = "".join(api.fetch_space_logs("admin/zero"))
    # Gradio's own traceback when `spaces` is missing, and its refusal of a LoginButton without gradio[oauth].
    assert "`spaces` package is required" not in logs and "gradio[oauth]" not in logs, logs


def test_the_extras_go_with_the_sdk_and_yield_to_the_space_own_pins(tmp_path: Path) -> None:
    def deps(sdk: str, requirements: str | None = None) -> DependencySet:
        folder = write_space(
            tmp_path / f"{sdk}-{len(list(tmp_path.iterdir()))}", f"sdk: {sdk}", "", requirements=requirements
        )
        return dependency_set(load_spec(folder))

    plain = deps("gradio")
    assert plain.install_steps()[-1] == (f"gradio=={DEFAULT_SDK_VERSIONS['gradio']}", "gradio[oauth]", "spaces==0.51.3")
    # A space that pins `spaces` (or gradio) itself keeps its pin; the oauth extra still comes along.
    pinned = deps("gradio", "gradio==5.49.1\nspaces==0.42.1\n")
    assert pinned.install_steps() == [("gradio==5.49.1", "spaces==0.42.1"), ("gradio[oauth]",)]
    # Streamlit gets no extras, and its environments keep the key they had before extras existed.
    streamlit = deps("streamlit")
    assert streamlit.sdk_extras == () and streamlit.install_steps()[-1] == (
        f"streamlit=={DEFAULT_SDK_VERSIONS['streamlit']}",
    )
    before_extras = {key: value for key, value in asdict(streamlit).items() if key != "sdk_extras"}
    payload = json.dumps({"format": PLAN_FORMAT, **before_extras}, sort_keys=True)  # the release before's key
    assert streamlit.key == hashlib.sha256(payload.encode()).hexdigest()[:20]


def test_requirements_that_name_the_extras_themselves_let_gradio_and_streamlit_share_one_environment(
    tmp_path: Path,
) -> None:
    """The examples' one requirements.txt names `gradio[oauth]` and `spaces` at the sdk's pin, so their
    Gradio and Streamlit spaces keep sharing one environment (spaces_examples/README.md)."""
    requirements = "gradio[oauth]==6.31.0\nspaces==0.51.3\nstreamlit==1.67.0\n"
    plans = {
        sdk: make_plan(
            load_spec(write_space(tmp_path / sdk, f"sdk: {sdk}\nsdk_version: {version}", "", requirements=requirements))
        )
        for sdk, version in (("gradio", "6.31.0"), ("streamlit", "1.67.0"))
    }
    assert plans["gradio"].deps.sdk_extras == () and plans["gradio"].deps.sdk_requirement is None
    assert plans["gradio"].build_key == plans["streamlit"].build_key
    # Gradio named without the oauth extra still gets it.
    plain = make_plan(load_spec(write_space(tmp_path / "plain", "sdk: gradio", "", requirements="gradio==6.31.0\n")))
    assert plain.deps.sdk_extras == ("gradio[oauth]", "spaces==0.51.3")
