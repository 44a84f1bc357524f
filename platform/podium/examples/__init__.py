"""Podium's example spaces (one per transformers pipeline task): where they live, loading them into a
running Podium, and the offline model stand-ins their tests run on."""

from __future__ import annotations

from pathlib import Path

from podium_runner.spec import SpaceSpec, load_spec

# The checkout's spaces_examples/ (Podium is installed editable from its repository).
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "spaces_examples"
# Beside the examples, outside Podium's package: run with the examples' Python (it imports torch).
STANDINS_SCRIPT = EXAMPLES_DIR / "standins.py"


def example_specs(root: Path = EXAMPLES_DIR) -> dict[str, SpaceSpec]:
    """Every example space under `root`, by folder name (the task it shows)."""
    if not root.is_dir():
        raise FileNotFoundError(
            f"no example spaces at {root}; run from a Podium checkout or pass the spaces_examples folder"
        )
    return {folder.name: load_spec(folder) for folder in sorted(root.iterdir()) if (folder / "app.py").is_file()}


def model_ids(specs: dict[str, SpaceSpec]) -> list[str]:
    """The Hub ids the examples load (their README `models:`), each once."""
    return sorted({model for spec in specs.values() for model in spec.card.models})
