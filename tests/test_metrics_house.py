"""The house rule of DESIGN.md: metrics/ imports neither trainables/ nor sweep/ (what trains
a model and then scores it sits above both), so a metric stays a plain function."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

METRICS = Path(__file__).resolve().parent.parent / "metrics"
FORBIDDEN = ("trainables", "sweep")


def _imported_packages(path: Path) -> set[str]:
    """Top-level packages a module imports anywhere, function-level imports included."""
    packages = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            packages |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.split(".")[0])
    return packages


def test_no_module_of_metrics_imports_trainables_or_sweep():
    modules = sorted(METRICS.glob("*.py"))
    assert len(modules) > 5
    offenders = {
        path.name: sorted(_imported_packages(path) & set(FORBIDDEN))
        for path in modules
        if _imported_packages(path) & set(FORBIDDEN)
    }
    assert offenders == {}


def test_importing_every_metric_loads_neither_package():
    names = [f"metrics.{p.stem}" for p in sorted(METRICS.glob("*.py")) if p.stem != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=METRICS.parent
    )
    assert out.stdout.strip() == "[]"
