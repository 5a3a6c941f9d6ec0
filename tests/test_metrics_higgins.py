"""The Higgins et al. protocol: known scores, collapse at chance, invariances, determinism,
the fast path, errors."""

from __future__ import annotations

import re

import pytest
import torch

from metrics import baselines, classifier, codes, higgins, synthetic
from simulators import DSprites

SMALL = {"batch_size": 4, "num_train": 400, "num_test": 300}
# For encoders of images: few points, since the direct path makes one call per point.
IMAGES = {"batch_size": 4, "num_train": 150, "num_test": 100}


@pytest.fixture(scope="module")
def sim() -> DSprites:
    return DSprites()


class Transformed:
    """A representation with its dimensions permuted and rescaled."""

    def __init__(self, base, permutation: list[int], scales: list[float]):
        self.base = base
        self.permutation = permutation
        self.scales = torch.tensor(scales)

    def encode_index(self, flat):
        return self.base.encode_index(flat)[:, self.permutation] * self.scales

    def __call__(self, images):
        raise TypeError


def pixel_projection(seed: int = 0, width: int = 6):
    weights = torch.randn(64 * 64, width, generator=torch.Generator().manual_seed(seed))
    return lambda images: images.flatten(1) @ weights


def test_ground_truth_scores_100_percent_with_the_paper_defaults(sim):
    result = higgins.score(sim, baselines.GroundTruth(sim), seed=0)
    assert result["train_accuracy"] >= 0.995 and result["test_accuracy"] >= 0.995
    assert result["classifier_converged"]
    assert result["chance"] == pytest.approx(0.2)
    assert result["protocol"].startswith(
        "higgins L=64 train=10000 test=5000 factors=shape,scale,orientation,posX,posY "
        "classifier=softmax(lbfgs,L2 C=1,raw,tol=1e-06)"
    )
    assert result["active_units"] == 5  # every factor's class index varies by far > 0.01


@pytest.mark.parametrize("factors", [None, ("scale", "orientation", "posX", "posY")])
def test_a_representation_that_ignores_the_image_scores_at_chance(sim, factors):
    protocol = {"batch_size": 1, "num_train": 1000, "num_test": 2000}
    result = higgins.score(sim, synthetic.IgnoresImages(), **protocol, factors=factors, seed=1)
    k = 5 if factors is None else 4
    assert result["chance"] == pytest.approx(1 / k)
    # 2000 test points: the accuracy's std at chance is ≈ 0.009, so 0.04 is > 4σ.
    assert abs(result["test_accuracy"] - 1 / k) < 0.04


def test_invariant_to_permuting_latent_dimensions_and_flipping_their_sign(sim):
    noisy = synthetic.FactorCodes(sim, noise=0.25, seed=3)
    moved = Transformed(noisy, [3, 0, 4, 2, 1], [1.0, -1.0, -1.0, 1.0, 1.0])
    plain = higgins.score(sim, noisy, **SMALL, seed=2)
    changed = higgins.score(sim, moved, **SMALL, seed=2)
    assert 0.4 < plain["test_accuracy"] < 0.98  # neither trivial nor hopeless
    assert changed["test_accuracy"] == pytest.approx(plain["test_accuracy"], abs=0.01)
    assert changed["train_accuracy"] == pytest.approx(plain["train_accuracy"], abs=0.01)


def test_the_standardised_variant_is_explicit_and_says_so(sim):
    noisy = synthetic.FactorCodes(sim, noise=0.25, seed=3)
    raw = higgins.score(sim, noisy, **SMALL, seed=2)
    standardised = higgins.score(sim, noisy, **SMALL, seed=2, standardise=True)
    assert ",raw," in raw["protocol"] and "standardised" not in raw["protocol"]
    assert ",standardised," in standardised["protocol"]
    assert higgins.protocol("paper-standardised")["standardise"] is True
    assert "standardise" not in higgins.protocol("paper")


