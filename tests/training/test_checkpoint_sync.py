"""Checkpoints follow the bucket: a trainer killed after a checkpoint on one machine resumes on
another machine that has an empty working copy and shares only the bucket (a real S3 server)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest

from gastown_assets.config import Project
from gastown_assets.settings import storage_options
from gastown_assets.storage import DataStore
from gastown_assets.training import remote, tiny_model
from tests.support import CONFIG_DIR, REPO

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
WORK = "adapters/polecat/.work-v1"


def _trainer(job: str, env: dict, work_dir, **kwargs):
    cmd = [sys.executable, "-m", "gastown_assets.training.run", job]
    return subprocess.Popen(
        cmd,
        env={**env, "GASTOWN_WORK_DIR": str(work_dir)},
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        **kwargs,
    )


@pytest.mark.slow
def test_a_retry_with_an_empty_work_dir_resumes_from_the_last_uploaded_checkpoint(s3_server, tmp_path):
    url = f"s3://{s3_server.bucket(f'gastown-ckpt-{uuid.uuid4().hex[:8]}')}/town"
    env = {**os.environ, **s3_server.env, "GASTOWN_DATA_DIR": url}
    first = DataStore.open(url, tmp_path / "first-box", storage_options(url, s3_server.env))
    # the inputs, as the base_model and dataset assets leave them: local, and in the bucket
    spec = Project(CONFIG_DIR, "tiny", Path("/data")).profile.tiny_model.model_copy(
        update={"pretrain_steps": 0, "pretrain_chars": 20_000, "vocab_size": 600}
    )
    model = first.local / "models/tiny-qwen2"
    tiny_model.build(spec, [r["messages"][2]["content"] for r in ROWS], model)
    first.put_dir(model, "models/tiny-qwen2", sorted(p.name for p in model.iterdir() if p.is_file()))
    for name, rows in (("train", ROWS[:40]), ("val", ROWS[40:])):
        first.write_bytes(f"datasets/polecat/v1/{name}.jsonl", b"".join(orjson.dumps(r) + b"\n" for r in rows))
    resolved = Project(CONFIG_DIR, "tiny", first.local).resolve(
        "polecat",
        train_path=first.local / "datasets/polecat/v1/train.jsonl",
        val_path=first.local / "datasets/polecat/v1/val.jsonl",
    )
    cfg = {
        **resolved.axolotl,
        "base_model": str(model),
        "max_steps": 8,
        "save_steps": 2,
        "eval_steps": 4,
        "warmup_steps": 1,
        "micro_batch_size": 2,
        "sequence_len": 128,
    }
    run = resolved.__class__(resolved.role, resolved.profile, cfg, resolved.sources).for_run(
        first.local / WORK, "polecat-v1", first.local / "prepared/polecat/k1"
    )
    job = remote.write_job(first, run, "adapters/polecat/v1")

    proc = _trainer(job, env, first.local, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while max(remote.remote_checkpoints(first, WORK), default=0) < 4:
            assert proc.poll() is None, f"trainer exited before it could be killed:\n{proc.stdout.read()[-3000:]}"
            assert time.monotonic() < deadline, "no checkpoint in the bucket within 5 minutes"
            time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the machine is gone: no chance to clean up
        proc.wait()
    killed_at = max(remote.remote_checkpoints(first, WORK))
    assert 4 <= killed_at < 8 and not first.exists("adapters/polecat/v1/adapter_model.safetensors")

    second = tmp_path / "second-box"  # nothing here: no inputs, no checkpoints
    retry = _trainer(job, env, second)
    out, _ = retry.communicate(timeout=600)
    assert retry.returncode == 0, out[-3000:]
    lines = [line.split("[gastown] ", 1)[1] for line in out.splitlines() if "[gastown] " in line]
    assert f"fetched checkpoint-{killed_at} from {url}/{WORK}" in lines, lines
    assert f"training steps {killed_at}..8" in lines, lines
    assert not any(line.startswith("step 1/") for line in lines), "restarted from scratch"
    assert any(line.startswith("step 8/8 loss") for line in lines), lines
    assert any(line.startswith("checkpoint-8 uploaded to ") for line in lines), lines
    assert first.exists("adapters/polecat/v1/adapter_model.safetensors")
    assert first.find(WORK) == [], "the finished version's checkpoints are removed from the bucket"
    state = orjson.loads(first.read_bytes("adapters/polecat/v1/trainer_state.json"))
    assert state["global_step"] == 8


def test_only_complete_checkpoints_count_and_older_ones_are_dropped(tmp_path):
    store = DataStore.open(str(tmp_path / "data"))
    for step in (2, 4):
        ckpt = tmp_path / "work" / f"checkpoint-{step}"
        (ckpt / "sub").mkdir(parents=True)
        (ckpt / "adapter_model.safetensors").write_bytes(b"w" * step)
        (ckpt / "sub" / "rng.pth").write_bytes(b"r")
        (ckpt / "trainer_state.json").write_text(f'{{"global_step": {step}}}')
        remote.upload_checkpoint(store, WORK, ckpt)
    (store.local / WORK / "checkpoint-6").mkdir()  # an upload cut off before its trainer state
    (store.local / WORK / "checkpoint-6" / "adapter_model.safetensors").write_bytes(b"partial")
    assert sorted(remote.remote_checkpoints(store, WORK)) == [4]
    fetched = remote.fetch_latest_checkpoint(store, WORK, tmp_path / "elsewhere")
    assert fetched.name == "checkpoint-4" and (fetched / "sub" / "rng.pth").read_bytes() == b"r"
    assert (fetched / "trainer_state.json").read_text() == '{"global_step": 4}'
    assert remote.fetch_latest_checkpoint(store, "adapters/polecat/.work-none", tmp_path / "x") is None
