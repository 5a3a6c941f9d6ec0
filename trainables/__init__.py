"""One trial: TrialConfig -> β-VAE training loop -> reported metrics and checkpoints."""
