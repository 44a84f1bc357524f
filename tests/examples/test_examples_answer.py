"""Every example, loaded into a running Podium and called through its proxy with its shipped input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gradio_client import Client
from playwright.sync_api import Browser, sync_playwright

from tests.examples.checks import GRADIO_CHECKS, STREAMLIT_CHECKS, use_streamlit_app
from tests.examples.conftest import OWNER
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, failed_requests
from tests.support.podium_server import PodiumServer

pytestmark = pytest.mark.slow


def space_url(podium: PodiumServer, task: str) -> str:
    return f"{podium.spaces_url}/apps/{OWNER}/{task}/"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_the_gradio_and_streamlit_checks_cover_every_example(specs) -> None:
    by_sdk = {sdk: {task for task, spec in specs.items() if spec.sdk == sdk} for sdk in ("gradio", "streamlit")}
    assert set(GRADIO_CHECKS) == by_sdk["gradio"]
    assert set(STREAMLIT_CHECKS) == by_sdk["streamlit"]


@pytest.mark.parametrize("task", sorted(GRADIO_CHECKS))
def test_a_gradio_example_answers_its_example_input(examples_podium: PodiumServer, task: str) -> None:
    client = Client(space_url(examples_podium, task), verbose=False)
    GRADIO_CHECKS[task](client)


@pytest.mark.browser
@pytest.mark.parametrize("task", sorted(STREAMLIT_CHECKS))
def test_a_streamlit_example_answers_in_the_browser(examples_podium: PodiumServer, browser: Browser, task: str) -> None:
    page = browser.new_page()
    failed = failed_requests(page)
    try:
        use_streamlit_app(page, space_url(examples_podium, task), STREAMLIT_CHECKS[task])
    except Exception as exc:
        # What the visitor saw (an error box, "Connecting...") explains a timeout better than the selector,
        # and the requests that failed explain what the page shows.
        seen = page.inner_text("body")[:2000]
        raise AssertionError(f"{task}: the page shows:\n{seen}\nFailed requests:\n" + "\n".join(failed)) from exc
    finally:
        page.close()
