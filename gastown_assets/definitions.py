"""Dagster entry point: `dagster asset materialize -m gastown_assets.definitions ...`."""

import dagster as dg

from gastown_assets.defs.datasets import role_datasets
from gastown_assets.defs.evaluation import adapter_beats_base, eval_report, promoted_adapter
from gastown_assets.defs.jobs import build_datasets_job, train_adapter_job
from gastown_assets.defs.prune import prune_job, prune_weekly
from gastown_assets.defs.resources import GastownConfig, StoreIOManager, WandbConfig
from gastown_assets.defs.sensors import retrain_on_new_sessions
from gastown_assets.defs.serving import adapter_servable, served_adapters, served_adapters_on_promotion
from gastown_assets.defs.training import base_model, lora_adapter
from gastown_assets.defs.transcripts import raw_transcripts

gastown = GastownConfig.from_env()
defs = dg.Definitions(
    assets=[raw_transcripts, role_datasets, base_model, lora_adapter, eval_report, promoted_adapter, served_adapters],
    asset_checks=[adapter_beats_base, adapter_servable],
    sensors=[retrain_on_new_sessions, served_adapters_on_promotion],
    jobs=[build_datasets_job, train_adapter_job, prune_job],
    schedules=[prune_weekly],
    resources={
        "gastown": gastown,
        "wandb": WandbConfig.from_env(),
        # The trainer runs as its own process under Dagster Pipes (the run worker's container on
        # the GPU deployment); its logs and final metrics come back to this run.
        "trainer": dg.PipesSubprocessClient(),
        # Small pickled handles (paths + versions) live beside the data they point at.
        "io_manager": StoreIOManager(gastown=gastown),
    },
)
