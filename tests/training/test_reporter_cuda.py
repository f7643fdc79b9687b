"""The trainer's own GPU memory figures (reporter.track_cuda_memory), which `make gpu-smoke` puts
next to the pre-flight estimate: they reach lora_adapter's metadata through final_metrics."""

import pytest
import torch

from gastown_assets.training.reporter import AXOLOTL_PEAK, track_cuda_memory
from gastown_assets.training.run import final_metrics

CUDA = torch.cuda.is_available()


def test_cuda_figures_reach_the_final_metrics_and_nothing_else_does():
    info = {
        "start_step": 0,
        "end_step": 50,
        "cuda_peak_allocated_gib": 1.25,
        "cuda_peak_reserved_gib": 1.9,
        "cuda_allocated_at_start_gib": 0.2,
        "cuda_device": "NVIDIA H100 80GB HBM3",
        "max_steps": 50,
    }
    metrics = final_metrics([{"loss": 1.5, "step": 50}], info)
    assert {k: v for k, v in metrics.items() if k.startswith("cuda_")} == {
        k: v for k, v in info.items() if k.startswith("cuda_")
    }
    assert "max_steps" not in metrics and metrics["steps"] == 50


@pytest.mark.skipif(CUDA, reason="checks the CPU path")
def test_without_cuda_nothing_is_recorded():
    info = {"start_step": 0}
    track_cuda_memory(info, {AXOLOTL_PEAK: 3.0})
    assert info == {"start_step": 0}


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_peak_survives_axolotls_reset_at_each_log():
    info = {}
    track_cuda_memory(info)  # train begin
    block = torch.empty(256 * 1024**2, dtype=torch.uint8, device="cuda")  # 0.25 GiB
    track_cuda_memory(info)  # a step end
    del block
    torch.cuda.reset_peak_memory_stats()  # what Axolotl does at every log
    track_cuda_memory(info, {AXOLOTL_PEAK: 0.01})
    assert info["cuda_peak_allocated_gib"] >= 0.25 and info["cuda_device"] == torch.cuda.get_device_name()
    assert info["cuda_peak_reserved_gib"] >= info["cuda_peak_allocated_gib"] - 1e-6
