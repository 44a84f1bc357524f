"""`GET /api/cluster`: the cluster's nodes, their resources and which spaces run where (admins only);
`podium cluster status` and the Cluster page read it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from podium.api.deps import require_user
from podium.context import context_of
from podium.errors import ApiError

router = APIRouter()


@router.get("/api/cluster")
async def cluster_status(request: Request) -> dict[str, Any]:
    """The backend's view of its cluster, for an admin; a 404 saying so on a backend without one."""
    if not require_user(request).admin:
        raise ApiError(403, "only an admin may see the cluster: use the admin token")
    backend = context_of(request).supervisor.backend
    status = await backend.cluster_status()
    if status is None:
        raise ApiError(404, f"the {backend.name} backend runs spaces on this host, not on a cluster")
    return status
