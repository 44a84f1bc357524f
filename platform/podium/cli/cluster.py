"""`podium cluster status`: the Ray cluster's nodes, their resources and which spaces run where, read from
`GET /api/cluster` as any client would (an admin token)."""

from __future__ import annotations

from typing import Any

import typer

from podium.cli import app
from podium.cli.api_call import call_api
from podium.cli.spaces import DEFAULT_ENDPOINT, Endpoint, Token

cluster = typer.Typer(no_args_is_help=True, help="The cluster that runs the spaces (PODIUM_BACKEND=ray).")
app.add_typer(cluster, name="cluster")

GIB = 2**30


def resources(held: dict[str, float], free: dict[str, float] | None = None) -> str:
    """CPU, GPU and memory in words: `16 CPU, 2 GPU, 64 GiB` (with `free` of each when given)."""
    parts = []
    for key, unit, scale in (("CPU", "CPU", 1), ("GPU", "GPU", 1), ("memory", "GiB", GIB)):
        if key in held:
            amount = f"{held[key] / scale:g}"
            if free is not None:
                amount = f"{free.get(key, 0) / scale:g}/{amount} free"
            parts.append(f"{amount} {unit}")
    return ", ".join(parts) or "nothing"


def table(status: dict[str, Any]) -> list[str]:
    lines = [f"cluster {status['address']}: {resources(status['total'], status['free'])}", "", "nodes:"]
    by_node: dict[str, list[dict[str, Any]]] = {}
    for space in status["spaces"]:
        by_node.setdefault(space["node_ip"] or "(not placed)", []).append(space)
    for node in sorted(status["nodes"], key=lambda n: (not n["alive"], n["node_ip"])):
        state = "alive" if node["alive"] else "DEAD"
        lines.append(f"  {node['node_ip']:<16} {state:<6} {resources(node['resources'])}")
        for space in by_node.pop(node["node_ip"], []) if node["alive"] else []:
            gpus = f" GPU {','.join(space['gpu_ids'])}" if space["gpu_ids"] else ""
            lines.append(f"      {space['space_id']}{gpus}  {space['url']}")
    for node_ip, spaces in sorted(by_node.items()):
        for space in spaces:
            lines.append(f"  {space['space_id']} (last on {node_ip}): {space['note'] or 'moving'}")
    return lines


@cluster.command()
def status(endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None) -> None:
    """Nodes (alive or dead, their CPUs, GPUs and memory), what is free, and which spaces run on each."""
    typer.echo("\n".join(table(call_api("GET", endpoint, "/api/cluster", token))))
