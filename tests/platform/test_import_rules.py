"""Podium's layering, read from the source with `ast`: the API and the pages share podium.spaces and
never import each other, and the settings depend on nothing of Podium's."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "platform" / "podium"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, by absolute name (relative imports resolved against its package)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from podium import api`
    return found


def imports_of(package: str) -> dict[str, set[str]]:
    folder = PACKAGE.parent.joinpath(*package.split("."))
    files = [folder.with_suffix(".py")] if folder.with_suffix(".py").exists() else sorted(folder.rglob("*.py"))
    return {module_name(path): imported_modules(path) for path in files}


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def offending(importer: str, imported: str) -> dict[str, list[str]]:
    return {
        module: sorted(name for name in names if within(name, imported))
        for module, names in imports_of(importer).items()
        if any(within(name, imported) for name in names)
    }


def test_the_pages_do_not_import_the_api():
    assert imports_of("podium.web"), "no modules found under podium.web"
    assert offending("podium.web", "podium.api") == {}


def test_the_api_does_not_import_the_pages():
    assert imports_of("podium.api"), "no modules found under podium.api"
    assert offending("podium.api", "podium.web") == {}


def test_the_settings_import_nothing_of_podium():
    assert offending("podium.settings", "podium") == {}


def test_the_rule_sees_an_import_where_there_is_one():
    """The walk finds the imports the rules forbid, in every spelling: a negative control."""
    seen = {name for names in imports_of("podium.api").values() for name in names}
    assert "podium.spaces.lifecycle" in seen and "podium.api.deps" in seen
    assert within("podium.web.access", "podium.web") and not within("podium.webhooks", "podium.web")
