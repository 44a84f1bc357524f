"""Mistakes with `podium examples` say what is wrong and what to do, before anything is created."""

from __future__ import annotations

import subprocess
from pathlib import Path

from podium.examples import STANDINS_SCRIPT

from tests.support.podium_server import PODIUM


def test_loading_an_unknown_example_names_the_ones_that_exist() -> None:
    # No Podium listens on this URL: the mistake is caught before any request is made.
    result = subprocess.run(
        [str(PODIUM), "examples", "load", "--url", "http://127.0.0.1:9", "--token", "t", "--only", "sumarization"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "no example for sumarization" in result.stderr and "summarization" in result.stderr


def test_batches_without_waiting_are_refused() -> None:
    result = subprocess.run(
        [str(PODIUM), "examples", "load", "--url", "http://127.0.0.1:9", "--token", "t", "--batch", "4"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "--wait" in result.stderr


def test_publishing_stand_ins_that_were_not_written_says_how_to_write_them(tmp_path: Path) -> None:
    missing = tmp_path / "standins"
    result = subprocess.run(
        [str(PODIUM), "examples", "load", "--url", "http://127.0.0.1:9", "--token", "t", "--standins", str(missing)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    # typer wraps the message in a box as wide as the terminal (a narrow COLUMNS cuts the command across
    # lines): read it without the box's sides
    said = " ".join(result.stderr.replace("│", " ").split())
    assert "podium examples standins --out" in said


def test_a_stand_in_for_an_unknown_model_is_refused_with_the_fix(examples_python: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(examples_python), str(STANDINS_SCRIPT), "--out", str(tmp_path), "someone/unknown-model"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "no stand-in for someone/unknown-model" in result.stderr and "@standin" in result.stderr
    assert not any(tmp_path.iterdir())
