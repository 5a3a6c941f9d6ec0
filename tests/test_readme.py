"""The README's promises: CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    return [b.strip() for b in blocks]


def test_ci_runs_the_readme_test_command():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    at = ci_lines.index("# README test command:") + 1
    test_command = ci_lines[at]
    assert "pytest" in test_command
    assert test_command in readme_commands()
    # The tests left out of the suite (too slow for it) run after it, as steps of their own.
    assert "pytest -q -m onprem tests/test_sweep_cluster_onprem.py" in ci_lines[at + 1 :]


def test_readme_main_command_sets_up_and_runs_the_job():
    main_command = readme_commands()[0]
    assert main_command.startswith("python3 -m venv .venv")
    assert "pip install -q torch==2.13.0" in main_command  # the CPU build, before the package
    assert "sweep " in main_command


def test_readme_main_command_is_a_sweep_the_cli_accepts(tmp_path, monkeypatch):
    """The main job's `sweep run` parses into the sweep the README describes (8 trials over
    β 1..250 and latent sizes 5 and 10); Ray itself is stubbed out here, the real run is
    test_sweep_e2e.py's."""
    import shlex

    import sweep.tune.run
    from sweep.cli import main

    main_command = readme_commands()[0]
    run_part = next(part for part in main_command.split(" && ") if part.startswith("sweep run"))
    argv = shlex.split(run_part)[1:]
    argv[argv.index("--storage") + 1] = str(tmp_path)
    started = []
    monkeypatch.setattr(sweep.tune.run, "start", started.append)
    monkeypatch.setattr("sweep.cli.sweeps._finish", lambda summary, root: None)

    assert main(argv) == 0
    (spec,) = started
    assert (spec.name, spec.samples, spec.search) == ("demo", 8, "optuna")
    assert (spec.beta.kind, spec.beta.values) == ("range", (1.0, 250.0))
    assert (spec.latent.kind, spec.latent.values) == ("list", (5, 10))
    assert spec.max_steps == 400
    assert main_command.endswith(f"sweep report {spec.name} --storage ./sweeps")
