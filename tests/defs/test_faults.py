"""Faults on a real `dagster asset materialize`: a run killed mid-write loses nothing."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from gastown_assets.samples import SESSIONS_DIR
from tests.support import small_local_configs

BIN = Path(sys.executable).parent
DATASETS = "raw_transcripts,train_dataset,val_dataset,base_model"


def _env(tmp_path, sessions):
    home = tmp_path / "dagster_home"
    home.mkdir()
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "GASTOWN_SESSIONS_DIR": str(sessions),
        "GASTOWN_DATA_DIR": str(tmp_path / "data"),
        "GASTOWN_PROFILE": "tiny",
        "GASTOWN_CONFIG_DIR": str(small_local_configs(tmp_path / "configs")),
        "HF_HUB_OFFLINE": "1",
    }


def _materialize(env) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "gastown_assets.definitions",
            "--select",
            DATASETS,
            "--partition",
            "polecat",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _copy_polecats(dest: Path, paths):
    for p in paths:
        (dest / p.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dest / p.parent.name / p.name)


@pytest.mark.slow
def test_a_run_killed_while_writing_the_dataset_leaves_the_last_good_one(tmp_path):
    polecats = sorted(SESSIONS_DIR.glob("*-polecats-*/*.jsonl"))
    sessions = tmp_path / "sessions"
    _copy_polecats(sessions, polecats[:20])
    env = _env(tmp_path, sessions)
    first = _materialize(env)
    assert first.wait(timeout=600) == 0, first.stderr.read().decode()[-3000:]
    out = tmp_path / "data" / "datasets" / "polecat"
    good = {name: (out / name).read_bytes() for name in ("train.jsonl", "val.jsonl")}
    assert good["train.jsonl"] and good["val.jsonl"]

    _copy_polecats(sessions, polecats[20:])  # new data: the next run rewrites both files
    run = _materialize(env)
    try:
        deadline = time.monotonic() + 600
        while not list(out.glob(".train.jsonl.*.tmp")) and not list(out.glob(".val.jsonl.*.tmp")):
            assert run.poll() is None, "the run finished before it could be killed mid-write"
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()

    for name, data in good.items():
        assert (out / name).read_bytes() == data, f"{name} changed under a killed run"
        assert all(orjson.loads(line) for line in data.splitlines())
    partial = [p.name for p in out.iterdir() if not p.name.startswith(".") and p.name not in good]
    assert partial == [], "a half-written file is visible under a final name"

    again = _materialize(env)  # and the next run completes over the leftovers
    assert again.wait(timeout=600) == 0, again.stderr.read().decode()[-3000:]
    assert (out / "train.jsonl").read_bytes() != good["train.jsonl"]
