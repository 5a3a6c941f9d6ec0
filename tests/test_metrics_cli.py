"""`sweep baselines`: a Parquet table and a printed one, or one error line and exit code 2."""

from __future__ import annotations

import re

import pytest

from sweep.cli import main
from sweep.store.parquet import read_table
from sweep.store.schema import BASELINES_SCHEMA

QUICK = ["--protocol", "tiny", "--no-materialize", "--fit-samples", "400"]


def test_baselines_writes_the_table_and_prints_it_beside_the_paper(tmp_path, capsys):
    out = tmp_path / "table.parquet"
    argv = ["baselines", "--out", str(out), "--seeds", "2", "--rows", "ground-truth,pca", *QUICK]
    assert main(argv) == 0
    table = read_table(out, "baselines")
    assert table.schema.equals(BASELINES_SCHEMA, check_metadata=False)
    rows = {row["model"]: row for row in table.to_pylist()}
    assert list(rows) == ["Ground truth", "PCA"]
    assert rows["Ground truth"]["scores"] == [100.0, 100.0]
    assert (
        rows["Ground truth"]["score_mean"] == 100.0 and rows["Ground truth"]["paper_score"] == 100
    )
    assert rows["PCA"]["paper_score"] == 84.9 and rows["PCA"]["paper_std"] == 0.4
    assert rows["PCA"]["seeds"] == 2 and 20 <= rows["PCA"]["score_mean"] <= 100
    assert rows["PCA"]["protocol"].startswith("higgins L=8 train=300 test=200 factors=shape,")
    printed = capsys.readouterr()
    assert re.search(
        r"^Ground truth\s+100\.00\s+100\.00 ± 0\.00\s+2\s+5,5\s+tiny$", printed.out, re.M
    )
    assert re.search(
        r"^PCA\s+84\.90 ± 0\.40\s+\d+\.\d\d ± \d+\.\d\d\s+2\s+10,10\s+tiny$", printed.out, re.M
    )
    assert re.search(r"^InfoGAN\s+73\.50 ± 0\.90\s+not computed$", printed.out, re.M)
    assert "tiny: higgins L=8 train=300 test=200" in printed.out
    assert "PCA, seed 1:" in printed.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.parquet"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{tmp}/t.csv"], "expected a .parquet file name"),
        (["--out", "{tmp}/missing/t.parquet"], "directory .*missing does not exist"),
        (["--out", "{tmp}/t.parquet", "--seeds", "0"], "--seeds must be ≥ 1; got 0"),
        (["--out", "{tmp}/t.parquet", "--seeds", "x"], "Invalid value for '--seeds'"),
        (["--out", "{tmp}/t.parquet", "--protocol", "huge"], "unknown protocol 'huge'.*paper"),
        (["--out", "{tmp}/t.parquet", "--rows", "pca,dc-ign"], "unknown row.*dc-ign.*choose"),
        (["--out", "{tmp}/t.parquet", "--rows", ","], "unknown row"),
        (["--out", "{tmp}/t.parquet", "--components", "0"], "--components must be ≥ 1"),
        (["--out", "{tmp}/t.parquet", "--fit-samples", "3"], "--fit-samples must be ≥"),
        (["--out", "{tmp}/t.parquet", "--architecture", "rnn"], "--architecture must be one of"),
        (["--out", "{tmp}/t.parquet", "--device", "tpu"], "unknown device 'tpu'"),
        (["--out", "{tmp}/t.parquet", "--npz", "{tmp}/none.npz"], "no such file"),
        (["--out", "{tmp}/t.parquet", "--rows", "vae"], "trained rows need --trained-steps ≥ 1"),
        (["--out", "{tmp}/t.parquet", "--trained-steps", "-1"], "--trained-steps must be ≥ 0"),
    ],
)
def test_bad_options_are_one_line_exit_2_and_nothing_written(tmp_path, capsys, args, message):
    argv = ["baselines", *(a.replace("{tmp}", str(tmp_path)) for a in args)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("sweep: error: ")
    assert re.search(message, err)
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []


def test_trained_rows_train_then_score_with_the_chosen_protocol(tmp_path, capsys):
    out = tmp_path / "trained.parquet"
    argv = ["baselines", "--out", str(out), "--seeds", "1", "--rows", "vae"]
    assert main([*argv, "--trained-steps", "3", *QUICK]) == 0
    (row,) = read_table(out, "baselines").to_pylist()
    assert row["model"] == "VAE (β = 1)" and row["paper_score"] == 61.58
    assert row["seeds"] == 1 and 0 <= row["scores"][0] <= 100
    assert row["protocol"].startswith("higgins L=8 train=300 test=200")
    assert row["protocol"].endswith("; trained beta-vae mlp 3 steps")
    printed = capsys.readouterr().out
    assert re.search(
        r"^VAE \(β = 1\)\s+61\.58 ± 0\.50\s+\d+\.\d\d\s+1\s+\d+\s+tiny$", printed, re.M
    )
    assert re.search(
        r"^β-VAE \(β = 4, 10 latents\)\s+99\.23 ± 0\.10\s+not computed$", printed, re.M
    )


def test_the_comparison_models_rows_are_trained_and_scored(tmp_path, capsys):
    """DC-IGN and InfoGAN train like the VAE rows and fill the paper's rows (issue 15)."""
    out = tmp_path / "models.parquet"
    argv = ["baselines", "--out", str(out), "--seeds", "1", "--rows", "dcign,infogan"]
    assert main([*argv, "--trained-steps", "3", *QUICK]) == 0
    rows = {row["model"]: row for row in read_table(out, "baselines").to_pylist()}
    assert list(rows) == ["DC-IGN", "InfoGAN"]
    assert rows["DC-IGN"]["protocol"].endswith("; trained dcign conv 3 steps")
    assert rows["InfoGAN"]["protocol"].endswith("; trained infogan conv 3 steps")
    printed = capsys.readouterr().out
    assert re.search(r"^DC-IGN\s+99\.30 ± 0\.10\s+\d+\.\d\d\s+1\s+\d+\s+tiny$", printed, re.M)
    assert re.search(r"^InfoGAN\s+73\.50 ± 0\.90\s+\d+\.\d\d\s+1\s+\d+\s+tiny$", printed, re.M)
