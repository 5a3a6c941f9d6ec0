"""The linear softmax classifier of the Higgins protocol, trained to convergence.

Multinomial logistic regression with an L2 penalty (strength 1/C) on standardised
features, fitted by L-BFGS until the gradient is below `tol`. The penalty makes the
objective strictly convex, so there is one optimum and the score depends on the data,
not on an iteration count or a learning rate (an unpenalised fit on separable points
never converges: its weights grow without bound). Standardising by the training points'
spread makes the score invariant to rescaling a latent dimension, which the penalty
alone would not be.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

DEFAULT_C = 1.0
DEFAULT_TOL = 1e-6
MAX_ITER = 20_000


def describe(c: float = DEFAULT_C, tol: float = DEFAULT_TOL) -> str:
    return f"softmax(lbfgs,L2 C={c:g},standardised,tol={tol:g})"


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0  # a constant feature carries nothing; leave it at zero
    return (train - mean) / std, (test - mean) / std


def fit_softmax(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    *,
    c: float = DEFAULT_C,
    tol: float = DEFAULT_TOL,
) -> dict[str, float]:
    """Train and test accuracy, plus the iterations used and whether the fit converged."""
    x_train, x_test = _standardise(train_x.double().cpu().numpy(), test_x.double().cpu().numpy())
    y_train, y_test = train_y.cpu().numpy(), test_y.cpu().numpy()
    if np.unique(y_train).size < 2:
        # Tiny protocols can draw a single label; the only linear rule is that label.
        only = y_train[0]
        return {
            "train_accuracy": 1.0,
            "test_accuracy": float((y_test == only).mean()),
            "classifier_iterations": 0.0,
            "classifier_converged": True,
        }
    model = LogisticRegression(C=c, solver="lbfgs", tol=tol, max_iter=MAX_ITER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported below instead
        model.fit(x_train, y_train)
    iterations = int(np.max(model.n_iter_))
    converged = iterations < MAX_ITER
    if not converged:
        warnings.warn(
            f"the softmax classifier did not converge in {MAX_ITER} L-BFGS iterations; "
            "its accuracy may depend on the iteration limit",
            RuntimeWarning,
            stacklevel=3,
        )
    return {
        "train_accuracy": float(model.score(x_train, y_train)),
        "test_accuracy": float(model.score(x_test, y_test)),
        "classifier_iterations": float(iterations),
        "classifier_converged": converged,
    }
