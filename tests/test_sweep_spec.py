"""SweepSpec and its parts, without Ray: the option grammar, the rules between options,
the step bookkeeping that keeps ASHA's rungs on scored steps, and the Tune search space."""

from __future__ import annotations

import dataclasses
import json

import pytest

from sweep.domains import LIST, RANGE, VALUE
from sweep.errors import UserError
from sweep.spec import SweepSpec, asha_rungs, default_report_every, parse_beta, parse_latent
from sweep.tune import space as tune_space


def make_spec(**changes) -> SweepSpec:
    values = dict(
        name="s",
        storage="/tmp/sweeps",
        beta=parse_beta("1..250", "--beta"),
        beta_norm=None,
        latent=parse_latent("4,8"),
        samples=4,
        max_steps=80,
        grace_steps=10,
        reduction_factor=2,
        metric="score",
        search="optuna",
        concurrency=2,
        cpus_per_trial=1.0,
        gpus_per_trial=0.0,
        address=None,
        seed=0,
        max_failures=2,
        trial={"batch_size": 16},
    )
    values.update(changes)
    return SweepSpec(**values)


def test_beta_forms():
    assert parse_beta("4", "--beta").kind == VALUE
    listed = parse_beta("1,4,16", "--beta")
    assert (listed.kind, listed.values) == (LIST, (1.0, 4.0, 16.0))
    ranged = parse_beta(" 1 .. 250 ", "--beta")
    assert (ranged.kind, ranged.values, str(ranged)) == (RANGE, (1.0, 250.0), "1..250")
    assert str(parse_beta("0.5,1e3", "--beta")) == "0.5,1000"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("250..1", r"first end must be below its second \(did you mean 1..250\?\)"),
        ("0..10", "every value must be > 0"),
        ("abc", "'abc' is not a number"),
        ("1..", "a range needs both ends"),
        ("..5", "a range needs both ends"),
        ("1..2..3", "a range needs both ends"),
        ("4..4", "an empty range"),
        ("1,,4", "an empty item"),
        ("1,4,1", "appears twice"),
        ("-2", "every value must be > 0"),
        ("nan", "not a finite number"),
        ("", "is empty"),
    ],
)
def test_bad_beta_names_the_option_and_value(text, message):
    with pytest.raises(UserError, match=message) as caught:
        parse_beta(text, "--beta")
    assert str(caught.value).startswith("--beta")


def test_latent_forms_and_errors():
    assert parse_latent("4..16").values == (4, 16)
    assert parse_latent("5,10,20").values == (5, 10, 20)
    for text, message in [("0", "≥ 1"), ("4.5", "not an integer"), ("8..4", "below")]:
        with pytest.raises(UserError, match=message):
            parse_latent(text)


