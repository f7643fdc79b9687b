"""base_model and lora_adapter: Axolotl training on the resolved config."""


import dataclasses
from pathlib import Path

import dagster as dg

from gastown_assets.datasets.build import DatasetFile
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig, WandbConfig
from gastown_assets.training import launch, remote, vram
from gastown_assets.training.base_model import BaseModel, resolve_base_model
from gastown_assets.training.config import ConfigError, Profile, ResolvedConfig, resolve
from gastown_assets.training.preflight import preflight


@dataclasses.dataclass(frozen=True)
class Adapter:
    role: str
    path: str
    version: str
    config_digest: str
    data_versions: dict


@dg.asset(group_name="training", code_version="1",
          retry_policy=dg.RetryPolicy(max_retries=2, delay=10))  # the GPU profile's model comes over the network
def base_model(context: dg.AssetExecutionContext, gastown: GastownConfig) -> dg.Output[BaseModel]:
    """The model every role's adapter sits on. The local profile builds a tiny Qwen2 here
    (tokenizer trained on the shipped sample sessions, no hub access); the GPU profile names
    its hub model, fetched by the trainer's own cache."""
    s = gastown.settings
    try:
        model = resolve_base_model(s.config_dir, s.profile, s.data_dir)
    except ConfigError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    store = s.store
    if model.built and store.remote:  # trainers on other machines stage it from the store
        local = Path(model.name_or_path)
        store.put_dir(local, store.local_key(local), sorted(p.name for p in local.iterdir() if p.is_file()))
    context.log.info(f"base model: {model.name_or_path}")
    return dg.Output(model, data_version=dg.DataVersion(model.digest),
                     metadata={"base_model": model.name_or_path, "built_locally": model.built,
                               "profile": s.profile})


GPU_LIMITS = {"dagster-k8s/config": {"container_config": {"resources": {"limits": {"nvidia.com/gpu": "1"}}}}}


# A preempted or crashed trainer is retried and resumes from its last checkpoint; config errors
# and empty datasets fail once (Failure(allow_retries=False)).
TRAINER_RETRIES = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)


@dg.asset(partitions_def=ROLES, group_name="training", code_version="2", pool="gpu", op_tags=GPU_LIMITS,
          retry_policy=TRAINER_RETRIES)
def lora_adapter(context: dg.AssetExecutionContext, gastown: GastownConfig, wandb: WandbConfig,
                 trainer: dg.PipesSubprocessClient, base_model: BaseModel,
                 train_dataset: DatasetFile, val_dataset: DatasetFile) -> dg.Output[Adapter]:
    """A LoRA adapter for the role, trained by Axolotl (the same trainer the GPU uses) on the
    resolved config base.yml ⊕ roles/<role>.yml ⊕ profiles/<profile>.yml ⊕ dataset paths.
    The config is checked against Axolotl's schema and the GPU's memory before training; the
    trainer runs through Dagster Pipes and resumes a killed run from its last checkpoint."""
    role, settings = context.partition_key, gastown.settings
    if train_dataset.rows == 0 or val_dataset.rows == 0:
        raise dg.Failure(
            f"{gastown.role(role).path}: {role} has {train_dataset.rows} train and {val_dataset.rows} val rows "
            f"({train_dataset.path}); training needs both: add sessions or change dataset.val_fraction",
            allow_retries=False,
        )
    data_versions = {"train_dataset": train_dataset.digest[:16], "val_dataset": val_dataset.digest[:16],
                     "base_model": base_model.digest}
    store = settings.store
    train_path, val_path = store.stage(train_dataset.path), store.stage(val_dataset.path)
    resolved = resolve(settings.config_dir, role, settings.profile, data_dir=settings.data_dir,
                       train_path=train_path, val_path=val_path)
    version = launch.adapter_version(resolved.digest, data_versions)
    adapters = settings.role_dir("adapters", role)
    resolved = _for_run(context, resolved, wandb, adapters / f".work-{version}", version,
                        settings.role_dir("prepared", role) / launch.prepared_key(data_versions))
    profile = gastown.load_profile()
    checks = _preflight(settings.config_dir, resolved, val_path, base_model, profile)
    processes = profile.gpu.count if profile.gpu else 1
    extras = {"role": role, "version": version}
    if store.remote:
        adapter_path, resumed_from, reported = _train_from_store(context, gastown, wandb, trainer, resolved,
                                                                 f"adapters/{role}/{version}", processes, extras)
    else:
        started = launch.prepare(resolved, adapters / f".work-{version}", processes)
        if started.resumed_from:
            context.log.info(f"resuming {role} adapter {version} from {started.resumed_from}")
        context.log.info(f"training {role} adapter {version} with {settings.profile} profile: {started.command}")
        reported = trainer.run(context=context, command=started.command, env=wandb.trainer_env(),
                               extras=extras).get_results()
        result = launch.collect(adapters / f".work-{version}", adapters / version, started.resumed_from)
        adapter_path, resumed_from = str(result.adapter_dir), started.resumed_from or ""
    adapter = Adapter(role, adapter_path, version, resolved.digest, data_versions)
    trainer_metadata = {k: v for r in reported for k, v in (r.metadata or {}).items()}
    return dg.Output(adapter, data_version=dg.DataVersion(version), metadata={
        "adapter_path": dg.MetadataValue.path(adapter_path),  # "path" is the IO manager's
        "version": version,
        "config_digest": resolved.digest,
        "resumed_from": resumed_from,
        "wandb_mode": resolved.axolotl.get("wandb_mode", "disabled"),
        "resolved_config": dg.MetadataValue.md(f"```yaml\n{resolved.to_yaml()}```"),
        **checks, **trainer_metadata,
        **{f"{k}_version": v for k, v in data_versions.items()},
    })