def test_every_named_protocol_runs_and_paper_is_the_default(sim):
    assert higgins.PROTOCOLS["paper"] == {
        "batch_size": 64,
        "num_train": 10_000,
        "num_test": 5_000,
        "factors": None,
    }
    assert not any(p.get("standardise") for n, p in higgins.PROTOCOLS.items() if "stand" not in n)
    assert {"paper", "fast", "tiny"} <= set(higgins.PROTOCOLS)
    truth = baselines.GroundTruth(sim)
    for name in higgins.PROTOCOLS:
        result = higgins.score(sim, truth, **higgins.protocol(name), seed=0)
        assert result["test_accuracy"] >= 0.99, name


def test_unknown_protocol_name_lists_the_names():
    with pytest.raises(ValueError, match=r"unknown Higgins protocol 'nope'.*paper.*fast"):
        higgins.protocol("nope")


def test_protocol_lookup_returns_a_copy():
    higgins.protocol("paper")["batch_size"] = 1
    assert higgins.PROTOCOLS["paper"]["batch_size"] == 64


def test_deterministic_for_a_seed_and_different_across_seeds(sim):
    noisy = synthetic.FactorCodes(sim, noise=0.4, seed=0)
    first = higgins.score(sim, noisy, **SMALL, seed=7)
    again = higgins.score(sim, noisy, **SMALL, seed=7)
    other = higgins.score(sim, noisy, **SMALL, seed=8)
    assert first == again
    assert (first["train_accuracy"], first["test_accuracy"]) != (
        other["train_accuracy"],
        other["test_accuracy"],
    )


def test_fast_and_direct_paths_give_the_same_points_and_score(sim):
    encode = pixel_projection()
    _, flat = higgins.sampling.shared_factor_pairs(sim, 50, 6, (0, 1, 2, 3, 4), sim.generator(0))
    reduce = higgins._mean_abs_difference
    fast = codes.grouped_features(sim, encode, flat, reduce, encoding="unique")
    direct = codes.grouped_features(sim, encode, flat, reduce, encoding="direct")
    assert torch.allclose(fast, direct, rtol=1e-5, atol=1e-4)
    unique = higgins.score(sim, encode, **IMAGES, seed=4)
    straightforward = higgins.score(sim, encode, **IMAGES, seed=4, encoding="direct")
    assert unique == straightforward


def test_codes_too_large_to_tabulate_are_encoded_chunk_by_chunk(sim, monkeypatch):
    encode = pixel_projection(seed=1)
    tabulated = higgins.score(sim, encode, **IMAGES, seed=5)
    monkeypatch.setattr(codes, "TABLE_BYTES_LIMIT", 0)
    chunked = higgins.score(sim, encode, **IMAGES, seed=5)
    assert chunked == tabulated


def test_a_code_table_scores_like_the_representation_it_holds(sim):
    noisy = synthetic.FactorCodes(sim, noise=0.3, seed=1)
    table = codes.CodeTable.build(sim, noisy)
    assert table.codes.shape == (len(sim), 5)
    assert higgins.score(sim, table, **SMALL, seed=3) == higgins.score(sim, noisy, **SMALL, seed=3)


def test_pairs_share_exactly_the_labelled_factor(sim):
    columns = (1, 2, 3, 4)
    labels, flat = higgins.sampling.shared_factor_pairs(sim, 200, 5, columns, sim.generator(0))
    first, second = sim.classes(flat[:, :5].reshape(-1)), sim.classes(flat[:, 5:].reshape(-1))
    shared = torch.tensor(columns)[labels].repeat_interleave(5)
    rows = torch.arange(first.shape[0])
    assert torch.equal(first[rows, shared], second[rows, shared])
    # The shared value differs from pair to pair, and the other factors vary.
    assert first[rows, shared].view(200, 5).float().std(dim=1).mean() > 0
    assert (first != second).float().mean() > 0.5
    assert set(labels.tolist()) == {0, 1, 2, 3}


