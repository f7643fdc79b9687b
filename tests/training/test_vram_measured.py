"""The pre-flight VRAM estimate against what torch measured in a `make gpu-smoke` run.

Each tests/training/data/gpu_smoke_summary*.json is a run's summary (the JSON the smoke writes
under $GASTOWN_DATA_DIR/benchmarks/): it records the model shape and config the estimate reads
and the peak torch allocated in the trainer, so today's estimate is recomputed for that run.
The one shipped now is CONSTRUCTED: no GPU run has happened yet, its figures are hand-written
(see its `note`). Replace it with a recorded summary after the first GPU run.
"""

import json
from pathlib import Path

import pytest

from benchmarks.smoke_summary import build_summary
from gastown_assets.config import Project
from gastown_assets.training.vram import CONTEXT_PART, check_summary, compare, estimate
from tests.support import CONFIG_DIR

DATA = Path(__file__).parent / "data"
SUMMARIES = sorted(DATA.glob("gpu_smoke_summary*.json"))
SMOLLM2 = Project(CONFIG_DIR, "gpu-smoke", Path("/data")).profile.gpu.base_model


def _smoke_cfg(**overrides):
    cfg = (
        Project(CONFIG_DIR, "gpu-smoke", Path("/d"))
        .resolve("polecat", train_path=Path("/d/t"), val_path=Path("/d/v"))
        .axolotl
    )
    return {**cfg, **overrides}


def test_a_summary_is_there_and_a_constructed_one_says_so():
    assert SUMMARIES, f"no gpu_smoke_summary*.json under {DATA}"
    for path in SUMMARIES:
        data = json.loads(path.read_text())
        if data["constructed"]:
            assert "constructed" in path.name and data["note"].startswith("CONSTRUCTED, NOT MEASURED")
        else:  # a recorded run: torch measured the peak in the trainer, on a GPU
            assert data["gpu"]["name"] and data["train"]["peak_source"].startswith("reporter")


@pytest.mark.parametrize("path", SUMMARIES, ids=lambda p: p.name)
def test_todays_estimate_is_not_short_of_the_measured_peak_nor_far_above_it(path):
    """Pre-flight refuses a run on this estimate: it must not promise less memory than torch
    allocated, and one over twice the measurement would refuse runs that fit."""
    cmp = check_summary(json.loads(path.read_text()), str(path))
    assert cmp.ratio <= 1.0, f"{path.name}: the estimate is short: {cmp.describe()}"
    assert cmp.ratio >= 0.5, f"{path.name}: the estimate is over twice the measurement: {cmp.describe()}"


@pytest.mark.parametrize("path", SUMMARIES, ids=lambda p: p.name)
def test_summary_file_has_the_shape_the_smoke_writes_today(path):
    data = json.loads(path.read_text())
    est = estimate(SMOLLM2, _smoke_cfg())
    fresh = build_summary(
        role="polecat",
        profile="gpu-smoke",
        created="2026-01-01T00:00:00+00:00",
        run_id="r",
        success=True,
        wall_s=1.0,
        gpu=None,
        adapter_meta={},
        history=[],
        report={},
        eval_peak_gib=None,
        estimate=est,
        estimate_inputs={"shape": {}, "config": {}},
        step_seconds={},
        step_assets={},
    )
    assert set(data) - {"note"} == set(fresh)
    for section in ("train", "eval"):
        assert set(data[section]) == set(fresh[section]), section
    assert data["schema"] == fresh["schema"]


def test_comparison_counts_tensors_only_and_says_where_the_gap_is():
    est = estimate(SMOLLM2, _smoke_cfg())
    tensors = est.total_gib - est.parts[CONTEXT_PART]  # torch's allocator never sees the CUDA context
    short = compare(est, tensors * 1.5, at_start_gib=0.2)
    assert short.ratio == pytest.approx(1.5) and "short of" in short.describe()
    assert short.dominant.startswith("logits")
    weights, training = short.split()["weights"], short.split()["training"]
    assert weights[1] == 0.2 and training[1] == pytest.approx(tensors * 1.5 - 0.2)
    assert short.largest_gap == "training"  # the weights were close; training took 50 % more
    assert compare(est, tensors * 0.9).split() is None and compare(est, tensors * 0.9).largest_gap is None
    with pytest.raises(ValueError, match="positive"):
        compare(est, 0.0)


def test_a_summary_without_a_measured_peak_is_refused_naming_it(tmp_path):
    cpu_run = {"vram": {"shape": SMOLLM2.model_dump(), "config": {}}, "train": {"peak_allocated_gib": None}}
    with pytest.raises(ValueError, match=r"cpu.json: train.peak_allocated_gib: no peak measured"):
        check_summary(cpu_run, "cpu.json")
    with pytest.raises(ValueError, match=r"other.json: vram/train: not a gpu-smoke summary"):
        check_summary({"kind": "something else"}, "other.json")
