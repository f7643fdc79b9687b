"""The retrain sensor under a real `dagster-daemon`: a new transcript file becomes a successful run.

The daemon loads the code location from a workspace file, the sensor is turned on with the
`dagster sensor start` CLI, takes its baseline, and then one new polecat session (the role's
threshold set to 1) must produce a queued, launched and successful run of polecat's chain. The
configs are cut to a few training steps: this is about wiring, not learning.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from gastown_assets.samples import SESSIONS_DIR
from tests.support import REPO, role_sessions, small_local_configs, stop_group

BIN = Path(sys.executable).parent
SENSOR = "retrain_on_new_sessions"
RUN_TIMEOUT_S = 480


@pytest.fixture
def daemon_env(tmp_path):
    configs = small_local_configs(tmp_path / "configs")
    base = yaml.safe_load((configs / "base.yml").read_text())
    base["retrain"] = {"min_new_sessions": 1, "min_new_bytes": 10**9}
    (configs / "base.yml").write_text(yaml.safe_dump(base, sort_keys=False))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
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
        "GASTOWN_CONFIG_DIR": str(configs),
        "GASTOWN_SESSIONS_DIR": str(role_sessions(tmp_path / "sessions", configs)),
        "GASTOWN_DATA_DIR": str(tmp_path / "data"),
        "GASTOWN_PROFILE": "tiny",
        "GASTOWN_RETRAIN_INTERVAL_S": "5",
        "HF_HUB_OFFLINE": "1",
        "AXOLOTL_DO_NOT_TRACK": "1",
        "WANDB_MODE": "disabled",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    return env, workspace


@pytest.fixture
def daemon(daemon_env):
    """The sensor is turned on (creating the instance's storage) before the daemon starts."""
    env, workspace = daemon_env
    started = subprocess.run(
        [str(BIN / "dagster"), "sensor", "start", SENSOR, "-w", str(workspace)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    log = open(workspace.parent / "daemon.log", "wb")  # noqa: SIM115 (printed when the test fails)
    proc = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield env, workspace
    stop_group(proc)
    log.close()


def _wait(what: str, timeout: float, probe, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(1)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; daemon log:\n{tail}")


def _errors(instance, run_id) -> list[str]:
    out = []
    for e in instance.all_logs(run_id):
        if e.is_dagster_event and e.dagster_event.is_step_failure:
            error = e.dagster_event.event_specific_data.error
            while error:
                out.append(error.message[-1500:])
                error = error.cause
    return out


@pytest.mark.slow
def test_a_new_transcript_file_produces_a_successful_retrain_run(daemon, monkeypatch):
    env, workspace = daemon
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:

        def cursor():
            states = [s for s in instance.all_instigator_state() if s.name == SENSOR]
            return states and states[0].instigator_data and states[0].instigator_data.cursor

        log = workspace.parent / "daemon.log"
        _wait("the sensor's baseline tick", 180, cursor, log)
        assert instance.get_runs() == [], "the baseline tick must not request runs"

        new = sorted(SESSIONS_DIR.glob("*-polecats-*/*.jsonl"))[-1]
        dest = Path(env["GASTOWN_SESSIONS_DIR"]) / "-new-rig-polecats-zed" / new.name
        dest.parent.mkdir()
        shutil.copy(new, dest)
        written = time.monotonic()

        run = _wait("a run requested by the sensor", 120, lambda: next(iter(instance.get_runs()), None), log)
        requested = time.monotonic()
        assert run.tags["dagster/sensor_name"] == SENSOR and run.tags["dagster/partition"] == "polecat"
        assert "1 new or changed sessions" in run.tags["gastown/retrain_reason"]
        done = _wait(
            "the retrain run to finish",
            RUN_TIMEOUT_S,
            lambda: (r := instance.get_run_by_id(run.run_id)).is_finished and r,
            log,
        )
        finished = time.monotonic()
        print(
            f"\nnew file -> run requested {requested - written:.1f} s; -> run {done.status.value} "
            f"{finished - written:.1f} s"
        )
        assert done.status == dg.DagsterRunStatus.SUCCESS, _errors(instance, run.run_id)
        assert len(instance.get_runs()) == 1, "the same new data requested a second run"

    # A 4-step adapter may not beat the base, so promotion may say no; it must have been judged.
    adapters = Path(env["GASTOWN_DATA_DIR"]) / "adapters" / "polecat"
    history = json.loads((adapters / "registry.json").read_text())["history"]
    assert len(history) == 1 and (adapters / history[0]["version"] / "adapter_model.safetensors").is_file()
