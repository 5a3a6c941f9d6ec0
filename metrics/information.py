"""Discrete entropy and mutual information of codes and factors (for MIG)."""

from __future__ import annotations

import torch


def histogram_bins(codes: torch.Tensor, num_bins: int) -> torch.Tensor:
    """Each code dimension cut into num_bins equal-width bins over its observed range.

    disentanglement_lib's histogram discretiser (np.histogram edges, np.digitize): the
    maximum falls in the last bin; a constant dimension falls in one bin.
    """
    low = codes.min(dim=0).values
    span = codes.max(dim=0).values - low
    scaled = (codes - low) / torch.where(span > 0, span, 1.0)
    return (scaled * num_bins).long().clamp_(0, num_bins - 1)


def entropy(labels: torch.Tensor, size: int) -> torch.Tensor:
    p = torch.bincount(labels, minlength=size).double() / labels.shape[0]
    p = p[p > 0]
    return -(p * p.log()).sum()


def mutual_information(
    bins: torch.Tensor, num_bins: int, factors: torch.Tensor, sizes: list[int]
) -> torch.Tensor:
    """(d, F) mutual information in nats between each binned code and each factor."""
    n, d = bins.shape
    out = torch.zeros(d, len(sizes), dtype=torch.float64, device=bins.device)
    for j, size in enumerate(sizes):
        joint_index = bins * size + factors[:, j : j + 1]  # (n, d)
        offsets = torch.arange(d, device=bins.device) * (num_bins * size)
        counts = torch.bincount(
            (joint_index + offsets).reshape(-1), minlength=d * num_bins * size
        ).view(d, num_bins, size)
        joint = counts.double() / n
        p_code = joint.sum(dim=2, keepdim=True)
        p_factor = joint.sum(dim=1, keepdim=True)
        ratio = joint / (p_code * p_factor).clamp_min(1e-300)
        terms = torch.where(joint > 0, joint * ratio.clamp_min(1e-300).log(), 0.0)
        out[:, j] = terms.sum(dim=(1, 2))
    return out
