"""GASTOWN_DATA_DIR=s3://…: the role's chain on a real S3 server (SeaweedFS), run as two
`dagster asset materialize` commands that share nothing but the bucket (each has its own
working copy and Dagster instance), then `pull-adapter` and PEFT loading the pulled adapter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.s3server import SECRET_KEY
from tests.support import REPO, role_sessions, small_local_configs

DAGSTER = str(Path(sys.executable).parent / "dagster")
IN_PROCESS = json.dumps({"execution": {"config": {"in_process": {}}}})  # one process a run: faster here


def _machine(tmp_path: Path, name: str, env: dict) -> dict:
    home = tmp_path / name / "dagster_home"
    home.mkdir(parents=True)
    return {**env, "GASTOWN_WORK_DIR": str(tmp_path / name / "work"), "DAGSTER_HOME": str(home)}


def _materialize(env: dict, select: str) -> subprocess.CompletedProcess:
    cmd = [
        DAGSTER,
        "asset",
        "materialize",
        "-m",
        "gastown_assets.definitions",
        "--select",
        select,
        "--partition",
        "polecat",
        "--config-json",
        IN_PROCESS,
    ]
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def bucket_run(s3_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("s3run")
    configs = small_local_configs(tmp / "configs", max_steps=6)
    sessions = role_sessions(tmp / "sessions", configs)
    url = f"s3://{s3_server.bucket('gastown-e2e')}/town"
    env = {
        **os.environ,
        **s3_server.env,
        "GASTOWN_DATA_DIR": url,
        "GASTOWN_CONFIG_DIR": str(configs),
        "GASTOWN_SESSIONS_DIR": str(sessions),
        "GASTOWN_PROFILE": "tiny",
        "WANDB_MODE": "disabled",
    }
    data = _materialize(_machine(tmp, "cpu-box", env), "base_model,raw_transcripts,train_dataset,val_dataset")
    train = _materialize(_machine(tmp, "gpu-box", env), "lora_adapter,eval_report,promoted_adapter")
    return tmp, url, env, data, train


def test_datasets_and_adapter_are_built_from_and_into_the_bucket(bucket_run, s3_server):
    tmp, url, _, data, train = bucket_run
    assert data.returncode == 0, data.stderr[-3000:]
    assert train.returncode == 0, train.stderr[-3000:]
    fs, root = s3_server.fs(), url.removeprefix("s3://")
    for key in (
        "datasets/polecat/train.jsonl",
        "datasets/polecat/val.jsonl",
        "reports/polecat/report.json",
        "adapters/polecat/registry.json",
        "storage/lora_adapter/polecat",
    ):
        assert fs.exists(f"{root}/{key}"), key
    registry = json.loads(fs.cat_file(f"{root}/adapters/polecat/registry.json"))
    version = registry["current"]
    adapter = f"{root}/adapters/polecat/{version}"
    assert {
        "adapter_model.safetensors",
        "adapter_config.json",
        "resolved_config.yml",
        "log_history.json",
        "trainer_state.json",
    } <= {p.rsplit("/", 1)[-1] for p in fs.ls(adapter)}
    report = json.loads(fs.cat_file(f"{root}/reports/polecat/report.json"))
    assert report["adapter"]["path"] == f"{url}/adapters/polecat/{version}"
    # the training box had only the bucket: it staged the datasets and the base model from it
    staged = tmp / "gpu-box" / "work"
    assert (staged / "datasets/polecat").is_dir() and (staged / "models/tiny-qwen2/config.json").is_file()
    assert not (tmp / "gpu-box" / "work" / "transcripts").exists(), "the training box parsed transcripts"


def test_dataset_versions_sit_under_versioned_keys_behind_a_pointer(bucket_run, s3_server):
    _, url, _, _, _ = bucket_run
    fs, root = s3_server.fs(), url.removeprefix("s3://")
    latest = fs.cat_file(f"{root}/datasets/polecat/LATEST").decode()
    for name in ("train.jsonl", "val.jsonl"):
        assert fs.cat_file(f"{root}/datasets/polecat/{latest}/{name}") == fs.cat_file(f"{root}/datasets/polecat/{name}")


def test_pull_adapter_gives_a_folder_peft_loads(bucket_run):
    tmp, _, env, _, train = bucket_run
    assert train.returncode == 0, train.stderr[-3000:]
    dest = tmp / "serving" / "polecat-adapter"
    pulled = subprocess.run(
        [sys.executable, "-m", "gastown_assets", "pull-adapter", "polecat", str(dest)],
        env=_machine(tmp, "laptop", env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pulled.returncode == 0, pulled.stderr
    assert Path(pulled.stdout.strip()) == dest

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tmp / "cpu-box" / "work" / "models" / "tiny-qwen2")
    model = PeftModel.from_pretrained(base, str(dest))
    lora = {n: p for n, p in model.named_parameters() if "lora_B" in n}
    assert lora and any(torch.count_nonzero(p) for p in lora.values()), "the pulled adapter has trained weights"


def test_pull_adapter_says_when_no_adapter_was_promoted(bucket_run):
    tmp, _, env, _, _ = bucket_run
    out = subprocess.run(
        [sys.executable, "-m", "gastown_assets", "pull-adapter", "mayor"],
        env=_machine(tmp, "laptop2", env),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1
    assert "adapters/mayor/registry.json: no promoted adapter for mayor" in out.stderr


def test_the_bucket_secret_reaches_no_log_event_file_or_object(bucket_run, s3_server):
    tmp, url, _, data, train = bucket_run
    secret = SECRET_KEY.encode()
    assert secret not in (data.stdout + data.stderr + train.stdout + train.stderr).encode()
    for machine in ("cpu-box", "gpu-box"):  # event logs, step logs, working copies
        for path in (tmp / machine).rglob("*"):
            if path.is_file():
                assert secret not in path.read_bytes(), path
    fs = s3_server.fs()
    for key in fs.find(url.removeprefix("s3://")):
        assert secret not in fs.cat_file(key), key
