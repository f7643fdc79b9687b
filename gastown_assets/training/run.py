"""Train one adapter with Axolotl: `python -m gastown_assets.training.run CONFIG.yml`.

Runs on its own (a GPU box, a container, each process of `accelerate launch`) or under Dagster
Pipes, started by the lora_adapter asset. It is Axolotl's own `train` entry point with the
offline-safe environment this project needs and the reporter plugin, which streams progress.
Under Pipes the main process also reports the final metrics as the asset's metadata.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

OFFLINE_ENV = {
    "AXOLOTL_DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
    "TOKENIZERS_PARALLELISM": "false",
}
REPORTER = "gastown_assets.training.reporter.ReporterPlugin"
CPU = "gastown_assets.training.reporter.CpuPlugin"


def final_metrics(history: list[dict], run_info: dict) -> dict:
    """What the asset shows once training ends: last losses, steps, where it resumed, W&B."""

    def last(key):
        values = [h[key] for h in history if key in h]
        return float(values[-1]) if values else None

    metrics = {
        "train_loss": last("loss"),
        "eval_loss": last("eval_loss"),
        "learning_rate": last("learning_rate"),
        "steps": run_info.get("end_step"),
        "resumed_from_step": run_info.get("start_step", 0),
        "wandb_url": run_info.get("wandb_url"),
        **{k: v for k, v in run_info.items() if k.startswith("cuda_")},
    }  # reporter.track_cuda_memory
    out = {k: v for k, v in metrics.items() if v is not None}
    if "wandb_url" in out:  # typed, so the Dagster UI shows a link
        out["wandb_url"] = {"raw_value": out["wandb_url"], "type": "url"}
    return out


def _main_process() -> bool:
    return os.environ.get("RANK", "0") == "0" and os.environ.get("LOCAL_RANK", "0") == "0"


def _pipes():
    """The Pipes session when Dagster started this (main) process; else nothing."""
    if "DAGSTER_PIPES_CONTEXT" not in os.environ or not _main_process():
        return contextlib.nullcontext()
    from dagster_pipes import open_dagster_pipes

    return open_dagster_pipes()


def train(config: str) -> None:
    import orjson
    import yaml
    from axolotl.cli.train import do_cli

    from gastown_assets.training.reporter import HISTORY_FILE, RUN_INFO

    with open(config, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    plugins = [*(cfg.get("plugins") or []), REPORTER, CPU]
    with _pipes() as pipes:
        sys.argv = [sys.argv[0]]  # Axolotl parses its own CLI flags from argv
        do_cli(config=config, plugins=list(dict.fromkeys(plugins)))
        history_path = Path(cfg["output_dir"]) / HISTORY_FILE
        if pipes is not None and _main_process() and history_path.is_file():
            history = orjson.loads(history_path.read_bytes())
            pipes.report_asset_materialization(metadata=final_metrics(history, RUN_INFO))


def run_job(job_uri: str) -> str:
    """A job from the object store (training/remote.py): stage, train, upload the adapter.
    The store is GASTOWN_DATA_DIR with its AWS_* credentials, as for the assets."""
    import subprocess

    from gastown_assets.settings import Settings
    from gastown_assets.training import launch, remote

    store = Settings.from_env().store
    job = remote.stage_job(store, job_uri)
    key = remote.work_key(store, job)
    if launch.latest_checkpoint(job.work_dir) is None:  # another machine may have got further
        fetched = remote.fetch_latest_checkpoint(store, key, job.work_dir)
        if fetched is not None:
            print(f"[gastown] fetched {fetched.name} from {store.uri(key)}", flush=True)
    os.environ[remote.CHECKPOINT_KEY_ENV] = key  # the reporter plugin uploads each checkpoint there
    started = launch.prepare(job.resolved, job.work_dir, job.num_processes)
    if started.resumed_from:
        print(f"[gastown] resuming from {started.resumed_from}", flush=True)
    if job.num_processes > 1:  # each accelerate process runs train() on the staged config
        subprocess.run(started.command, check=True)
    else:
        train(str(started.config_path))
    launch.collect(job.work_dir, job.adapter_dir, started.resumed_from)
    uri = remote.upload_adapter(store, job)
    remote.remove_checkpoints(store, key)
    print(f"[gastown] adapter uploaded to {uri}", flush=True)
    return uri


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m gastown_assets.training.run CONFIG.yml|JOB-URI", file=sys.stderr)
        return 2
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    from gastown_assets.storage import is_url

    if is_url(args[0]):
        run_job(args[0])
    else:
        train(args[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
