"""The `sweep` command line. Each command group lives in its own module; this one wires
them together and turns every user error into one line on stderr and exit code 2."""

from __future__ import annotations

import sys

import typer

# typer ≥ 0.29 vendors click: its parse errors are no longer click's own classes.
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from sweep.cli.baselines import baselines
from sweep.cli.compact import compact_command
from sweep.cli.report import report
from sweep.cli.simulator import simulator_app
from sweep.cli.sweeps import ls_command, resume_command, run_command, status_command
from sweep.cli.train import train_command
from sweep.errors import UserError

app = typer.Typer(
    name="sweep",
    help="β-VAE hyperparameter sweeps on Ray Tune, scored by the disentanglement metric.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(simulator_app, name="simulator")
app.command("train")(train_command)
app.command("baselines")(baselines)
app.command("report")(report)
app.command("run")(run_command)
app.command("resume")(resume_command)
app.command("status")(status_command)
app.command("ls")(ls_command)
app.command("compact")(compact_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the exit code."""
    try:
        code = app(args=argv, prog_name="sweep", standalone_mode=False)
    except UserError as error:
        print(f"sweep: error: {error}", file=sys.stderr)
        code = 2
    except NoArgsIsHelpError:  # `sweep` or `sweep simulator` alone: typer printed the help
        code = 2
    except ClickException as error:  # typer's own parsing: bad option, bad type, missing value
        print(f"sweep: error: {error.format_message()}", file=sys.stderr)
        code = 2
    except typer.Abort:
        print("sweep: aborted", file=sys.stderr)
        code = 130
    code = code if isinstance(code, int) else 0
    if argv is None:
        sys.exit(code)
    return code
