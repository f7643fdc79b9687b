"""The GPU path in one command (`make gpu-smoke`): the whole graph for one role on the shipped sample
sessions with the gpu-smoke profile (QLoRA 4-bit, bf16, sample packing, 8-bit AdamW on SmolLM2-135M
from its wheel: nothing from a model hub), then one summary, printed and written as JSON under
$GASTOWN_DATA_DIR/benchmarks/: the GPU, training tokens/s and steps/s, torch's peak VRAM next to
the pre-flight estimate, eval and replay figures for base and adapter, wall time per asset.

    python -m benchmarks.gpu_smoke [--role polecat] [--profile gpu-smoke] [--out DIR]

Without CUDA it exits with status 2 at once. `--allow-cpu` runs the same thing on the CPU (with a
CPU profile such as `tiny`): for testing this script, never a GPU measurement.

The graph runs in this process (Dagster's in-process executor, as `dg.materialize`); the trainer
is its own process under Dagster Pipes and reports its peak memory (training/reporter.py).
eval_report is the only step of this process that uses the GPU, so this process's peak is the
eval's.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NO_CUDA = 2
GIB = 1024**3
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "AXOLOTL_DO_NOT_TRACK": "1",
    "WANDB_MODE": "disabled",
}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def gpu_info() -> dict:
    """The GPU as torch sees it (device 0)."""
    import torch

    props = torch.cuda.get_device_properties(0)
    return {
        "name": props.name,
        "count": torch.cuda.device_count(),
        "compute_capability": f"sm_{props.major}{props.minor}",
        "memory_gib": round(props.total_memory / GIB, 2),
        "bf16": torch.cuda.is_bf16_supported(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "bitsandbytes": _version("bitsandbytes"),
    }


def no_cuda_reason() -> str | None:
    import torch

    if torch.cuda.is_available():
        return None
    build = f"torch {torch.__version__}" + (
        f" built for CUDA {torch.version.cuda}" if torch.version.cuda else " is a CPU-only build"
    )
    return f"no CUDA: {build} and sees no GPU"


def _step_times(instance, run_id: str) -> dict[str, float]:
    stats = sorted(instance.get_run_step_stats(run_id), key=lambda s: s.start_time or 0)
    return {s.step_key: (s.end_time - s.start_time) for s in stats if s.start_time and s.end_time}


def _failure(result) -> str | None:
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            message = (error.message if error else "").strip().splitlines()
            return f"step {event.step_key}: " + " ".join(message[:3])[:600]
    return None if result.success else "the run did not succeed"


def _raw(metadata_map) -> dict:
    return {k: getattr(v, "value", v) for k, v in metadata_map.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", default="polecat")
    parser.add_argument("--profile", default="gpu-smoke")
    parser.add_argument("--out", type=Path, help="where the JSON goes (default $GASTOWN_DATA_DIR/benchmarks)")
    parser.add_argument("--allow-cpu", action="store_true", help="run without CUDA (tests of this script)")
    args = parser.parse_args(argv)

    reason = no_cuda_reason()
    if reason and not args.allow_cpu:
        print(
            f"gpu-smoke: {reason}; this check needs a machine with an NVIDIA GPU (README: Check a GPU machine)",
            file=sys.stderr,
        )
        return NO_CUDA
    gpu = None if reason else gpu_info()
    if gpu and not gpu["bf16"]:
        print(
            f"gpu-smoke: {gpu['name']} ({gpu['compute_capability']}) has no bf16; the GPU recipe needs an "
            "Ampere or newer card",
            file=sys.stderr,
        )
        return NO_CUDA

    # The shipped samples, this profile, offline: before the definitions read the environment.
    from gastown_assets.samples import SESSIONS_DIR

    os.environ.update(GASTOWN_PROFILE=args.profile, GASTOWN_SESSIONS_DIR=str(SESSIONS_DIR))
    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)
    if os.environ.get("DAGSTER_HOME"):
        Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)

    import dagster as dg
    import orjson
    import torch

    from benchmarks import smoke_summary
    from gastown_assets.definitions import defs
    from gastown_assets.settings import Settings
    from gastown_assets.training import vram
    from gastown_assets.training.launch import HISTORY_FILE

    settings = Settings.from_env()
    if settings.store.remote:
        print(
            f"gpu-smoke: GASTOWN_DATA_DIR={settings.store.url}: the smoke reads its outputs from a local "
            "folder; unset it or point it at one",
            file=sys.stderr,
        )
        return NO_CUDA
    profile = settings.project.profile  # GASTOWN_PROFILE is args.profile (set above)
    if gpu and profile.gpu and int(gpu["compute_capability"][3:]) < int(profile.gpu.compute_capability[3:]):
        print(
            f"gpu-smoke: note: {gpu['name']} is {gpu['compute_capability']}, older than the "
            f"{profile.gpu.compute_capability} {profile.path.name} declares (see its gpu: section)",
            flush=True,
        )
    print(
        f"gpu-smoke: {args.role} with profile {args.profile} on "
        f"{gpu['name'] if gpu else 'the CPU (--allow-cpu)'}; outputs in {settings.data_dir}",
        flush=True,
    )

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    if gpu:
        torch.cuda.reset_peak_memory_stats()
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        partition_key=args.role,
        resources=defs.resources,
        instance=instance,
        raise_on_error=False,
        tags={"gastown/benchmark": "gpu-smoke"},
    )
    wall = time.perf_counter() - started
    eval_peak = torch.cuda.max_memory_allocated() / GIB if gpu else None

    meta, step_assets = {}, {}
    for event in result.get_asset_materialization_events():
        key = event.asset_key.to_user_string()
        meta[key] = _raw(event.materialization.metadata)
        step_assets.setdefault(event.step_key, []).append(key)
    adapter_meta = meta.get("lora_adapter", {})
    history = []
    if adapter_meta.get("adapter_path"):
        history_path = Path(adapter_meta["adapter_path"]) / HISTORY_FILE
        history = orjson.loads(history_path.read_bytes()) if history_path.is_file() else []
    report_path = settings.role_dir("reports", args.role) / "report.json"
    report = orjson.loads(report_path.read_bytes()) if "eval_report" in meta and report_path.is_file() else None

    # Today's estimate for this run: the built model's shape (or the profile's), the merged config.
    cfg = settings.project.axolotl(args.role)
    built = profile.built_model_path
    shape = vram.shape_from_config_json(Path(settings.project.fill(built))) if built else None
    shape = shape or (profile.gpu.base_model if profile.gpu else None)
    est = vram.estimate(shape, cfg) if shape else None

    summary = smoke_summary.build_summary(
        role=args.role,
        profile=args.profile,
        created=created,
        run_id=result.run_id,
        success=result.success,
        wall_s=wall,
        gpu=gpu,
        adapter_meta=adapter_meta,
        history=history,
        report=report,
        eval_peak_gib=eval_peak,
        estimate=est,
        estimate_inputs=vram.estimate_inputs(shape, cfg) if shape else None,
        step_seconds=_step_times(instance, result.run_id),
        step_assets=step_assets,
        failure=_failure(result),
    )
    path = smoke_summary.write_summary(summary, args.out or settings.data_dir / "benchmarks")
    print(smoke_summary.format_summary(summary))
    print(f"summary: {path}")
    return 1 if summary["problems"] else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))  # `python benchmarks/gpu_smoke.py` as well as `-m benchmarks.gpu_smoke`
    raise SystemExit(main())
