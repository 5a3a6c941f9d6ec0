"""The Parquet trial reports: column names, types and the schema version.

Written by the sweep (a Tune callback on the driver), read by `sweep report`, pandas,
pyarrow.dataset and duckdb. Config columns are derived from TrialConfig, so the files
always carry every knob of a trial. Pure pyarrow: importing this module never imports Ray.

Layout under <storage>/<sweep name>/:
  results/part-*.parquet  one row per reported result (RESULTS_SCHEMA), appended in parts
  trials.parquet          one row per trial (TRIALS_SCHEMA), rewritten as trials change
  baselines.parquet       optional: `sweep baselines` rows (BASELINES_SCHEMA)
"""

from __future__ import annotations

import pyarrow as pa

from trainables.config import CAPACITY_RAMP_FRACTION, config_fields

SCHEMA_VERSION = "1"
VERSION_KEY = b"betasweep.schema_version"
KIND_KEY = b"betasweep.schema"

_ARROW_TYPES = {"float": pa.float64(), "int": pa.int64(), "str": pa.string()}


def _config_columns() -> list[pa.Field]:
    columns = []
    for f in config_fields():
        base = str(f.type).replace(" | None", "")
        columns.append(pa.field(f.name, _ARROW_TYPES[base], nullable=True))
    return columns


CAPACITY_DESCRIPTION = (
    f"C (nats) of the capacity objective at this step, null under the beta objective: it "
    f"rises linearly from 0 to capacity_max over capacity_steps, by default "
    f"{CAPACITY_RAMP_FRACTION:g} × the trial's planned steps, then stays at capacity_max"
)

# What every report of a training run holds (trainables.train's report dicts use these keys).
METRIC_COLUMNS = [
    pa.field("step", pa.int64(), nullable=False),
    pa.field("recon", pa.float64()),  # Bernoulli NLL summed over pixels, batch mean (nats)
    pa.field("kl", pa.float64()),  # KL summed over latents, batch mean (nats)
    pa.field("kl_per_latent", pa.list_(pa.float64())),
    pa.field("elbo", pa.float64()),  # −(recon + kl), per image (nats)
    pa.field("loss", pa.float64()),  # the objective being minimised
    # The model family's own loss terms besides loss/recon/kl (DC-IGN's invariance term,
    # InfoGAN's discriminator, generator and information terms); null for the β-VAE.
    pa.field("losses", pa.map_(pa.string(), pa.float64())),
    pa.field("capacity", pa.float64(), metadata={b"description": CAPACITY_DESCRIPTION.encode()}),
    pa.field("score", pa.float64()),  # Higgins test accuracy measured at this step, else null
    pa.field("score_train", pa.float64()),
    pa.field("score_protocol", pa.string()),  # e.g. "higgins L=64 train=10000 test=5000 ..."
    # latents whose encoder mean varies over the data by > 0.01 (Burda et al.), with the score
    pa.field("active_units", pa.int64()),
    pa.field("images_per_s", pa.float64()),
    pa.field("diverged", pa.bool_()),
]

_KEY_COLUMNS = [
    pa.field("sweep", pa.string(), nullable=False),
    pa.field("trial_id", pa.string(), nullable=False),
]

RESULTS_SCHEMA = pa.schema(
    [
        *_KEY_COLUMNS,
        *_config_columns(),
        *METRIC_COLUMNS,
        pa.field("node", pa.string()),  # host that ran the trial
        pa.field("wall_time", pa.float64()),  # seconds since the trial (first) started
        pa.field("timestamp", pa.timestamp("us", tz="UTC")),
        pa.field("node_id", pa.string()),  # Ray node id: hosts can share a name
        pa.field("restored_from_step", pa.int64()),  # checkpoint step this run resumed from
    ],
    metadata={KIND_KEY: b"results", VERSION_KEY: SCHEMA_VERSION.encode()},
)

TRIAL_STATUSES = ("pending", "running", "terminated", "stopped-early", "diverged", "error")

TRIALS_SCHEMA = pa.schema(
    [
        *_KEY_COLUMNS,
        *_config_columns(),
        pa.field("status", pa.string(), nullable=False),  # one of TRIAL_STATUSES
        pa.field("stopped_early", pa.bool_()),  # pruned by ASHA before its last step
        pa.field("steps_done", pa.int64()),
        pa.field("last_recon", pa.float64()),
        pa.field("last_kl", pa.float64()),
        pa.field("last_elbo", pa.float64()),
        pa.field("last_score", pa.float64()),
        pa.field("last_score_protocol", pa.string()),
        pa.field("last_active_units", pa.int64()),  # beside last_score (same report)
        pa.field("best_score", pa.float64()),
        pa.field("best_score_step", pa.int64()),
        pa.field("checkpoint_path", pa.string()),  # latest persisted checkpoint directory
        pa.field("message", pa.string()),  # why it diverged or failed
        pa.field("node", pa.string()),
        pa.field("updated_at", pa.timestamp("us", tz="UTC")),
        # failures the trial survived by restarting from its latest checkpoint (a lost
        # node, a killed worker)
        pa.field("failures", pa.int64()),
        # Frontier sweeps only (--metric recon,score), else null: the trial's non-dominated
        # front (1 = Pareto front) among every trial recorded at the last ASHA rung it
        # reached, that rung's step, and whether its latest objectives are on the Pareto
        # front of all trials' latest objectives.
        pa.field("frontier_rank", pa.int64()),
        pa.field("frontier_rung", pa.int64()),
        pa.field("on_frontier", pa.bool_()),
    ],
    metadata={KIND_KEY: b"trials", VERSION_KEY: SCHEMA_VERSION.encode()},
)

BASELINES_SCHEMA = pa.schema(
    [
        pa.field("model", pa.string(), nullable=False),  # "Ground truth", "PCA", ...
        pa.field("paper_score", pa.float64()),  # the paper's table, percent; null if absent
        pa.field("paper_std", pa.float64()),
        pa.field("score_mean", pa.float64()),  # ours, percent
        pa.field("score_std", pa.float64()),
        pa.field("seeds", pa.int64()),
        pa.field("scores", pa.list_(pa.float64())),  # one per seed
        pa.field("active_units", pa.list_(pa.int64())),  # one per seed, beside `scores`
        pa.field("protocol", pa.string()),
    ],
    metadata={KIND_KEY: b"baselines", VERSION_KEY: SCHEMA_VERSION.encode()},
)


for _schema in (RESULTS_SCHEMA, TRIALS_SCHEMA, BASELINES_SCHEMA):
    # A metric named like a TrialConfig field would make the files ambiguous to readers.
    assert len(set(_schema.names)) == len(_schema.names), "duplicate column names"


class SchemaError(ValueError):
    """A Parquet file is not one of ours, or of a schema version this code cannot read."""


def check_schema(schema: pa.Schema, expected_kind: str, source: str) -> None:
    """Raise SchemaError unless `schema` is our `expected_kind` at SCHEMA_VERSION."""
    metadata = schema.metadata or {}
    kind = metadata.get(KIND_KEY, b"").decode() or None
    version = metadata.get(VERSION_KEY, b"").decode() or None
    if kind != expected_kind:
        raise SchemaError(f"{source}: not a betasweep {expected_kind} file (schema kind {kind!r})")
    if version != SCHEMA_VERSION:
        raise SchemaError(
            f"{source}: schema version {version!r} is not supported (this betasweep reads "
            f"version {SCHEMA_VERSION}); upgrade betasweep or re-run the sweep"
        )
