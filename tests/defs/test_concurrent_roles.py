"""Six roles at once: a backfill of the build_datasets job through a real `dagster-daemon`
(queued runs launched side by side, each with the multiprocess executor) writes the same train
and val files, byte for byte, as six serial runs over the same inputs."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from gastown_assets.definitions import defs
from gastown_assets.defs.resources import GastownConfig, WandbConfig
from gastown_assets.samples import SESSIONS_DIR
from tests.support import REPO, small_local_configs

BIN = Path(sys.executable).parent
ROLES = ["crew", "deacon", "mayor", "polecat", "refinery", "witness"]
TIMEOUT_S = 600


def _resources(data: Path, configs: Path) -> dict:
    return {"gastown": GastownConfig(sessions_dir=str(SESSIONS_DIR), data_dir=str(data), profile="local",
                                     config_dir=str(configs)),
            "io_manager": dg.FilesystemIOManager(base_dir=str(data / "storage")),
            "wandb": WandbConfig(mode="disabled"), "trainer": dg.PipesSubprocessClient()}


def _serial(data: Path, configs: Path) -> None:
    for role in ROLES:
        result = dg.materialize(list(defs.assets), partition_key=role, resources=_resources(data, configs),
                                selection=["raw_transcripts", "train_dataset", "val_dataset"])
        assert result.success, role


def _overlap(runs) -> int:
    """The most runs that were executing at the same moment."""
    edges = sorted([(r.start_time, 1) for r in runs] + [(r.end_time, -1) for r in runs])
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


@pytest.mark.slow
def test_six_roles_backfilled_at_once_write_what_serial_runs_write(tmp_path):
    configs = small_local_configs(tmp_path / "configs")
    serial, concurrent = tmp_path / "serial", tmp_path / "concurrent"
    base = dg.materialize(list(defs.assets), resources=_resources(serial, configs), selection=["base_model"])
    assert base.success
    shutil.copytree(serial, concurrent)  # the same base model (tokenizer) for both
    _serial(serial, configs)

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump({
        "telemetry": {"enabled": False}, "run_queue": {"max_concurrent_runs": len(ROLES)}}))
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": {
        "module_name": "gastown_assets.definitions", "attribute": "defs", "working_directory": str(REPO)}}]}))
    env = {**os.environ, "DAGSTER_HOME": str(home), "GASTOWN_SESSIONS_DIR": str(SESSIONS_DIR),
           "GASTOWN_DATA_DIR": str(concurrent), "GASTOWN_CONFIG_DIR": str(configs), "GASTOWN_PROFILE": "local",
           "HF_HUB_OFFLINE": "1", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    submitted = subprocess.run([str(BIN / "dagster"), "job", "backfill", "-j", "build_datasets", "--all", "all",
                                "--noprompt", "-w", str(workspace)], env=env, capture_output=True, text=True,
                               timeout=180)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    log = open(tmp_path / "daemon.log", "wb")
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                runs = instance.get_runs()
                if len(runs) == len(ROLES) and all(r.is_finished for r in runs):
                    break
                assert time.monotonic() < deadline, (
                    f"backfill not done: {[(r.tags.get('dagster/partition'), r.status.value) for r in runs]}\n"
                    + (tmp_path / "daemon.log").read_text(errors="replace")[-3000:])
                time.sleep(2)
            records = instance.get_run_records()
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        log.close()

    assert sorted(r.dagster_run.tags["dagster/partition"] for r in records) == ROLES
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    print(f"\nat most {_overlap(records)} role runs at once")
    assert _overlap(records) > 1, "the backfill ran its roles one after another"
    for role in ROLES:
        for name in ("train.jsonl", "val.jsonl"):
            got = (concurrent / "datasets" / role / name).read_bytes()
            assert got == (serial / "datasets" / role / name).read_bytes(), f"{role}/{name} differs"
