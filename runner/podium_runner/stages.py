"""Hugging Face's space stages (huggingface_hub `SpaceStage`), the one list Podium uses everywhere."""

from enum import StrEnum


class Stage(StrEnum):
    NO_APP_FILE = "NO_APP_FILE"
    CONFIG_ERROR = "CONFIG_ERROR"
    BUILDING = "BUILDING"
    BUILD_ERROR = "BUILD_ERROR"
    APP_STARTING = "APP_STARTING"
    RUNNING = "RUNNING"
    RUNNING_BUILDING = "RUNNING_BUILDING"
    RUNNING_APP_STARTING = "RUNNING_APP_STARTING"
    RUNTIME_ERROR = "RUNTIME_ERROR"
    STOPPED = "STOPPED"
    PAUSED = "PAUSED"
    DELETING = "DELETING"

    @property
    def is_transitional(self) -> bool:
        return self in TRANSITIONAL

    @property
    def is_serving(self) -> bool:
        """An instance answers traffic in this stage (the old one while a new revision comes up)."""
        return self in (Stage.RUNNING, Stage.RUNNING_BUILDING, Stage.RUNNING_APP_STARTING)


TRANSITIONAL = frozenset(
    {Stage.BUILDING, Stage.APP_STARTING, Stage.RUNNING_BUILDING, Stage.RUNNING_APP_STARTING, Stage.DELETING}
)


class SpaceFailure(Exception):
    """An error that leaves a space in a failed stage. Each kind declares its `stage` once (a bad README,
    a failed build, an app that did not start); the supervisor and `podium run` both read it from there."""

    stage: Stage
