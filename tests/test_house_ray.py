"""DESIGN.md's rule, checked on the source: Ray is imported in sweep/tune/ only, so a trial,
a metric and a report run the same without Ray."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("simulators", "trainables", "metrics", "sweep", "reports")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_ray_is_imported_in_sweep_tune_only():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.parts[:2] == ("sweep", "tune"):
                continue
            ray_imports = {m for m in imported_modules(path) if m.split(".")[0] == "ray"}
            if ray_imports:
                offenders.append(f"{relative}: {sorted(ray_imports)}")
    assert not offenders, "Ray imported outside sweep/tune/:\n" + "\n".join(offenders)


def test_the_scan_sees_ray_imports(tmp_path):
    """The check above can fail: it recognises both import forms."""
    sample = tmp_path / "sample.py"
    sample.write_text("import ray\nfrom ray.tune import Callback\n")
    assert imported_modules(sample) == {"ray", "ray.tune"}
