"""From a `SpaceSpec`, a `BuildPlan`: plain data that says what environment to make and how to launch.

Nothing here touches the disk beyond reading the space, so a plan can be printed, compared and tested
before any backend acts on it (repo2docker's build packs are the model). The dependency set is
separated from the app's code, so spaces with the same set share one environment and a code-only
change never rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from podium_runner.recipes import Kind, Recipe, recipe_for
from podium_runner.requirement_lines import local_path
from podium_runner.sdk_extras import sdk_extras
from podium_runner.spec import PACKAGES, REQUIREMENTS, SpaceConfigError, SpaceSpec

# What Podium installs when a space names no sdk_version. One place, so docs and tests agree.
DEFAULT_SDK_VERSIONS = {"gradio": "6.31.0", "streamlit": "1.67.0"}
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
PLAN_FORMAT = 1  # bump when the meaning of a plan changes, so old environments are not reused

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_EXTRAS = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*\[([^\]]*)\]")

# Variables a space's own cannot override: they say where the app listens.
_WHERE_IT_LISTENS = frozenset({"PORT", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "GRADIO_ROOT_PATH"})


def requirement_name(line: str) -> str | None:
    """The normalised project name a requirement line installs, or None for options and URLs."""
    if line.startswith("-") or _URL.match(line):
        return None
    match = _NAME.match(line)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


def _extras_of(line: str) -> frozenset[str]:
    """The extras a requirement line asks for: {"oauth"} for `gradio[oauth]==6.31.0`."""
    match = _EXTRAS.match(line)
    return frozenset(e.strip().lower() for e in match.group(1).split(",") if e.strip()) if match else frozenset()


def _pins(line: str, project: str, version: str) -> bool:
    """Whether `line` pins `project` (with any extras) to exactly `version`."""
    name, operator, pinned = re.sub(r"\[[^\]]*\]|\s", "", line).partition("==")
    return requirement_name(name) == project and operator == "==" and pinned == version


@dataclass(frozen=True)
class DependencySet:
    """The Python packages of one environment. Equal sets share one environment."""

    python_version: str
    pre_requirements: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    sdk_requirement: str | None = None
    # What Hugging Face installs with the sdk, in the sdk's step (podium_runner.sdk_extras).
    sdk_extras: tuple[str, ...] = ()
    # Content hashes of files inside the space that requirements point at (`./wheels/x.whl`).
    local_files: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """Content hash naming the environment: same key, same packages."""
        fields = asdict(self)
        if not self.sdk_extras:  # sets without extras keep the key they had before extras existed
            del fields["sdk_extras"]
        payload = json.dumps({"format": PLAN_FORMAT, **fields}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:20]

    def install_steps(self) -> list[tuple[str, ...]]:
        """Requirement groups in Hugging Face's order: pre-requirements, requirements, then the sdk."""
        return [step for step in (self.pre_requirements, self.requirements, self.sdk_step) if step]

    @property
    def sdk_step(self) -> tuple[str, ...]:
        """The sdk (unless requirements.txt pins it) and its extras, installed last as on Hugging Face."""
        return ((self.sdk_requirement,) if self.sdk_requirement else ()) + self.sdk_extras


@dataclass(frozen=True)
class PlatformAddress:
    """Where an app reaches the platform's endpoints for apps (Podium's OpenID Connect provider, the Hub's
    read routes for HF_ENDPOINT): `url` as
    the host's processes reach it, `socket` a Unix socket serving the same for an app in a network of its
    own (podium_runner.process.platform_door), and the variables that tell the app where it reaches them."""

    url: str
    socket: str | None = None
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunContext:
    """Facts only the caller knows when it starts an instance."""

    space_id: str
    port: int
    host: str = "127.0.0.1"
    root_path: str = ""
    public_host: str = ""
    title: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    model_cache: str | None = None
    gpu_ids: tuple[str, ...] = ()
    hardware: str = "cpu-basic"
    platform: PlatformAddress | None = None


@dataclass(frozen=True)
class Launch:
    """One start of a space: the command (run in the app folder), its environment, its health URL path."""

    argv: tuple[str, ...]
    env: dict[str, str]
    health_path: str


