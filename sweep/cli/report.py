"""`sweep report NAME`: the frontier, the figures and index.html of a sweep's Parquet files."""

from __future__ import annotations

from pathlib import Path

import typer

from sweep.errors import fail
from sweep.store.storage import DEFAULT_STORAGE


def report(
    name: str = typer.Argument(..., help="Name of the sweep (its directory under --storage)."),
    storage: str = typer.Option(
        DEFAULT_STORAGE, "--storage", help="Directory holding the sweeps (local paths only)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Report directory to write (default: <storage>/<name>/report)."
    ),
    baselines: Path | None = typer.Option(
        None,
        "--baselines",
        help="Baselines Parquet file from `sweep baselines --out` (default: the sweep's "
        "baselines.parquet when present).",
    ),
    top: int = typer.Option(3, "--top", help="How many best trials get traversals and KL bars."),
    traversals: bool = typer.Option(
        True, "--traversals/--no-traversals", help="Draw latent traversals from checkpoints."
    ),
) -> None:
    """Draw the reconstruction–disentanglement frontier and the paper's figures of a sweep."""
    from reports.build import build_report

    # A str, not a Path: Path("s3://b") would quietly become the local "s3:/b".
    if "://" in storage:
        fail(f"--storage {storage}: only local directories are supported by `sweep report`")
    if not name or name in (".", "..") or "/" in name:
        fail(f"{name!r} is not a sweep name (a directory name under --storage)")
    sweep_dir = Path(storage) / name
    result = build_report(
        sweep_dir,
        name,
        out if out is not None else sweep_dir / "report",
        baselines=baselines,
        top_k=top,
        traversals=traversals,
    )
    on_frontier = len(result.frontier)
    typer.echo(
        f"wrote {result.out / 'index.html'} ({len(result.figures)} figures; "
        f"{on_frontier} trial{'' if on_frontier == 1 else 's'} on the frontier)"
    )
