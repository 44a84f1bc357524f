"""Test hygiene for spaces' /data volumes (podium_runner/process/data_volume.py): a Podium that keeps
its apps across restarts keeps their volumes mounted too, so a session unmounts what its tests left
under its temporary folder, rather than leave loop devices behind on the machine."""

from __future__ import annotations

import subprocess
from pathlib import Path


def mounts_under(folder: Path) -> list[str]:
    """Mount points below `folder`, deepest first (from /proc/self/mountinfo, where field 5 is one)."""
    prefix = str(folder.resolve()).rstrip("/") + "/"
    points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return sorted((point for point in points if point.startswith(prefix)), key=len, reverse=True)


def unmount_under(folder: Path) -> None:
    for point in mounts_under(folder):
        subprocess.run(["/usr/bin/umount", "--lazy", point], check=False, capture_output=True)
