"""`sweep baselines`: the paper's table of reference rows, recomputed beside the paper's."""

from __future__ import annotations

from pathlib import Path

import typer

from sweep.cli.paths import check_output_file
from sweep.errors import fail

# CLI spelling -> the paper's row name (sweep.paper_table.BUILDERS).
ROWS = {
    "ground-truth": "Ground truth",
    "raw-pixels": "Raw pixels",
    "pca": "PCA",
    "ica": "ICA",
    "vae-untrained": "VAE untrained",
}
# Rows that train a model first (only with --trained-steps > 0).
TRAINED = {
    "dcign": "DC-IGN",
    "infogan": "InfoGAN",
    "vae": "VAE (β = 1)",
    "beta-vae": "β-VAE (β = 4, 10 latents)",
}


def _parse_rows(text: str | None, trained_steps: int) -> list[str]:
    known = {**ROWS, **TRAINED}
    if text is None:
        return list(ROWS) + (list(TRAINED) if trained_steps > 0 else [])
    keys = [key.strip() for key in text.split(",") if key.strip()]
    unknown = [key for key in keys if key not in known]
    if unknown or not keys:
        fail(
            f"--rows: unknown row(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(known)}"
        )
    needs_training = [key for key in keys if key in TRAINED]
    if needs_training and trained_steps < 1:
        fail(f"--rows {','.join(needs_training)}: trained rows need --trained-steps ≥ 1")
    return list(dict.fromkeys(keys))


def baselines(
    out: Path = typer.Option(..., "--out", help="Parquet file to write (BASELINES_SCHEMA)."),
    seeds: int = typer.Option(3, help="Seeds per row: 0, 1, ..., N−1."),
    protocol: str = typer.Option("paper", help="Named Higgins protocol (metrics.higgins)."),
    device: str = typer.Option("cpu", help="cpu, cuda or cuda:N."),
    rows: str | None = typer.Option(
        None,
        help=f"Comma-separated rows (default: {', '.join(ROWS)}; and {', '.join(TRAINED)} "
        "with --trained-steps).",
    ),
    trained_steps: int = typer.Option(
        0,
        help="Train the DC-IGN, InfoGAN, VAE (β = 1) and β-VAE (β = 4) rows this many steps "
        "each (0: skip them).",
    ),
    components: int = typer.Option(10, help="PCA and ICA components."),
    fit_samples: int = typer.Option(10_000, help="Random images PCA and ICA are fitted on."),
    architecture: str = typer.Option(
        "mlp",
        help="Networks of the VAE (β = 1) and β-VAE rows: mlp (the paper's dSprites model) or "
        "conv; DC-IGN and InfoGAN are convolutional.",
    ),
    npz: Path | None = typer.Option(None, help="Use the real dSprites archive at this path."),
    materialize: bool = typer.Option(
        True, help="Keep the whole set in memory (rendered once, then cached on disk)."
    ),
) -> None:
    """Compute the paper's baseline rows for several seeds; print them beside the paper's."""
    from metrics import higgins
    from trainables.config import ARCHITECTURES

    check_output_file(out, suffixes=(".parquet",))
    if seeds < 1:
        fail(f"--seeds must be ≥ 1; got {seeds}")
    if protocol not in higgins.PROTOCOLS:
        fail(
            f"--protocol: unknown protocol {protocol!r}; choose from {', '.join(higgins.PROTOCOLS)}"
        )
    if trained_steps < 0:
        fail(f"--trained-steps must be ≥ 0; got {trained_steps}")
    chosen = _parse_rows(rows, trained_steps)
    if components < 1:
        fail(f"--components must be ≥ 1; got {components}")
    if fit_samples < components:
        fail(f"--fit-samples must be ≥ --components ({components}); got {fit_samples}")
    if architecture not in ARCHITECTURES:
        fail(f"--architecture must be one of {', '.join(ARCHITECTURES)}; got {architecture!r}")
    sim = _simulator(device, npz)
    if materialize and any(key in ROWS for key in chosen):
        sim.materialize()

    from sweep import paper_table as table
    from sweep.store.parquet import rows_to_table, write_table
    from sweep.store.schema import BASELINES_SCHEMA

    options = {
        "PCA": {"components": components, "samples": fit_samples},
        "ICA": {"components": components, "samples": fit_samples},
        "VAE untrained": {"architecture": architecture},
    }

    def progress(line: str) -> None:
        typer.echo(line, err=True)

    computed = []
    for key in chosen:
        if key in TRAINED:
            row = table.compute_trained_row(
                TRAINED[key],
                range(seeds),
                protocol,
                steps=trained_steps,
                architecture=architecture,
                device=device,
                npz=None if npz is None else str(npz),
                progress=progress,
            )
        else:
            model = ROWS[key]
            row = table.compute_row(
                sim, model, range(seeds), higgins.protocol(protocol), options.get(model), progress
            )
        computed.append(row)
    write_table(rows_to_table(computed, BASELINES_SCHEMA), out)
    typer.echo(table.format_table(computed, protocol))
    typer.echo(f"wrote {out}")


def _simulator(device: str, npz: Path | None):
    """The simulator to score on (built now, so a bad device or archive fails before work)."""
    from simulators import DSprites, DSpritesNpz
    from simulators.npz import NpzFormatError

    try:
        sim = DSpritesNpz(npz, device=device) if npz is not None else DSprites(device=device)
    except (NpzFormatError, ValueError) as error:
        fail(str(error))
    return sim
