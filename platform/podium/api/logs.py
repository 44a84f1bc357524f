"""Build and run logs as Server-Sent Events in Hugging Face's line format.

Each event is `data: {"data": "<line>\\n", "timestamp": "<ISO time>"}`. The stream starts with the
tail of what came before; the run log then stays open, the build log closes when the build ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from podium.api.deps import readable_space
from podium.context import context_of
from podium.logstream import LogLine, LogStream

router = APIRouter()


def _event(line: LogLine) -> bytes:
    return b"data: " + json.dumps({"data": line.text + "\n", "timestamp": line.timestamp}).encode() + b"\n\n"


async def _events(stream: LogStream, live: bool) -> AsyncIterator[bytes]:
    # The tail goes out as one chunk: a client that stops at the first pause (huggingface_hub
    # without follow) never mistakes a gap inside the tail for its end.
    async for batch in stream.follow(live):
        yield b"".join(map(_event, batch)) if batch else b": keep-alive\n\n"


# An event stream, not JSON: the description says so, for clients and for tests/reliability/test_api_fuzz.py.
_EVENT_STREAM = {
    200: {
        "description": "Server-Sent Events: one `data:` JSON line per log line",
        # Each event's `data` is a JSON object: the line (`data`) and when it was written (`timestamp`).
        "content": {
            "text/event-stream": {
                "schema": {"type": "object", "properties": {"data": {"type": "string"}}, "required": ["data"]}
            }
        },
    }
}


@router.get("/api/spaces/{owner}/{name}/logs/{kind}", response_class=StreamingResponse, responses=_EVENT_STREAM)
async def logs(owner: str, name: str, kind: Literal["build", "run"], request: Request) -> StreamingResponse:
    ctx = context_of(request)
    space_id = f"{owner}/{name}"
    with ctx.db.session() as session:
        readable_space(request, session, space_id)
    status = ctx.supervisor.status(space_id)
    if kind == "build":
        stream, live = status.build_log, status.busy
    else:
        stream, live = status.run_log, True
    return StreamingResponse(
        _events(stream, live),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
