"""Podium's records in Hugging Face's JSON shapes (`SpaceInfo`, `SpaceRuntime`, ...)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from podium_runner.stages import Stage

from podium.db import Space
from podium.settings import Settings


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def runtime_json(space: Space, settings: Settings) -> dict[str, Any]:
    stage = Stage(space.stage)
    return {
        "stage": stage.value,
        "hardware": {"current": space.hardware if stage.is_serving else None, "requested": space.hardware},
        "gcTimeout": space.sleep_time if space.sleep_time is not None else settings.default_sleep_time,
        "storage": None,
        "errorMessage": space.error_message,
        "sha": space.serving_sha,
        "devMode": False,
        "domains": [
            {
                "domain": settings.space_url(space.space_id).split("://", 1)[1].split("/", 1)[0],
                "stage": "READY",
            }
        ],
    }


def space_json(space: Space, settings: Settings) -> dict[str, Any]:
    card = space.card_data or {}
    data: dict[str, Any] = {
        "_id": str(space.id),
        "id": space.space_id,
        "author": space.owner,
        "sha": space.sha,
        "createdAt": iso(space.created_at),
        "lastModified": iso(space.updated_at),
        "private": space.private,
        "gated": False,
        "disabled": False,
        "likes": 0,
        "sdk": space.sdk,
        "tags": [space.sdk, *card.get("tags", [])],
        "cardData": card,
        # Path mode keeps its trailing slash: gradio_client urljoins onto `host`.
        "host": settings.space_url(space.space_id),
        "subdomain": settings.space_subdomain(space.space_id),
        "runtime": runtime_json(space, settings),
    }
    return data
