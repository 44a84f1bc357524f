"""Podium's records in Hugging Face's JSON shapes (`SpaceInfo`, `SpaceRuntime`, ...)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from podium_runner.stages import Stage

from podium.db import HubRepo, Space
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


def repo_fields(record: Space | HubRepo, repo_id: str) -> dict[str, Any]:
    """What the Hub's SpaceInfo, ModelInfo and DatasetInfo share."""
    return {
        "_id": str(record.id),
        "id": repo_id,
        "author": record.owner,
        "sha": record.sha,
        "createdAt": iso(record.created_at),
        "lastModified": iso(record.updated_at),
        "private": record.private,
        "gated": False,
        "disabled": False,
        "likes": 0,
        "cardData": record.card_data or {},
    }


def space_json(space: Space, settings: Settings) -> dict[str, Any]:
    return repo_fields(space, space.space_id) | {
        "sdk": space.sdk,
        "tags": [space.sdk, *(space.card_data or {}).get("tags", [])],
        # Path mode keeps its trailing slash: gradio_client urljoins onto `host`.
        "host": settings.space_url(space.space_id),
        "subdomain": settings.space_subdomain(space.space_id),
        "runtime": runtime_json(space, settings),
    }
