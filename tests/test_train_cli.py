"""`sweep train`: one trial from the command line, its Parquet reports and checkpoint, and
one-line errors (exit 2, nothing written) for everything the user can get wrong."""

from __future__ import annotations

import pytest
import torch

from sweep.cli import main
from sweep.store.parquet import read_table
from trainables import load_model, scoring

BASE = ["train", "--steps", "6", "--report-every", "3", "--batch-size", "8", "--device", "cpu"]
BASE += ["--score-every", "0", "--final-score-protocol", "tiny"]


@pytest.fixture(autouse=True)
def cheap(monkeypatch, one_thread):
    """One intra-op thread (a shared CPU), and a stand-in for the Higgins score, which
    test_train_loop.py exercises for real."""

    def stand_in(sim, model, protocol, seed, progress=None):
        return {
            "score": 0.5,
            "score_train": 0.6,
            "score_protocol": f"stand-in {protocol}",
            "active_units": 2,
        }

    monkeypatch.setattr(scoring, "score", stand_in)


def test_train_writes_reports_and_the_final_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*BASE, "--beta", "4", "--latent", "5", "--out", str(out)]) == 0
    table = read_table(out / "results.parquet", "results").to_pylist()
    assert [r["step"] for r in table] == [3, 6]
    assert {r["sweep"] for r in table} == {"train"} and len({r["trial_id"] for r in table}) == 1
    assert table[-1]["beta"] == 4.0 and table[-1]["latent_size"] == 5
    assert table[-1]["beta_norm"] == pytest.approx(4.0 * 5 / 4096)
    assert len(table[-1]["kl_per_latent"]) == 5 and table[-1]["score"] == 0.5
    assert table[-1]["active_units"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint", "results.parquet"]
    model, config = load_model(out / "checkpoint")
    assert config.steps == 6 and model.latent_size == 5
    printed = capsys.readouterr().out
    assert "completed 6 steps" in printed and "score=0.5000 active_units=2/5 (" in printed


def test_resume_from_the_command_line(tmp_path):
    first = tmp_path / "first"
    assert main([*BASE, "--out", str(first)]) == 0
    longer = [*BASE, "--steps", "9", "--out", str(tmp_path / "second")]
    assert main([*longer, "--resume", str(first / "checkpoint")]) == 0
    table = read_table(tmp_path / "second" / "results.parquet", "results")
    assert table.column("step").to_pylist() == [9]


def test_a_diverged_trial_exits_1_with_its_message(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*BASE, "--learning-rate", "1e30", "--out", str(out)]) == 1
    assert "non-finite loss at step 2" in capsys.readouterr().err
    (row,) = read_table(out / "results.parquet", "results").to_pylist()
    assert row["diverged"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--beta", "0"], "beta must be a finite number > 0"),
        (["--latent", "0"], "latent_size must be an integer ≥ 1"),
        (["--architecture", "resnet"], "architecture must be one of mlp, conv"),
        (["--objective", "elbo"], "objective must be one of beta, capacity"),
        (["--steps", "0"], "steps must be an integer ≥ 1"),
        (["--batch-size", "1"], "batch_size must be an integer ≥ 2"),
        (["--loop-score-protocol", "huge"], "loop_score_protocol must be one of"),
        (["--beta", "abc"], "Invalid value for '--beta'"),
    ],
)
def test_bad_values_fail_in_one_line_before_any_work(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert main([*BASE, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sweep: error:") and message in err and "\n" not in err
    assert not out.exists()


def test_bad_speed_settings_fail_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BETASWEEP_SPEED", "turbo")
    assert main([*BASE, "--out", str(tmp_path / "run")]) == 2
    assert "BETASWEEP_SPEED: unknown setting 'turbo'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_bad_paths_fail_in_one_line(tmp_path, capsys):
    full = tmp_path / "full"
    full.mkdir()
    (full / "something").write_text("x")
    assert main([*BASE, "--out", str(full)]) == 2
    assert "is not empty" in capsys.readouterr().err
    out = tmp_path / "run"
    assert main([*BASE, "--resume", str(tmp_path), "--out", str(out)]) == 2
    assert "not a checkpoint directory" in capsys.readouterr().err
    assert not out.exists()
    if not torch.cuda.is_available():
        assert main([*BASE, "--device", "cuda", "--out", str(out)]) == 2
        assert "CUDA is not available" in capsys.readouterr().err
        assert not out.exists()


def bad_archives(directory) -> dict[str, tuple[object, str]]:
    """--npz values that are no dSprites archive, and what the error says of each."""
    import numpy as np

    wrong_shape = directory / "wrong_shape.npz"
    np.savez(
        wrong_shape,
        imgs=np.zeros((2, 32, 32), np.uint8),
        latents_classes=np.zeros((2, 6), np.int64),
        latents_values=np.zeros((2, 6)),
    )
    no_imgs = directory / "no_imgs.npz"
    np.savez(no_imgs, latents_classes=np.zeros((2, 6), np.int64))
    text = directory / "text.npz"
    text.write_text("not an archive")
    return {
        "missing": (directory / "absent.npz", "absent.npz: no such file"),
        "text": (text, "text.npz is not a dSprites archive: not a NumPy .npz archive"),
        "no imgs": (no_imgs, "no_imgs.npz is not a dSprites archive: missing key(s) imgs"),
        "shape": (wrong_shape, r"imgs has shape (2, 32, 32), expected (n, 64, 64)"),
    }


@pytest.mark.parametrize("case", ["missing", "text", "no imgs", "shape"])
def test_a_bad_npz_fails_in_one_line_before_any_work(tmp_path, capsys, case):
    path, message = bad_archives(tmp_path)[case]
    out = tmp_path / "run"
    assert main([*BASE, "--npz", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sweep: error: --npz ") and message in err and "\n" not in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("model", "own"),
    [("dcign", {"invariance"}), ("infogan", {"discriminator", "generator", "information"})],
)
def test_comparison_models_train_from_the_command_line(tmp_path, capsys, model, own):
    """DC-IGN and InfoGAN write the same reports, β null, their own terms in `losses`, and a
    checkpoint that loads back as their model (issue 15)."""
    out = tmp_path / model
    assert main([*BASE, "--model", model, "--latent", "5", "--out", str(out)]) == 0
    table = read_table(out / "results.parquet", "results").to_pylist()
    assert [r["step"] for r in table] == [3, 6]
    last = table[-1]
    assert last["model"] == model and last["beta"] is None and last["objective"] is None
    assert {name for name, _ in last["losses"]} == own and last["score"] == 0.5
    assert (last["recon"] is None) == (model == "infogan")
    loaded, config = load_model(out / "checkpoint")
    assert config.model == model and loaded.encode(torch.zeros(2, 1, 64, 64))[0].shape == (2, 5)
    printed = capsys.readouterr().out
    assert f"{own.pop()}=" in printed and "score=0.5000" in printed
