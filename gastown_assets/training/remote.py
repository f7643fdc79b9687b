"""Training on a worker that shares only the object store with the run that asked for it.

lora_adapter writes a job (`jobs/<role>/<version>.yml`: the resolved Axolotl config with every
path under the data dir written as `{data_dir}/<key>`, and the adapter's key). The trainer,
given the job's URI, stages the datasets and the base model it names from the store into its
own working copy, trains there (resuming from a local checkpoint of the same version), and
uploads the adapter files under `adapters/<role>/<version>/`. The asset's handle, written after,
is the pointer to that version.

Checkpoints follow the bucket: each one the trainer saves is uploaded under
`adapters/<role>/.work-<version>/checkpoint-<step>/` (its trainer_state.json last: the mark
of a complete checkpoint, as on disk; older ones are then deleted), so a retry on another
machine, with an empty working copy, fetches the newest and resumes from it. The prefix is
removed once the adapter is uploaded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gastown_assets.config import Profile, ResolvedConfig
from gastown_assets.config.files import DATA_DIR
from gastown_assets.storage import DataStore
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.launch import ADAPTER_DIR_FILES, STATE_FILE

PLACEHOLDER = DATA_DIR  # the configs' `{data_dir}`, here for paths in a job on the store
# Set in the trainer's environment by run_job: where its checkpoints go in the store.
CHECKPOINT_KEY_ENV = "GASTOWN_CHECKPOINT_KEY"


@dataclass(frozen=True)
class Job:
    resolved: ResolvedConfig  # with this machine's local paths
    work_dir: Path
    adapter_dir: Path  # local copy of the finished adapter
    adapter_key: str
    num_processes: int = 1


def _swap(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return new + value[len(old) :] if value == old or value.startswith(old + "/") else value
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    return value


def write_job(store: DataStore, resolved: ResolvedConfig, adapter_key: str, num_processes: int = 1) -> str:
    """Store the job; local paths under the working copy become `{data_dir}/<key>`."""
    job = {
        "role": resolved.role,
        "profile": resolved.profile,
        "sources": list(resolved.sources),
        "adapter_key": adapter_key,
        "num_processes": num_processes,
        "axolotl": _swap(resolved.axolotl, str(store.local), PLACEHOLDER),
    }
    key = f"jobs/{resolved.role}/{adapter_key.rsplit('/', 1)[-1]}.yml"
    store.write_bytes(key, yaml.safe_dump(job, sort_keys=False).encode())
    return store.uri(key)


def _stage_input(store: DataStore, path: str, folder: bool = False) -> None:
    """Fetch `{data_dir}/<key>` into this machine's working copy unless it is there already."""
    if not path.startswith(PLACEHOLDER + "/"):
        return  # a hub id or a path this machine provides itself
    key = path[len(PLACEHOLDER) + 1 :]
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
    return str(store.local / path[len(PLACEHOLDER) + 1 :])


# --- checkpoints in the store ----------------------------------------------------------------


def work_key(store: DataStore, job: Job) -> str:
    """`adapters/<role>/.work-<version>`: the job's work dir, as a key."""
    return store.local_key(job.work_dir)


def _step(name: str) -> int | None:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if name.startswith("checkpoint-") and tail.isdigit() else None


def remote_checkpoints(store: DataStore, key: str) -> dict[int, list[str]]:
    """Complete checkpoints under `key` (their trainer_state.json is there): step -> file keys."""
    files: dict[int, list[str]] = {}
    for k in store.find(key):
        parts = k[len(key) + 1 :].split("/")
        step = _step(parts[0]) if len(parts) > 1 else None
        if step is not None:
            files.setdefault(step, []).append(k)
    return {
        step: keys for step, keys in files.items() if any(k.endswith(f"checkpoint-{step}/{STATE_FILE}") for k in keys)
    }


def upload_checkpoint(store: DataStore, key: str, checkpoint: Path) -> str:
    """Upload a finished checkpoint folder under `key/<its name>/`, trainer_state.json last,
    then delete the older ones from the store. Returns its prefix."""
    prefix = f"{key}/{checkpoint.name}"
    files = sorted((p for p in checkpoint.rglob("*") if p.is_file()), key=lambda p: (p.name == STATE_FILE, str(p)))
    for f in files:
        store.put(f"{prefix}/{f.relative_to(checkpoint).as_posix()}", f)
    step = _step(checkpoint.name)
    for older in [k for k in store.listdir(key) if (s := _step(k)) is not None and step is not None and s < step]:
        store.remove(f"{key}/{older}")
    return prefix


def fetch_latest_checkpoint(store: DataStore, key: str, work_dir: Path) -> Path | None:
    """Download the newest complete checkpoint under `key` into `work_dir` (into place by one
    rename); None when the store has none."""
    found = remote_checkpoints(store, key)
    if not found:
        return None
    step = max(found)
    dest = work_dir / f"checkpoint-{step}"
    work_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=work_dir))
    try:
        base = f"{key}/checkpoint-{step}/"
        for k in found[step]:
            target = staging / k[len(base) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            store.fetch(k, target)
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def remove_checkpoints(store: DataStore, key: str) -> None:
    """The finished version's checkpoints are only for resuming it: gone once it is uploaded."""
    if store.remote:
        store.remove(key)
