"""The paper's table above metrics/ and trainables/: the untrained-VAE row, every row's
score with its active units, and the printed table."""

from __future__ import annotations

import torch

from metrics import baselines, higgins
from sweep import paper_table


def test_every_paper_row_we_can_build_is_a_paper_row():
    assert set(paper_table.BUILDERS) == {*baselines.BUILDERS, "VAE untrained"}
    assert all(baselines.paper_row(model) is not None for model in paper_table.BUILDERS)
    assert set(paper_table.TRAINED_ROWS) <= {row.model for row in baselines.PAPER_TABLE}


def test_untrained_vae_gives_seeded_latent_means(sim, images):
    encode = paper_table.untrained_vae(sim, seed=0)
    codes = encode(images)
    assert codes.shape == (64, 10) and not codes.requires_grad
    assert torch.equal(paper_table.untrained_vae(sim, seed=0)(images), codes)
    assert not torch.allclose(paper_table.untrained_vae(sim, seed=1)(images), codes)
    assert paper_table.untrained_vae(sim, seed=0, architecture="conv")(images).shape == (64, 10)


def test_every_available_row_scores_between_chance_and_perfect(sim):
    # Few images for the active units too: every one is rendered here (no materialised set).
    small = {"batch_size": 4, "num_train": 100, "num_test": 100, "active_units_samples": 200}
    options = {"PCA": {"samples": 300}, "ICA": {"samples": 300}}
    for model in paper_table.BUILDERS:
        row = paper_table.compute_row(sim, model, [0], small, options.get(model))
        assert row["seeds"] == 1 and len(row["scores"]) == 1 and row["score_std"] is None
        assert len(row["active_units"]) == 1 and 0 <= row["active_units"][0] <= 4096
        assert 0 <= row["score_mean"] <= 100
        assert row["protocol"].startswith("higgins L=4 train=100 test=100")
        assert row["paper_score"] == baselines.paper_row(model).score
    truth = paper_table.compute_row(sim, "Ground truth", [0, 1, 2], higgins.protocol("tiny"))
    assert truth["scores"] == [100.0, 100.0, 100.0] and truth["score_std"] == 0.0
    assert truth["active_units"] == [5, 5, 5]


def test_the_printed_table_has_every_paper_row_beside_ours():
    rows = [
        {
            "model": "PCA",
            "score_mean": 80.0,
            "score_std": 1.25,
            "seeds": 3,
            "active_units": [10, 9, 10],
            "protocol": "higgins X",
        },
    ]
    text = paper_table.format_table(rows, "paper")
    lines = text.splitlines()
    assert lines[0].split() == [
        "model",
        "paper",
        "(%)",
        "ours",
        "(%)",
        "seeds",
        "active",
        "units",
        "protocol",
    ]
    assert len(lines) == 1 + 9 + 1
    pca = next(line for line in lines if line.startswith("PCA"))
    assert "84.90 ± 0.40" in pca and "80.00 ± 1.25" in pca and pca.endswith("paper")
    assert "10,9,10" in pca
    assert "not computed" in next(line for line in lines if line.startswith("DC-IGN"))
    assert lines[-1] == "paper: higgins X"
