"""What a build inside Docker takes over from the host: package index settings and extra CAs.

The process backend gives uv the host's pip settings (`podium_runner.pip_settings`); an image needs the
same, minus what points at the host's own disk (a `file://` index or a wheel folder is not inside
the container). Constraint files are copied in; CA certificates added to the host (Debian's
/usr/local/share/ca-certificates) are installed into the image, so a TLS-inspecting proxy works.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from podium_runner.pip_settings import pip_settings

HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
IMAGE_CONSTRAINTS = "/etc/podium/host-constraints.txt"
# pip key, uv variable, and how uv wants several values joined.
_INDEX_SETTINGS = (
    ("index-url", "UV_DEFAULT_INDEX", " "),
    ("extra-index-url", "UV_INDEX", " "),
    ("find-links", "UV_FIND_LINKS", ","),
)


def _remote(values: str) -> list[str]:
    return [value for value in values.split() if value.startswith(("http://", "https://"))]


@dataclass(frozen=True)
class HostPackageSettings:
    env: Mapping[str, str]
    constraints: bytes
    ca_certificates: tuple[Path, ...]
    left_out: tuple[str, ...]  # settings that name host paths, reported in the build log

    @classmethod
    def from_host(
        cls, ca_certificates: Sequence[Path] | None = None, environ: Mapping[str, str] | None = None
    ) -> HostPackageSettings:
        """The host's settings; `ca_certificates` None means every .crt under HOST_CA_DIR."""
        environ = os.environ if environ is None else environ
        pip = pip_settings(environ)
        env: dict[str, str] = {}
        left_out = []
        for key, variable, join in _INDEX_SETTINGS:
            if key in pip:
                remote = _remote(pip[key])
                if remote:
                    env[variable] = join.join(remote[:1] if key == "index-url" else remote)
                left_out += [f"{key} {value}" for value in pip[key].split() if value not in remote]
        if "trusted-host" in pip:
            env["UV_INSECURE_HOST"] = pip["trusted-host"]
        constraints = b""
        for path in pip.get("constraint", "").split():
            try:
                constraints += Path(path).expanduser().read_bytes().rstrip(b"\n") + b"\n"
            except OSError:
                left_out.append(f"constraint {path} (unreadable)")
        if ca_certificates is None:
            ca_certificates = sorted(HOST_CA_DIR.rglob("*.crt")) if HOST_CA_DIR.is_dir() else []
        return cls(env=env, constraints=constraints, ca_certificates=tuple(ca_certificates), left_out=tuple(left_out))

    @property
    def fingerprint(self) -> str:
        """Changes when anything that ends up in an image changes (part of image tags)."""
        digest = hashlib.sha256(repr(sorted(self.env.items())).encode() + self.constraints)
        for path in self.ca_certificates:
            digest.update(path.read_bytes())
        return digest.hexdigest()[:12]
