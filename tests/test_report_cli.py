"""`sweep report` end to end on synthetic sweeps: the figures are real, non-blank images of
the expected size, the page lists every trial (escaped) and works offline, and bad input
is one line, exit code 2 and no half-written report."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html import escape

import numpy as np
import pytest
import torch
from PIL import Image
from synthetic_sweep import SyntheticTrial, baseline_rows, write_sweep

from reports import build
from sweep.cli import main
from trainables import checkpoint
from trainables.config import TrialConfig
from trainables.models import build_model

NASTY_ID = "t<b>&\"x'$_$"  # HTML specials, and dollars that matplotlib would read as math
NASTY_MESSAGE = "<script>alert('x')</script>"
# PNG sizes in pixels at 100 dpi: fixed figures, and those that grow with their rows.
EXPECTED_SIZES = {
    "frontier.png": (1100, 850),
    "score_vs_beta_norm.png": (1000, 700),
    "learning_curves.png": (1200, 1000),
    "kl_per_latent.png": (1000, 860),  # 3 best trials: 0.8 + 3 × 2.6 inches
    "baselines.png": (1100, 554),  # 4 baselines + 3 trials: 2.6 + 7 × 0.42 inches
    "traversal_1.png": (2076, 462),  # 4 latent rows: 27 cells of 68 px + labels
    "traversal_2.png": (2076, 598),  # 6 latent rows
}


def save_checkpoint(directory, beta, latent_size):
    config = TrialConfig(beta=beta, latent_size=latent_size, steps=1000)
    model = build_model(config)
    optimizer = torch.optim.Adam(model.parameters())
    rng = {"batches": torch.zeros(1)}
    return checkpoint.save(
        directory, config=config, step=1000, model=model, optimizer=optimizer, rng=rng
    )


def main_trials(tmp):
    best_a = save_checkpoint(tmp / "ckpt" / "a", 16.0, 4)
    best_b = save_checkpoint(tmp / "ckpt" / "b", 4.0, 6)
    return [
        SyntheticTrial("a", 16.0, 4, recon=60.0, score=0.97, checkpoint_path=str(best_a)),
        SyntheticTrial("b", 4.0, 6, recon=38.0, score=0.91, checkpoint_path=str(best_b)),
        SyntheticTrial("c", 2.0, 6, recon=30.0, score=0.88),  # best #3, no checkpoint
        SyntheticTrial("d", 1.0, 4, recon=28.0, score=0.62),
        SyntheticTrial("e", 32.0, 6, recon=70.0, score=0.80),  # beaten by a
        SyntheticTrial("f", 1.0, 8, 26.0, 0.45, status="stopped-early", last_step=250),
        SyntheticTrial("g", 8.0, 8, 45.0, 0.60, status="stopped-early", last_step=500),
        SyntheticTrial(
            NASTY_ID,
            64.0,
            8,
            90.0,
            0.5,
            status="diverged",
            last_step=600,
            extra={"message": NASTY_MESSAGE},
        ),
    ]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    storage = tmp / "storage"
    trials = main_trials(tmp)
    write_sweep(storage / "main", trials, baselines=baseline_rows())
    code = main(["report", "main", "--storage", str(storage)])
    out = storage / "main" / "report"
    return {"code": code, "out": out, "trials": trials, "storage": storage}


def test_the_report_is_written(report):
    assert report["code"] == 0
    names = {p.name for p in report["out"].iterdir()}
    expected = {"index.html", "report.json"}
    for png in EXPECTED_SIZES:
        expected |= {png, png.replace(".png", ".svg")}
    assert names == expected  # traversal_3 is missing: best trial #3 has no checkpoint


@pytest.mark.parametrize("name", sorted(EXPECTED_SIZES))
def test_each_figure_is_a_non_blank_image_of_the_expected_size(report, name):
    with Image.open(report["out"] / name) as image:
        assert image.format == "PNG" and image.size == EXPECTED_SIZES[name]
        pixels = np.asarray(image.convert("RGB"), dtype=np.int64)
    ink = (pixels.min(axis=2) < 230).mean()  # anything darker than near-white
    assert ink > 0.02, f"{name} is nearly blank ({ink:.1%} ink)"
    colors = np.unique(pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2])
    assert colors.size > 16  # more than a flat fill and some text
    svg = ET.parse(report["out"] / name.replace(".png", ".svg")).getroot()
    assert svg.tag.endswith("svg")
    width, height = (float(svg.get(k).removesuffix("pt")) for k in ("width", "height"))
    assert (round(width / 72 * 100), round(height / 72 * 100)) == EXPECTED_SIZES[name]


def test_the_frontier_holds_exactly_the_expected_trials(report):
    marker = json.loads((report["out"] / "report.json").read_text())
    assert marker["frontier"] == ["f", "d", "c", "b", "a"]  # by reconstruction loss
    assert marker["best"] == ["a", "b", "c"]
    page = (report["out"] / "index.html").read_text()
    section = page.split("<h2>Reconstruction–disentanglement frontier</h2>")[1].split("<h2>")[0]
    assert re.findall(r"<code>(.*?)</code>", section) == ["f", "d", "c", "b", "a"]


def test_every_trial_appears_escaped_in_the_html_table(report):
    page = (report["out"] / "index.html").read_text()
    table = page.split("<h2>All trials (8)</h2>")[1]
    ids = re.findall(r"<tr(?: class=\"frontier\")?><td><code>(.*?)</code>", table)
    assert ids == sorted(escape(t.trial_id, quote=True) for t in report["trials"])
    assert NASTY_MESSAGE not in page and escape(NASTY_MESSAGE) in page
    assert NASTY_ID not in page and escape(NASTY_ID, quote=True) in page


def test_the_page_works_offline_and_every_link_is_a_file_of_the_report(report):
    page = (report["out"] / "index.html").read_text()
    assert "<script" not in page and "<link" not in page
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert links and not [link for link in links if "//" in link]
    assert all((report["out"] / link).is_file() for link in links)
    assert 'src="frontier.svg"' in page and 'src="traversal_2.svg"' in page


def test_the_page_says_what_is_missing_and_which_protocol_scored(report):
    page = (report["out"] / "index.html").read_text()
    assert "Trial c has no checkpoint yet: no traversal drawn." in page
    assert f"1 trial diverged ({escape(NASTY_ID, quote=True)})" in page
    assert "higgins L=64 train=10000" in page and "in-loop" in page


def test_a_sweep_with_one_trial_renders_says_so_and_replaces_an_old_report(tmp_path, capsys):
    write_sweep(tmp_path / "one", [SyntheticTrial("only", 4.0, 10, 35.0, 0.8)])
    out = old_report(tmp_path / "out")
    (out / "stale.png").write_bytes(b"old")
    argv = ["report", "one", "--storage", str(tmp_path), "--out", str(out), "--no-traversals"]
    assert main(argv) == 0
    assert str(out / "index.html") in capsys.readouterr().out
    page = (out / "index.html").read_text()
    assert "single trial" in page and "--no-traversals" in page
    assert json.loads((out / "report.json").read_text())["frontier"] == ["only"]
    with Image.open(out / "frontier.png") as image:
        assert image.size == EXPECTED_SIZES["frontier.png"]
    assert not (out / "baselines.png").exists()  # no baselines: a note, not a figure
    assert "No baselines" in page
    assert not (out / "stale.png").exists()  # the old report was replaced as a whole
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_sweep_whose_only_trial_diverged_renders_and_says_so(tmp_path):
    trial = SyntheticTrial("x", 400.0, 10, 40.0, None, status="diverged", last_step=100)
    write_sweep(tmp_path / "div", [trial])
    out = tmp_path / "out"
    argv = ["report", "div", "--storage", str(tmp_path), "--out", str(out)]
    assert main(argv) == 0
    page = (out / "index.html").read_text()
    assert "1 trial diverged (x)" in page and "loss became NaN" in page
    marker = json.loads((out / "report.json").read_text())
    assert marker["frontier"] == [] and marker["best"] == [] and marker["trials"] == ["x"]
    with Image.open(out / "frontier.png") as image:
        assert image.size == EXPECTED_SIZES["frontier.png"]


# -- bad input: one line, exit code 2, nothing written ---------------------------------


def run_failing(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("sweep: error: "), err
    return err


def old_report(directory):
    """A previous report that a failed run must leave exactly as it was."""
    directory.mkdir(parents=True)
    (directory / "report.json").write_text(json.dumps({"kind": build.MARKER_KIND}))
    (directory / "index.html").write_text("old")
    return directory


def test_missing_sweep_and_storage(tmp_path, capsys):
    err = run_failing(["report", "nope", "--storage", str(tmp_path)], capsys)
    assert "no sweep 'nope'" in err
    err = run_failing(["report", "nope", "--storage", "s3://bucket/sweeps"], capsys)
    assert "only local directories" in err
    assert list(tmp_path.iterdir()) == []


def test_unknown_schema_version_leaves_the_old_report(tmp_path, capsys):
    import pyarrow.parquet as pq

    from sweep.store.schema import VERSION_KEY

    directory = write_sweep(tmp_path / "s", [SyntheticTrial("a", 4.0, 10, 35.0, 0.8)])
    table = pq.read_table(directory / "trials.parquet")
    table = table.replace_schema_metadata({**table.schema.metadata, VERSION_KEY: b"0"})
    pq.write_table(table, directory / "trials.parquet")
    out = old_report(tmp_path / "out")
    err = run_failing(["report", "s", "--storage", str(tmp_path), "--out", str(out)], capsys)
    assert "schema version '0' is not supported" in err
    assert (out / "index.html").read_text() == "old" and len(list(out.iterdir())) == 2


@pytest.mark.parametrize(
    ("checkpoint_path", "message"),
    [
        ("garbage", "checkpoint .* cannot be read"),
        ("missing", "checkpoint .* does not exist"),
        ("s3://bucket/ckpt", "not on the local file system.*--no-traversals"),
    ],
)
def test_a_checkpoint_that_cannot_be_read(tmp_path, capsys, checkpoint_path, message):
    if checkpoint_path == "garbage":
        (tmp_path / "garbage").mkdir()
        (tmp_path / "garbage" / "checkpoint.pt").write_bytes(b"not a checkpoint")
        checkpoint_path = str(tmp_path / "garbage")
    elif checkpoint_path == "missing":
        checkpoint_path = str(tmp_path / "missing")
    trial = SyntheticTrial("a", 4.0, 10, 35.0, 0.8, checkpoint_path=checkpoint_path)
    write_sweep(tmp_path / "s", [trial])
    out = old_report(tmp_path / "out")
    err = run_failing(["report", "s", "--storage", str(tmp_path), "--out", str(out)], capsys)
    assert re.search(message, err) and "trial a" in err
    assert (out / "index.html").read_text() == "old"


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("{sweep}", "would replace the sweep's own directory"),
        ("{tmp}", "would replace the sweep's own directory"),
        ("{foreign}", "exists and is not a betasweep report"),
        ("{file}", "is a file"),
    ],
)
def test_an_output_that_must_not_be_replaced(tmp_path, capsys, out, message):
    write_sweep(tmp_path / "s", [SyntheticTrial("a", 4.0, 10, 35.0, 0.8)])
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "thesis.tex").write_text("precious")
    (tmp_path / "file").write_text("precious")
    path = out.format(
        sweep=tmp_path / "s", tmp=tmp_path, **{k: tmp_path / k for k in ("foreign", "file")}
    )
    err = run_failing(["report", "s", "--storage", str(tmp_path), "--out", path], capsys)
    assert message in err
    assert (tmp_path / "foreign" / "thesis.tex").read_text() == "precious"
    assert (tmp_path / "s" / "trials.parquet").is_file()


def test_bad_options(tmp_path, capsys):
    write_sweep(tmp_path / "s", [SyntheticTrial("a", 4.0, 10, 35.0, 0.8)])
    assert "--top must be at least 1" in run_failing(
        ["report", "s", "--storage", str(tmp_path), "--top", "0"], capsys
    )
    assert "not a sweep name" in run_failing(["report", "../s", "--storage", str(tmp_path)], capsys)


def test_a_crash_while_drawing_leaves_no_half_written_report(tmp_path, monkeypatch):
    import reports.figure_kl

    directory = write_sweep(tmp_path / "s", [SyntheticTrial("a", 4.0, 10, 35.0, 0.8)])
    out = old_report(tmp_path / "out")

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(reports.figure_kl, "kl_figure", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        build.build_report(directory, "s", out, traversals=False)
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "report.json"]
    assert (out / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
