"""The linear softmax classifier of the Higgins protocol, trained to convergence.

The reference classifier (disentanglement_lib: scikit-learn's `LogisticRegression()` with
its defaults): multinomial logistic regression with an L2 penalty of strength 1/C, C = 1,
on the raw points, fitted by L-BFGS until the gradient is below `tol`. The penalty makes
the objective strictly convex, so there is one optimum and the score depends on the data,
not on an iteration count or a learning rate (an unpenalised fit on separable points
never converges: its weights grow without bound).

The raw points are the point: the prior N(0, I) fixes what a unit of latent movement
is, and the fixed penalty then makes a latent whose mean moves by 1e-4 (a collapsed
latent, posterior ≈ prior) unusable, so a fully collapsed encoder scores at chance.
`standardise=True` rescales every feature by the training points' spread first; that
variant is NOT the reference: it blows such differences up into full-size features and
scores collapsed encoders far above chance. It is kept, under its own protocol string,
to compare with scores measured that way.
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


def describe(c: float = DEFAULT_C, tol: float = DEFAULT_TOL, standardise: bool = False) -> str:
    points = "standardised" if standardise else "raw"
    return f"softmax(lbfgs,L2 C={c:g},{points},tol={tol:g})"


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
    standardise: bool = False,
) -> dict[str, float]:
    """Train and test accuracy, plus the iterations used and whether the fit converged."""
    x_train, x_test = train_x.double().cpu().numpy(), test_x.double().cpu().numpy()
    if standardise:
        x_train, x_test = _standardise(x_train, x_test)
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
