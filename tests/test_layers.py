"""The layers of the package: data flows one way, and no module imports its way back to itself."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import django_engagelab_otp

PACKAGE = Path(django_engagelab_otp.__file__).parent
NAME = "django_engagelab_otp"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The package modules ``path`` imports when it is loaded (not under TYPE_CHECKING, not inside functions)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in ast.walk(node) if not isinstance(node, ast.FunctionDef | ast.ClassDef) else ():
            if isinstance(child, ast.ImportFrom):
                base = package.split(".")
                target = ".".join(base[: len(base) - child.level + 1]) if child.level else ""
                target = f"{target}.{child.module}" if child.module and target else (child.module or target)
                # "from . import display" imports the submodule; the package is already loading.
                modules = [f"{target}.{alias.name}" for alias in child.names if _is_module(f"{target}.{alias.name}")]
                found.update(name for name in modules or [target] if name.startswith(NAME))
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names if alias.name.startswith(NAME))
    return {name for name in found if _is_module(name)} - {module}


def _is_module(name: str) -> bool:
    path = PACKAGE.parent / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


GRAPH = {
    module_name(path): imports_of(path)
    for path in PACKAGE.rglob("*.py")
    if "migrations" not in path.parts and "management" not in path.parts
}


def reaches(start: str, goal_prefix: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        for target in GRAPH.get(current, ()):
            if target.startswith(goal_prefix):
                return True
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return False


def test_there_is_no_import_circle():
    circles = [module for module in GRAPH if module in _closure(module)]
    assert not circles


def _closure(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in GRAPH.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        (f"{NAME}.services", f"{NAME}.webhooks"),
        (f"{NAME}.webhooks", f"{NAME}.services"),
        (f"{NAME}.history", f"{NAME}.services"),
        (f"{NAME}.history", f"{NAME}.webhooks"),
        (f"{NAME}.history", f"{NAME}.backends"),
        (f"{NAME}.backends", f"{NAME}.history"),
        (f"{NAME}.backends", f"{NAME}.services"),
        (f"{NAME}.backends", f"{NAME}.models"),
        (f"{NAME}.conf", f"{NAME}.models"),
        (f"{NAME}.errors", f"{NAME}.conf"),
        # Background and bulk sends are adapters over the services, like the forms.
        (f"{NAME}.services", f"{NAME}.tasks"),
        (f"{NAME}.services", f"{NAME}.bulk"),
        (f"{NAME}.history", f"{NAME}.tasks"),
        (f"{NAME}.history", f"{NAME}.bulk"),
        (f"{NAME}.backends", f"{NAME}.tasks"),
        (f"{NAME}.backends", f"{NAME}.bulk"),
        (f"{NAME}.tasks", f"{NAME}.bulk"),
        (f"{NAME}.bulk", f"{NAME}.tasks"),
        (f"{NAME}.send_rate", f"{NAME}.services"),
        (f"{NAME}.send_rate", f"{NAME}.history"),
    ],
)
def test_nothing_imports_upward(lower, upper):
    offenders = [module for module in GRAPH if module.startswith(lower) and reaches(module, upper)]
    assert not offenders, f"{offenders} reach {upper}"


def test_the_graph_was_read():
    assert f"{NAME}.history.callbacks" in GRAPH[f"{NAME}.webhooks.views"]
    assert f"{NAME}.history.sends" in GRAPH[f"{NAME}.services"]
    assert f"{NAME}.services" in GRAPH[f"{NAME}.tasks.runner"]
    assert f"{NAME}.history.batches" in GRAPH[f"{NAME}.bulk.run"]


def test_nothing_in_the_package_imports_the_demo():
    """The demo site is the top layer: an application that imports the app never loads it."""
    demo = f"{NAME}.demo"
    assert f"{NAME}.demo.launcher" in GRAPH, "the demo's modules were read"
    offenders = [module for module in GRAPH if not module.startswith(demo) and reaches(module, demo)]
    assert not offenders, f"{offenders} reach {demo}"


def test_importing_the_app_loads_no_demo_module():
    code = (
        "import sys, django; django.setup(); import django_engagelab_otp, django_engagelab_otp.urls;"
        "print(sorted(name for name in sys.modules if name.startswith('django_engagelab_otp.demo')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]"]
