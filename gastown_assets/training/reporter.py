"""An Axolotl plugin that reports training progress as it happens.

`python -m gastown_assets.training.run` adds it to every run. Each trainer log (loss, learning
rate, grad norm, eval loss) becomes one line: on stdout, and in the Dagster run log when the
trainer runs under Dagster Pipes. At the end the trainer's log history is written next to the
checkpoints. Only the main process reports, so `accelerate launch` across GPUs logs once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from axolotl.integrations.base import BasePlugin
from transformers import TrainerCallback

from gastown_assets.atomic import atomic_open
from gastown_assets.training.launch import HISTORY_FILE

# What the run reports when it ends: read by run.py after Axolotl returns.
RUN_INFO: dict[str, Any] = {}
SHOWN = ("loss", "eval_loss", "learning_rate", "grad_norm", "epoch")
AXOLOTL_PEAK = "memory/max_allocated (GiB)"  # Axolotl logs the peak, then resets it, at every log


def format_log(step: int, max_steps: int, logs: dict[str, Any]) -> str:
    shown = " ".join(f"{k} {_fmt(logs[k])}" for k in SHOWN if k in logs)
    return f"step {step}/{max_steps} {shown}".rstrip()


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _pipes():
    try:
        from dagster_pipes import PipesContext
    except ImportError:  # trainer images without Dagster still train
        return None
    return PipesContext.get() if PipesContext.is_initialized() else None


def _wandb_url() -> str | None:
    import sys

    wandb = sys.modules.get("wandb")  # only when the run uses it; never imported here
    run = getattr(wandb, "run", None) if wandb else None
    return getattr(run, "url", None) if run else None


def track_cuda_memory(info: dict[str, Any], logs: dict[str, Any] | None = None) -> None:
    """torch's own peak GPU memory of this process (GiB), kept as the maximum seen: Axolotl resets
    the peak counters at every log, so it is read at each step end, each log and the end."""
    import torch

    if not torch.cuda.is_available():
        return
    gib, logged = 1024**3, (logs or {}).get(AXOLOTL_PEAK)
    logged = logged if isinstance(logged, (int, float)) else 0.0
    info["cuda_peak_allocated_gib"] = max(
        info.get("cuda_peak_allocated_gib", 0.0), logged, torch.cuda.max_memory_allocated() / gib
    )
    info["cuda_peak_reserved_gib"] = max(
        info.get("cuda_peak_reserved_gib", 0.0), torch.cuda.max_memory_reserved() / gib
    )
    if "cuda_device" not in info:  # first call, at train begin: the model is loaded, nothing trained
        info.update(
            cuda_device=torch.cuda.get_device_name(), cuda_allocated_at_start_gib=torch.cuda.memory_allocated() / gib
        )


def say(line: str) -> None:
    """A progress line: on stdout, and in the Dagster run log under Pipes."""
    print(f"[gastown] {line}", flush=True)
    pipes = _pipes()
    if pipes is not None:
        pipes.log.info(line)


class ReportCallback(TrainerCallback):
    def __init__(self, output_dir: Path):
        self.output_dir = output_dir

    def _say(self, line: str) -> None:
        say(line)

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            RUN_INFO.update(start_step=state.global_step, max_steps=state.max_steps)
            track_cuda_memory(RUN_INFO)
            self._say(f"training steps {state.global_step}..{state.max_steps}")

    def on_step_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            track_cuda_memory(RUN_INFO)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            track_cuda_memory(RUN_INFO, logs)
            RUN_INFO["wandb_url"] = RUN_INFO.get("wandb_url") or _wandb_url()
            self._say(format_log(state.global_step, state.max_steps, logs))

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self._say(f"checkpoint-{state.global_step} saved")

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            RUN_INFO.update(end_step=state.global_step, wandb_url=RUN_INFO.get("wandb_url") or _wandb_url())
            track_cuda_memory(RUN_INFO)
            with atomic_open(self.output_dir / HISTORY_FILE, "wb") as f:
                f.write(orjson.dumps(state.log_history, option=orjson.OPT_INDENT_2))


class CheckpointUpload(TrainerCallback):
    """Each saved checkpoint goes to the object store (training/remote.py), so a retry on
    another machine resumes from it. A failed upload is said, not fatal: training goes on."""

    def __init__(self, key: str):
        self.key = key

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        from gastown_assets.settings import Settings
        from gastown_assets.training.remote import upload_checkpoint

        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if not checkpoint.is_dir():
            return
        store = Settings.from_env().store
        try:
            prefix = upload_checkpoint(store, self.key, checkpoint)
        except OSError as exc:
            say(f"checkpoint-{state.global_step} NOT uploaded, a retry elsewhere cannot resume from it: {exc}")
        else:
            say(f"checkpoint-{state.global_step} uploaded to {store.uri(prefix)}")


class ReporterPlugin(BasePlugin):
    def add_callbacks_pre_trainer(self, cfg, model):
        import os

        from gastown_assets.training.remote import CHECKPOINT_KEY_ENV

        callbacks = [ReportCallback(Path(cfg.output_dir))]
        if os.environ.get(CHECKPOINT_KEY_ENV):  # a job from the object store (run_job)
            callbacks.append(CheckpointUpload(os.environ[CHECKPOINT_KEY_ENV]))
        return callbacks


class CpuPlugin(BasePlugin):
    """bf16 on a CPU: HF's Trainer refuses `bf16` without a GPU unless `use_cpu` is set, which
    Axolotl's schema does not expose. With it, a bf16 profile trains under CPU autocast (about
    2x the fp32 step rate on this project's AVX512-BF16 machines). No effect when CUDA is there."""

    def get_training_args(self, cfg):
        import torch

        return {"use_cpu": True} if cfg.bf16 is True and not torch.cuda.is_available() else {}
