"""Training on a worker that shares only the object store with the run that asked for it.

lora_adapter writes a job (`jobs/<role>/<version>.yml`: the resolved Axolotl config with every
path under the data dir written as `{data_dir}/<key>`, and the adapter's key). The trainer,
given the job's URI, stages the datasets and the base model it names from the store into its
own working copy, trains there (resuming from a local checkpoint of the same version), and
uploads the adapter files under `adapters/<role>/<version>/`. The asset's handle, written after,
is the pointer to that version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gastown_assets.storage import DataStore
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.config import Profile, ResolvedConfig
from gastown_assets.training.launch import ADAPTER_DIR_FILES

PLACEHOLDER = "{data_dir}"


@dataclass(frozen=True)
class Job:
    resolved: ResolvedConfig  # with this machine's local paths
    work_dir: Path
    adapter_dir: Path  # local copy of the finished adapter
    adapter_key: str
    num_processes: int = 1


def _swap(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return new + value[len(old):] if value == old or value.startswith(old + "/") else value
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    return value


def write_job(store: DataStore, resolved: ResolvedConfig, adapter_key: str, num_processes: int = 1) -> str:
    """Store the job; local paths under the working copy become `{data_dir}/<key>`."""
    job = {"role": resolved.role, "profile": resolved.profile, "sources": list(resolved.sources),
           "adapter_key": adapter_key, "num_processes": num_processes,
           "axolotl": _swap(resolved.axolotl, str(store.local), PLACEHOLDER)}
    key = f"jobs/{resolved.role}/{adapter_key.rsplit('/', 1)[-1]}.yml"
    store.write_bytes(key, yaml.safe_dump(job, sort_keys=False).encode())
    return store.uri(key)


def _stage_input(store: DataStore, path: str, folder: bool = False) -> None:
    """Fetch `{data_dir}/<key>` into this machine's working copy unless it is there already."""
    if not path.startswith(PLACEHOLDER + "/"):
        return  # a hub id or a path this machine provides itself
    key = path[len(PLACEHOLDER) + 1:]
    if folder:
        if not (store.local / key / "config.json").is_file():
            store.stage_dir(store.uri(key), store.listdir(key))
    else:
        store.stage(store.uri(key))


def stage_job(store: DataStore, job_uri: str) -> Job:
    """The job with this machine's paths, its inputs staged from the store."""
    job = yaml.safe_load(store.read_bytes(store.key_of(job_uri)))
    cfg = job["axolotl"]
    for stanza in (*cfg.get("datasets", []), *cfg.get("test_datasets", [])):
        _stage_input(store, stanza["path"])
    _stage_input(store, str(cfg.get("base_model", "")), folder=True)
    local = _swap(cfg, PLACEHOLDER, str(store.local))
    resolved = ResolvedConfig(job["role"], job["profile"], local, tuple(job["sources"]))
    key = job["adapter_key"]
    return Job(resolved, Path(local["output_dir"]), store.local / key, key, int(job.get("num_processes", 1)))


def upload_adapter(store: DataStore, job: Job) -> str:
    """Every adapter file present, under the versioned key; returns the adapter's URI."""
    names = [n for n in ADAPTER_DIR_FILES if (job.adapter_dir / n).is_file()]
    return store.put_dir(job.adapter_dir, job.adapter_key, names)


def stage_base_model(store: DataStore, profile: Profile, base: BaseModel) -> str:
    """The base model on this machine: a built (converted or tiny) model comes from the store (the
    base_model asset uploads it under the profile's `{data_dir}/...` key); a hub id or a path is as it is."""
    path = profile.built_model_path or ""
    if not (base.built and store.remote and path.startswith(PLACEHOLDER + "/")):
        return base.name_or_path
    _stage_input(store, path, folder=True)
    return str(store.local / path[len(PLACEHOLDER) + 1:])
