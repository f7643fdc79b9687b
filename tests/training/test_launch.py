"""The trainer launch: commands, cache keys, checkpoints, and a real killed-then-resumed run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from gastown_assets.config import Project
from gastown_assets.training import launch, tiny_model
from gastown_assets.training.launch import adapter_version, latest_checkpoint, prepared_key
from gastown_assets.training.run import final_metrics
from tests.support import CONFIG_DIR


def test_trainer_progress_lines_name_step_loss_and_learning_rate():
    from gastown_assets.training.reporter import format_log

    line = format_log(12, 60, {"loss": 6.73125, "grad_norm": 0.78, "learning_rate": 0.0029, "epoch": 0.5})
    assert line == "step 12/60 loss 6.731 learning_rate 0.0029 grad_norm 0.78 epoch 0.5"
    assert format_log(20, 60, {"eval_loss": 5.99}) == "step 20/60 eval_loss 5.99"


def test_final_metrics_take_the_last_values_and_link_wandb():
    history = [
        {"loss": 7.0, "learning_rate": 0.003, "step": 1},
        {"eval_loss": 6.5, "step": 2},
        {"loss": 6.0, "learning_rate": 0.001, "step": 3},
    ]
    metrics = final_metrics(history, {"start_step": 2, "end_step": 3, "wandb_url": "https://wandb.example/r/1"})
    assert metrics["train_loss"] == 6.0 and metrics["eval_loss"] == 6.5 and metrics["learning_rate"] == 0.001
    assert (metrics["steps"], metrics["resumed_from_step"]) == (3, 2)
    assert metrics["wandb_url"] == {"raw_value": "https://wandb.example/r/1", "type": "url"}
    assert "wandb_url" not in final_metrics(history, {})


def test_resume_picks_the_highest_finished_checkpoint(tmp_path):
    for step in (20, 100, 40):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-120").mkdir()  # killed while saving: no trainer state yet
    (tmp_path / "checkpoint-final").mkdir()
    assert latest_checkpoint(tmp_path).name == "checkpoint-100"
    assert latest_checkpoint(tmp_path / "nothing-here") is None


def test_adapter_version_changes_with_config_or_any_input_version():
    data = {"train_dataset": "t1", "val_dataset": "v1", "base_model": "b1"}
    version = adapter_version("abcdef0123", data)
    assert version.startswith("abcdef01-") and version == adapter_version("abcdef0123", dict(data))
    assert adapter_version("abcdef0123", {**data, "base_model": "b2"}) != version
    assert adapter_version("ffffff0123", data) != version


def test_prepared_dataset_cache_is_keyed_by_data_versions():
    data = {"train_dataset": "t1", "val_dataset": "v1", "base_model": "b1"}
    key = prepared_key(data)
    assert key == prepared_key(dict(reversed(list(data.items()))))
    assert all(prepared_key({**data, k: "changed"}) != key for k in data)


def test_more_than_one_gpu_launches_through_accelerate(tmp_path):
    cfg = tmp_path / "c.yml"
    assert launch.trainer_command(cfg) == [sys.executable, "-m", "gastown_assets.training.run", str(cfg)]
    multi = launch.trainer_command(cfg, 4)
    assert multi[:5] == [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "4"]
    assert multi[5:] == ["-m", "gastown_assets.training.run", str(cfg)]


# --- a real run on a tiny model: killed after a checkpoint, then resumed --------------------

ROWS = [
    {
        "messages": [
            {"role": "system", "content": "You are a polecat."},
            {"role": "user", "content": f"Run step {i} of the hook."},
            {"role": "assistant", "content": f"Step {i} done: ran the tests, all green."},
        ]
    }
    for i in range(48)
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    spec = Project(CONFIG_DIR, "tiny", Path("/data")).profile.tiny_model.model_copy(
        update={"pretrain_steps": 0, "pretrain_chars": 20_000, "vocab_size": 600}
    )
    tiny_model.build(spec, [r["messages"][2]["content"] for r in ROWS], root / "model")
    for name, rows in (("train", ROWS[:40]), ("val", ROWS[40:])):
        (root / f"{name}.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    resolved = Project(CONFIG_DIR, "tiny", root).resolve(
        "polecat", train_path=root / "train.jsonl", val_path=root / "val.jsonl"
    )
    cfg = {
        **resolved.axolotl,
        "base_model": str(root / "model"),
        "max_steps": 8,
        "save_steps": 2,
        "eval_steps": 4,
        "warmup_steps": 1,
        "micro_batch_size": 2,
        "sequence_len": 128,
    }
    run = resolved.__class__(resolved.role, resolved.profile, cfg, resolved.sources)
    return run.for_run(root / "work", "polecat-test", root / "prepared"), root


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(tiny_run):
    resolved, root = tiny_run
    work, adapter = root / "work", root / "adapter"
    started = launch.prepare(resolved, work)
    proc = subprocess.Popen(
        started.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 300
        while latest_checkpoint(work) is None or latest_checkpoint(work).name == "checkpoint-2":
            assert proc.poll() is None, "trainer exited before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint within 5 minutes"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # a preemption: no chance to clean up
        proc.wait()
    killed_at = int(latest_checkpoint(work).name.split("-")[1])
    assert 4 <= killed_at < 8 and not (work / "adapter_model.safetensors").exists()

    lines: list[str] = []
    result = launch.train(resolved, work, adapter, on_line=lines.append)
    assert result.resumed_from.endswith(f"checkpoint-{killed_at}")
    assert f"training steps {killed_at}..8" in lines, lines
    assert not any(line.startswith("step 1/") for line in lines), "restarted from scratch"
    assert any(line.startswith("step 8/8 loss") for line in lines), lines
    assert (adapter / "adapter_model.safetensors").stat().st_size > 0
    assert [h["step"] for h in result.log_history if "loss" in h] == list(range(1, 9))
    assert not work.exists(), "checkpoints of a finished version are removed"


@pytest.mark.slow
def test_wandb_offline_run_is_named_after_role_and_version(tiny_run, tmp_path):
    resolved, _root = tiny_run
    cfg = {
        **resolved.axolotl,
        "max_steps": 2,
        "save_steps": 2,
        "eval_steps": 2,
        "wandb_mode": "offline",
        "wandb_project": "gastown-test",
        "wandb_name": "polecat-v1",
        "wandb_run_id": "polecat-v1-run1",
    }
    run = resolved.__class__(resolved.role, resolved.profile, cfg, resolved.sources)
    launch.train(run, tmp_path / "work", tmp_path / "adapter", env={"WANDB_DIR": str(tmp_path)})
    runs = [p.name for p in (tmp_path / "wandb").glob("offline-run-*")]
    assert len(runs) == 1 and runs[0].endswith("-polecat-v1-run1"), runs
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
