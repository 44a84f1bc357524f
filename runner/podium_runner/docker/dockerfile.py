"""Dockerfiles for a build plan, in Hugging Face's layer order, and the contexts they build from.

A space becomes two images. The dependency image (base; `packages.txt` via apt as root; user 1000
and /home/user/app; pre-requirements; requirements; the sdk at `sdk_version` last) depends only on
the plan's dependency set, so spaces with the same set share it and a code-only change never
rebuilds it. The app image adds `COPY --chown` of the code, `ENV` and `CMD` on top.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from podium_runner.backend import BuildError
from podium_runner.docker.cache_mounts import own_cache_mounts
from podium_runner.docker.context import BuildContext
from podium_runner.docker.host import IMAGE_CONSTRAINTS, HostPackageSettings
from podium_runner.plan import BuildPlan, RunContext

APP_DIR = "/home/user/app"
VENV = "/home/user/.venv"
DATA_DIR = "/data"
UV_CACHE = "/home/user/.cache/uv"
ML_CONSTRAINTS = "/etc/podium/ml-constraints.txt"


def _cache_mount(cache_id: str) -> str:
    """The uv cache of one owner's builds (build_cache.py); uv locks it itself, so builds may share it."""
    return f"--mount=type=cache,id={cache_id},target={UV_CACHE},uid=1000,gid=1000,sharing=shared"


def _env_line(env: dict[str, str]) -> str:
    return "ENV " + " \\\n    ".join(f"{key}={json.dumps(value)}" for key, value in env.items())


def _install(args: str, cache_id: str | None) -> str:
    # Without a cache mount (no BuildKit) uv runs without a cache rather than bloat a layer.
    if cache_id:
        return f"RUN {_cache_mount(cache_id)} uv pip install {args}"
    return f"RUN uv pip install --no-cache {args}"


def _toolchain(base: str, host: HostPackageSettings, constraints: str) -> list[str]:
    """FROM, the host's CAs, uv and its settings: what every Podium-built Python image starts with."""
    lines = [f"FROM {base}", "USER root"]
    if host.ca_certificates:
        lines += ["COPY podium/ca/ /usr/local/share/ca-certificates/podium/", "RUN update-ca-certificates"]
    return lines + [
        "COPY podium/uv /usr/local/bin/uv",
        f"COPY podium/host-constraints.txt {IMAGE_CONSTRAINTS}",
        _env_line(
            {
                "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
                "UV_SYSTEM_CERTS": "1",
                "UV_PYTHON_DOWNLOADS": "never",
                "UV_COMPILE_BYTECODE": "1",
                "UV_LINK_MODE": "copy",
                "UV_CACHE_DIR": UV_CACHE,
                "UV_CONSTRAINT": constraints,
                "VIRTUAL_ENV": VENV,
                "PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                **host.env,
            }
        ),
    ]


def _user_and_venv(python_version: str) -> list[str]:
    return [
        # Some bases already have a uid 1000 (Debian cloud images); reuse it rather than fail.
        "RUN (getent passwd 1000 >/dev/null || useradd --create-home --uid 1000 --shell /bin/bash user) && "
        f"mkdir -p {APP_DIR} {DATA_DIR} {UV_CACHE} && chown 1000:1000 /home/user {APP_DIR} {DATA_DIR} "
        f"/home/user/.cache {UV_CACHE}",
        "USER 1000",
        f"WORKDIR {APP_DIR}",
        f"RUN test -x {VENV}/bin/python || uv venv {VENV} --python {python_version}",
    ]


def _toolchain_files(context: BuildContext, host: HostPackageSettings, uv_bin: Path) -> None:
    context.add_file("podium/uv", uv_bin, mode=0o755)
    context.add_bytes("podium/host-constraints.txt", host.constraints)
    for path in host.ca_certificates:
        context.add_file(f"podium/ca/{path.name}", path)


def dependency_dockerfile(
    plan: BuildPlan,
    base: str,
    host: HostPackageSettings,
    *,
    buildkit: bool,
    cache_id: str | None = None,
    ml_base: bool = False,
) -> str:
    """`cache_id`: the uv cache the space's owner mounts (build_cache.py); without it or without
    BuildKit, uv runs without a cache."""
    cache_id = cache_id if buildkit else None
    deps = plan.deps
    if deps is None:
        raise ValueError(f"{plan.space_root.name}: a {plan.kind} space has no dependency image")
    lines = _toolchain(base, host, IMAGE_CONSTRAINTS + (f" {ML_CONSTRAINTS}" if ml_base else ""))
    if plan.system_packages:
        packages = " ".join(shlex.quote(package) for package in plan.system_packages)
        lines.append(
            "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
            f"{packages} && rm -rf /var/lib/apt/lists/*"
        )
    lines += _user_and_venv(deps.python_version)
    for name, requirements in (
        ("pre-requirements.txt", deps.pre_requirements),
        ("requirements.txt", deps.requirements),
    ):
        if requirements:
            lines += [f"COPY --chown=1000:1000 deps/{name} ./", _install(f"-r {name}", cache_id)]
    if deps.sdk_step:
        lines.append(_install(" ".join(shlex.quote(requirement) for requirement in deps.sdk_step), cache_id))
    return "\n".join(lines) + "\n"


