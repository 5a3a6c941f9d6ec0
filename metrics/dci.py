"""Disentanglement, Completeness and Informativeness (Eastwood & Williams 2018, "A
Framework for the Quantitative Evaluation of Disentangled Representations").

One classifier per factor predicts its class from the codes; its feature importances form
the (d, F) importance matrix R.
- Disentanglement: per code dimension 1 − H_F(row of R, normalised), weighted by the
  dimension's share of the total importance: does each dimension serve one factor?
- Completeness: per factor 1 − H_d(column of R, normalised), weighted likewise: is each
  factor captured by one dimension?
- Informativeness: the classifiers' mean accuracy on held-out points.

Protocol (disentanglement_lib's reference settings): 10,000 training and 5,000 test
random images; scikit-learn's GradientBoostingClassifier with its defaults (100 stages
of depth-3 trees, learning rate 0.1); entropies in base F and d with 1e-11 added to R.
`trees` reduces the stages, for tests and quick looks; it is part of the protocol string.

Collapse: trees split on the order of a dimension's values, not on their scale, so the
reference scores a collapsed latent (its mean moving by 1e-4 across images) exactly like
the same latent at full scale. `active_only=True` is the active-units-aware variant:
dimensions that are not active units (Var(μ) ≤ 0.01 over the training images,
metrics.active_units) are treated as constant, so no tree splits on them. It is not the
reference; its protocol string says "inactive=constant".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.ensemble import GradientBoostingClassifier

from metrics import active_units, checks, codes, sampling

EPSILON = 1e-11


def _one_minus_entropy(distributions: np.ndarray, base: int) -> np.ndarray:
    """1 − normalised entropy of each row (rows need not sum to 1)."""
    p = distributions + EPSILON
    p = p / p.sum(axis=1, keepdims=True)
    return 1.0 - (-(p * np.log(p)).sum(axis=1) / np.log(base))


def disentanglement(importance: np.ndarray) -> float:
    """importance: (d, F). Meaningless (and 0 by convention here) when F = 1."""
    per_code = _one_minus_entropy(importance, importance.shape[1])
    weights = importance.sum(axis=1)
    weights = (
        weights / weights.sum() if weights.sum() > 0 else np.full_like(weights, 1 / len(weights))
    )
    return float((per_code * weights).sum())


def completeness(importance: np.ndarray) -> float:
    if importance.shape[0] == 1:
        return 1.0  # one dimension carries everything there is
    per_factor = _one_minus_entropy(importance.T, importance.shape[0])
    weights = importance.sum(axis=0)
    weights = (
        weights / weights.sum() if weights.sum() > 0 else np.full_like(weights, 1 / len(weights))
    )
    return float((per_factor * weights).sum())


def importance_matrix(
    train_z: np.ndarray,
    train_y: np.ndarray,
    test_z: np.ndarray,
    test_y: np.ndarray,
    trees: int,
    seed: int,
) -> tuple[np.ndarray, float, float]:
    """(d, F) importances and the mean train and test accuracy of the F classifiers."""
    importance = np.zeros((train_z.shape[1], train_y.shape[1]))
    train_acc, test_acc = [], []
    for j in range(train_y.shape[1]):
        if np.unique(train_y[:, j]).size < 2:
            # A factor that never varies in the sample: nothing to learn or attribute.
            train_acc.append(1.0)
            test_acc.append(float((test_y[:, j] == train_y[0, j]).mean()))
            continue
        model = GradientBoostingClassifier(n_estimators=trees, random_state=seed)
        model.fit(train_z, train_y[:, j])
        importance[:, j] = np.abs(model.feature_importances_)
        train_acc.append(float(model.score(train_z, train_y[:, j])))
        test_acc.append(float(model.score(test_z, test_y[:, j])))
    return importance, float(np.mean(train_acc)), float(np.mean(test_acc))


def score(
    sim,
    encode: Callable[[torch.Tensor], torch.Tensor],
    *,
    num_train: int = 10_000,
    num_test: int = 5_000,
    trees: int = 100,
    factors: Sequence[str] | None = None,
    seed: int = 0,
    encoding: str = "unique",
    encode_batch_size: int | None = None,
    active_only: bool = False,
) -> dict[str, Any]:
    """DCI of `encode` on `sim`.

    num_train, num_test: random images to fit and to test the classifiers (10,000, 5,000).
    trees: boosting stages of each GradientBoostingClassifier (100, sklearn's default).
    factors, seed, encoding, encode_batch_size: as in metrics.higgins.score; the seed
    also seeds the classifiers.
    active_only: treat dimensions that are not active units (over the training images)
        as constant (not the reference; see the module's note on collapse).

    Returns disentanglement, completeness, informativeness_train, informativeness_test
    (all in [0, 1]), the importance matrix (d × F nested lists), active_units (over the
    training images) and protocol.
    """
    checks.positive_int("num_train", num_train, minimum=2)
    checks.positive_int("num_test", num_test)
    checks.positive_int("trees", trees)
    columns = checks.factor_columns(sim, factors)
    checks.seed(seed)
    checks.choice("encoding", encoding, codes.ENCODINGS)
    checks.flag("active_only", active_only)
    generator = sim.generator(seed)
    classes = sim.sample_factors(num_train + num_test, generator)
    flat = sampling.flat_index(sim, classes)
    z = codes.sample_codes(sim, encode, flat, encoding=encoding, batch_size=encode_batch_size)
    active = active_units.active_mask(z[:num_train])
    if active_only:
        z = torch.where(active, z, 0.0)
    z = z.double().cpu().numpy()
    y = classes[:, list(columns)].cpu().numpy()
    importance, train_acc, test_acc = importance_matrix(
        z[:num_train], y[:num_train], z[num_train:], y[num_train:], trees, seed
    )
    names = ",".join(sim.factor_names[i] for i in columns)
    return {
        "disentanglement": disentanglement(importance),
        "completeness": completeness(importance),
        "informativeness_train": train_acc,
        "informativeness_test": test_acc,
        "importance": importance.tolist(),
        "active_units": int(active.sum()),
        "protocol": (
            f"dci train={num_train} test={num_test} classifier=gbt(stages={trees},depth=3,"
            f"lr=0.1) factors={names}"
            + (f" inactive=constant(var<={active_units.THRESHOLD:g})" if active_only else "")
        ),
    }
