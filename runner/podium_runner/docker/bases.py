"""Base images: which one a plan builds on, and their local names.

The default base comes from a registry (`python:{python_version}-slim`). Hosts without a registry
use the one `podium images bootstrap` builds from Debian packages; ML spaces (torch or transformers
in their requirements) start from the "ml" base, which already holds torch (CPU), transformers,
gradio and streamlit, so they add a small layer instead of a gigabyte.
"""

from __future__ import annotations

from packaging.requirements import InvalidRequirement, Requirement

from podium_runner.plan import DependencySet, requirement_name

DEFAULT_BASE = "python:{python_version}-slim"
BOOTSTRAP_BASE = "podium-base:bookworm"
ML_BASE = "podium-base-ml:bookworm"
ML_PACKAGES = ("torch", "transformers")
# Where the ml base keeps the versions it pins and which Python it has (image labels).
ML_TORCH_LABEL = "org.podium.torch"
ML_PYTHON_LABEL = "org.podium.python"


def wants_ml_base(deps: DependencySet, torch_version: str, python_version: str) -> bool:
    """True when the space needs torch or transformers and accepts the ml base's torch and Python."""
    if not deps.python_version.startswith(python_version):
        return False
    names = {requirement_name(line): line for line in deps.pre_requirements + deps.requirements}
    if not any(name in names for name in ML_PACKAGES):
        return False
    torch_line = names.get("torch")
    if torch_line is None:
        return True
    try:
        return Requirement(torch_line).specifier.contains(torch_version, prereleases=True)
    except InvalidRequirement:
        return False


def base_for(template: str, deps: DependencySet | None) -> str:
    """The base image name for a plan from the `base_image` setting (may hold {python_version})."""
    return template.format(python_version=deps.python_version if deps else "3")
