"""Sweeps of the paper's comparison models (issue 15): DC-IGN and InfoGAN read no β, so
their sweeps search the latent size (and seeds), refuse β and the capacity options, and
InfoGAN refuses objectives it does not report. No Ray is started: the sweep is stopped at
its start."""

from __future__ import annotations

import json

import pytest

from sweep.cli import main
from sweep.spec import SweepSpec
from sweep.tune import space as tune_space
from trainables.config import ConfigError, TrialConfig

SHORT = ["--max-steps", "40", "--name", "m"]


@pytest.mark.parametrize("model", ["dcign", "infogan"])
def test_a_comparison_model_sweep_searches_latent_size_and_seeds_not_beta(tmp_path, started, model):
    grid = ["--search", "grid", "--latent", "5,10", "--samples", "3"]
    assert main(["run", "--model", model, *grid, *SHORT, "--storage", str(tmp_path)]) == 0
    (spec,) = started
    assert spec.beta is None and spec.beta_norm is None and spec.domains == {}
    assert spec.num_trials == 2 * 3  # latent sizes × seeds
    space = tune_space.param_space(spec)
    assert space["latent_size"] == {"grid_search": [5, 10]}
    assert space["seed"] == {"grid_search": [0, 1, 2]}
    config = TrialConfig.from_dict({**space, "latent_size": 5, "seed": 1})
    assert config.model == model and config.beta is None and config.objective is None
    assert SweepSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "dcign", "--beta", "1..4"], "--beta: model dcign does not use it"),
        (["--model", "infogan", "--beta-norm", "0.01"], "--beta-norm: model infogan does not"),
        (["--model", "dcign", "--capacity-max", "5"], "--capacity-max: model dcign does not"),
        (["--model", "infogan", "--metric", "recon"], "model infogan has no recon"),
        (["--model", "infogan", "--metric", "kl,score"], "model infogan has no kl"),
        (["--model", "infogan", "--architecture", "mlp"], "conv architecture only"),
        (["--model", "dcign", "--latent", "4,8"], "latent_size must be an integer ≥ 5"),
        (["--model", "gan"], "model must be one of beta-vae, dcign, infogan"),
    ],
)
def test_what_a_comparison_model_does_not_use_is_refused_before_ray(
    tmp_path, started, capsys, args, message
):
    assert main(["run", *args, *SHORT, "--storage", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert started == [] and not (tmp_path / "m").exists()


def test_dcign_may_prune_on_reconstruction(tmp_path, started):
    assert main(["run", "--model", "dcign", "--metric", "recon,score", *SHORT,
                 "--storage", str(tmp_path)]) == 0  # fmt: skip
    assert started[0].objectives == ("recon", "score")


@pytest.mark.parametrize("field", ["beta", "beta_norm"])
def test_trial_config_refuses_beta_for_comparison_models_and_keeps_it_null(field):
    for model in ("dcign", "infogan"):
        with pytest.raises(ConfigError, match=f"{field} is not used by model {model}"):
            TrialConfig(model=model, **{field: 4.0})
        config = TrialConfig(model=model)
        assert config.beta is None and config.beta_norm is None
        assert TrialConfig.from_dict(config.to_dict()) == config


def test_infogan_defaults_follow_its_paper_and_dcign_follows_its_architecture():
    gan = TrialConfig(model="infogan")
    assert (gan.architecture, gan.optimizer, gan.learning_rate) == ("conv", "adam", 2e-4)
    with pytest.raises(ConfigError, match="infogan trains with adam"):
        TrialConfig(model="infogan", optimizer="adagrad")
    assert TrialConfig(model="dcign", architecture="mlp").learning_rate == 1e-2  # Adagrad's
    assert TrialConfig(model="dcign").learning_rate == 5e-4  # conv: Adam's