@dataclass(frozen=True)
class BuildPlan:
    space_root: Path
    kind: Kind
    sdk: str
    app_file: str
    app_port: int
    deps: DependencySet | None
    system_packages: tuple[str, ...] = ()
    # Its recipe's: the app reads its URL prefix itself; when False the proxy strips it before forwarding.
    accepts_root_path: bool = True
    startup_timeout_s: float = 30 * 60
    code_hash: str = ""

    @property
    def build_key(self) -> str:
        """Names the environment (python) or the dependency image (docker) this plan needs."""
        if self.deps is not None:
            return self.deps.key
        return self.code_hash

    def describe(self) -> dict:
        """The plan as JSON-ready data, for `podium run --plan` and the build log."""
        data = asdict(self)
        data["space_root"] = str(self.space_root)
        data["build_key"] = self.build_key
        return data

    @property
    def recipe(self) -> Recipe:
        return recipe_for(self.sdk)

    def launch(self, ctx: RunContext) -> Launch:
        """The command and environment for one instance: Hugging Face's variables, then its recipe's."""
        owner, _, name = ctx.space_id.partition("/")
        env = {
            # Hugging Face's marker of a Space, which apps check and Gradio acts on (its REST API stays
            # behind the queue, its config names the space, real OAuth for gr.LoginButton, ...). Gradio 5
            # and 6 also start their Spaces hot-reload watcher then, with HF's `spaces` package, which every
            # Gradio space gets (sdk_extras.py). No variable turns the watcher off alone: its reload server
            # listens on 0.0.0.0:7887 and rewrites and reloads the app's code for anyone who reaches it:
            # the sandbox's network namespace and the docker network keep it to the app itself, but an app
            # run without a network of its own (no sandbox) opens it on the host.
            "SYSTEM": "spaces",
            "SPACE_ID": ctx.space_id,
            "SPACE_AUTHOR_NAME": owner,
            "SPACE_REPO_NAME": name,
            "SPACE_TITLE": ctx.title or name,
            "SPACE_HOST": ctx.public_host,
            "PORT": str(ctx.port),
            "PYTHONUNBUFFERED": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "ACCELERATOR": "gpu" if ctx.gpu_ids else "none",
        }
        if ctx.model_cache:
            env["HF_HOME"] = ctx.model_cache
        if ctx.gpu_ids:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(ctx.gpu_ids)
        command = self.recipe.command(self.app_file, ctx.host, ctx.port, ctx.root_path.rstrip("/"))
        env |= command.env
        # The caller's variables and secrets come last but may not change where the app listens.
        env |= {key: value for key, value in ctx.env.items() if key not in _WHERE_IT_LISTENS}
        if ctx.platform is not None:
            env |= dict.fromkeys(ctx.platform.variables, ctx.platform.url)
        return Launch(argv=command.argv, env=env, health_path=command.health_path)


def _hash_tree(root: Path, skip: frozenset[str] = frozenset({".git"})) -> str:
    digest = hashlib.sha256()
    paths = sorted(p for p in root.rglob("*") if p.is_file() and not skip.intersection(p.relative_to(root).parts))
    for path in paths:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:20]


def _check_local_requirements(spec: SpaceSpec, lines: tuple[str, ...], file: str) -> list[tuple[str, str]]:
    hashes = []
    # Lines were checked when the spec was read (podium_runner.requirement_lines): no options, no file:
    # URLs, no path that names a place outside the space. A symlink inside the space may still lead out.
    for line in lines:
        target = local_path(line)
        if target is None:
            continue
        path = (spec.root / target).resolve()
        if not path.is_relative_to(spec.root):
            raise SpaceConfigError(
                f"{line!r} points outside the space; put the package inside the space folder or "
                f"publish it to a package index",
                file=file,
                key=line,
            )
        if not path.exists():
            raise SpaceConfigError(f"{line!r} points at {target}, which is not in the space", file=file, key=line)
        rel = str(path.relative_to(spec.root))
        hashes.append((rel, _hash_tree(path) if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()[:20]))
    return hashes


def dependency_set(spec: SpaceSpec, *, host_python: str = HOST_PYTHON) -> DependencySet:
    sdk = spec.sdk
    requirements = spec.requirements
    sdk_version = spec.card.sdk_version
    if sdk_version is None:
        # No sdk_version: keep a pin from requirements.txt if there is one, else Podium's default.
        pinned = [line for line in requirements if requirement_name(line) == sdk]
        sdk_requirement = None if pinned else f"{sdk}=={DEFAULT_SDK_VERSIONS[sdk]}"
    elif any(_pins(line, sdk, sdk_version) for line in requirements):
        # requirements.txt already pins what the README asks for: installing it as written lets a
        # Gradio space and a Streamlit space with the same requirements share one environment.
        sdk_requirement = None
    else:
        # As on Hugging Face, the README's sdk_version wins over a pin in requirements.txt.
        requirements = tuple(line for line in requirements if requirement_name(line) != sdk)
        sdk_requirement = f"{sdk}=={sdk_version}"
    named = [(requirement_name(line), _extras_of(line)) for line in (*spec.pre_requirements, *requirements)]
    # The sdk's extras, but not one the space names itself: another package at the space's own pin; the
    # sdk's own extra (gradio[oauth]) only where a line names the sdk with that extra already.
    extras = tuple(
        extra.requirement
        for extra in sdk_extras(sdk)
        if not any(
            name == requirement_name(extra.requirement) and (name != sdk or _extras_of(extra.requirement) <= extras)
            for name, extras in named
        )
    )
    local = _check_local_requirements(spec, spec.pre_requirements, "pre-requirements.txt")
    local += _check_local_requirements(spec, requirements, REQUIREMENTS)
    return DependencySet(
        python_version=spec.card.python_version or host_python,
        pre_requirements=spec.pre_requirements,
        requirements=requirements,
        sdk_requirement=sdk_requirement,
        sdk_extras=extras,
        local_files=tuple(local),
    )


def make_plan(spec: SpaceSpec) -> BuildPlan:
    """The build plan for a validated spec. Raises `SpaceConfigError` for what no backend can build."""
    recipe = recipe_for(spec.sdk)
    if spec.packages and recipe.packages_txt_refused:
        raise SpaceConfigError(recipe.packages_txt_refused, file=PACKAGES)
    return BuildPlan(
        space_root=spec.root,
        kind=recipe.kind,
        sdk=spec.sdk,
        app_file=spec.app_file,
        app_port=spec.app_port,
        deps=dependency_set(spec) if recipe.python_environment else None,
        system_packages=spec.packages,
        accepts_root_path=recipe.accepts_root_path,
        startup_timeout_s=spec.card.startup_duration_timeout,
        code_hash=_hash_tree(spec.root),
    )
