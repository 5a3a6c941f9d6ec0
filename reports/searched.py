"""What a sweep searched, as the report's axes: β (Figure 6's β_norm) for the beta
objective, C_max for the capacity objective (which does not read β; sweep.spec), the
latent size for DC-IGN and InfoGAN (which read neither).

Trials of one sweep share an objective; the axis follows the trials, so a report of a
capacity sweep plots score against C_max and colours trials by C_max, never by a β they
did not use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports.sweepdata import Trial


@dataclass(frozen=True)
class SearchedAxis:
    objective: str
    stem: str  # the score-against-it figure's file name
    title: str  # that figure's heading
    x_label: str  # its x axis (log scale)
    colour_label: str  # the colour bar of the frontier and the learning curves

    def x(self, trial: Trial) -> float:
        if self.objective == "latent":
            return float(trial.latent_size)
        return trial.capacity_max if self.objective == "capacity" else trial.beta_norm

    def colour(self, trial: Trial) -> float:
        if self.objective == "latent":
            return float(trial.latent_size)
        return trial.capacity_max if self.objective == "capacity" else trial.beta

    def describe(self, trial: Trial) -> str:
        """The searched values of a trial, for labels and tables."""
        if self.objective == "latent":
            return trial.model  # its one searched value, M, is labelled wherever it is shown
        if self.objective == "capacity":
            return f"C_max = {trial.capacity_max:.4g}, γ = {trial.gamma:.4g}"
        return f"β = {trial.beta:.4g} (β_norm = {trial.beta_norm:.3g})"


BETA_NORM = SearchedAxis(
    objective="beta",
    stem="score_vs_beta_norm",
    title="Score against normalised β (the paper's Figure 6)",
    x_label="normalised β = β·M / 4096 (log scale; M latents, 64×64 = 4096 pixels)",
    colour_label="β (log scale)",
)
CAPACITY_MAX = SearchedAxis(
    objective="capacity",
    stem="score_vs_capacity_max",
    title="Score against C_max (the capacity objective)",
    x_label="C_max, the capacity the KL is pulled to (nats, log scale)",
    colour_label="C_max (nats, log scale)",
)


LATENT_SIZE = SearchedAxis(
    objective="latent",
    stem="score_vs_latent_size",
    title="Score against latent size (DC-IGN and InfoGAN read no β)",
    x_label="latent size M (log scale)",
    colour_label="latent size M (log scale)",
)


def searched_axis(trials: list[Trial]) -> SearchedAxis:
    """CAPACITY_MAX when the sweep's trials use the capacity objective, LATENT_SIZE when
    none of them is a β-VAE, else BETA_NORM."""
    if trials and all(t.model != "beta-vae" for t in trials):
        return LATENT_SIZE
    objectives = {t.objective for t in trials}
    return CAPACITY_MAX if objectives == {"capacity"} else BETA_NORM
