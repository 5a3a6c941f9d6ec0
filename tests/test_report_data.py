"""Reading a sweep's Parquet files: which score a trial has, the frontier and the best trials
of a sweep built from known results, the rungs, and every kind of bad input."""

from __future__ import annotations

import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from synthetic_sweep import FINAL_PROTOCOL, LOOP_PROTOCOL, SyntheticTrial, write_sweep

from reports.rungs import asha_rungs
from reports.selection import best_trials, frontier_members, status_notes
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


def test_the_final_protocol_score_wins_over_the_loop_score_at_the_last_step(known):
    b = by_id(known)["b"]
    # At step 1000 the loop score is 0.75 and the final-protocol score 0.80.
    assert b.score == pytest.approx(0.80) and b.score_protocol == FINAL_PROTOCOL
    assert b.score_is_final and b.score_step == 1000 and b.recon == pytest.approx(35.0)
    assert b.curve.score_final.sum() == 1 and b.curve.score_final[-1]


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
    (tmp_path / "sweep.json").write_text(
        json.dumps({"grace_steps": 100, "reduction_factor": 3, "max_steps": 1000})
    )
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
    directory = write_sweep(tmp_path / "s", [SyntheticTrial("a", 4.0, 10, 35.0, 0.8)])
    for part in (directory / "results").iterdir():
        part.unlink()
    expect_failure("no results yet", directory)


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
