"""The rules every value Podium reads from a README's front matter follows, in one table (`RULES`).

Front-matter values reach command lines, Dockerfiles, requirement files, URLs and pages, so each one
follows a strict pattern or enumeration before anything uses it; `spec.SpaceCard` applies the rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from podium_runner.recipes import RECIPES

SDKS = tuple(RECIPES)
COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
HARDWARE_FLAVORS = (
    "cpu-basic",
    "cpu-upgrade",
    "t4-small",
    "t4-medium",
    "l4x1",
    "l4x4",
    "l40sx1",
    "l40sx4",
    "l40sx8",
    "a10g-small",
    "a10g-large",
    "a10g-largex2",
    "a10g-largex4",
    "a100-large",
    "a100x4",
    "a100x8",
)
MAX_STARTUP_TIMEOUT_S = 24 * 3600
# Hugging Face allows these three headers only, so a space cannot loosen framing or CSP; each value
# is one of the header's own tokens, so none can carry another header or a new line.
CUSTOM_HEADERS = {
    "cross-origin-embedder-policy": ("unsafe-none", "require-corp", "credentialless"),
    "cross-origin-opener-policy": ("unsafe-none", "same-origin-allow-popups", "same-origin", "noopener-allow-popups"),
    "cross-origin-resource-policy": ("same-site", "same-origin", "cross-origin"),
}
MAX_SHOWN = 60  # characters of a refused value an error quotes
_DURATION = re.compile(r"^\s*([0-9]{1,9}(?:\.[0-9]{1,6})?)\s*(s|m|h)?\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, None: 1}


def shown(value: object) -> str:
    """A refused value as an error quotes it: escaped (repr) and cut to `MAX_SHOWN` characters."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def _one_line_text(value: str) -> bool:
    # Printable characters and plain spaces only; emoji joined by ZWJ (U+200D) are kept.
    return value.replace("\u200d", "").isprintable()


def _emoji_only(value: str) -> bool:
    return bool(value) and _one_line_text(value) and all(ord(char) > 0x7F and not char.isspace() for char in value)


def _no_dot_segments(value: str) -> bool:
    path = value.split("?", 1)[0].split("#", 1)[0]
    return "//" not in value and not {".", ".."}.intersection(path.split("/"))


@dataclass(frozen=True)
class Rule:
    """How one front-matter value may look (a pattern, an enumeration, a test) and how that reads."""

    allowed: str
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    test: Callable[[str], bool] | None = None
    max_length: int = 100

    def check(self, value: str) -> str:
        if not isinstance(value, str):
            raise ValueError(f"{shown(value)} is not text: it must be {self.allowed}")
        fits = (
            len(value) <= self.max_length
            and (value in self.choices if self.choices else re.fullmatch(self.pattern or ".*", value, re.ASCII | re.S))
            and (self.test is None or self.test(value))
        )
        if not fits:
            raise ValueError(f"{shown(value)} is not allowed: it must be {self.allowed}")
        return value


def _one_of(choices: tuple[str, ...]) -> Rule:
    return Rule("one of " + ", ".join(choices), choices=choices)


_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_HUB_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?"
_URL_PART = r"[A-Za-z0-9._~=&+%/-]*"
# Patterns are unambiguous (each repeated part starts with a '/' or ','), so a refusal takes linear time.
_PATH_PART = r"[A-Za-z0-9._~-]+"

# Keyed by Hugging Face's spelling. Lists (models, datasets, tags, preload_from_hub) apply the rule to
# each item; `SpaceCard` adds the types, defaults and the keys that are numbers, booleans or mappings.
RULES: dict[str, Rule] = {
    "title": Rule("text on one line, at most 100 characters", test=_one_line_text),
    "emoji": Rule("emoji only, such as 🚀 (at most 16 characters)", test=_emoji_only, max_length=16),
    "colorFrom": _one_of(COLORS),
    "colorTo": _one_of(COLORS),
    "sdk": _one_of(SDKS),
    "sdk_version": Rule(
        'a version such as "6.31.0" or "5.0.0b3" (digits and dots, then an optional a, b, rc, .post or .dev number)',
        pattern=r"[0-9]{1,6}(\.[0-9]{1,6}){0,3}((a|b|rc)[0-9]{1,6})?(\.post[0-9]{1,6})?"
        r"(\.dev[0-9]{1,6})?",
        max_length=40,
    ),
    "python_version": Rule('3.x or 3.x.y, such as "3.11"', pattern=r"3\.[0-9]{1,2}(\.[0-9]{1,3})?"),
    "app_file": Rule(
        "a path inside the space, such as app.py or src/main.py (letters, digits, '.', '_', '-' "
        "and '/' between names; no '..', no leading '/' or '-')",
        pattern=rf"{_SEGMENT}(/{_SEGMENT})*",
        test=_no_dot_segments,
        max_length=200,
    ),
    "base_path": Rule(
        "a path on the space's own site, such as /docs or /?view=api: one leading '/', then letters, "
        "digits, '.', '_', '~', '-' and '/' (no '@', '\\', '//' or '..'), an optional ?query and "
        "#fragment",
        pattern=rf"/({_PATH_PART}(/{_PATH_PART})*/?)?(\?{_URL_PART})?(#{_URL_PART})?",
        test=_no_dot_segments,
        max_length=200,
    ),
    "header": _one_of(("mini", "default")),
    "short_description": Rule("text on one line, at most 150 characters", test=_one_line_text, max_length=150),
    "models": Rule("Hub ids such as openai-community/gpt2", pattern=_HUB_ID, max_length=200),
    "datasets": Rule("Hub ids such as rajpurkar/squad", pattern=_HUB_ID, max_length=200),
    "tags": Rule(
        "words such as text-generation or region:us (letters, digits, '.', '_', ':', '+', '-'), at most 64 characters",
        pattern=r"[A-Za-z0-9][A-Za-z0-9._:+-]*",
        max_length=64,
    ),
    "license": Rule(
        "a license id such as mit, apache-2.0 or other", pattern=r"[A-Za-z0-9][A-Za-z0-9._+-]*", max_length=64
    ),
    "suggested_hardware": _one_of(HARDWARE_FLAVORS),
    "preload_from_hub": Rule(
        "'owner/repo', 'owner/repo file1,file2' or 'owner/repo file1,file2 <commit sha>'",
        pattern=rf"{_HUB_ID}( {_SEGMENT}(/{_SEGMENT})*(,{_SEGMENT}(/{_SEGMENT})*)*"
        r"( [0-9a-f]{40})?)?",
        test=_no_dot_segments,
        max_length=2000,
    ),
}
# What reaches apt in a docker build: a Debian package name, optionally =version or :architecture.
PACKAGE_RULE = Rule(
    "a Debian package name such as ffmpeg or libgl1 (lowercase letters, digits, '+', '.', '-', "
    "then an optional =version or :architecture)",
    pattern=r"[a-z0-9][a-z0-9+.:=~-]*",
)


def parse_duration(value: str | int | float) -> float:
    """`"30m"`, `"1h"`, `"90s"` or a number of seconds, as seconds (at most `MAX_STARTUP_TIMEOUT_S`)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("expected a duration such as 30m, 1h or 90s")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{shown(value)} is not a duration; use a number with s, m or h, such as 30m or 1h")
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_STARTUP_TIMEOUT_S:
        raise ValueError(f"must be longer than 0 seconds and at most {MAX_STARTUP_TIMEOUT_S // 3600}h")
    return seconds
