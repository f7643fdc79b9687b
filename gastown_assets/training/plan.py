"""One training run of a role, planned before anything starts and finished after the trainer.

`plan_run` resolves the config (base ⊕ role ⊕ profile ⊕ dataset paths), derives the adapter
version and where the run writes, checks the config (Axolotl's schema, our rules, the GPU memory
estimate) and gives the command to start: on a local data dir the trainer works in
`adapters/<role>/.work-<version>` (resuming from its last checkpoint); on an object store it gets
a job in the bucket (training/remote.py). The lora_adapter asset runs the command under Dagster
Pipes; `finish_run` then collects the adapter and returns its handle.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gastown_assets.config import ConfigError, Profile, Project, ResolvedConfig
from gastown_assets.datasets.build import DatasetFile
from gastown_assets.meta import Markdown, PathRef
from gastown_assets.settings import Settings
from gastown_assets.storage import DataStore
from gastown_assets.training import launch, remote, vram
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.preflight import preflight


class PlanError(ValueError):
    """A run that must not start (bad config, no data): retrying cannot help."""


@dataclass(frozen=True)
class Adapter:
    """A trained adapter: where it is, its version and what it was trained from."""

    role: str
    path: str
    version: str
    config_digest: str
    data_versions: dict


@dataclass(frozen=True)
class WandbChoice:
    """W&B as the environment asks for it: WANDB_MODE (None: the profile's) and whether a key is set."""

    mode: str | None = None
    has_key: bool = False


@dataclass(frozen=True)
class RunPlan:
    role: str
    version: str
    resolved: ResolvedConfig
    command: list[str]
    work_dir: Path
    adapter_dir: Path  # local copy of the finished adapter
    adapter_key: str  # adapters/<role>/<version> in the data dir
    data_versions: dict
    remote: bool  # the trainer stages a job from the object store and uploads the adapter
    resumed_from: str | None = None
    checks: dict[str, Any] = field(default_factory=dict)  # pre-flight figures for metadata
    warnings: list[str] = field(default_factory=list)

    def log_to(self, log, profile: str) -> None:
        """Warnings, then where it resumes and the command (`log`: anything with warning and info)."""
        for warning in self.warnings:
            log.warning(warning)
        if self.resumed_from:
            log.info(f"resuming {self.role} adapter {self.version} from {self.resumed_from}")
        log.info(f"training {self.role} adapter {self.version} with {profile} profile: {self.command}")

    def trainer_env(self, store: DataStore, credentials: dict[str, str]) -> dict[str, str]:
        """On an object store the trainer stages its job from it and uploads the adapter there."""
        if not self.remote:
            return {}
        return {**credentials, "GASTOWN_DATA_DIR": store.url, "GASTOWN_WORK_DIR": str(store.local)}

    def metadata(self, adapter: Adapter, reported: dict[str, Any]) -> dict[str, Any]:
        """The asset's metadata: the adapter, the resolved config, pre-flight figures and what
        the trainer reported (on a bucket its own metadata says where it resumed)."""
        checks = dict(self.checks)
        if "vram_estimate_md" in checks:
            checks["vram_estimate"] = Markdown(checks.pop("vram_estimate_md"))
        return {
            "adapter_path": PathRef(adapter.path),  # "path" is the IO manager's
            "version": adapter.version,
            "config_digest": adapter.config_digest,
            "resumed_from": self.resumed_from or "",
            "wandb_mode": self.resolved.axolotl.get("wandb_mode", "disabled"),
            "resolved_config": Markdown(f"```yaml\n{self.resolved.to_yaml()}```"),
            **checks,
            **reported,
            **{f"{k}_version": v for k, v in adapter.data_versions.items()},
        }


def plan_run(
    settings: Settings,
    role: str,
    base: BaseModel,
    train: DatasetFile,
    val: DatasetFile,
    *,
    run_id: str,
    wandb: WandbChoice = WandbChoice(),
) -> RunPlan:
    """Everything up to the trainer's command. `wandb.mode` (the environment's) overrides the
    profile's; `online` without a key falls back to `offline` (a warning, not a failed run)."""
    if train.rows == 0 or val.rows == 0:
        raise PlanError(
            f"{settings.project.role(role).path}: {role} has {train.rows} train and {val.rows} "
            f"val rows ({train.path}); training needs both: add sessions or change dataset.val_fraction"
        )
    data_versions = {"train_dataset": train.digest[:16], "val_dataset": val.digest[:16], "base_model": base.digest}
    store = settings.store
    train_path, val_path = store.stage(train.path), store.stage(val.path)
    try:
        resolved = settings.project.resolve(role, train_path=train_path, val_path=val_path)
    except ConfigError as exc:
        raise PlanError(str(exc)) from None
    version = launch.adapter_version(resolved.digest, data_versions)
    adapters = settings.role_dir("adapters", role)
    work_dir = adapters / f".work-{version}"
    run = resolved.for_run(
        work_dir,
        f"{role}-{version}",
        settings.role_dir("prepared", role) / launch.prepared_key(data_versions),
        f"{role}-{version}-{run_id[:8]}",
    )
    warnings, mode = _wandb(run, wandb.mode, wandb.has_key)
    run = dataclasses.replace(run, axolotl={**run.axolotl, "wandb_mode": mode})
    profile = settings.project.profile
    checks = _preflight(settings.project, run, val_path, base, profile)
    processes = profile.gpu.count if profile.gpu else 1
    key = f"adapters/{role}/{version}"
    if store.remote:
        command = launch.trainer_command(remote.write_job(store, run, key, processes))
        started = None
    else:
        started = launch.prepare(run, work_dir, processes)
        command = started.command
    return RunPlan(
        role,
        version,
        run,
        command,
        work_dir,
        adapters / version,
        key,
        data_versions,
        store.remote,
        started.resumed_from if started else None,
        checks,
        warnings,
    )


def _wandb(run: ResolvedConfig, env_mode: str | None, has_key: bool) -> tuple[list[str], str]:
    wanted = run.axolotl.get("wandb_mode")
    mode = env_mode or wanted or "disabled"
    if mode == "online" and not has_key:
        return [f"W&B: no WANDB_API_KEY set, so the {run.role} run logs to W&B in offline mode"], "offline"
    return [], mode


def _preflight(project: Project, resolved: ResolvedConfig, val_path: Path, base: BaseModel, profile: Profile) -> dict:
    """Axolotl's schema, our rules and the GPU memory estimate, before any training starts."""
    try:
        preflight(project, resolved, val_path)
        est = vram.for_profile(profile, base.name_or_path, base.built, resolved.axolotl)
    except (ConfigError, vram.DoesNotFit) as exc:
        raise PlanError(f"pre-flight check failed, nothing trained: {exc}") from None
    if est is None:
        return {"vram_estimate": f"no model shape: add gpu.base_model to {profile.path}"}
    limit = profile.gpu.memory_gib if profile.gpu else None
    return {
        "vram_estimate_gib": round(est.total_gib, 2),
        "vram_estimate_md": est.to_markdown(limit),
        "lora_parameters": est.lora_params,
    }


def finish_run(settings: Settings, plan: RunPlan) -> Adapter:
    """The adapter the trainer left: moved into place (local) or checked in the bucket."""
    store = settings.store
    if plan.remote:
        if not store.exists(f"{plan.adapter_key}/{launch.ADAPTER_FILES[0]}"):
            raise launch.TrainingFailed(
                f"the trainer finished but {store.uri(plan.adapter_key)} has no {launch.ADAPTER_FILES[0]}"
            )
        path = store.uri(plan.adapter_key)
    else:
        path = str(launch.collect(plan.work_dir, plan.adapter_dir, plan.resumed_from).adapter_dir)
    return Adapter(plan.role, path, plan.version, plan.resolved.digest, plan.data_versions)
