"""The platform talks to a backend only through `podium_runner`'s interface: no module under
platform/podium/ imports a backend's internals; `podium_runner.backends` builds one by name.
Read from the source with `ast`, so an import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

PLATFORM = Path(__file__).resolve().parents[2] / "platform" / "podium"
THE_FACTORY = PLATFORM.parents[1] / "runner" / "podium_runner" / "backends.py"
BACKEND_INTERNALS = ("podium_runner.process", "podium_runner.docker")


def absolute_imports(path: Path) -> set[str]:
    """Every module `path` imports by absolute name; `from a import b` counts as `a` and as `a.b`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # `from podium_runner import docker`
    return found


def backend_internals(path: Path) -> list[str]:
    return sorted(
        name
        for name in absolute_imports(path)
        if any(name == internal or name.startswith(internal + ".") for internal in BACKEND_INTERNALS)
    )


def test_no_platform_module_imports_a_backends_internals():
    modules = sorted(PLATFORM.rglob("*.py"))
    assert len(modules) > 20, f"only {len(modules)} modules found under {PLATFORM}"
    offenders = {str(path.relative_to(PLATFORM)): backend_internals(path) for path in modules}
    assert {module: names for module, names in offenders.items() if names} == {}


def test_the_rule_sees_the_imports_the_factory_has():
    """A negative control: the walk finds both backends' imports in the runner's factory, inside functions."""
    assert {"podium_runner.docker", "podium_runner.process"} <= set(backend_internals(THE_FACTORY))
