"""`sweep simulator ...`: look at the ground truth."""

from __future__ import annotations

from pathlib import Path

import typer

from sweep.cli.paths import check_output_file
from sweep.errors import fail

simulator_app = typer.Typer(help="The dSprites simulator.", no_args_is_help=True)


@simulator_app.command("preview")
def preview(
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
    seed: int = typer.Option(0, help="Seed of the random samples."),
    device: str = typer.Option("cpu", help="Device to render on: cpu, cuda or cuda:N."),
    npz: Path | None = typer.Option(None, help="Preview the real dSprites archive instead."),
) -> None:
    """Write a grid of random samples and one traversal per factor to a PNG."""
    from simulators import DSprites, DSpritesNpz
    from simulators.atomic import atomic_path
    from simulators.npz import NpzFormatError
    from simulators.preview import preview_figure

    check_output_file(out, suffixes=(".png",))
    try:
        sim = DSpritesNpz(npz, device=device) if npz is not None else DSprites(device=device)
    except (NpzFormatError, ValueError) as error:
        fail(str(error))
    figure = preview_figure(sim, seed)
    with atomic_path(out) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    typer.echo(f"wrote {out}")
