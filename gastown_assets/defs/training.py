"""base_model and lora_adapter: Axolotl training on the resolved config."""


import dataclasses
from pathlib import Path

import dagster as dg

from gastown_assets.datasets.build import DatasetFile
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.training import launch
from gastown_assets.training.base_model import BaseModel, resolve_base_model
from gastown_assets.training.config import resolve
from gastown_assets.training.validate import check_role_config


@dataclasses.dataclass(frozen=True)
class Adapter:
    role: str
    path: str
    version: str
    config_digest: str
    data_versions: dict


@dg.asset(group_name="training", code_version="1")
def base_model(context: dg.AssetExecutionContext, gastown: GastownConfig) -> dg.Output[BaseModel]:
    """The model every role's adapter sits on. The local profile builds a tiny Qwen2 here
    (tokenizer trained on the shipped sample sessions, no hub access); the GPU profile names
    its hub model, fetched by the trainer's own cache."""
    s = gastown.settings
    model = resolve_base_model(s.config_dir, s.profile, s.data_dir)
    context.log.info(f"base model: {model.name_or_path}")
    return dg.Output(model, data_version=dg.DataVersion(model.digest),
                     metadata={"base_model": model.name_or_path, "built_locally": model.built,
                               "profile": s.profile})


@dg.asset(partitions_def=ROLES, group_name="training", code_version="1")
def lora_adapter(context: dg.AssetExecutionContext, gastown: GastownConfig, base_model: BaseModel,
                 train_dataset: DatasetFile, val_dataset: DatasetFile) -> dg.Output[Adapter]:
    """A LoRA adapter for the role, trained by Axolotl (the same trainer the GPU uses) on the
    resolved config base.yml ⊕ roles/<role>.yml ⊕ profiles/<profile>.yml ⊕ dataset paths."""
    role, settings = context.partition_key, gastown.settings
    check_role_config(settings.config_dir, role, settings.profile)  # fail before any training
    if train_dataset.rows == 0 or val_dataset.rows == 0:
        raise dg.Failure(
            f"{gastown.role(role).path}: {role} has {train_dataset.rows} train and {val_dataset.rows} val rows "
            f"({train_dataset.path}); training needs both: add sessions or change dataset.val_fraction"
        )
    data_versions = {"train_dataset": train_dataset.digest[:16], "val_dataset": val_dataset.digest[:16],
                     "base_model": base_model.digest}
    resolved = resolve(settings.config_dir, role, settings.profile, data_dir=settings.data_dir,
                       train_path=Path(train_dataset.path), val_path=Path(val_dataset.path))
    version = launch.adapter_version(resolved.digest, data_versions)
    adapters = settings.role_dir("adapters", role)
    resolved = resolved.for_run(adapters / f".work-{version}", f"{role}-{version}",
                                settings.role_dir("prepared", role) / train_dataset.digest[:16])
    context.log.info(f"training {role} adapter {version} with {settings.profile} profile")
    context.add_output_metadata({"resolved_config": dg.MetadataValue.md(f"```yaml\n{resolved.to_yaml()}```")})
    result = launch.train(resolved, adapters / f".work-{version}", adapters / version, on_line=context.log.info)
    adapter = Adapter(role, str(result.adapter_dir), version, resolved.digest, data_versions)
    return dg.Output(adapter, data_version=dg.DataVersion(version), metadata={
        "path": dg.MetadataValue.path(result.adapter_dir),
        "version": version,
        "config_digest": resolved.digest,
        "train_loss": result.last("loss"),
        "eval_loss": result.last("eval_loss"),
        "steps": len([h for h in result.log_history if "loss" in h]),
        "resumed_from": result.resumed_from or "",
        **{f"{k}_version": v for k, v in data_versions.items()},
    })
