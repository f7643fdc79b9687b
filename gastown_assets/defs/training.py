"""base_model and lora_adapter: Axolotl training on the resolved config."""

from pathlib import Path

import dagster as dg

from gastown_assets.config import ConfigError
from gastown_assets.datasets.build import DatasetFile
from gastown_assets.defs.metadata import to_dagster
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig, WandbConfig
from gastown_assets.training.base_model import BaseModel, resolve_base_model
from gastown_assets.training.plan import Adapter, PlanError, finish_run, plan_run


@dg.asset(
    group_name="training", code_version="2", retry_policy=dg.RetryPolicy(max_retries=2, delay=10)
)  # the GPU profile's model comes over the network
def base_model(context: dg.AssetExecutionContext, gastown: GastownConfig) -> dg.Output[BaseModel]:
    """The model every role's adapter sits on. The local profile converts SmolLM2-135M-Instruct
    from the GGUF in its wheel (no hub access), the tiny profile builds a small Qwen2 here; the
    GPU profile names its hub model, fetched by the trainer's own cache."""
    s = gastown.settings
    try:
        model = resolve_base_model(s.project)
    except ConfigError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    store = s.store
    if model.built and store.remote:  # trainers on other machines stage it from the store
        local = Path(model.name_or_path)
        store.put_dir(local, store.local_key(local), sorted(p.name for p in local.iterdir() if p.is_file()))
    context.log.info(f"base model: {model.name_or_path}")
    return dg.Output(
        model,
        data_version=dg.DataVersion(model.digest),
        metadata={"base_model": model.name_or_path, "built_locally": model.built, "profile": s.profile},
    )


GPU_LIMITS = {"dagster-k8s/config": {"container_config": {"resources": {"limits": {"nvidia.com/gpu": "1"}}}}}


# A preempted or crashed trainer is retried and resumes from its last checkpoint; config errors
# and empty datasets fail once (Failure(allow_retries=False)).
TRAINER_RETRIES = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)


@dg.asset(
    partitions_def=ROLES,
    group_name="training",
    code_version="3",
    pool="gpu",
    op_tags=GPU_LIMITS,
    retry_policy=TRAINER_RETRIES,
)
def lora_adapter(
    context: dg.AssetExecutionContext,
    gastown: GastownConfig,
    wandb: WandbConfig,
    trainer: dg.PipesSubprocessClient,
    base_model: BaseModel,
    train_dataset: DatasetFile,
    val_dataset: DatasetFile,
) -> dg.Output[Adapter]:
    """A LoRA adapter for the role, trained by Axolotl (the same trainer the GPU uses) on the
    resolved config base.yml ⊕ roles/<role>.yml ⊕ profiles/<profile>.yml ⊕ dataset paths.
    The config is checked against Axolotl's schema and the GPU's memory before training; the
    trainer runs through Dagster Pipes and resumes a killed run from its last checkpoint."""
    settings, data = gastown.settings, (base_model, train_dataset, val_dataset)
    try:
        plan = plan_run(settings, context.partition_key, *data, run_id=context.run_id, wandb=wandb.choice())
    except PlanError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    plan.log_to(context.log, settings.profile)
    env = {**wandb.trainer_env(), **plan.trainer_env(settings.store, gastown.storage_env())}
    extras = {"role": plan.role, "version": plan.version}
    reported = trainer.run(context=context, command=plan.command, env=env, extras=extras).get_results()
    adapter = finish_run(settings, plan)
    metadata = plan.metadata(adapter, {k: v for r in reported for k, v in (r.metadata or {}).items()})
    return dg.Output(adapter, data_version=dg.DataVersion(adapter.version), metadata=to_dagster(metadata))
