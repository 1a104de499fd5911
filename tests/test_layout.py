"""The layout's roles, held by what each folder imports (docs/DESIGN.md, "Rooms").

`kernels` is what asv measures and imports nothing of the apparatus; `benchmarks` (the suite)
imports the kernels; `ci` (CI and the gate) may read both, never the kernel-development tools;
`tools` may import all three; `plots` reads the suite, the gate's rule, the results reader and
the telemetry reader only.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, Tuple

import pytest

REPO = Path(__file__).resolve().parents[1]
PROJECT = ("kernels", "benchmarks", "ci", "tools", "plots", "tests")
ALLOWED = {
    "kernels": ("kernels",),
    "benchmarks": ("benchmarks", "kernels"),
    "ci": ("ci", "kernels", "benchmarks"),
    "tools": ("tools", "kernels", "benchmarks", "ci"),
    "plots": ("plots", "benchmarks", "ci.rule", "ci.store", "ci.telemetry"),
}


def imported_modules(source: str, package: str) -> Iterator[Tuple[int, str]]:
    """(line, dotted name) of every import in ``source``, a module of ``package`` (dotted);
    relative imports resolved, and ``from a import b`` read as ``a.b``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def forbidden_imports(source: str, package: str) -> Iterator[str]:
    """``line: name`` of each import of a project package that ``package``'s room may not import."""
    allowed = ALLOWED[package.split(".")[0]]
    for line, name in imported_modules(source, package):
        if name.split(".")[0] not in PROJECT:
            continue
        if not any(name == room or name.startswith(room + ".") for room in allowed):
            yield f"{line}: {name}"


def modules() -> Iterator[Tuple[Path, str]]:
    for room in ALLOWED:
        for path in sorted((REPO / room).rglob("*.py")):
            yield path, ".".join(path.relative_to(REPO).parent.parts)


MODULES = list(modules())


@pytest.mark.parametrize("path, package", MODULES, ids=[str(path.relative_to(REPO)) for path, _ in MODULES])
def test_each_room_imports_only_what_its_role_allows(path, package):
    assert list(forbidden_imports(path.read_text(), package)) == []


@pytest.mark.parametrize("source, package, flagged", [
    ("from tools import quick_bench", "ci", ["1: tools.quick_bench"]),
    ("import tools._cli", "ci", ["1: tools._cli"]),
    ("from ci import gate", "plots", ["1: ci.gate"]),
    ("from ci import rule, store", "plots", []),
    ("def f():\n    from plots import history", "benchmarks", ["2: plots.history"]),
    ("from ..harness import BASELINE", "benchmarks.providers", []),
    ("from .. import harness", "benchmarks.providers", []),
    ("from benchmarks import harness", "kernels", ["1: benchmarks.harness"]),
    ("from ci.store import Run\nimport torch", "tools", []),
])
def test_the_import_check_flags_a_planted_import(source, package, flagged):
    assert list(forbidden_imports(source, package)) == flagged