def test_spec_round_trips_through_json():
    spec = make_spec(beta=None, beta_norm=parse_beta("0.001..0.1", "--beta-norm"))
    again = SweepSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert again.searched == "beta_norm"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"samples": 0}, "--samples must be an integer ≥ 1"),
        ({"grace_steps": 100}, "--grace-steps 100 is more than --max-steps 80"),
        ({"reduction_factor": 1}, "--reduction-factor must be an integer ≥ 2"),
        ({"metric": "loss"}, "--metric 'loss': expected one of score, recon, elbo"),
        ({"search": "bohb"}, "--search 'bohb'"),
        ({"concurrency": 0}, "--concurrency must be"),
        ({"cpus_per_trial": 0.0}, "--cpus-per-trial must be > 0"),
        ({"gpus_per_trial": -1.0}, "--gpus-per-trial must be a number ≥ 0"),
        ({"gpus_per_trial": 1.5}, "above 1 a trial takes whole GPUs"),
        ({"name": "../up"}, "--name '../up'"),
        ({"beta_norm": parse_beta("0.1", "--beta-norm")}, "give --beta or --beta-norm, not both"),
        ({"search": "grid"}, "--search grid needs lists: --beta 1..250 is a range"),
        ({"trial": {"batch_size": 1}}, "--batch-size: batch_size must be an integer ≥ 2"),
        ({"trial": {"architecture": "resnet"}}, "--architecture: architecture must be one of"),
        ({"trial": {"loop_score_protocol": "huge"}}, "--loop-score-protocol"),
        ({"trial": {"steps": 5}}, "the sweep sets steps itself"),
        ({"trial": {"score_every": 0}}, "--metric score needs --score-every > 0"),
        ({"trial": {"score_every": 3}}, "--grace-steps 10 is not a multiple of --score-every 3"),
    ],
)
def test_spec_rejects(changes, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_spec(**changes)


def test_other_metrics_do_not_need_in_loop_scores():
    spec = make_spec(metric="recon", trial={"score_every": 0})
    assert spec.base_config().score_every == 0
    assert spec.tune_metric == "latest_recon" and spec.mode == "min"
    assert make_spec().tune_metric == "latest_score" and make_spec().mode == "max"


def test_steps_follow_the_grace_period_so_rungs_are_scored_and_checkpointed():
    config = make_spec(max_steps=800, grace_steps=250).base_config()
    assert config.steps == 800
    assert (config.report_every, config.score_every, config.checkpoint_every) == (50, 250, 250)
    for k in range(2):  # ASHA's rungs at grace·rf^k land on scored, checkpointed steps
        rung = 250 * 2**k
        assert rung % config.score_every == 0 and rung % config.checkpoint_every == 0
    assert default_report_every(1000) == 100 and default_report_every(7) == 7
    given = make_spec(trial={"report_every": 5, "checkpoint_every": 20}).base_config()
    assert (given.report_every, given.score_every, given.checkpoint_every) == (5, 10, 20)


def test_cpu_trials_score_with_the_tiny_protocol_unless_told():
    cpu = make_spec(gpus_per_trial=0.0).base_config()
    assert (cpu.loop_score_protocol, cpu.final_score_protocol) == ("tiny", "tiny")
    assert cpu.score_growth == 1
    gpu = make_spec(gpus_per_trial=0.5).base_config()
    assert (gpu.loop_score_protocol, gpu.final_score_protocol) == ("fast", "paper")
    told = make_spec(trial={"final_score_protocol": "fast"}).base_config()
    assert told.final_score_protocol == "fast"


def test_trial_seeds_and_counts():
    assert make_spec().seeds == (0,) and make_spec().num_trials == 4
    grid = make_spec(search="grid", beta=parse_beta("1,4,16", "--beta"), samples=2, seed=7)
    assert grid.seeds == (7, 8) and grid.num_trials == 3 * 2 * 2


def test_param_space_is_a_whole_trial_config_with_tune_domains():
    from ray.tune.search.sample import Categorical, Float

    spec = make_spec()
    space = tune_space.param_space(spec)
    assert isinstance(space["beta"], Float) and space["beta_norm"] is None
    assert isinstance(space["latent_size"], Categorical)
    assert space["steps"] == 80 and space["batch_size"] == 16 and space["device"] == "auto"
    assert set(space) == set(spec.base_config().to_dict())
    assert tune_space.num_samples(spec) == 4

    grid = dataclasses.replace(spec, search="grid", beta=parse_beta("1,4", "--beta"), samples=2)
    space = tune_space.param_space(grid)
    assert space["beta"] == {"grid_search": [1.0, 4.0]}
    assert space["latent_size"] == {"grid_search": [4, 8]}
    assert space["seed"] == {"grid_search": [0, 1]}
    assert tune_space.num_samples(grid) == 1


def test_beta_range_is_log_uniform_and_latent_range_covers_both_ends():
    spec = make_spec(latent=parse_latent("4..6"))
    space = tune_space.param_space(spec)
    samples = [space["beta"].sample() for _ in range(2000)]
    assert min(samples) >= 1 and max(samples) <= 250
    below_16 = sum(s < 15.81 for s in samples) / len(samples)  # √250: half of log-uniform
    assert 0.45 < below_16 < 0.55
    assert {space["latent_size"].sample() for _ in range(200)} == {4, 5, 6}


def _suggestions(spec: SweepSpec, n: int) -> list[tuple[float, int]]:
    searcher = tune_space.search_algorithm(spec)
    searcher.set_search_properties(spec.tune_metric, spec.mode, tune_space.param_space(spec))
    configs = []
    for i in range(n):
        config = searcher.suggest(f"t{i}")
        configs.append((config["beta"], config["latent_size"]))
        searcher.on_trial_complete(f"t{i}", {spec.tune_metric: 0.5, "step": 80})
    return configs


def test_optuna_searcher_is_seeded_and_limited():
    spec = make_spec(seed=3, concurrency=2)
    searcher = tune_space.search_algorithm(spec)
    assert type(searcher).__name__ == "ConcurrencyLimiter" and searcher.max_concurrent == 2
    assert type(searcher.searcher._sampler).__name__ == "TPESampler"
    first = _suggestions(spec, 12)  # past TPE's 10 random start-up trials
    assert first == _suggestions(spec, 12)
    assert first != _suggestions(dataclasses.replace(spec, seed=4), 12)
    assert all(1 <= beta <= 250 and latent in (4, 8) for beta, latent in first)
    scheduler = tune_space.scheduler(make_spec())
    assert scheduler._time_attr == "step" and scheduler._max_t == 80


def test_a_score_growth_of_the_reduction_factor_scores_exactly_the_rungs():
    trial = {"score_growth": 2, "loop_score_protocol": "fast", "final_score_protocol": "fast"}
    spec = make_spec(max_steps=80, grace_steps=10, reduction_factor=2, trial=trial)
    config = spec.base_config()
    assert [s for s in range(1, 80) if config.is_score_step(s)] == [10, 20, 40] == asha_rungs(spec)
    thirds = make_spec(max_steps=90, reduction_factor=3, trial={"score_growth": 3})
    assert [s for s in range(1, 90) if thirds.base_config().is_score_step(s)] == [10, 30]


def test_a_score_growth_that_skips_a_rung_is_refused():
    with pytest.raises(UserError, match=r"--score-growth 3 leaves ASHA's rung at step 20"):
        make_spec(trial={"score_growth": 3})
    assert make_spec(trial={"score_growth": 2}).base_config().score_growth == 2
