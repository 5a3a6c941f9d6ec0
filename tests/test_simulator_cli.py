"""`sweep simulator preview`: a real PNG, or one error line and exit code 2 with nothing written."""

from __future__ import annotations

import re

import matplotlib.image
import pytest

from sweep.cli import main


def test_preview_writes_a_non_blank_png(tmp_path, capsys):
    out = tmp_path / "preview.png"
    assert main(["simulator", "preview", "--out", str(out), "--seed", "3"]) == 0
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 500 and image.shape[1] > 500
    assert image[..., :3].std() > 0.1  # sprites on black, not an empty canvas
    assert str(out) in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preview.png"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{tmp}/missing/p.png"], "directory .*missing does not exist"),
        (["--out", "{tmp}/p.jpg"], "expected a .png file name"),
        (["--out", "{tmp}/p.png", "--device", "tpu"], "unknown device 'tpu'"),
        (["--out", "{tmp}/p.png", "--seed", "x"], "Invalid value for '--seed'"),
        (["--out", "{tmp}/p.png", "--npz", "{tmp}/none.npz"], "no such file"),
    ],
)
def test_preview_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    argv = ["simulator", "preview", *(a.replace("{tmp}", str(tmp_path)) for a in args)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("sweep: error: ")
    assert re.search(message, err)
    assert list(tmp_path.iterdir()) == []
