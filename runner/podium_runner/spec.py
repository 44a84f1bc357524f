"""A space folder read into a validated `SpaceSpec`.

The README front matter uses Hugging Face's keys (hub-docs `spaces-config-reference.md`), so a folder
written for Hugging Face Spaces works unchanged. Unknown keys are kept in `SpaceSpec.card`, never
rejected. Every problem becomes a `SpaceConfigError` that names the file, the key, what is wrong and
what is allowed, and carries the Hugging Face stage it maps to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from podium_runner.stages import Stage

README = "README.md"
REQUIREMENTS = "requirements.txt"
PRE_REQUIREMENTS = "pre-requirements.txt"
PACKAGES = "packages.txt"

SDKS = ("gradio", "streamlit", "static", "docker")
COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
HARDWARE_FLAVORS = (
    "cpu-basic", "cpu-upgrade", "t4-small", "t4-medium", "l4x1", "l4x4", "l40sx1", "l40sx4", "l40sx8",
    "a10g-small", "a10g-large", "a10g-largex2", "a10g-largex4", "a100-large", "a100x4", "a100x8",
)
# Hugging Face's default: a space that does not answer within 30 minutes is flagged unhealthy.
DEFAULT_STARTUP_TIMEOUT_S = 30 * 60
DEFAULT_PORTS = {"gradio": 7860, "streamlit": 8501, "docker": 7860, "static": 0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, None: 1}
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$", re.S | re.M)


class SpaceConfigError(Exception):
    """A space that cannot be built as given. `stage` is CONFIG_ERROR or NO_APP_FILE."""

    def __init__(self, message: str, *, stage: Stage = Stage.CONFIG_ERROR, file: str = README,
                 key: str | None = None):
        self.stage = stage
        self.file = file
        self.key = key
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + message)


def parse_duration(value: str | int | float) -> float:
    """`"30m"`, `"1h"`, `"90s"` or a number of seconds, as seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 1h or 90s")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration; use a number with s, m or h, such as 30m or 1h")
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("must be longer than 0 seconds")
    return seconds


def _relative_path(value: str, what: str) -> str:
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts or "\x00" in value or "\\" in value:
        raise ValueError(f"{what} must be a path inside the space, such as app.py (got {value!r})")
    return str(path)


