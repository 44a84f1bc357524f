"""The host's pip settings, translated into uv's environment variables.

A user behind a private index or a TLS-inspecting proxy has already told pip where packages live and
which certificate to trust (environment variables and pip.conf files). uv reads none of pip's settings,
so the build would otherwise fail on such a machine; this module carries them over.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path

# pip's own order: global files, then user files, then PIP_CONFIG_FILE; later ones win per key,
# and PIP_* environment variables win over every file.
_CONFIG_FILES = ("/etc/xdg/pip/pip.conf", "/etc/pip.conf", "~/.pip/pip.conf", "~/.config/pip/pip.conf")
_SECTIONS = ("global", "install")
_KEYS = ("index-url", "extra-index-url", "find-links", "cert", "constraint", "trusted-host")


def _config_paths(environ: Mapping[str, str]) -> list[Path]:
    paths = [Path(p).expanduser() for p in _CONFIG_FILES]
    if environ.get("PIP_CONFIG_FILE"):
        paths.append(Path(environ["PIP_CONFIG_FILE"]).expanduser())
    return paths


def pip_settings(environ: Mapping[str, str] | None = None, config_files: list[Path] | None = None) -> dict[str, str]:
    """pip's effective value for each key Podium carries over (`index-url`, `cert`, ...)."""
    environ = os.environ if environ is None else environ
    settings: dict[str, str] = {}
    for path in config_files if config_files is not None else _config_paths(environ):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError):
            continue  # pip itself would complain about a broken file; a build should not die of it
        for section in _SECTIONS:
            for key in _KEYS:
                if parser.has_option(section, key):
                    settings[key] = " ".join(parser.get(section, key).split())
    for key in _KEYS:
        value = environ.get("PIP_" + key.upper().replace("-", "_"))
        if value:
            settings[key] = value
    return settings


def uv_environment(environ: Mapping[str, str] | None = None, config_files: list[Path] | None = None) -> dict[str, str]:
    """uv's variables for the host's pip settings. Variables the host already sets for uv win."""
    environ = os.environ if environ is None else environ
    pip = pip_settings(environ, config_files)
    uv: dict[str, str] = {}
    if "index-url" in pip and "UV_INDEX_URL" not in environ:
        uv["UV_DEFAULT_INDEX"] = pip["index-url"]
    if "extra-index-url" in pip:
        uv["UV_INDEX"] = pip["extra-index-url"]
        # pip picks the best version across all its indexes; uv by default stops at the first index
        # that has the name, which fails where a local mirror holds older versions than PyPI.
        uv["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    if "find-links" in pip:
        # uv splits UV_FIND_LINKS on commas, pip on whitespace.
        uv["UV_FIND_LINKS"] = ",".join(pip["find-links"].split())
    if "constraint" in pip:
        uv["UV_CONSTRAINT"] = pip["constraint"]
    if "trusted-host" in pip:
        uv["UV_INSECURE_HOST"] = pip["trusted-host"]
    cert = pip.get("cert") or environ.get("SSL_CERT_FILE")
    if cert:
        # uv reads SSL_CERT_FILE as its certificate bundle (REQUESTS_CA_BUNDLE, pip's, it ignores).
        uv["SSL_CERT_FILE"] = cert
    return {key: value for key, value in uv.items() if key not in environ}
