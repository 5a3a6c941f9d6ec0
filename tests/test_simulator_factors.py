"""Ordering, sampling, validation, the packed full set and its disk cache."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from simulators import DSprites, bits, cache


@pytest.fixture(scope="module")
def sim() -> DSprites:
    return DSprites()


def test_interface_constants(sim):
    assert sim.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert sim.factor_sizes == (3, 6, 40, 32, 32)
    assert len(sim) == 737_280


def test_index_round_trip_over_the_whole_ordering(sim):
    flat = torch.arange(len(sim))
    classes = sim.classes(flat)
    assert torch.equal(sim.index(classes), flat)
    # The npz order: posY fastest, then posX, orientation, scale, shape.
    expected = (
        classes[:, 0] * 245_760
        + classes[:, 1] * 40_960
        + classes[:, 2] * 1024
        + classes[:, 3] * 32
        + classes[:, 4]
    )
    assert torch.equal(expected, flat)
    assert classes[1].tolist() == [0, 0, 0, 0, 1] and classes[32].tolist() == [0, 0, 0, 1, 0]


def test_sampling_is_deterministic_for_a_seed_and_covers_every_factor(sim):
    first = sim.sample_factors(4096, sim.generator(42))
    again = sim.sample_factors(4096, sim.generator(42))
    other = sim.sample_factors(4096, sim.generator(43))
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(sim.render(first[:64]), sim.render(again[:64]))
    for column, size in enumerate(sim.factor_sizes):
        assert set(first[:, column].tolist()) == set(range(size))
    assert sim.sample_factors(0, sim.generator(0)).shape == (0, 5)


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        (torch.tensor([[3, 0, 0, 0, 0]]), re.escape("shape class 3 (row 0) is out of range 0..2")),
        (
            torch.tensor([[0, 0, 40, 0, 0]]),
            re.escape("orientation class 40 (row 0) is out of range 0..39"),
        ),
        (torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, -1, 0]]), re.escape("posX class -1 (row 1)")),
        (torch.tensor([[0, 6, 0, 0, 32]]), re.escape("scale class 6 (row 0) is out of range 0..5")),
        (torch.zeros(3, 4, dtype=torch.long), r"shape \(n, 5\).*got \(3, 4\)"),
        (torch.zeros(5, dtype=torch.long), r"shape \(n, 5\)"),
    ],
)
def test_bad_classes_name_the_factor_and_range(sim, classes, message):
    with pytest.raises(ValueError, match=message):
        sim.render(classes)


def test_bad_dtypes_counts_indices_and_devices_are_refused(sim):
    with pytest.raises(TypeError, match=r"integer tensor; got torch\.float32"):
        sim.render(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="non-negative integer; got -1"):
        sim.sample_factors(-1, sim.generator(0))
    with pytest.raises(TypeError, match=r"torch\.Generator"):
        sim.sample_factors(3, 0)
    with pytest.raises(ValueError, match="flat index 737280 is out of range"):
        sim.classes(torch.tensor([737_280]))
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        DSprites(device="gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            DSprites(device="cuda")


def test_bit_packing_matches_numpy_and_round_trips(sim):
    images = sim.render(sim.sample_factors(100, sim.generator(1)))
    packed = bits.pack(images)
    expected = np.packbits(images.numpy().astype(np.uint8).reshape(100, -1), axis=1)
    assert np.array_equal(packed.numpy(), expected)
    assert torch.equal(bits.unpack(packed), images)


def test_cache_round_trip_and_integrity_check(tmp_path):
    rows = 50
    packed = torch.randint(0, 256, (rows, 512), dtype=torch.uint8)
    path = cache.save(tmp_path, packed)
    assert torch.equal(cache.load(tmp_path, rows), packed)
    assert cache.load(tmp_path, rows + 1) is None  # wrong size: not this data set
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # one flipped byte of pixels
    path.write_bytes(bytes(data))
    assert cache.load(tmp_path, rows) is None
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["shape"] == [rows, 512] and len(record["sha256"]) == 64
    calls = []

    def render():
        calls.append(1)
        return packed

    assert torch.equal(cache.load_or_render(tmp_path, rows, render), packed)
    assert torch.equal(cache.load_or_render(tmp_path, rows, render), packed)
    assert len(calls) == 1  # the corrupt file was re-rendered once, then served from disk
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_materialized_set_draws_the_procedural_pixels(tmp_path):
    procedural = DSprites()
    materialized = DSprites().materialize(cache_dir=tmp_path)
    assert materialized.materialized and len(list(tmp_path.glob("dsprites-*.npy"))) == 1
    generator = procedural.generator(9)
    classes = procedural.sample_factors(3000, generator)
    assert torch.equal(materialized.render(classes), procedural.render(classes))
    flat = procedural.sample_index(3000, generator)
    assert torch.equal(materialized.render_index(flat), procedural.render_index(flat))
    again = DSprites().materialize(cache_dir=tmp_path)  # from the cache this time
    assert torch.equal(again.render(classes), procedural.render(classes))
