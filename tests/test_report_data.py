"""Reading a sweep's Parquet files: which score a trial has, the frontier and the best trials
of a sweep built from known results, the rungs, and every kind of bad input."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from synthetic_sweep import FINAL_PROTOCOL, LOOP_PROTOCOL, SyntheticTrial, write_sweep

from reports.protocols import other_scores
from reports.rungs import asha_rungs
from reports.selection import best_trials, frontier_members, protocol_lines, status_notes
from reports.sweepdata import load_sweep
from sweep.errors import UserError
from sweep.store.parquet import rows_to_table, write_table
from sweep.store.schema import RESULTS_SCHEMA, TRIALS_SCHEMA, VERSION_KEY

# (recon, score) chosen so that the frontier is known: a, b, c, e and the pruned f.
KNOWN = [
    SyntheticTrial("a", 1.0, 10, recon=30.0, score=0.60),
    SyntheticTrial("b", 4.0, 10, recon=35.0, score=0.80),
    SyntheticTrial("c", 16.0, 10, recon=50.0, score=0.95),
    SyntheticTrial("d", 8.0, 5, recon=40.0, score=0.75),  # beaten by b
    SyntheticTrial("e", 4.0, 5, recon=35.0, score=0.80),  # a duplicate of b: both stay
    SyntheticTrial("f", 1.0, 20, recon=25.0, score=0.40, status="stopped-early", last_step=250),
    SyntheticTrial("g", 2.0, 20, recon=45.0, score=0.50, status="stopped-early", last_step=500),
    # Diverged after scoring 0.99 at step 500: it must not be chosen for anything.
    SyntheticTrial("h", 64.0, 20, recon=20.0, score=0.99, status="diverged", last_step=600),
    SyntheticTrial("i", 32.0, 10, recon=60.0, score=None, status="running", last_step=200),
]


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    directory = write_sweep(tmp_path_factory.mktemp("storage") / "known", KNOWN)
    return load_sweep(directory, "known")


def by_id(sweep):
    return {t.trial_id: t for t in sweep.trials}


def test_every_trial_is_read_once_with_its_config(known):
    trials = by_id(known)
    assert sorted(trials) == sorted(t.trial_id for t in KNOWN)
    assert trials["c"].beta == 16.0 and trials["c"].latent_size == 10
    assert math.isclose(trials["c"].beta_norm, 16.0 * 10 / 4096)
    assert trials["f"].stopped_early and trials["f"].steps_done == 250


def test_one_protocol_ranks_every_trial_and_the_final_scores_stay_apart(known):
    # Finished trials also have final-protocol scores, stopped ones only in-loop scores:
    # the report ranks all by the protocol that scored the most trials, the loop's.
    assert known.protocol == LOOP_PROTOCOL
    ranked = [t for t in known.trials if t.score is not None]
    assert {t.score_protocol for t in ranked} == {LOOP_PROTOCOL} and len(ranked) == 8
    b = by_id(known)["b"]
    # At step 1000 the loop score is 0.75 and the final-protocol score 0.80.
    assert b.score == pytest.approx(0.75) and not b.score_is_final
    assert b.score_step == 1000 and b.recon == pytest.approx(35.0)
    (final,) = other_scores(b)
    assert (final.value, final.protocol, final.final, final.step) == (
        0.80,
        FINAL_PROTOCOL,
        True,
        1000,
    )
    assert b.curve.score_final.sum() == 1 and b.curve.score_final[-1]
    lines = protocol_lines(known.trials)
    assert lines[0].startswith("Ranked and plotted: one protocol") and LOOP_PROTOCOL in lines[0]
    assert lines[1:] == [f"Not ranked (other protocol, in index.html): 5 trials: {FINAL_PROTOCOL}"]


def test_a_sweep_whose_trials_all_finished_ranks_by_its_final_protocol(tmp_path):
    finished = [t for t in KNOWN if t.status == "terminated"]
    sweep = load_sweep(write_sweep(tmp_path / "done", finished), "done")
    assert sweep.protocol == FINAL_PROTOCOL
    assert all(t.score_is_final and t.score_protocol == FINAL_PROTOCOL for t in sweep.trials)
    assert by_id(sweep)["b"].score == pytest.approx(0.80)


def test_trials_scored_only_under_another_protocol_are_listed_not_ranked(tmp_path):
    # Three stopped trials (loop protocol) outnumber the one finished with only a final
    # score (score_every beyond its steps): that one is not ranked beside them.
    trials = [
        SyntheticTrial(tid, 4.0, 10, recon=30.0, score=0.5, status="stopped-early", last_step=250)
        for tid in ("p", "q", "r")
    ]
    trials.append(SyntheticTrial("z", 4.0, 10, recon=20.0, score=0.99, steps=200))
    sweep = load_sweep(write_sweep(tmp_path / "mixed", trials), "mixed")
    z = by_id(sweep)["z"]
    assert sweep.protocol == LOOP_PROTOCOL and z.score is None and not z.can_be_chosen
    assert [s.protocol for s in z.scores] == [FINAL_PROTOCOL]
    assert "z" not in [t.trial_id for t in frontier_members(sweep.trials)]
    notes = " ".join(status_notes(sweep.trials))
    assert "1 trial scored only under another protocol (z)" in notes
    assert "without a score" not in notes


def test_a_pruned_trial_keeps_its_last_in_loop_score(known):
    f = by_id(known)["f"]
    assert f.score == pytest.approx(0.40) and f.score_protocol == LOOP_PROTOCOL
    assert not f.score_is_final and f.score_step == 250


def test_the_frontier_holds_exactly_the_known_trials(known):
    members = frontier_members(known.trials)
    # Ordered by reconstruction loss; b and e tie exactly and are both kept.
    assert [t.trial_id for t in members] == ["f", "a", "b", "e", "c"]


def test_diverged_and_unscored_trials_are_not_candidates(known):
    trials = by_id(known)
    assert trials["h"].diverged and not trials["h"].can_be_chosen
    assert trials["h"].score is not None  # it did score before diverging
    assert trials["i"].score is None and not trials["i"].can_be_chosen
    notes = " ".join(status_notes(known.trials))
    assert "1 trial diverged (h)" in notes and "without a score yet (i)" in notes
    assert "still running" in notes


def test_best_trials_are_top_scores_with_ties_broken_by_reconstruction(known):
    assert [t.trial_id for t in best_trials(known.trials, 3)] == ["c", "b", "e"]
    assert [t.trial_id for t in best_trials(known.trials, 1)] == ["c"]


def test_rungs_come_from_pruned_trials_without_a_spec(known):
    rungs = asha_rungs(known.trials, known.directory)
    assert rungs.steps == [250, 500] and "stopped early" in rungs.source


def test_rungs_come_from_sweep_json_when_present(tmp_path, known):
    from sweep.spec import SweepSpec
    from sweep.tune.run import write_spec

    spec = SweepSpec.from_dict(
        {
            "name": "s",
            "storage": str(tmp_path.parent),
            "beta": "1..250",
            "beta_norm": None,
            "latent": "10",
            "samples": 4,
            "max_steps": 1000,
            "grace_steps": 100,
            "reduction_factor": 3,
            "metric": "recon",
            "search": "random",
            "concurrency": 4,
            "cpus_per_trial": 1.0,
            "gpus_per_trial": 0.0,
            "address": None,
            "seed": 0,
            "max_failures": 3,
        }
    )
    write_spec(spec, str(tmp_path))  # sweep.json exactly as `sweep run` writes it
    rungs = asha_rungs(known.trials, tmp_path)
    assert rungs.steps == [100, 300, 900] and "sweep.json" in rungs.source


def test_a_trial_not_yet_in_trials_parquet_is_read_as_running(tmp_path):
    directory = write_sweep(tmp_path / "s", [SyntheticTrial("a", 4.0, 10, 35.0, 0.8)])
    extra = SyntheticTrial("late", 2.0, 10, 33.0, 0.7, status="running", last_step=500)
    from synthetic_sweep import result_rows

    write_table(
        rows_to_table(result_rows("s", extra), RESULTS_SCHEMA),
        directory / "results" / "part-00009.parquet",
    )
    late = by_id(load_sweep(directory, "s"))["late"]
    assert late.status == "running" and late.steps_done == 500 and late.score == 0.7


# -- bad input: one clear message ------------------------------------------------------


def expect_failure(match, directory, name="s", **kwargs):
    with pytest.raises(UserError, match=match):
        load_sweep(directory, name, **kwargs)


def test_a_missing_sweep(tmp_path):
    expect_failure("no sweep 'nope'.*not a directory", tmp_path / "nope", "nope")
    expect_failure("no trials.parquet", tmp_path)


def test_an_empty_sweep(tmp_path):
    write_table(rows_to_table([], TRIALS_SCHEMA), tmp_path / "trials.parquet")
    expect_failure("is empty", tmp_path)


def test_a_sweep_without_results_yet(tmp_path):
    running = SyntheticTrial("a", 4.0, 10, 35.0, 0.8, status="running")
    directory = write_sweep(tmp_path / "s", [running])
    for part in (directory / "results").iterdir():
        part.unlink()
    expect_failure("no results yet", directory)


def test_a_sweep_whose_trials_all_failed(tmp_path):
    failed = [
        SyntheticTrial(t, 4.0, 10, 35.0, None, status="error", extra={"message": message})
        for t, message in (("a", "ValueError: not a dSprites archive"), ("b", None))
    ]
    directory = write_sweep(tmp_path / "s", failed)
    for part in (directory / "results").iterdir():
        part.unlink()
    expect_failure(
        r"^sweep 's' has ended and all 2 of its trials failed before reporting a result "
        r"\(`sweep status s` lists why\); a: ValueError: not a dSprites archive$",
        directory,
    )


def test_a_started_sweep_without_trials_yet(tmp_path):
    (tmp_path / "sweep.json").write_text("{}")
    expect_failure(
        r"^sweep 's' has started but recorded no trial yet \(no .*trials.parquet\); run the "
        r"report again once trials have reported$",
        tmp_path,
    )


def test_an_unknown_schema_version(tmp_path):
    directory = write_sweep(tmp_path / "s", [SyntheticTrial("a", 4.0, 10, 35.0, 0.8)])
    part = next((directory / "results").iterdir())
    table = pq.read_table(part)
    metadata = {**table.schema.metadata, VERSION_KEY: b"99"}
    pq.write_table(table.replace_schema_metadata(metadata), part)
    expect_failure("schema version '99' is not supported", directory)


def test_a_file_of_the_wrong_kind_and_a_file_that_is_not_parquet(tmp_path):
    directory = write_sweep(tmp_path / "s", [SyntheticTrial("a", 4.0, 10, 35.0, 0.8)])
    part = next((directory / "results").iterdir())
    (directory / "trials.parquet").write_bytes(part.read_bytes())
    expect_failure("not a betasweep trials file", directory)
    (directory / "trials.parquet").write_text("not parquet")
    expect_failure("not a readable Parquet file", directory)


def test_scores_must_be_fractions(tmp_path):
    directory = write_sweep(tmp_path / "s", [SyntheticTrial("a", 4.0, 10, 35.0, 0.8)])
    part = next((directory / "results").iterdir())
    table = pq.read_table(part)
    scores = pa.array([None if s is None else 100 * s for s in table["score"].to_pylist()])
    index = table.schema.get_field_index("score")
    pq.write_table(table.set_column(index, table.schema.field(index), scores), part)
    expect_failure(r"score outside \[0, 1\]", directory)


def test_a_named_baselines_file_must_exist_and_be_baselines(tmp_path):
    directory = write_sweep(tmp_path / "s", [SyntheticTrial("a", 4.0, 10, 35.0, 0.8)])
    expect_failure("--baselines .*no such file", directory, baselines=tmp_path / "none.parquet")
    expect_failure(
        "not a betasweep baselines file", directory, baselines=directory / "trials.parquet"
    )


def test_a_damaged_sweep_json(tmp_path, known):
    (tmp_path / "sweep.json").write_text("{not json")
    with pytest.raises(UserError, match=r"sweep\.json: not a readable sweep specification"):
        asha_rungs(known.trials, tmp_path)


def test_curves_of_many_trials_are_a_named_sample_with_the_best(tmp_path):
    from reports.figure_curves import BEST_CURVES, MAX_CURVES, sample_trials
    from reports.searched import BETA_NORM

    many = [
        SyntheticTrial(f"t{i:04d}", 1.0 + i % 250, 10, recon=30.0 + i % 7, score=(i % 500) / 500)
        for i in range(1000)
    ]
    sweep = load_sweep(write_sweep(tmp_path / "big", many, parts=1), "big")
    shown, how = sample_trials(sweep.trials, BETA_NORM)
    assert len(shown) <= MAX_CURVES and how.startswith(f"{len(shown)} of 1000 trials drawn")
    best = sorted((t for t in sweep.trials if t.can_be_chosen), key=lambda t: -t.score)
    assert {t.trial_id for t in best[:BEST_CURVES]} <= {t.trial_id for t in shown}
    assert sample_trials(sweep.trials[:MAX_CURVES], BETA_NORM) == (sweep.trials[:MAX_CURVES], "")


def test_active_units_come_with_the_chosen_score_and_show_in_the_report(tmp_path):
    from reports import html
    from reports.selection import active_text

    trials = [
        SyntheticTrial("live", 2.0, 10, recon=40.0, score=0.7, active_units=6),
        SyntheticTrial("dead", 200.0, 10, recon=90.0, score=0.21, active_units=0),
        SyntheticTrial("old", 4.0, 10, recon=50.0, score=0.5),  # scored before the column
    ]
    sweep = load_sweep(write_sweep(tmp_path / "au", trials), "au")
    got = by_id(sweep)
    assert (got["live"].active_units, got["dead"].active_units, got["old"].active_units) == (
        6,
        0,
        None,
    )
    assert active_text(got["dead"]) == ", 0/10 active units" and active_text(got["old"]) == ""
    page = html.render(
        html.Page(
            sweep=sweep,
            frontier=frontier_members(sweep.trials),
            best=best_trials(sweep.trials),
            notes=[],
            sections={},
            traversal_notes=[],
            generated_at="now",
        )
    )
    assert "<th>active units</th>" in page and '<td class="num">0/10</td>' in page


def test_results_written_before_the_active_units_column_still_read(tmp_path):
    directory = write_sweep(tmp_path / "older", [SyntheticTrial("a", 1.0, 10, 30.0, 0.6)])
    for part in (directory / "results").glob("*.parquet"):
        table = pq.read_table(part)
        pq.write_table(table.drop_columns(["active_units"]), part)
    (trial,) = load_sweep(directory, "older").trials
    assert trial.score == pytest.approx(0.6) and trial.active_units is None
