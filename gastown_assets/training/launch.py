"""Launch a training run in a child process and collect the finished adapter.

The child is `python -m gastown_assets.training.run`; its log lines are passed to `on_line` as
they come. Training happens in a work dir keyed by the adapter version, so a killed run resumes
from its last checkpoint; the finished adapter is moved into place in one rename.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from gastown_assets.atomic import replace_dir, write_text
from gastown_assets.training.config import ResolvedConfig

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")
LOG_DICT = re.compile(r"\{'(?:loss|eval_loss|train_runtime)'.*?\}")


@dataclass
class TrainResult:
    adapter_dir: Path
    log_history: list[dict] = field(default_factory=list)
    resumed_from: str | None = None

    def last(self, key: str) -> float | None:
        values = [h[key] for h in self.log_history if key in h]
        return float(values[-1]) if values else None


class TrainingFailed(RuntimeError):
    pass


def adapter_version(config_digest: str, data_versions: dict[str, str]) -> str:
    """Same config, data and base model give the same version, so a rerun finds its checkpoints."""
    data = hashlib.sha256("|".join(sorted(data_versions.values())).encode()).hexdigest()
    return f"{config_digest[:8]}-{data[:8]}"


def latest_checkpoint(work_dir: Path) -> Path | None:
    points = [p for p in work_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(points, key=lambda p: int(p.name.split("-")[-1]), default=None)


def parse_log_line(line: str) -> dict | None:
    """Trainer log dicts as Axolotl prints them: {'loss': '6.7', 'epoch': '0.1', ...}."""
    match = LOG_DICT.search(line)
    if not match:
        return None
    try:
        raw = ast.literal_eval(match.group(0))
    except (ValueError, SyntaxError):
        return None
    return {k: _number(v) for k, v in raw.items()}


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def train(
    resolved: ResolvedConfig,
    work_dir: Path,
    adapter_dir: Path,
    on_line: Callable[[str], None] = print,
    env: dict[str, str] | None = None,
) -> TrainResult:
    cfg = dict(resolved.axolotl, output_dir=str(work_dir))  # also for a config resolved elsewhere
    checkpoint = latest_checkpoint(work_dir) if work_dir.exists() else None
    if checkpoint:
        cfg["resume_from_checkpoint"] = str(checkpoint)
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path = work_dir / "resolved_config.yml"
    write_text(config_path, ResolvedConfig(resolved.role, resolved.profile, cfg, resolved.sources).to_yaml())
    history = _run([sys.executable, "-m", "gastown_assets.training.run", str(config_path)], on_line, env)
    result = TrainResult(adapter_dir, history, str(checkpoint) if checkpoint else None)
    _collect(work_dir, adapter_dir, resolved, history)
    return result


def _run(cmd: list[str], on_line: Callable[[str], None], env: dict[str, str] | None) -> list[dict]:
    history: list[dict] = []
    tail: list[str] = []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})}, bufsize=1)
    assert proc.stdout is not None
    for raw in proc.stdout:
        # tqdm redraws with \r; each redraw may carry a log dict
        for line in raw.rstrip("\n").split("\r"):
            entry = parse_log_line(line)
            if entry:
                history.append(entry)
                on_line(line.strip())
            tail = (tail + [line])[-40:]
    if proc.wait() != 0:
        raise TrainingFailed(f"axolotl exited with {proc.returncode}; last lines:\n" + "\n".join(tail))
    return history


def _collect(work_dir: Path, adapter_dir: Path, resolved: ResolvedConfig, history: list[dict]) -> None:
    missing = [name for name in ADAPTER_FILES if not (work_dir / name).is_file()]
    if missing:
        raise TrainingFailed(f"{work_dir}: training finished without {', '.join(missing)}")
    staging = adapter_dir.with_name(f".{adapter_dir.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in (*ADAPTER_FILES, "resolved_config.yml"):
        shutil.copy2(work_dir / name, staging / name)
    (staging / "log_history.json").write_bytes(orjson.dumps(history, option=orjson.OPT_INDENT_2))
    replace_dir(staging, adapter_dir)
    shutil.rmtree(work_dir, ignore_errors=True)  # checkpoints are only for resuming this version
