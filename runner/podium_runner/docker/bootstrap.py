"""Local base images for hosts that cannot pull from a registry.

`bootstrap_base` makes a minimal Debian root filesystem with Python from Debian packages
(debootstrap), carrying the host's apt sources and extra CAs so that `packages.txt` installs work
where the host's do, and imports it as an image. `bootstrap_ml_base` builds the "ml" base on top,
with torch (CPU) from a local wheel. Both are cached: a second call finds the image and says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from podium_runner.backend import BuildError, LogSink
from podium_runner.docker import bases, dockerfile
from podium_runner.docker.engine import Engine
from podium_runner.docker.host import HostPackageSettings

SUITE = "bookworm"
BASE_PYTHON = "3.11"  # bookworm's python3
PACKAGES = ("python3", "python3-venv", "ca-certificates")
ML_PACKAGES = ("transformers", "gradio", "streamlit", "accelerate")
_DEFAULT_MIRROR = "http://deb.debian.org/debian"
_APT = Path("/etc/apt")


def host_mirror(apt_dir: Path = _APT) -> str:
    """The host's Debian mirror (not the security one), which the host's network is known to reach."""
    texts = [p.read_text(errors="replace") for p in sorted(apt_dir.glob("sources.list.d/*.sources"))]
    for text in texts:
        for uri in re.findall(r"^URIs:\s*(\S+)", text, re.M):
            if not uri.rstrip("/").endswith("-security"):
                return uri
    sources = apt_dir / "sources.list"
    if sources.is_file():
        match = re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+\s", sources.read_text(errors="replace"), re.M)
        if match:
            return match.group(1)
    return _DEFAULT_MIRROR


def _run(argv: Sequence[str], log: LogSink, what: str) -> None:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        tail = (tail + [line.rstrip()])[-20:]
        log(line.rstrip())
    if process.wait() != 0:
        raise BuildError(f"{what} failed (exit {process.returncode}); see the lines above", tail=tail)


def _carry_host_apt_settings(root: Path, apt_dir: Path = _APT) -> None:
    """The host's sources (and its Acquire:: settings, e.g. a snapshot's Check-Valid-Until)."""
    sources = sorted(apt_dir.glob("sources.list.d/*.sources")) + sorted(apt_dir.glob("sources.list.d/*.list"))
    if (apt_dir / "sources.list").is_file():
        sources.append(apt_dir / "sources.list")
    if sources:
        (root / "etc/apt/sources.list").unlink(missing_ok=True)
        for path in sources:
            shutil.copy(path, root / "etc/apt" / path.relative_to(apt_dir))
    for path in sorted(apt_dir.glob("apt.conf.d/*")):
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
        settings = [line for line in lines if line and not line.startswith("//")]
        if settings and all(line.startswith("Acquire::") for line in settings):
            shutil.copy(path, root / "etc/apt/apt.conf.d" / path.name)


def bootstrap_base(
    engine: Engine,
    log: LogSink,
    *,
    tag: str = bases.BOOTSTRAP_BASE,
    host: HostPackageSettings | None = None,
    force: bool = False,
) -> bool:
    """Build `tag` unless it exists. Returns whether it built."""
    if not force and engine.image_exists(tag):
        log(f"{tag} exists already; nothing to do (--force builds it again)")
        return False
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise BuildError(
            "debootstrap is not installed; run `apt-get install debootstrap` (Podium needs it "
            "to build a base image without a registry)"
        )
    host = host or HostPackageSettings.from_host()
    mirror = host_mirror()
    with tempfile.TemporaryDirectory(prefix="podium-base-") as tmp:
        root = Path(tmp) / "rootfs"
        log(f"debootstrap {SUITE} from {mirror} with {', '.join(PACKAGES)}")
        _run(
            [debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(root), mirror],
            log,
            "debootstrap",
        )
        _carry_host_apt_settings(root)
        if host.ca_certificates:
            target = root / "usr/local/share/ca-certificates/podium"
            target.mkdir(parents=True, exist_ok=True)
            for path in host.ca_certificates:
                shutil.copy(path, target / path.name)
            _run(["chroot", str(root), "update-ca-certificates"], log, "update-ca-certificates")
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (root / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        archive = Path(tmp) / "rootfs.tar"
        _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(archive), "."], log, "packing the rootfs")
        repository, _, name = tag.partition(":")
        log(f"importing it as {tag}")
        engine.sync(
            lambda: engine.client.api.import_image_from_file(
                str(archive),
                repository=repository,
                tag=name or "latest",
                changes=[
                    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "ENV LANG=C.UTF-8",
                    'CMD ["python3"]',
                ],
            )
        )
    if not engine.image_exists(tag):
        raise BuildError(f"docker import did not produce {tag}; see the engine's log")
    return True


def torch_wheel(folder: Path, python_version: str = BASE_PYTHON) -> Path:
    tag = "cp" + python_version.replace(".", "")
    wheels = sorted(folder.glob(f"torch-*-{tag}-{tag}-*linux*x86_64.whl"))
    if not wheels:
        raise BuildError(
            f"no CPU torch wheel for Python {python_version} in {folder}; put one there "
            f"(pip download torch --index-url https://download.pytorch.org/whl/cpu -d {folder})"
        )
    return wheels[-1]


def bootstrap_ml_base(
    engine: Engine,
    log: LogSink,
    *,
    base: str = bases.BOOTSTRAP_BASE,
    tag: str = bases.ML_BASE,
    wheels: Path = Path("/opt/wheels"),
    uv_bin: Path,
    host: HostPackageSettings | None = None,
    force: bool = False,
) -> bool:
    if not force and engine.image_exists(tag):
        log(f"{tag} exists already; nothing to do (--force builds it again)")
        return False
    if not engine.image_exists(base):
        raise BuildError(f"the ml base builds on {base}, which is missing; run `podium images bootstrap`")
    if not engine.supports_buildkit():
        raise BuildError("building the ml base needs BuildKit (Docker 18.09 or later)")
    host = host or HostPackageSettings.from_host()
    wheel = torch_wheel(wheels)
    torch_version = wheel.name.split("-")[1]
    recipe = dockerfile.ml_base_dockerfile(
        base,
        host,
        torch_wheel=wheel.name,
        torch_version=torch_version,
        python_version=BASE_PYTHON,
        packages=ML_PACKAGES,
        labels={bases.ML_TORCH_LABEL: torch_version, bases.ML_PYTHON_LABEL: BASE_PYTHON},
    )
    log(f"building {tag} from {base} with torch {torch_version} and {', '.join(ML_PACKAGES)}")
    engine.build(dockerfile.ml_base_context(recipe, host, uv_bin, wheel), tag, log, buildkit=True, what=tag)
    return True
