"""`make gpu-smoke` and benchmarks/gpu_smoke.py on a machine without a GPU: they stop at once and
say why, before any install; the script's whole run (graph, metadata, summary) on the CPU."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from gastown_assets.training.vram import check_summary
from tests.support import REPO, small_local_configs

CUDA = torch.cuda.is_available()
MAKE = shutil.which("make")
OLD_DRIVER = "NVIDIA H100 80GB HBM3, 570.86.15, 81559 MiB"
NEW_DRIVER = "NVIDIA H100 80GB HBM3, 580.65.06, 81559 MiB"


def _path_without_nvidia_smi(extra: Path | None = None) -> str:
    dirs = [d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "nvidia-smi").exists()]
    return os.pathsep.join(([str(extra)] if extra else []) + dirs)


def _fake_nvidia_smi(bin_dir: Path, line: str, status: int = 0) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    tool = bin_dir / "nvidia-smi"
    tool.write_text(f"#!/bin/sh\necho '{line}'\nexit {status}\n")
    tool.chmod(0o755)
    return bin_dir


def _make(target: str, tmp_path: Path, path: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            MAKE,
            "--no-print-directory",
            "-C",
            str(REPO),
            target,
            f"GPU_VENV={tmp_path / 'venv'}",
            f"GASTOWN_DATA_DIR={tmp_path / 'data'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": path},
    )


@pytest.mark.skipif(MAKE is None, reason="no make")
def test_make_gpu_smoke_without_an_nvidia_driver_stops_before_any_venv_or_download(tmp_path):
    done = _make("gpu-smoke", tmp_path, _path_without_nvidia_smi())
    assert done.returncode != 0
    assert "gpu-smoke: no CUDA: nvidia-smi not found" in done.stderr
    assert not (tmp_path / "venv").exists() and not (tmp_path / "data").exists()


@pytest.mark.skipif(MAKE is None, reason="no make")
@pytest.mark.parametrize(
    "line,status,expected,ok",
    [
        (
            "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.",
            9,
            "no CUDA: nvidia-smi lists no GPU",
            False,
        ),
        (OLD_DRIVER, 0, "NVIDIA driver 570 is older than 580", False),
        (NEW_DRIVER, 0, "gpu-smoke: " + NEW_DRIVER, True),
    ],
)
def test_gpu_check_reads_nvidia_smi(tmp_path, line, status, expected, ok):
    fake = _fake_nvidia_smi(tmp_path / "bin", line, status)
    done = _make("gpu-check", tmp_path, _path_without_nvidia_smi(fake))
    assert (done.returncode == 0) is ok, done.stderr
    assert expected in done.stdout + done.stderr
    assert not (tmp_path / "venv").exists()


@pytest.mark.skipif(CUDA, reason="checks the no-CUDA exit")
def test_script_without_cuda_exits_2_and_writes_nothing(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu_smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GASTOWN_DATA_DIR": str(tmp_path / "data")},
    )
    assert done.returncode == 2
    assert "gpu-smoke: no CUDA: torch" in done.stderr and "sees no GPU" in done.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.slow
def test_whole_run_on_the_cpu_gives_a_summary_of_every_asset(tmp_path):
    """--allow-cpu with the tiny profile cut to 4 steps and a short eval: the same graph, metadata
    and summary as on a GPU, with the GPU figures absent."""
    configs = small_local_configs(tmp_path / "configs", max_steps=4)
    tiny = configs / "profiles" / "tiny.yml"
    profile = yaml.safe_load(tiny.read_text())
    profile["eval"] = {"replay_points": 3, "max_new_tokens": 12, "loss_rows": 6, "examples": 1}
    tiny.write_text(yaml.safe_dump(profile, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(GASTOWN_DATA_DIR=str(tmp_path / "data"), GASTOWN_CONFIG_DIR=str(configs), GASTOWN_PROFILE="local")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu_smoke", "--profile", "tiny", "--allow-cpu"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "gpu-smoke: role polecat, profile tiny, on no GPU" in done.stdout
    [path] = (tmp_path / "data" / "benchmarks").glob("gpu-smoke-*-cpu.json")
    assert f"summary: {path}" in done.stdout
    s = json.loads(path.read_text())
    assert (s["kind"], s["role"], s["profile"], s["success"], s["problems"]) == (
        "gastown-gpu-smoke",
        "polecat",
        "tiny",
        True,
        [],
    )
    t = s["train"]
    assert t["steps"] == 4 and t["trained_tokens"] > 0 and t["trained_tokens_per_s"] > 0 and t["steps_per_s"] > 0
    assert t["first_loss"] > 0 and t["peak_allocated_gib"] is None and s["gpu"] is None
    e = s["eval"]
    assert e["replay_points"] == 3 and e["base_val_loss"] > 0 and e["adapter_val_loss"] > 0
    report = json.loads((tmp_path / "data" / "reports" / "polecat" / "report.json").read_text())
    assert (
        e["adapter_val_loss"] == report["adapter_val_loss"]
        and e["adapter"]["parse_rate"] == report["replay"]["adapter"]["parse_rate"]
    )
    steps = {a["step"]: a for a in s["assets"]}
    assert steps["role_datasets"]["assets"] == ["train_dataset", "val_dataset"]
    assert {"raw_transcripts", "base_model", "lora_adapter", "eval_report", "promoted_adapter"} <= set(steps)
    assert steps["lora_adapter"]["seconds"] > 1 and s["wall_s"] >= sum(a["seconds"] for a in s["assets"]) - 1
    assert s["vram"]["shape"]["hidden_size"] == 64 and s["vram"]["config"]["sequence_len"] == 1024
    with pytest.raises(ValueError, match="no peak measured"):
        check_summary(s, str(path))
