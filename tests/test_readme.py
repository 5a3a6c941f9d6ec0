"""The README's promises: CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    return [b.strip() for b in blocks]


def test_ci_runs_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    test_command = ci_lines[-1].strip()
    assert "pytest" in test_command
    assert test_command in readme_commands()


def test_readme_main_command_sets_up_and_runs_the_job():
    main_command = readme_commands()[0]
    assert main_command.startswith("python3 -m venv .venv")
    assert "pip install -q torch==2.13.0" in main_command  # the CPU build, before the package
    assert "sweep " in main_command