def ml_base_dockerfile(
    base: str,
    host: HostPackageSettings,
    *,
    torch_wheel: str,
    torch_version: str,
    python_version: str,
    packages: tuple[str, ...],
    labels: dict[str, str],
) -> str:
    """The "ml" base: torch (CPU, from a local wheel bind-mounted so no layer keeps it), then the rest.

    Only torch is pinned for the spaces built on it: a space may ask for another gradio or
    transformers (uv swaps those cheaply), but never pulls a second, CUDA-sized torch."""
    lines = _toolchain(base, host, IMAGE_CONSTRAINTS)
    lines.append(f"RUN mkdir -p /etc/podium && echo 'torch=={torch_version}' > {ML_CONSTRAINTS}")
    lines += _user_and_venv(python_version)
    # No cache mount: one that spaces' builds could name might hold what they put there.
    lines.append(
        f"RUN --mount=type=bind,source=wheels,target=/wheels "
        f"uv pip install --no-cache /wheels/{torch_wheel} " + " ".join(shlex.quote(p) for p in packages)
    )
    lines.append("LABEL " + " ".join(f"{key}={json.dumps(value)}" for key, value in labels.items()))
    return "\n".join(lines) + "\n"


def ml_base_context(dockerfile: str, host: HostPackageSettings, uv_bin: Path, torch_wheel: Path) -> bytes:
    context = BuildContext()
    context.add_bytes("Dockerfile", dockerfile.encode())
    _toolchain_files(context, host, uv_bin)
    context.add_file(f"wheels/{torch_wheel.name}", torch_wheel)
    return context.close()


def dependency_context(plan: BuildPlan, dockerfile: str, host: HostPackageSettings, uv_bin: Path) -> bytes:
    deps = plan.deps
    assert deps is not None  # dependency_dockerfile refused the other kinds already
    context = BuildContext()
    context.add_bytes("Dockerfile", dockerfile.encode())
    _toolchain_files(context, host, uv_bin)
    for name, requirements in (
        ("pre-requirements.txt", deps.pre_requirements),
        ("requirements.txt", deps.requirements),
    ):
        if requirements:
            context.add_bytes(f"deps/{name}", ("\n".join(requirements) + "\n").encode())
    # Local packages the requirements point at (./wheels/x.whl) sit where the lines expect them.
    for rel, _ in deps.local_files:
        source = plan.space_root / rel
        if source.is_dir():
            context.add_tree(f"deps/{rel}", source)
        else:
            context.add_file(f"deps/{rel}", source)
    return context.close()


def app_environment(app_port: int) -> dict[str, str]:
    """The variables every app image sets (a seat's container too, seats.py)."""
    return {
        # The root filesystem is read-only at run time: caches and HOME go to the /tmp tmpfs.
        "HOME": "/tmp",
        "XDG_CACHE_HOME": "/tmp/.cache",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "GRADIO_TEMP_DIR": "/tmp/gradio",
        "PYTHONUNBUFFERED": "1",
        "PORT": str(app_port),
    }


def app_dockerfile(plan: BuildPlan, deps_image: str) -> str:
    # The default command; each start passes its own (with the space's URL prefix) at create time.
    argv = plan.launch(RunContext(space_id="space/app", port=plan.app_port, host="0.0.0.0")).argv
    return (
        "\n".join(
            [
                f"FROM {deps_image}",
                f"COPY --chown=1000:1000 app/ {APP_DIR}/",
                _env_line(app_environment(plan.app_port)),
                f"EXPOSE {plan.app_port}",
                f"CMD {json.dumps(list(argv))}",
            ]
        )
        + "\n"
    )


def app_context(plan: BuildPlan, dockerfile: str) -> bytes:
    context = BuildContext()
    context.add_bytes("Dockerfile", dockerfile.encode())
    context.add_tree("app", plan.space_root)
    return context.close()


def space_dockerfile_context(plan: BuildPlan, owner_cache_id: str) -> bytes:
    """An `sdk: docker` space builds from its own folder with its own Dockerfile, whose cache mounts
    become its owner's own (cache_mounts.py)."""
    source = (plan.space_root / plan.app_file).resolve()
    if not source.is_relative_to(plan.space_root.resolve()):
        raise BuildError(
            f"{plan.space_root.name}: {plan.app_file} is a link out of the space; put the Dockerfile "
            f"itself in the space"
        )
    context = BuildContext()
    context.add_tree("", plan.space_root, skip=(plan.app_file,))
    text = source.read_text(errors="surrogateescape")
    context.add_bytes(plan.app_file, own_cache_mounts(text, owner_cache_id).encode(errors="surrogateescape"))
    return context.close()
