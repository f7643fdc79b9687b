"""Prepare a training run, run it, and collect the finished adapter.

The trainer is `python -m gastown_assets.training.run` (through `accelerate launch` on more
than one GPU). lora_adapter starts it under Dagster Pipes; `train` here runs it as a plain child
process (scripts, tests). Training happens in a work dir keyed by the adapter version, so a killed
or preempted run resumes from its last checkpoint; the adapter is moved into place in one rename.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from gastown_assets.atomic import replace_dir, write_text
from gastown_assets.config import ResolvedConfig

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")
HISTORY_FILE = "log_history.json"  # written by the reporter plugin when training ends
STATE_FILE = "trainer_state.json"  # the HF Trainer's, from the output dir or the last checkpoint
# What an adapter folder holds: PEFT's two files and what explains how they were made.
ADAPTER_DIR_FILES = (*ADAPTER_FILES, "resolved_config.yml", HISTORY_FILE, STATE_FILE)


@dataclass
class TrainResult:
    adapter_dir: Path
    log_history: list[dict] = field(default_factory=list)
    resumed_from: str | None = None


@dataclass(frozen=True)
class Launch:
    command: list[str]
    config_path: Path
    resumed_from: str | None


class TrainingFailed(RuntimeError):
    pass


def adapter_version(config_digest: str, data_versions: dict[str, str]) -> str:
    """Same config, data and base model give the same version, so a rerun finds its checkpoints."""
    data = hashlib.sha256("|".join(sorted(data_versions.values())).encode()).hexdigest()
    return f"{config_digest[:8]}-{data[:8]}"


def prepared_key(data_versions: dict[str, str]) -> str:
    """Axolotl's tokenized-dataset cache folder: new data or a new tokenizer, a new folder.
    Axolotl keys its own cache by dataset path and config, not content, so the same path with
    new rows would otherwise train on the stale copy."""
    raw = "|".join(f"{k}={v}" for k, v in sorted(data_versions.items()))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def latest_checkpoint(work_dir: Path) -> Path | None:
    """The newest checkpoint the trainer finished writing (its trainer_state.json is last)."""
    points = [
        p
        for p in work_dir.glob("checkpoint-*")
        if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").is_file()
    ]
    return max(points, key=lambda p: int(p.name.split("-")[-1]), default=None)


def trainer_command(config_path: Path | str, num_processes: int = 1) -> list[str]:
    """A config file, or a job URI in the object store (training/remote.py)."""
    module = ["-m", "gastown_assets.training.run", str(config_path)]
    if num_processes > 1:
        return [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(num_processes), *module]
    return [sys.executable, *module]


def prepare(resolved: ResolvedConfig, work_dir: Path, num_processes: int = 1) -> Launch:
    """Write the run's config into the work dir, resuming from its latest checkpoint if any."""
    cfg = dict(resolved.axolotl, output_dir=str(work_dir))  # also for a config resolved elsewhere
    checkpoint = latest_checkpoint(work_dir) if work_dir.exists() else None
    if checkpoint:
        cfg["resume_from_checkpoint"] = str(checkpoint)
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path = work_dir / "resolved_config.yml"
    write_text(config_path, ResolvedConfig(resolved.role, resolved.profile, cfg, resolved.sources).to_yaml())
    return Launch(trainer_command(config_path, num_processes), config_path, str(checkpoint) if checkpoint else None)


def train(
    resolved: ResolvedConfig,
    work_dir: Path,
    adapter_dir: Path,
    on_line: Callable[[str], None] = print,
    env: dict[str, str] | None = None,
) -> TrainResult:
    """Run the trainer as a plain child process (no Dagster) and collect the adapter."""
    launch = prepare(resolved, work_dir)
    _run(launch.command, on_line, env)
    return collect(work_dir, adapter_dir, launch.resumed_from)


def _run(cmd: list[str], on_line: Callable[[str], None], env: dict[str, str] | None) -> None:
    tail: list[str] = []
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})}, bufsize=1
    )
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.rstrip("\n").split("\r")[-1]  # progress bars redraw with \r on the same line
        if "[gastown] " in line:
            on_line(line.split("[gastown] ", 1)[1])
        tail = (tail + [line])[-40:]
    if proc.wait() != 0:
        raise TrainingFailed(f"axolotl exited with {proc.returncode}; last lines:\n" + "\n".join(tail))


def collect(work_dir: Path, adapter_dir: Path, resumed_from: str | None = None) -> TrainResult:
    """Move the finished adapter, its config and log history into adapter_dir in one rename."""
    missing = [name for name in (*ADAPTER_FILES, HISTORY_FILE) if not (work_dir / name).is_file()]
    if missing:
        raise TrainingFailed(f"{work_dir}: training finished without {', '.join(missing)}")
    staging = adapter_dir.with_name(f".{adapter_dir.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in (*ADAPTER_FILES, "resolved_config.yml", HISTORY_FILE):
        shutil.copy2(work_dir / name, staging / name)
    state = work_dir / STATE_FILE if (work_dir / STATE_FILE).is_file() else None
    last = latest_checkpoint(work_dir)
    state = state or (last / STATE_FILE if last else None)
    if state:
        shutil.copy2(state, staging / STATE_FILE)
    history = orjson.loads((work_dir / HISTORY_FILE).read_bytes())
    replace_dir(staging, adapter_dir)
    shutil.rmtree(work_dir, ignore_errors=True)  # checkpoints are only for resuming this version
    return TrainResult(adapter_dir, history, resumed_from)