def _nan_codes(images):
    codes_ = torch.zeros(images.shape[0], 3)
    codes_[0, 1] = float("nan")
    return codes_


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be an integer ≥ 1; got 0"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an integer"),
        ({"num_train": 4}, ValueError, "num_train must be an integer ≥ 5; got 4"),
        ({"num_train": 2, "factors": ["posX", "posY"]}, None, None),
        ({"num_test": 0}, ValueError, "num_test must be an integer ≥ 1"),
        ({"factors": ["shape", "colour"]}, ValueError, "unknown factor name.*'colour'.*posY"),
        ({"factors": "shape"}, TypeError, "sequence of factor names"),
        ({"factors": ["shape"]}, ValueError, "at least 2 factors"),
        ({"factors": ["shape", "shape"]}, ValueError, "must not repeat"),
        ({"seed": -1}, ValueError, "seed must be an integer ≥ 0"),
        ({"encoding": "fast"}, ValueError, "encoding must be one of unique, direct"),
        ({"classifier_c": 0}, ValueError, "classifier_c must be a finite number > 0"),
        ({"standardise": "yes"}, TypeError, "standardise must be True or False"),
        ({"active_units_samples": 1}, ValueError, "active_units_samples must be an integer ≥ 2"),
        ({"active_units_samples": 0}, None, None),
    ],
)
def test_bad_parameters_raise_clear_errors(sim, options, error, message):
    truth = baselines.GroundTruth(sim)
    call = {"batch_size": 2, "num_train": 20, "num_test": 10, **options}
    if error is None:
        assert 0 <= higgins.score(sim, truth, **call)["test_accuracy"] <= 1
        return
    with pytest.raises(error, match=message):
        higgins.score(sim, truth, **call)


@pytest.mark.parametrize("encoding", ["unique", "direct"])
@pytest.mark.parametrize(
    ("encode", "error", "message"),
    [
        (_nan_codes, ValueError, "NaN or infinite"),
        (lambda x: torch.full((x.shape[0], 2), float("inf")), ValueError, "NaN or infinite"),
        (lambda x: torch.zeros(x.shape[0] - 1, 3), ValueError, re.escape("one row per image")),
        (lambda x: torch.zeros(x.shape[0]), ValueError, re.escape("shape (n, d)")),
        (lambda x: x.flatten(1).numpy(), TypeError, "must return a torch.Tensor"),
    ],
)
def test_bad_encoders_raise_clear_errors(sim, encode, error, message, encoding):
    with pytest.raises(error, match=message):
        higgins.score(sim, encode, batch_size=2, num_train=20, num_test=10, encoding=encoding)


def test_a_code_size_that_changes_between_batches_is_an_error(sim):
    calls = iter(range(1000))

    def shifting(images):
        return torch.zeros(images.shape[0], 2 + next(calls) % 2)

    with pytest.raises(ValueError, match="code size must not change"):
        higgins.score(sim, shifting, batch_size=4, num_train=40, num_test=10, encode_batch_size=16)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_with_codes_on_the_device():
    gpu = DSprites(device="cuda")
    result = higgins.score(gpu, baselines.GroundTruth(gpu), **higgins.protocol("tiny"), seed=0)
    assert result["test_accuracy"] >= 0.99
    weights = torch.randn(64 * 64, 6, device="cuda")
    projected = higgins.score(gpu, lambda x: x.flatten(1) @ weights, **IMAGES, seed=0)
    assert 0 <= projected["test_accuracy"] <= 1


def test_the_classifier_result_does_not_hinge_on_the_stopping_tolerance():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(4, (1500,), generator=generator)
    points = torch.randn(1500, 6, generator=generator) + torch.nn.functional.one_hot(labels, 6)
    train, test = slice(0, 1000), slice(1000, None)
    fits = [
        classifier.fit_softmax(points[train], labels[train], points[test], labels[test], tol=tol)
        for tol in (1e-6, 1e-10)
    ]
    assert all(fit["classifier_converged"] for fit in fits)
    assert fits[0]["test_accuracy"] == fits[1]["test_accuracy"]
    assert fits[0]["train_accuracy"] == fits[1]["train_accuracy"]
    assert 0.4 < fits[0]["test_accuracy"] < 0.9  # a problem where the fit matters
