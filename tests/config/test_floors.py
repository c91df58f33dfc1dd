"""Issue 15: the floors of the house. A lower app never imports a higher one — not even inside a
function — and apps on one floor do not import each other, so there is no import cycle between
apps. Every import statement of every app module (migrations aside) is parsed and checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Lower number: lower floor. Apps on one floor may not import each other.
FLOORS = {
    "core": 0,
    "accounts": 1,
    "children": 2,
    "visits": 3,
    "reporting": 3,
    "benefits": 3,
    "reminders": 4,
    "dashboards": 4,
    "config": 5,
    "demo": 6,
}


def app_modules():
    for app in FLOORS:
        folder = ROOT / app
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


def imported_apps(path: Path) -> set[str]:
    """Every app named by an import in the module, at top level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names)
    return found & set(FLOORS)


def violations() -> set[tuple[str, str]]:
    result = set()
    for app, path in app_modules():
        for other in imported_apps(path):
            if other != app and FLOORS[other] >= FLOORS[app]:
                result.add((str(path.relative_to(ROOT)), other))
    return result


def test_no_app_imports_a_higher_floor_or_a_sibling():
    found = sorted(violations())
    assert not found, (
        "imports that break the floors (move the code, or queue an outbox task):\n"
        + ("\n".join(f"{module} imports {app}" for module, app in found))
    )


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from visits import services\n    import reporting.rules\n")
    assert imported_apps(module) == {"visits", "reporting"}
