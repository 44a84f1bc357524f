"""Podium as a drop-in Hugging Face Hub for its repositories: the routes huggingface_hub's file and ref
calls use (resolve, tree and paths-info, commits, refs), one module each, written once for every repo
type (`repo_types`)."""

from podium.hub import commits, refs, resolve, tree

ROUTERS = tuple(module.router for module in (resolve, tree, commits, refs))
