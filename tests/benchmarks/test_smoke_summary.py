"""The summary `make gpu-smoke` prints and writes, from constructed inputs shaped like a real run's
(Axolotl's log history keys, the reporter's cuda_* metadata, report.json): no GPU needed."""

import json
import math
from pathlib import Path

import pytest

from benchmarks.smoke_summary import build_summary, format_summary, write_summary
from gastown_assets.config import Project
from gastown_assets.training.vram import check_summary, estimate, estimate_inputs
from tests.support import CONFIG_DIR

GPU = {
    "name": "NVIDIA H100 80GB HBM3",
    "count": 1,
    "compute_capability": "sm_90",
    "memory_gib": 79.19,
    "bf16": True,
    "torch": "2.13.0+cu130",
    "cuda": "13.0",
    "bitsandbytes": "0.50.2",
}


def _history(steps=50, loss0=3.2, loss1=1.1, tokens_per_step=6000, slots_per_step=8192, runtime=40.0):
    rows = []
    for step in range(1, steps + 1):
        loss = loss0 + (loss1 - loss0) * (step - 1) / (steps - 1)
        rows.append(
            {
                "loss": loss,
                "grad_norm": 0.5,
                "learning_rate": 1e-3,
                "memory/max_allocated (GiB)": 1.1,
                "tokens/trainable": tokens_per_step * step,
                "tokens/total": slots_per_step * step,
                **({"tokens/train_per_sec_per_gpu": 9000.0 + step} if step > 1 else {}),
                "step": step,
            }
        )
    rows.append({"eval_loss": 1.3, "step": steps})
    rows.append(
        {
            "train_runtime": runtime,
            "train_steps_per_second": steps / runtime,
            "train_loss": 2.0,
            "memory/max_allocated (GiB)": 0.4,
            "step": steps,
        }
    )
    return rows


def _report(base=2.9, adapter=1.4):
    metrics = {
        "points": 40,
        "parse_rate": 0.5,
        "tool_accuracy": 0.4,
        "command_accuracy": 0.2,
        "latency_p50_s": 0.31,
        "latency_p95_s": 0.52,
    }
    return {
        "role": "polecat",
        "base_val_loss": base,
        "adapter_val_loss": adapter,
        "val_rows": 60,
        "replay": {
            "points": 40,
            "dtype": "bfloat16",
            "base": metrics,
            "adapter": {**metrics, "parse_rate": 0.95, "command_accuracy": 0.45},
        },
        "adapter_beats_base": True,
        "gate_failures": [],
    }


def _smoke_estimate():
    cfg = (
        Project(CONFIG_DIR, "gpu-smoke", Path("/d"))
        .resolve("polecat", train_path=Path("/d/t"), val_path=Path("/d/v"))
        .axolotl
    )
    shape = Project(CONFIG_DIR, "gpu-smoke", Path("/data")).profile.gpu.base_model
    return estimate(shape, cfg), estimate_inputs(shape, cfg)


def _summary(**overrides):
    est, inputs = _smoke_estimate()
    args = dict(
        role="polecat",
        profile="gpu-smoke",
        created="2026-12-05T16:42:38+00:00",
        run_id="r1",
        success=True,
        wall_s=181.5,
        gpu=GPU,
        adapter_meta={
            "steps": 50,
            "resumed_from_step": 0,
            "vram_estimate_gib": round(est.total_gib, 2),
            "cuda_peak_allocated_gib": 1.25,
            "cuda_peak_reserved_gib": 1.9,
            "cuda_allocated_at_start_gib": 0.2,
            "cuda_device": GPU["name"],
        },
        history=_history(),
        report=_report(),
        eval_peak_gib=0.61,
        estimate=est,
        estimate_inputs=inputs,
        step_seconds={
            "raw_transcripts": 1.2,
            "role_datasets": 9.8,
            "base_model": 4.1,
            "lora_adapter": 95.3,
            "eval_report": 60.2,
        },
        step_assets={
            "raw_transcripts": ["raw_transcripts"],
            "role_datasets": ["val_dataset", "train_dataset"],
            "base_model": ["base_model"],
            "lora_adapter": ["lora_adapter"],
            "eval_report": ["eval_report"],
        },
    )
    args.update(overrides)
    return build_summary(**args), est


def test_training_throughput_comes_from_the_trainers_own_counts():
    s, _ = _summary()
    t = s["train"]
    assert t["steps"] == 50 and t["runtime_s"] == 40.0 and t["steps_per_s"] == 1.25
    assert t["trained_tokens"] == 300_000 and t["trained_tokens_per_s"] == 7500.0  # 50 * 6000 / 40 s
    assert t["token_slots_per_s"] == 50 * 8192 / 40
    assert t["median_interval_tokens_per_s"] == pytest.approx(9026.0)  # steps 2..50: 9002..9050
    assert (t["first_loss"], t["last_loss"], t["axolotl_eval_loss"]) == (3.2, 1.1, 1.3)
    assert t["peak_allocated_gib"] == 1.25 and t["peak_source"].startswith("reporter")
    assert s["problems"] == []


