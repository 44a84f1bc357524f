"""A sandboxed app's variables and secrets, handed over only after its privileges have dropped.

Every process before the app runs as root: the cgroup joiner (`/bin/sh`), bwrap, setpriv. A space's
variable in their environment is a root escape (`LD_PRELOAD=/home/user/app/evil.so` loads the space's
own code into them), so they get `sandbox.ROOT_ENVIRONMENT` and nothing else. The app's variables
travel in an anonymous memory file (memfd) inherited as one open descriptor: never on a command line,
which every host user can read in /proc, nor in a file on disk. The first program after setpriv, already
the app's uid with no capability, is a few lines of the environment's own Python (`-I -S`: no variable,
no site, no file of the space is read) that reads the variables, closes the descriptor and executes
the app with exactly them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Runs as the app's uid: argv is [fd, app argv...].
_LOADER = (
    "import os, sys\n"
    "fd = int(sys.argv[1])\n"
    "os.lseek(fd, 0, os.SEEK_SET)\n"
    "with os.fdopen(fd, 'rb') as source: data = source.read()\n"
    "env = dict(item.split(b'=', 1) for item in data.split(b'\\0') if item)\n"
    "os.execve(sys.argv[2], sys.argv[2:], env)\n"
)


class Handover:
    """The variables of one start, in a memfd the child inherits. Close it once the child started."""

    def __init__(self, variables: Mapping[str, str]):
        for key, value in variables.items():
            if not key or "=" in key or "\0" in key or "\0" in value:
                raise ValueError(f"variable {key!r} cannot be passed to an app (a name with '=' or NUL, or a NUL)")
        self.fd = os.memfd_create("podium-app-environment", 0)  # inheritable once passed in pass_fds
        os.write(self.fd, b"".join(f"{key}={value}".encode() + b"\0" for key, value in variables.items()))

    def argv(self, python: str, argv: list[str]) -> list[str]:
        """`argv` started by `python` (an absolute path inside the sandbox) with the variables set."""
        return [python, "-I", "-S", "-c", _LOADER, str(self.fd), *argv]

    def close(self) -> None:
        os.close(self.fd)
