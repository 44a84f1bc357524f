"""A visitor uses a Gradio space through Podium's proxy: its page, its API, its queue's event stream."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from gradio_client import Client, handle_file

pytestmark = pytest.mark.slow


def open_page(url: str, host: str | None = None):
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    opener = urllib.request.build_opener(NoRedirect)
    return opener.open(request, timeout=30)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_the_space_address_without_slash_redirects_to_the_page(proxy, gradio_space):
    with pytest.raises(urllib.request.HTTPError) as answer:
        open_page(f"{proxy.url}/apps/demo/echo?theme=dark")
    assert answer.value.code == 307
    assert answer.value.headers["location"] == "/apps/demo/echo/?theme=dark"
    with open_page(f"{proxy.url}/apps/demo/echo/") as page:
        assert page.status == 200
        # The page loads its scripts relative to itself, which is why the slash matters.
        assert b'<base href="./"' in page.read()


def test_gradio_sees_the_public_address_in_path_and_host_mode(proxy, gradio_space):
    """Gradio builds its links from X-Forwarded-Host; without it the browser would bypass the proxy."""
    with open_page(f"{proxy.url}/apps/demo/echo/config") as response:
        assert json.load(response)["root"] == f"{proxy.url}/apps/demo/echo"
    public = f"demo-echo.localhost:{proxy.port}"
    with open_page(f"{proxy.url}/config", host=public) as response:
        assert json.load(response)["root"] == f"http://{public}/apps/demo/echo"


def test_gradio_client_calls_a_function_and_a_generator(proxy, gradio_space):
    client = Client(f"{proxy.url}/apps/demo/echo/", verbose=False)
    assert client.predict("hi", api_name="/echo") == "echo: hi"
    job = client.submit("4", api_name="/count")
    job.result(timeout=30)
    assert job.outputs() == ["tick 0", "tick 1", "tick 2", "tick 3"]


def test_gradio_client_uploads_and_downloads_a_file(proxy, gradio_space, tmp_path: Path):
    note = tmp_path / "note.txt"
    note.write_text("quiet words")
    client = Client(f"{proxy.url}/apps/demo/echo/", verbose=False, download_files=str(tmp_path / "downloads"))
    result = client.predict(handle_file(note), api_name="/shout")
    assert Path(result).read_text() == "QUIET WORDS"


async def _event_times(base: str, count: int) -> list[float]:
    """When each `generating` event of the /count stream reached the client, from the first."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/gradio_api/call/count", json={"data": [str(count)]}) as response:
            event_id = (await response.json())["event_id"]
        times = []
        async with session.get(f"{base}/gradio_api/call/count/{event_id}") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            async for line in stream.content:
                if line.startswith(b"event: generating"):
                    times.append(time.monotonic())
    return [t - times[0] for t in times]


@pytest.mark.anyio
async def test_server_sent_events_arrive_as_the_app_sends_them(proxy, gradio_space):
    """The generator yields every 0.3 s; a buffering proxy would deliver all events at the end."""
    times = await _event_times(f"{proxy.url}/apps/demo/echo", 5)
    assert len(times) == 5
    assert all(later - earlier > 0.15 for earlier, later in zip(times, times[1:], strict=False)), times


def test_each_request_is_one_visit(proxy, gradio_space, spaces):
    before = spaces.visits["demo/echo"]
    with open_page(f"{proxy.url}/apps/demo/echo/config"):
        pass
    assert spaces.visits["demo/echo"] == before + 1