def test_measured_peak_sits_next_to_the_estimate_with_its_ratio():
    s, est = _summary()
    v = s["vram"]
    tensors = est.total_gib - est.parts["CUDA context + allocator margin"]
    assert v["estimated_tensors_gib"] == pytest.approx(tensors, abs=1e-4)
    assert v["measured_over_estimate"] == pytest.approx(1.25 / tensors, abs=1e-3)
    assert v["dominant_part"].startswith("logits")  # 2048 x 2 tokens x 49,152 vocabulary
    assert v["preflight_estimate_gib"] == round(est.total_gib, 2)
    assert v["config"]["load_in_4bit"] is True and v["shape"]["vocab_size"] == 49152


def test_eval_replay_and_asset_times_are_kept_in_run_order():
    s, _ = _summary()
    e = s["eval"]
    assert (e["base_val_loss"], e["adapter_val_loss"], e["replay_points"]) == (2.9, 1.4, 40)
    assert e["adapter"]["parse_rate"] == 0.95 and e["base"]["latency_p95_s"] == 0.52
    assert e["peak_allocated_gib"] == 0.61
    assert [a["step"] for a in s["assets"]] == [
        "raw_transcripts",
        "role_datasets",
        "base_model",
        "lora_adapter",
        "eval_report",
    ]
    assert s["assets"][1]["assets"] == ["train_dataset", "val_dataset"]


def test_printed_summary_has_every_figure_a_reader_needs():
    s, _ = _summary()
    text = format_summary(s)
    for needle in (
        "NVIDIA H100 80GB HBM3 (sm_90",
        "1.25 steps/s",
        "7,500 trained tokens/s",
        "trainer peak 1.25 GiB allocated",
        "measured/estimate 0.",
        "largest estimated part: logits",
        "eval peak 0.61 GiB",
        "held-out loss base 2.9000 -> adapter 1.4000",
        "lora_adapter 95.3 s",
        "role_datasets (train_dataset, val_dataset) 9.8 s",
        "181.5 s",
    ):
        assert needle in text, needle
    lines = text.splitlines()
    base = next(line for line in lines if line.strip().startswith("base "))
    adapter = next(line for line in lines if line.strip().startswith("adapter "))
    assert "50%" in base and "95%" in adapter and "0.31 s" in base
    assert "PROBLEM" not in text


def test_zero_loss_from_sdpa_packing_is_a_problem():
    s, _ = _summary(history=_history(loss0=0.0, loss1=0.0))
    assert len(s["problems"]) == 1 and "sdpa with sample packing" in s["problems"][0]
    assert "PROBLEM" in format_summary(s)


def test_failed_run_still_gives_a_summary_that_says_where_it_failed(tmp_path):
    s, _ = _summary(
        success=False,
        failure="step lora_adapter: pre-flight check failed",
        adapter_meta={},
        history=[],
        report=None,
        step_seconds={"lora_adapter": 3.0},
    )
    assert s["problems"] == ["the run failed: step lora_adapter: pre-flight check failed"]
    assert s["train"]["steps"] is None and s["eval"]["base_val_loss"] is None
    assert "n/a" in format_summary(s)
    json.loads(write_summary(s, tmp_path).read_text())


def test_gpu_run_without_a_measured_peak_is_a_problem_and_the_log_history_is_the_fallback():
    meta = {"steps": 50}
    s, _ = _summary(adapter_meta=meta)
    assert s["train"]["peak_allocated_gib"] == 1.1 and s["train"]["peak_source"] == "axolotl log history"
    s, _ = _summary(
        adapter_meta=meta, history=[{k: v for k, v in h.items() if not k.startswith("memory/")} for h in _history()]
    )
    assert any("no peak GPU memory" in p for p in s["problems"])


def test_written_json_is_strict_and_readable_by_the_vram_check(tmp_path):
    s, _ = _summary(report=_report(adapter=math.nan))
    assert any("not finite" in p for p in s["problems"])
    path = write_summary(s, tmp_path / "benchmarks")
    assert path.parent == tmp_path / "benchmarks"
    assert path.name == "gpu-smoke-20261205T164238Z-nvidia-h100-80gb-hbm3.json"
    data = json.loads(path.read_text())  # strict JSON: NaN written as null
    assert data["eval"]["adapter_val_loss"] is None and data["kind"] == "gastown-gpu-smoke"
    assert check_summary(data).ratio == pytest.approx(s["vram"]["measured_over_estimate"], abs=1e-3)
    assert not list(path.parent.glob(".*.tmp"))
