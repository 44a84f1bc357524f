"""A space folder read into a validated `SpaceSpec`.

The README front matter uses Hugging Face's keys (hub-docs `spaces-config-reference.md`), so a folder
written for Hugging Face Spaces works unchanged. Unknown keys are kept in `SpaceSpec.card`, never
rejected. Every problem becomes a `SpaceConfigError` that names the file, the key, what is wrong and
what is allowed, and carries the Hugging Face stage it maps to.

Front-matter values reach command lines, Dockerfiles, requirement files, URLs and pages, so each one
Podium reads follows a strict pattern or enumeration (`RULES`, one table, in front_matter_rules.py)
before anything uses it. The YAML itself is bounded: at most `MAX_FRONT_MATTER` characters, no anchors
or aliases (230 bytes of aliases expand into megabytes), nesting at most `MAX_NESTING` deep, and only
JSON's kinds of values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from podium_runner import requirement_lines
from podium_runner.front_matter_rules import CUSTOM_HEADERS, PACKAGE_RULE, RULES, parse_duration, shown
from podium_runner.recipes import recipe_for
from podium_runner.stages import SpaceFailure, Stage

README = "README.md"
REQUIREMENTS = "requirements.txt"
PRE_REQUIREMENTS = "pre-requirements.txt"
PACKAGES = "packages.txt"

# Hugging Face's default: a space that does not answer within 30 minutes is flagged unhealthy.
DEFAULT_STARTUP_TIMEOUT_S = 30 * 60
MAX_FRONT_MATTER = 32 * 1024  # characters between the --- lines (parsing the most takes ~0.1 s)
MAX_NESTING = 16
MAX_LIST_ITEMS = 100
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$", re.S | re.M)


class SpaceConfigError(SpaceFailure):
    """A space that cannot be built as given. `stage` is CONFIG_ERROR or NO_APP_FILE."""

    def __init__(self, message: str, *, stage: Stage = Stage.CONFIG_ERROR, file: str = README, key: str | None = None):
        self.stage = stage
        self.file = file
        self.key = key
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + message)


class SpaceCard(BaseModel):
    """The README front matter. Field names follow Hugging Face's spelling through aliases."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    title: str | None = None
    emoji: str | None = None
    color_from: str | None = Field(None, alias="colorFrom")
    color_to: str | None = Field(None, alias="colorTo")
    sdk: str = "gradio"
    sdk_version: str | None = None
    python_version: str | None = None
    app_file: str | None = None
    app_port: int | None = Field(None, ge=1, le=65535)
    base_path: str | None = None
    full_width: bool = Field(True, alias="fullWidth")
    header: str = "default"
    short_description: str | None = None
    models: list[str] = []
    datasets: list[str] = []
    tags: list[str] = []
    license: str | None = None
    pinned: bool = False
    suggested_hardware: str | None = None
    disable_embedding: bool = False
    startup_duration_timeout: float = DEFAULT_STARTUP_TIMEOUT_S
    custom_headers: dict[str, str] = {}
    preload_from_hub: list[str] = []

    @field_validator("sdk_version", "python_version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # YAML reads `python_version: 3.10` as the float 3.1; authors mean the string.
        if isinstance(value, float):
            raise ValueError(f'write the version in quotes ("{value}"), YAML reads it as a number')
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("models", "datasets", "tags", "preload_from_hub", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else ([] if value is None else value)

    @field_validator(
        "title",
        "emoji",
        "color_from",
        "color_to",
        "sdk",
        "sdk_version",
        "python_version",
        "app_file",
        "base_path",
        "header",
        "short_description",
        "models",
        "datasets",
        "tags",
        "license",
        "suggested_hardware",
        "preload_from_hub",
    )
    @classmethod
    def _follows_its_rule(cls, value: Any, info: ValidationInfo) -> Any:
        rule = RULES[cls.model_fields[info.field_name].alias or info.field_name]
        if isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                raise ValueError(f"at most {MAX_LIST_ITEMS} entries (got {len(value)})")
            return [rule.check(item) for item in value]
        return None if value is None else rule.check(value)

    @field_validator("startup_duration_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("custom_headers")
    @classmethod
    def _custom_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header_value in value.items():
            if name not in CUSTOM_HEADERS:
                raise ValueError(f"header {shown(name)} is not allowed; allowed: {', '.join(CUSTOM_HEADERS)}")
            if header_value not in CUSTOM_HEADERS[name]:
                raise ValueError(
                    f"{name}: {shown(header_value)} is not allowed: it must be one of "
                    + ", ".join(CUSTOM_HEADERS[name])
                )
        return value


def valid_entries(card: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a front matter that follow their rules, each checked on its own: what a page may
    show of a README that did not validate as a whole (a CONFIG_ERROR space), or of an old record."""
    kept = {}
    for key, value in card.items():
        try:
            SpaceCard.model_validate({key: value})
        except ValidationError:
            continue
        kept[key] = value
    return kept


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
        return self.card.app_port or recipe_for(self.sdk).port

    def card_data(self) -> dict[str, Any]:
        """The front matter as Hugging Face spells it (what the API returns as `cardData`)."""
        return self.card.model_dump(by_alias=True, exclude_unset=True)


class _FrontMatterLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's when installed: 5x faster
    """`yaml.safe_load`, with dates kept as text (front matter is stored and served as JSON)."""


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def _check_events(text: str) -> None:
    """Refuse anchors and aliases (each alias is a copy: a few bytes of them grow into megabytes) and
    nesting deeper than `MAX_NESTING` (composing recurses), from the parser's events, before a value
    is made."""
    depth = 0
    for event in yaml.parse(text, Loader=_FrontMatterLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed; write each value out", event.start_mark
            )
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                raise yaml.composer.ComposerError(
                    None, None, f"values are nested more than {MAX_NESTING} deep", event.start_mark
                )
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _check_json_like(value: Any, where: str) -> None:
    """Front matter is stored and served as JSON: mappings with text keys, lists, text, numbers."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise SpaceConfigError(f"{shown(key)} is not a text key", key=where or None)
            _check_json_like(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for item in value:
            _check_json_like(item, where)
    elif isinstance(value, float) and not math.isfinite(value):
        raise SpaceConfigError(f"{shown(value)} is not a finite number", key=where or None)
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise SpaceConfigError(
            f"a {type(value).__name__} is not allowed here; use text, a number, a list or a mapping", key=where or None
        )


def split_front_matter(text: str) -> tuple[dict[str, Any] | None, str]:
    """The README's YAML front matter (None when there is none) and the body after it."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, text
    if len(match.group(1)) > MAX_FRONT_MATTER:
        raise SpaceConfigError(
            f"the front matter is {len(match.group(1))} characters long; at most {MAX_FRONT_MATTER} are allowed "
            "(put long text in the README's body, after the closing ---)"
        )
    try:
        _check_events(match.group(1))
        data = yaml.load(match.group(1), Loader=_FrontMatterLoader)  # noqa: S506 (a SafeLoader)
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
    _check_json_like(data, "")
    return data, text[match.end() :].lstrip("\r\n")


def read_requirement_lines(path: Path) -> tuple[str, ...]:
    """Non-empty, non-comment lines of a requirements-style file (empty when it is absent); a line that
    ends in a backslash goes on on the next one."""
    if not path.is_file():
        return ()
    lines = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return tuple(requirement_lines.join_continuations(lines))


def _checked_requirements(path: Path) -> tuple[str, ...]:
    lines = read_requirement_lines(path)
    for line in lines:
        try:
            requirement_lines.check_line(line)
        except ValueError as exc:
            raise SpaceConfigError(f"{shown(line)}: {exc}", file=path.name, key=None) from None
    return lines


def _checked_packages(path: Path) -> tuple[str, ...]:
    packages = read_requirement_lines(path)
    for package in packages:
        try:
            PACKAGE_RULE.check(package)
        except ValueError as exc:
            raise SpaceConfigError(str(exc), file=PACKAGES) from None
    return packages


def _card_error(exc: ValidationError) -> SpaceConfigError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or None
    message = first["msg"].removeprefix("Value error, ")
    if first["type"].endswith("_type") or first["type"].endswith("_parsing"):
        message = f"{shown(first['input'])}: {message}"
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

    app_file = card.app_file or recipe_for(card.sdk).app_file
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
        requirements=_checked_requirements(root / REQUIREMENTS),
        pre_requirements=_checked_requirements(root / PRE_REQUIREMENTS),
        packages=_checked_packages(root / PACKAGES),
        has_front_matter=data is not None,
        readme_body=body,
    )
