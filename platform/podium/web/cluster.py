"""The Cluster page (`/cluster`, admins): the Ray cluster's nodes, their resources and which spaces run
where, the same facts as `GET /api/cluster` and `podium cluster status`."""

from __future__ import annotations

from fastapi import APIRouter, Request

from podium.web.access import PageError, context_of, signed_in
from podium.web.routing import PageRoute
from podium.web.templating import render

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/cluster")
async def cluster_page(request: Request):
    if not signed_in(request).user.admin:
        raise PageError(403, "Admins only", "The cluster page shows every node and space: sign in with an admin token.")
    backend = context_of(request).supervisor.backend
    status = await backend.cluster_status()
    if status is None:
        raise PageError(404, "No cluster", f"The {backend.name} backend runs spaces on this host (PODIUM_BACKEND=ray).")
    by_node: dict[str, list[dict]] = {}
    for space in status["spaces"]:
        by_node.setdefault(space["node_ip"], []).append(space)
    return render(request, "cluster.html", status=status, by_node=by_node, gib=2**30)
