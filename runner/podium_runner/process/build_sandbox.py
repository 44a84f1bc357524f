"""The bubblewrap + setpriv command line that runs one environment build like an app (sandbox.py).

A build runs somebody else's code: `uv pip install` executes the `setup.py` of any sdist, any `git+`
URL and any `./package` of the space. So uv runs as an unprivileged uid of the space's owner (from a
range of its own, apart from the apps' uids), with no capability, no-new-privileges, its own pid, ipc
and uts namespaces, a network namespace of its own as an app has (network.py: downloads work, the
host's loopback, its addresses and link-local ones do not; environments.py decides), and a fixed
environment: the host's package settings (pip_settings.py) and certificates, nothing else of Podium's.
It sees, read-only: /usr and a few /etc files, the base interpreter, uv, and the local files those
settings name (a `file://` index, find-links folders, a constraints file). Writable: its owner's
folder of builds (owners.py), where unix permissions leave it only that owner's uv cache and
the generation being built (the folder itself and its links are root's), and a private copy of the
space's files its requirements point at (`./evilpkg`, where setuptools writes its egg-info), bound
where the space is so that relative paths hold. Podium's data folder, the space's other files, other
owners' builds and caches, and every secret stay out of sight.

The owner's folder is one mount, not the cache and the generation bound apart: the kernel refuses
hardlinks across mounts (EXDEV), and uv hardlinking from the cache is what makes a second environment
cost megabytes, not hundreds.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from podium_runner.process.sandbox import NAMESPACES, bind_same_path, drop_privileges, system_binds, system_tool

# Host settings a download needs besides pip's, carried into the build as they are.
_HOST_VARIABLES = (
    "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
)  # fmt: skip
# Variables whose values may name local files or folders the build must read.
_PATH_VARIABLES = (
    "UV_DEFAULT_INDEX", "UV_INDEX", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS", "UV_CONSTRAINT",
    "UV_OVERRIDE", "SSL_CERT_FILE", "SSL_CERT_DIR",
)  # fmt: skip
_ALREADY_VISIBLE = (Path("/usr"), Path("/etc/ssl"), Path("/etc/ca-certificates"))
_LOOPBACK_HOST = re.compile(r"://(?:[^/@\s]*@)?(?:localhost|127\.[0-9.]+|\[::1\])(?:[:/]|$)", re.IGNORECASE)


def host_build_variables(settings: dict[str, str]) -> dict[str, str]:
    """The host's own uv, certificate and proxy variables, plus `settings` (pip's, translated)."""
    host = {key: value for key, value in os.environ.items() if key.startswith("UV_") or key in _HOST_VARIABLES}
    return host | settings


def _local_paths(variables: dict[str, str]) -> list[Path]:
    """Local files and folders the package settings name. A `file://` index brings its parent too:
    PEP 503 indexes link their files next to `simple/` (`../../files/x.whl`)."""
    found: list[Path] = []
    for key in _PATH_VARIABLES:
        for item in re.split(r"[\s,]+", variables.get(key, "")):
            if item.startswith("file://"):
                path = Path(item.removeprefix("file://"))
                found.append(path.parent if key.endswith(("INDEX", "INDEX_URL")) else path)
            elif item.startswith("/"):
                found.append(Path(item))
    return [p for p in dict.fromkeys(found) if p.exists() and not any(p.is_relative_to(v) for v in _ALREADY_VISIBLE)]


def loopback_settings(variables: dict[str, str]) -> list[str]:
    """The variables that send downloads to this host's loopback (a local index or proxy), which a
    build in a network namespace of its own cannot reach."""
    return [key for key, value in variables.items() if _LOOPBACK_HOST.search(value)]


@dataclass(frozen=True)
class BuildSandbox:
    """One build's sandbox: `uid` builds in `owner_root`; `space_copy` is shown at `space`."""

    uid: int
    owner_root: Path
    space: Path
    space_copy: Path
    interpreter_prefix: Path
    uv: Path
    # A file descriptor holding the apps' seccomp program (seccomp.program_fd): a build's code runs
    # under the same filter.
    seccomp_fd: int | None = None

    def wrap(self, argv: list[str], variables: dict[str, str], network_args: list[str] | None = None) -> list[str]:
        """`argv` (run in the space's folder) as a sandboxed command line; `variables` is the build's
        whole environment, whose local paths become visible read-only. `network_args` give it a network
        namespace of its own (network.py, as an app's but with nothing forwarded in); none: the host's."""
        binds = system_binds()
        for path in (self.interpreter_prefix, self.uv, *_local_paths(variables)):
            if not path.is_relative_to("/usr"):
                binds += bind_same_path(path)
        return [
            system_tool("bwrap") or "/usr/bin/bwrap",
            # /tmp comes before binds beneath it, or they are hidden.
            "--perms", "1777", "--tmpfs", "/tmp",
            *binds,
            *(network_args or ()),  # after the /etc binds: it replaces /etc/resolv.conf
            # The space first: where the owner's folder lies beneath it, that bind must come after.
            *bind_same_path(self.space, writable=True, source=self.space_copy),
            *bind_same_path(self.owner_root, writable=True),
            "--proc", "/proc", "--dev", "/dev",
            *NAMESPACES, "--hostname", "build",
            *(("--seccomp", str(self.seccomp_fd)) if self.seccomp_fd is not None else ()),
            "--die-with-parent",
            "--chdir", str(self.space),
            "--", *drop_privileges(self.uid), "--", *argv,
        ]  # fmt: skip
