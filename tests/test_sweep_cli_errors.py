"""`sweep run|resume|status` with bad input: exit code 2, one clear line, no Ray started and
nothing written. (The one check that needs a cluster, GPUs asked of a cluster without any,
is in test_sweep_e2e.py.)"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

import sweep.tune.run
from sweep.cli import main
from sweep.spec import SweepSpec


@pytest.fixture(autouse=True)
def no_ray(monkeypatch):
    """Bad input must be refused before Ray starts: starting it fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started for a bad input")

    monkeypatch.setattr(sweep.tune.run, "ray_session", refuse)


def run(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


GOOD = ["--max-steps", "40", "--batch-size", "16"]
# What `sweep run --storage S --name s --samples 3 --latent 4,8` + GOOD resolves to.
BASE_SPEC = {
    "name": "s",
    "beta": "1..250",
    "beta_norm": None,
    "latent": "4,8",
    "samples": 3,
    "max_steps": 40,
    "grace_steps": 5,
    "reduction_factor": 2,
    "metric": "score",
    "search": "optuna",
    "concurrency": 4,
    "cpus_per_trial": 1.0,
    "gpus_per_trial": 0.0,
    "address": None,
    "seed": 0,
    "max_failures": 3,
    "trial": {"batch_size": 16},
}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--beta", "250..1"], r"--beta 250..1: the range's first end must be below its second"),
        (["--beta", "0..10"], r"--beta 0..10: every value must be > 0"),
        (["--beta", "abc"], r"--beta abc: 'abc' is not a number; expected 4, 1,4,16 or 1..250"),
        (["--beta", "1.."], r"--beta 1..: a range needs both ends"),
        (["--beta-norm", "0.5..0.1"], r"--beta-norm 0.5..0.1: the range's first end"),
        (["--beta", "4", "--beta-norm", "0.01"], r"give --beta or --beta-norm, not both"),
        (["--latent", "0"], r"--latent 0: every value must be ≥ 1"),
        (["--latent", "4,x"], r"--latent 4,x: 'x' is not an integer"),
        (["--samples", "0"], r"--samples must be an integer ≥ 1; got 0"),
        (["--grace-steps", "50"], r"--grace-steps 50 is more than --max-steps 40"),
        (["--reduction-factor", "1"], r"--reduction-factor must be an integer ≥ 2"),
        (["--metric", "accuracy"], r"--metric 'accuracy': expected one of score, recon, elbo"),
        (["--search", "bayes"], r"--search 'bayes': expected one of optuna, random, grid"),
        (["--search", "grid"], r"--search grid needs lists: --beta 1..250 is a range"),
        (["--concurrency", "0"], r"--concurrency must be an integer ≥ 1"),
        (["--gpus-per-trial", "-1"], r"--gpus-per-trial must be a number ≥ 0"),
        (["--cpus-per-trial", "0"], r"--cpus-per-trial must be > 0"),
        (["--name", "a/b"], r"--name 'a/b': use letters, digits"),
        (["--name", "ok\n"], r"--name 'ok\\n': use letters, digits"),
        (["--batch-size", "1"], r"--batch-size: batch_size must be an integer ≥ 2"),
        (["--architecture", "vit"], r"--architecture: architecture must be one of mlp, conv"),
        (["--score-every", "3"], r"--grace-steps 5 is not a multiple of --score-every 3"),
        (["--npz", "{tmp}/none.npz"], r"--npz .*none.npz: no such file"),
        (["--samples", "x"], r"Invalid value for '--samples'"),
        (["--address", "ray://head"], r"--address ray://head: expected auto, host:port or ray://"),
        (["--storage", "ftp://host/sweeps"], r"--storage ftp://host/sweeps: expected a local path"),
        (["--storage", "{tmp}/afile/sweeps"], r"--storage .*afile/sweeps: .*afile is a file"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, args, message):
    (tmp_path / "afile").write_text("not a directory")
    storage = str(tmp_path / "sweeps")
    argv = ["run", "--storage", storage, "--name", "bad", *GOOD]
    argv += [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, err = run(argv, capsys)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("sweep: error: "), err
    assert re.search(message, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing written


def test_an_existing_sweep_needs_resume(tmp_path, capsys):
    taken = tmp_path / "sweeps" / "taken"
    taken.mkdir(parents=True)
    (taken / "sweep.json").write_text("{}")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, err = run(["run", "--storage", str(tmp_path / "sweeps"), "--name", "taken"], capsys)
    assert code == 2
    assert re.fullmatch(
        r"sweep: error: sweep 'taken' already exists under .*sweeps: continue it with "
        r"`sweep resume taken --storage .*sweeps`, or choose another --name",
        err,
    )
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_resume_refuses_other_options(tmp_path, capsys):
    from sweep.tune.run import write_spec

    argv = ["run", "--storage", str(tmp_path), "--name", "s", "--samples", "3", *GOOD]
    spec = SweepSpec.from_dict({**BASE_SPEC, "storage": str(tmp_path)})
    write_spec(spec, str(tmp_path / "s"))
    before = (tmp_path / "s" / "sweep.json").read_text()
    code, err = run([*argv, "--latent", "4,8,16", "--resume"], capsys)
    assert code == 2
    assert err == (
        "sweep: error: sweep 's' was started with other options (latent: '4,8' then, '4,8,16' now)"
    )
    assert (tmp_path / "s" / "sweep.json").read_text() == before
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["sweep.json"]


@pytest.mark.parametrize("command", ["resume", "status"])
def test_unknown_sweeps_are_named(tmp_path, capsys, command):
    code, err = run([command, "nope", "--storage", str(tmp_path)], capsys)
    assert code == 2
    assert re.fullmatch(r"sweep: error: no sweep named 'nope' under .*", err)
    assert list(tmp_path.iterdir()) == []


def test_ls_of_an_empty_storage(tmp_path, capsys):
    assert main(["ls", "--storage", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"no sweeps under {tmp_path}"


def test_ls_lists_every_readable_sweep_and_marks_the_damaged(tmp_path, capsys):
    from synthetic_sweep import SyntheticTrial, write_sweep

    from sweep.tune.run import write_spec

    for name in ("good", "badjson", "badtrials"):
        spec = SweepSpec.from_dict({**BASE_SPEC, "name": name, "storage": str(tmp_path)})
        write_spec(spec, str(tmp_path / name))
        write_sweep(tmp_path / name, [SyntheticTrial("a", 4.0, 10, 35.0, 0.8)])
    (tmp_path / "badjson" / "sweep.json").write_text('{"version": 1, "spec": {"na')
    (tmp_path / "badtrials" / "trials.parquet").write_bytes(b"PAR1 truncated")
    assert main(["ls", "--storage", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert re.fullmatch(
        rf"badjson  damaged: {tmp_path}/badjson/sweep.json is not readable JSON \(.*\)", lines[0]
    )
    assert re.fullmatch(
        rf"badtrials  damaged: {tmp_path}/badtrials/trials.parquet: not a readable Parquet .*",
        lines[1],
    )
    assert re.fullmatch(
        r"good  \S+  optuna beta 1..250 latent 4,8  1 trials: 1 terminated; \d+ rows", lines[2]
    )


def test_an_address_nothing_listens_at_fails_fast():
    from sweep.errors import UserError
    from sweep.tune.run import _check_reachable

    start = time.monotonic()
    with pytest.raises(UserError, match=r"--address 127.0.0.1:1: no Ray cluster reachable there"):
        _check_reachable("127.0.0.1:1")
    assert time.monotonic() - start < 10  # Ray's own connect would retry for minutes


def test_ray_is_not_even_imported_for_a_bad_input(tmp_path):
    code = (
        "import sys\n"
        "from sweep.cli import main\n"
        f"assert main(['run', '--beta', '0..1', '--storage', {str(tmp_path)!r}]) == 2\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("how", ["renamed", "copied", "moved to another storage"])
def test_a_moved_or_copied_sweep_is_not_resumed(tmp_path, capsys, how):
    import shutil

    from sweep.tune.run import write_spec

    original = tmp_path / "sweeps" / "int1"
    spec = SweepSpec.from_dict({**BASE_SPEC, "name": "int1", "storage": str(original.parent)})
    write_spec(spec, str(original))
    target = {
        "renamed": tmp_path / "sweeps" / "int1-old",
        "copied": tmp_path / "sweeps" / "int1copy",
        "moved to another storage": tmp_path / "elsewhere" / "int1",
    }[how]
    shutil.copytree(original, target)
    if how != "copied":
        shutil.rmtree(original)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    argv = ["resume", target.name, "--storage", str(target.parent)]
    code, err = run(argv, capsys)
    assert code == 2
    assert err == (
        f"sweep: error: {target} holds the sweep created as {original}: a moved or copied "
        f"sweep cannot be resumed (Ray Tune's state names {original}); resume it there"
    )
    run_resume = ["run", "--storage", str(target.parent), "--name", target.name, "--resume"]
    code, err = run([*run_resume, "--samples", "3", "--latent", "4,8", *GOOD], capsys)
    assert code == 2 and f"holds the sweep created as {original}" in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("case", ["missing", "text", "no imgs", "shape"])
def test_a_bad_npz_is_refused_before_ray(tmp_path, capsys, case):
    from test_train_cli import bad_archives

    path, message = bad_archives(tmp_path)[case]
    before = sorted(tmp_path.iterdir())
    code, err = run(["run", "--storage", str(tmp_path / "sweeps"), "--npz", str(path)], capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("sweep: error: --npz ") and message in err, err
    assert sorted(tmp_path.iterdir()) == before


def test_resume_accepts_the_same_options_written_otherwise(tmp_path, capsys, monkeypatch):
    from sweep.store.summary import SweepSummary
    from sweep.tune.run import write_spec

    resumed = []

    def resume(spec, address):
        resumed.append(spec)
        return SweepSummary(spec.name, str(tmp_path / "s"))

    monkeypatch.setattr(sweep.tune.run, "resume", resume)
    saved = SweepSpec.from_dict({**BASE_SPEC, "beta": "1,4", "trial": {}, "storage": str(tmp_path)})
    write_spec(saved, str(tmp_path / "s"))
    argv = ["run", "--storage", str(tmp_path), "--name", "s", "--samples", "3", "--resume"]
    argv += ["--max-steps", "40", "--latent", "8,4", "--beta", "4,1"]
    for same in ([], ["--batch-size", "64"], ["--score-every", "5", "--report-every", "5"]):
        code, err = run([*argv, *same], capsys)
        assert code == 0, err
        assert resumed.pop() == saved
    code, err = run([*argv, "--batch-size", "32"], capsys)
    assert code == 2 and err.endswith("(batch_size: 64 then, 32 now)")
