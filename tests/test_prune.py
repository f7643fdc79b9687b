"""`gastown prune`: old versions that no pointer, registry entry or the newest N refer to go, in
a local data dir, in a bucket (a real S3 server) and in the bucket's local working copy."""

import json
import os
import pickle
import subprocess
import sys
import time

import dagster as dg

from gastown_assets.prune import plan, prune
from gastown_assets.settings import storage_options
from gastown_assets.storage import DataStore
from tests.support import REPO


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gastown_assets", "prune", *args],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _write(store: DataStore, key: str, data: bytes, age_s: float = 0) -> None:
    store.write_bytes(key, data)
    if not store.remote and age_s:
        t = time.time() - age_s
        os.utime(store.local / key, (t, t))


def _local_adapters(store: DataStore) -> None:
    for i in range(1, 6):  # v1 oldest .. v5 newest
        for name in ("adapter_model.safetensors", "adapter_config.json"):
            _write(store, f"adapters/polecat/v{i}/{name}", b"x" * 100, age_s=(6 - i) * 3600)
    _write(store, "adapters/polecat/.work-v6/checkpoint-2/trainer_state.json", b"{}", age_s=9 * 3600)
    _write(
        store,
        "adapters/polecat/registry.json",
        json.dumps({"current": None, "history": [{"version": "v1", "promoted": False}]}).encode(),
    )
    (store.local / "adapters/polecat/current").symlink_to("v2", target_is_directory=True)
    for i in range(1, 5):
        _write(store, f"prepared/polecat/k{i}/data.arrow", b"y" * 10, age_s=(5 - i) * 3600)


def test_a_local_data_dir_keeps_pointed_registered_and_newest_versions(tmp_path):
    store = DataStore.open(str(tmp_path / "data"))
    _local_adapters(store)
    env = {"GASTOWN_DATA_DIR": str(store.local)}
    dry = _cli(env, "--keep", "2", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove local: adapters/polecat/v3/ (2 files, 0.0 MB)" in dry.stdout
    assert "would remove local: prepared/polecat/k1/" in dry.stdout and "prepared/polecat/k2/" in dry.stdout
    assert (store.local / "adapters/polecat/v3").is_dir(), "a dry run removes nothing"

    done = _cli(env, "--keep", "2")
    assert done.returncode == 0, done.stderr
    left = sorted(p.name for p in (store.local / "adapters/polecat").iterdir())
    assert left == [".work-v6", "current", "registry.json", "v1", "v2", "v4", "v5"]  # v1 registry, v2 current
    assert (store.local / "adapters/polecat/current/adapter_model.safetensors").is_file()
    assert sorted(p.name for p in (store.local / "prepared/polecat").iterdir()) == ["k3", "k4"]
    again = _cli(env, "--keep", "2")
    assert "removed 0 versions" in again.stdout
    assert _cli(env, "--keep", "0").returncode == 1


def _bucket_versions(store: DataStore) -> None:
    """Three versions of each kind for polecat, oldest first, as runs publish them."""
    for i in (1, 2, 3):
        store.write_bytes(f"transcripts/polecat/t{i}/sessions.jsonl", b"{}\n")
        store.write_bytes(f"transcripts/polecat/t{i}/sessions.removed-secrets.json", b"{}")
        store.write_bytes(f"datasets/polecat/d{i}/train.jsonl", b"{}\n")
        store.write_bytes(f"datasets/polecat/d{i}/val.jsonl", b"{}\n")
        store.write_bytes(f"adapters/polecat/a{i}/adapter_model.safetensors", b"w")
        store.write_bytes(
            f"jobs/polecat/a{i}.yml", f"datasets:\n- path: {{data_dir}}/datasets/polecat/d{i}/train.jsonl\n".encode()
        )
        time.sleep(1.1)  # object stores keep whole seconds
    store.write_bytes("datasets/polecat/LATEST", b"d2")  # a rerun moved it back to d2
    store.write_bytes(
        "adapters/polecat/registry.json", json.dumps({"current": "a1", "history": [{"version": "a1"}]}).encode()
    )
    # the IO manager's handle of raw_transcripts names t1
    store.write_bytes(
        "storage/raw_transcripts/polecat", pickle.dumps({"path": store.uri("transcripts/polecat/t1/sessions.jsonl")})
    )


def test_a_bucket_and_its_working_copy_are_pruned(s3_env, tmp_path):
    store = DataStore.open(f"{s3_env}/town", tmp_path / "work", storage_options(s3_env, dict(os.environ)))
    _bucket_versions(store)
    store.stage(store.uri("datasets/polecat/d1/train.jsonl"))  # staged here by an earlier run
    result = plan(store, keep=1)
    why = {v.key: reason for v, reason in result.keep if v.where == "store"}
    assert why == {
        "adapters/polecat/a1": "the registry's current",
        "adapters/polecat/a3": "one of the newest 1",
        "transcripts/polecat/t1": "a Dagster handle",
        "transcripts/polecat/t3": "one of the newest 1",
        "datasets/polecat/d1": "the job of kept adapter a1",
        "datasets/polecat/d2": "datasets/polecat/LATEST",
        "datasets/polecat/d3": "the job of kept adapter a3",
    }
    gone = sorted((v.where, v.key) for v in result.remove)  # write_bytes left local copies too
    assert gone == [
        (where, key) for where in ("local", "store") for key in ("adapters/polecat/a2", "transcripts/polecat/t2")
    ]

    env = {"GASTOWN_DATA_DIR": f"{s3_env}/town", "GASTOWN_WORK_DIR": str(tmp_path / "work")}
    done = _cli(env, "--keep", "1")
    assert done.returncode == 0, done.stderr
    assert "removed store: adapters/polecat/a2/" in done.stdout
    keys = store.find("")
    assert not [k for k in keys if k.startswith(("adapters/polecat/a2/", "transcripts/polecat/t2/", "jobs/polecat/a2"))]
    assert "adapters/polecat/a1/adapter_model.safetensors" in keys and "jobs/polecat/a1.yml" in keys
    assert (tmp_path / "work/datasets/polecat/d1/train.jsonl").is_file()  # kept in the store: kept here too
    assert not (tmp_path / "work/adapters/polecat/a2").exists() and not (tmp_path / "work/jobs/polecat/a2.yml").exists()


def test_the_weekly_schedule_is_off_and_its_job_prunes(tmp_path):
    from gastown_assets.definitions import defs
    from gastown_assets.defs.prune import prune_job
    from gastown_assets.defs.resources import GastownConfig

    schedule = defs.get_schedule_def("prune_weekly")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED and schedule.job_name == "prune_job"
    store = DataStore.open(str(tmp_path / "data"))
    _local_adapters(store)
    result = prune_job.execute_in_process(
        run_config={"ops": {"prune_old_versions": {"config": {"keep": 2}}}},
        resources={"gastown": GastownConfig(data_dir=str(store.local))},
    )
    assert result.success
    assert not (store.local / "adapters/polecat/v3").exists() and (store.local / "adapters/polecat/v4").is_dir()
    assert prune(store, keep=2).remove == []