class SpaceCard(BaseModel):
    """The README front matter. Field names follow Hugging Face's spelling through aliases."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    title: str | None = None
    emoji: str | None = None
    color_from: Literal[COLORS] | None = Field(None, alias="colorFrom")  # type: ignore[valid-type]
    color_to: Literal[COLORS] | None = Field(None, alias="colorTo")  # type: ignore[valid-type]
    sdk: Literal[SDKS] = "gradio"  # type: ignore[valid-type]
    sdk_version: str | None = None
    python_version: str | None = None
    app_file: str | None = None
    app_port: int | None = Field(None, ge=1, le=65535)
    base_path: str | None = None
    full_width: bool = Field(True, alias="fullWidth")
    header: Literal["mini", "default"] = "default"
    short_description: str | None = None
    models: list[str] = []
    datasets: list[str] = []
    tags: list[str] = []
    license: str | None = None
    pinned: bool = False
    suggested_hardware: Literal[HARDWARE_FLAVORS] | None = None  # type: ignore[valid-type]
    disable_embedding: bool = False
    startup_duration_timeout: float = DEFAULT_STARTUP_TIMEOUT_S
    custom_headers: dict[str, str] = {}
    preload_from_hub: list[str] = []

    @field_validator("sdk_version", "python_version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # YAML reads `python_version: 3.10` as the float 3.1; authors mean the string.
        if isinstance(value, float):
            raise ValueError(f"write the version in quotes (\"{value}\"), YAML reads it as a number")
        return str(value) if isinstance(value, int) else value

    @field_validator("python_version")
    @classmethod
    def _python_version(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"3\.\d+(\.\d+)?", value):
            raise ValueError(f"{value!r} is not a Python version; use 3.x or 3.x.y, such as \"3.11\"")
        return value

    @field_validator("app_file")
    @classmethod
    def _app_file(cls, value: str | None) -> str | None:
        return None if value is None else _relative_path(value, "app_file")

    @field_validator("base_path")
    @classmethod
    def _base_path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"must start with / (got {value!r})")
        return value

    @field_validator("models", "datasets", "tags", "preload_from_hub", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else ([] if value is None else value)

    @field_validator("startup_duration_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("custom_headers")
    @classmethod
    def _custom_headers(cls, value: dict[str, str]) -> dict[str, str]:
        # Hugging Face allows only these three, lowercase, so a space cannot loosen framing or CSP.
        allowed = {"cross-origin-embedder-policy", "cross-origin-opener-policy", "cross-origin-resource-policy"}
        for name in value:
            if name not in allowed:
                raise ValueError(f"header {name!r} is not allowed; allowed: {', '.join(sorted(allowed))}")
        return value


@dataclass(frozen=True)
class SpaceSpec:
    """Everything Podium needs to know about a space folder, validated."""

    root: Path
    card: SpaceCard
    app_file: str
    requirements: tuple[str, ...] = ()
    pre_requirements: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    has_front_matter: bool = True
    readme_body: str = field(default="", repr=False)

    @property
    def sdk(self) -> str:
        return self.card.sdk

    @property
    def extra_keys(self) -> dict[str, Any]:
        """Front-matter keys Podium does not interpret, kept as given."""
        return dict(self.card.model_extra or {})

    @property
    def app_port(self) -> int:
        return self.card.app_port or DEFAULT_PORTS[self.sdk]

    def card_data(self) -> dict[str, Any]:
        """The front matter as Hugging Face spells it (what the API returns as `cardData`)."""
        return self.card.model_dump(by_alias=True, exclude_unset=True)


def split_front_matter(text: str) -> tuple[dict[str, Any] | None, str]:
    """The README's YAML front matter (None when there is none) and the body after it."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpaceConfigError(f"the YAML front matter does not parse{where}: {problem}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpaceConfigError(
            f"the front matter between the --- lines must be a mapping of keys (sdk: gradio, ...), "
            f"not a {type(data).__name__}"
        )
    return data, text[match.end():].lstrip("\r\n")


def read_requirement_lines(path: Path) -> tuple[str, ...]:
    """Non-empty, non-comment lines of a requirements-style file (empty when it is absent)."""
    if not path.is_file():
        return ()
    lines = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return tuple(lines)


def _card_error(exc: ValidationError) -> SpaceConfigError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or None
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "literal_error":
        message = f"{first['input']!r} is not allowed; " + message.replace("Input should be", "use")
    elif first["type"].endswith("_type") or first["type"].endswith("_parsing"):
        message = f"{first['input']!r}: {message}"
    return SpaceConfigError(message, key=key)


def load_spec(folder: str | Path) -> SpaceSpec:
    """Read and validate a space folder. Raises `SpaceConfigError` with a clear message."""
    root = Path(folder).resolve()
    if not root.is_dir():
        raise SpaceConfigError(f"{root} is not a folder", file=str(root))
    readme = root / README
    text = readme.read_text(encoding="utf-8", errors="replace") if readme.is_file() else ""
    data, body = split_front_matter(text)
    try:
        card = SpaceCard.model_validate(data or {})
    except ValidationError as exc:
        raise _card_error(exc) from None

    default_app = "index.html" if card.sdk == "static" else ("Dockerfile" if card.sdk == "docker" else "app.py")
    app_file = card.app_file or default_app
    app_path = root / app_file
    if not app_path.resolve().is_relative_to(root):
        raise SpaceConfigError(f"{app_file!r} points outside the space", key="app_file")
    if not app_path.is_file():
        hint = "" if card.app_file else " (set app_file in the README front matter if it has another name)"
        raise SpaceConfigError(
            f"the app file {app_file!r} is not in the space{hint}", stage=Stage.NO_APP_FILE, key="app_file"
        )
    return SpaceSpec(
        root=root,
        card=card,
        app_file=app_file,
        requirements=read_requirement_lines(root / REQUIREMENTS),
        pre_requirements=read_requirement_lines(root / PRE_REQUIREMENTS),
        packages=read_requirement_lines(root / PACKAGES),
        has_front_matter=data is not None,
        readme_body=body,
    )
