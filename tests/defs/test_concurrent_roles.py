"""Six roles at once: a backfill of the build_datasets job through a real `dagster-daemon`
(queued runs launched side by side, each with the multiprocess executor) writes the same train
and val files, byte for byte, as six serial runs over the same inputs. Then two roles' adapters
are backfilled at once and their training steps take turns in the `gpu` pool (limit 1)."""

import os
import shutil
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
from tests.support import REPO, small_local_configs, stop_group

BIN = Path(sys.executable).parent
ROLES = ["crew", "deacon", "mayor", "polecat", "refinery", "witness"]
TIMEOUT_S = 600


def _resources(data: Path, configs: Path) -> dict:
    return {
        "gastown": GastownConfig(
            sessions_dir=str(SESSIONS_DIR), data_dir=str(data), profile="tiny", config_dir=str(configs)
        ),
        "io_manager": dg.FilesystemIOManager(base_dir=str(data / "storage")),
        "wandb": WandbConfig(mode="disabled"),
        "trainer": dg.PipesSubprocessClient(),
    }


def _serial(data: Path, configs: Path) -> None:
    for role in ROLES:
        result = dg.materialize(
            list(defs.assets),
            partition_key=role,
            resources=_resources(data, configs),
            selection=["raw_transcripts", "train_dataset", "val_dataset"],
        )
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
    (home / "dagster.yaml").write_text(
        yaml.safe_dump(
            {
                "telemetry": {"enabled": False},
                "concurrency": {"runs": {"max_concurrent_runs": len(ROLES)}, "pools": {"default_limit": 1}},
            }
        )
    )
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {
                        "python_module": {
                            "module_name": "gastown_assets.definitions",
                            "attribute": "defs",
                            "working_directory": str(REPO),
                        }
                    }
                ]
            }
        )
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "GASTOWN_SESSIONS_DIR": str(SESSIONS_DIR),
        "GASTOWN_DATA_DIR": str(concurrent),
        "GASTOWN_CONFIG_DIR": str(configs),
        "GASTOWN_PROFILE": "tiny",
        "HF_HUB_OFFLINE": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    _backfill(env, workspace, "build_datasets", "--all", "all")
    log = open(tmp_path / "daemon.log", "wb")  # noqa: SIM115 (the daemon writes it until killed)
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            records = _wait_runs(instance, len(ROLES), tmp_path / "daemon.log")
            _backfill(env, workspace, "train_adapter", "--partitions", "crew,polecat")
            trained = _wait_runs(instance, len(ROLES) + 2, tmp_path / "daemon.log")[:2]
            spans = [_step_span(instance, r.dagster_run.run_id, "lora_adapter") for r in trained]
    finally:
        stop_group(daemon)
        log.close()

    assert sorted(r.dagster_run.tags["dagster/partition"] for r in records) == ROLES
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    print(f"\nat most {_overlap(records)} role runs at once")
    assert _overlap(records) > 1, "the backfill ran its roles one after another"
    for role in ROLES:
        for name in ("train.jsonl", "val.jsonl"):
            got = (concurrent / "datasets" / role / name).read_bytes()
            assert got == (serial / "datasets" / role / name).read_bytes(), f"{role}/{name} differs"

    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in trained)
    assert _overlap(trained) == 2, "the two training runs did not run at the same time"
    (a_start, a_end), (b_start, b_end) = sorted(spans)
    print(f"lora_adapter steps: {a_start:.0f}-{a_end:.0f} and {b_start:.0f}-{b_end:.0f}")
    assert a_end <= b_start, "two training steps ran at once in the gpu pool"


def _backfill(env, workspace, job: str, *partitions: str) -> None:
    done = subprocess.run(
        [str(BIN / "dagster"), "job", "backfill", "-j", job, *partitions, "--noprompt", "-w", str(workspace)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _wait_runs(instance, count: int, log: Path):
    """Run records, newest first, once `count` runs exist and all have finished."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        runs = instance.get_runs()
        if len(runs) == count and all(r.is_finished for r in runs):
            return instance.get_run_records()
        assert time.monotonic() < deadline, (
            f"runs not done: {[(r.tags.get('dagster/partition'), r.status.value) for r in runs]}\n"
            + log.read_text(errors="replace")[-3000:]
        )
        time.sleep(2)


def _step_span(instance, run_id: str, step: str) -> tuple[float, float]:
    times = {
        e.dagster_event.event_type_value: e.timestamp
        for e in instance.all_logs(run_id)
        if e.is_dagster_event
        and e.step_key == step
        and e.dagster_event.event_type_value in ("STEP_START", "STEP_SUCCESS")
    }
    return times["STEP_START"], times["STEP_SUCCESS"]
