"""The runner's commands, `podium run` and `podium images`: they drive a backend directly, with no platform.

Podium's `podium` command mounts them (platform/podium/cli/__init__.py), so the platform itself never
imports a backend's internals.
"""