def _train_from_store(context, gastown: GastownConfig, wandb: WandbConfig, trainer, resolved: ResolvedConfig,
                      adapter_key: str, processes: int, extras: dict) -> tuple[str, str, list]:
    """The trainer gets a job in the object store, stages its inputs, and uploads the adapter
    under adapter_key; it may run on another machine that shares only the store."""
    store = gastown.settings.store
    job = remote.write_job(store, resolved, adapter_key, processes)
    command = launch.trainer_command(job)
    context.log.info(f"training {resolved.role} adapter from job {job}: {command}")
    env = {**wandb.trainer_env(), **gastown.storage_env(), "GASTOWN_DATA_DIR": store.url,
           "GASTOWN_WORK_DIR": str(store.local)}
    reported = trainer.run(context=context, command=command, env=env, extras=extras).get_results()
    if not store.exists(f"{adapter_key}/{launch.ADAPTER_FILES[0]}"):
        raise dg.Failure(f"the trainer finished but {store.uri(adapter_key)} has no {launch.ADAPTER_FILES[0]}")
    # Where it resumed is the trainer's own metadata (resumed_from_step): its checkpoints are local to it.
    return store.uri(adapter_key), "", reported


def _for_run(context, resolved: ResolvedConfig, wandb: WandbConfig, work_dir: Path, version: str,
             prepared_dir: Path) -> ResolvedConfig:
    """Run names from role and version; one W&B run per materialization; mode from env or profile."""
    role = resolved.role
    run = resolved.for_run(work_dir, f"{role}-{version}", prepared_dir, f"{role}-{version}-{context.run_id[:8]}")
    wanted = resolved.axolotl.get("wandb_mode")
    mode = wandb.run_mode(wanted)
    if mode != (wandb.mode or wanted):
        context.log.warning(f"W&B: no WANDB_API_KEY set, so the {role} run logs to W&B in {mode} mode")
    return dataclasses.replace(run, axolotl={**run.axolotl, "wandb_mode": mode})


def _preflight(config_dir: Path, resolved: ResolvedConfig, val_path: Path, base: BaseModel,
               profile: Profile) -> dict:
    """Axolotl's schema, our rules and the GPU memory estimate, before any training starts."""
    try:
        preflight(config_dir, resolved, val_path)
        est = vram.for_profile(profile, base.name_or_path, base.built, resolved.axolotl)
    except (ConfigError, vram.DoesNotFit) as exc:
        raise dg.Failure(f"pre-flight check failed, nothing trained: {exc}", allow_retries=False) from None
    if est is None:
        return {"vram_estimate": f"no model shape: add gpu.base_model to {profile.path}"}
    limit = profile.gpu.memory_gib if profile.gpu else None
    return {"vram_estimate_gib": round(est.total_gib, 2),
            "vram_estimate": dg.MetadataValue.md(est.to_markdown(limit)),
            "lora_parameters": est.lora_params}
