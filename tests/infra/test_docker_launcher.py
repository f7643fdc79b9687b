"""The Docker run launcher for real, and the GPU deployment's instance config.

The docker test starts a `dockerd` of its own (tests/infra/dockerd.py), builds a base image with
debootstrap + `docker import` (no registry), points a Dagster instance's DockerRunLauncher at it,
and launches the polecat partition of the asset job with `dagster job launch` (the same
submit-and-launch path the UI takes). The whole graph for the partition then runs in a container
on the CPU `local` profile, shrunk to a few steps; the test checks the run succeeded in that
container and the adapter landed in the data dir.

Run: .venv/bin/python -m pytest -q tests/infra  (root, with Debian's docker.io and debootstrap:
`make system-deps` installs them; without them the docker test is skipped).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from tests.infra.dockerd import Dockerd, base_image_tarball, import_image, missing_tools, outermost, python_mounts
from tests.support import REPO, role_sessions, small_local_configs

INFRA = REPO / "infra"
CACHE = REPO / ".gastown" / "cache" / "infra"  # .gitignore'd; a fresh clone builds it once
ROLE = "polecat"
RUN_TIMEOUT_S = 480


def _docker_skip_reason() -> str | None:
    missing = missing_tools()
    if missing:
        return f"{', '.join(missing)} not installed (`make system-deps` installs Debian's docker.io and debootstrap)"
    if os.geteuid() != 0:
        return "starting dockerd and running debootstrap need root"
    return None


# -- the GPU deployment's instance config (no Docker needed) ---------------------------------------


GPU_ENV = {
    "DAGSTER_POSTGRES_HOSTNAME": "postgres",
    "DAGSTER_POSTGRES_USER": "dagster",
    "DAGSTER_POSTGRES_PASSWORD": "secret",
    "DAGSTER_POSTGRES_DB": "dagster",
    "GASTOWN_IMAGE": "gastown-train:test",
}


@pytest.fixture
def gpu_instance_config(monkeypatch):
    from dagster._core.instance.config import dagster_instance_config

    for key, value in GPU_ENV.items():
        monkeypatch.setenv(key, value)
    config, custom_class = dagster_instance_config(str(INFRA))  # validates against the 1.13 schema
    assert custom_class is None
    return config


def _gpu_launcher(config):
    from dagster._core.launcher import RunLauncher
    from dagster._serdes.config_class import ConfigurableClassData

    data = config["run_launcher"]
    return ConfigurableClassData(data["module"], data["class"], yaml.safe_dump(data["config"])).rehydrate(
        as_type=RunLauncher
    )


def test_gpu_dagster_yaml_is_a_valid_instance_with_postgres_queue_monitoring_and_one_gpu_slot(gpu_instance_config):
    from dagster._core.instance.ref import InstanceRef

    config = gpu_instance_config
    assert set(config["storage"]) == {"postgres"}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["run_monitoring"]["enabled"] is True
    assert config["concurrency"]["pools"]["default_limit"] == 1  # lora_adapter's `gpu` pool: one at a time
    ref = InstanceRef.from_dir(str(INFRA))  # how the webserver and daemon read it
    assert ref.storage_data.module_name == "dagster_postgres"
    assert ref.run_launcher_data.class_name == "DockerRunLauncher"


def test_gpu_dagster_yaml_launches_runs_with_nvidia_gpus(gpu_instance_config):
    import docker.types
    from dagster_docker import DockerRunLauncher

    launcher = _gpu_launcher(gpu_instance_config)
    assert isinstance(launcher, DockerRunLauncher)
    assert launcher.image == GPU_ENV["GASTOWN_IMAGE"]
    assert {"GASTOWN_PROFILE=gpu", "WANDB_API_KEY"} <= set(launcher.env_vars)  # the key only via env
    kwargs = launcher.container_kwargs
    # What docker-py does with these kwargs in containers.create (API 1.41 = Docker 20.10).
    host_config = docker.types.HostConfig(
        version="1.41",
        device_requests=kwargs["device_requests"],
        shm_size=kwargs["shm_size"],
        ulimits=kwargs.get("ulimits"),
    )
    [request] = host_config["DeviceRequests"]
    assert isinstance(request, docker.types.DeviceRequest)
    assert request.driver == "nvidia" and request.capabilities == [["gpu"]] and request.count == -1
    assert host_config["ShmSize"] >= 8 * 2**30


# -- a real run in a real container -----------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory):
    reason = _docker_skip_reason()
    if reason:
        pytest.skip(reason)
    daemon = Dockerd(tmp_path_factory.mktemp("dockerd"))
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.remove_all_containers()
        daemon.stop()
        daemon.remove_data()


@pytest.fixture(scope="module")
def base_image(dockerd):
    return import_image(dockerd.client(), base_image_tarball(CACHE))


@pytest.fixture(scope="module")
def launched_run(dockerd, base_image, tmp_path_factory):
    from dagster import DagsterInstance

    root = tmp_path_factory.mktemp("launch")
    home, data = root / "dagster_home", root / "data"
    for path in (home, data, root / "home"):
        path.mkdir()
    venv_bin = Path(sys.prefix) / "bin"
    configs = small_local_configs(root / "configs")
    env = {
        "DAGSTER_HOME": str(home),
        "GASTOWN_SESSIONS_DIR": str(role_sessions(root / "sessions", configs)),
        "GASTOWN_DATA_DIR": str(data),
        "GASTOWN_PROFILE": "tiny",
        "GASTOWN_CONFIG_DIR": str(configs),
        "HOME": str(root / "home"),
    }
    mounts = outermost([*python_mounts(), REPO, root])
    (home / "dagster.yaml").write_text(
        yaml.safe_dump(
            {
                "run_coordinator": {"module": "dagster.core.run_coordinator", "class": "DefaultRunCoordinator"},
                "run_launcher": {
                    "module": "dagster_docker",
                    "class": "DockerRunLauncher",
                    "config": {
                        "image": base_image,
                        "network": "host",
                        "env_vars": [
                            *env,
                            f"PATH={venv_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                            "HF_HUB_OFFLINE=1",
                            "AXOLOTL_DO_NOT_TRACK=1",
                            "WANDB_MODE=disabled",
                        ],
                        "container_kwargs": {
                            "volumes": [f"{p}:{p}:{'rw' if p == root else 'ro'}" for p in mounts],
                            "working_dir": str(REPO),
                            "labels": {"gastown-test": "docker-launcher"},
                        },
                    },
                },
                "telemetry": {"enabled": False},
                "nux": {"enabled": False},
            }
        )
    )

    run_id = str(uuid.uuid4())
    launch = [
        str(venv_bin / "dagster"),
        "job",
        "launch",
        "-m",
        "gastown_assets.definitions",
        "-a",
        "defs",
        "-j",
        "__ASSET_JOB",
        "--run-id",
        run_id,
        "--tags",
        json.dumps({"dagster/partition": ROLE}),
        "--config-json",
        json.dumps({"execution": {"config": {"in_process": {}}}}),
    ]
    started = time.monotonic()
    host_env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}  # no TLS, no context
    done = subprocess.run(
        launch,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env={**host_env, **env, "DOCKER_HOST": dockerd.host},
    )
    assert done.returncode == 0, f"dagster job launch failed:\n{done.stdout}\n{done.stderr}"

    instance = DagsterInstance.from_config(str(home))
    client = dockerd.client()
    run = _wait_for_run(instance, client, run_id, started)
    yield {
        "run": run,
        "instance": instance,
        "client": client,
        "data": data,
        "base_image": base_image,
        "seconds": time.monotonic() - started,
    }
    instance.dispose()


def _wait_for_run(instance, client, run_id: str, started: float):
    """Until the run finishes; a container that exits without the run finishing fails fast."""
    exited_at = None
    while True:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            # the run worker reports the end of the run, then exits: let the container stop
            with contextlib.suppress(Exception):
                client.containers.get(run.tags["docker/container_id"]).wait(timeout=120)
            return run
        container_id = run.tags.get("docker/container_id") if run else None
        if container_id:
            container = client.containers.get(container_id)
            if container.status == "exited":
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at > 30:
                    raise AssertionError(
                        f"container exited with {container.attrs['State']['ExitCode']} but run "
                        f"{run_id} is {run.status}:\n{_tail(container)}"
                    )
        if time.monotonic() - started > RUN_TIMEOUT_S:
            raise AssertionError(
                f"run {run_id} not finished after {RUN_TIMEOUT_S} s: {run.status if run else 'never created'}"
            )
        time.sleep(2)


def _tail(container, lines: int = 60) -> str:
    return container.logs(tail=lines).decode(errors="replace")


def _messages(instance, run) -> str:
    return "\n".join(r.dagster_event.message or "" for r in instance.all_logs(run.run_id) if r.dagster_event)


def _failure_report(instance, run) -> str:
    from dagster import DagsterEventType

    kinds = (DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE, DagsterEventType.ENGINE_EVENT)
    records = [r for r in instance.all_logs(run.run_id) if r.dagster_event and r.dagster_event.event_type in kinds]
    return "\n".join(
        str(r.dagster_event.message) + " " + str(r.dagster_event.event_specific_data)[:2000] for r in records[-10:]
    )


@pytest.mark.docker
def test_role_partition_runs_in_a_container_and_writes_the_adapter(launched_run):
    run, instance, client = launched_run["run"], launched_run["instance"], launched_run["client"]
    container = client.containers.get(run.tags["docker/container_id"])
    assert run.is_success, f"run {run.run_id} {run.status}:\n{_failure_report(instance, run)}\n{_tail(container)}"
    print(f"\nrun {run.run_id} in container {container.short_id}: {launched_run['seconds']:.0f} s from launch")

    # The launcher made the container: docker ps -a shows it exited 0, from our image, for this run.
    [listed] = client.containers.list(all=True, filters={"label": f"dagster/run_id={run.run_id}"})
    assert listed.id == container.id
    state = container.attrs["State"]
    assert (container.status, state["ExitCode"]) == ("exited", 0)
    assert run.tags["dagster/image"] == launched_run["base_image"]
    assert container.attrs["Config"]["Image"] == launched_run["base_image"]
    assert container.attrs["HostConfig"]["NetworkMode"] == "host"
    assert container.labels["dagster/job_name"] == "__ASSET_JOB"
    assert run.tags["dagster/partition"] == ROLE

    # Every asset of the partition was materialized by that run...
    from dagster import AssetKey

    materialized = {}
    for key in ("raw_transcripts", "train_dataset", "val_dataset", "base_model", "lora_adapter", "eval_report"):
        records = instance.fetch_materializations(AssetKey(key), limit=10).records
        assert [r.run_id for r in records] == [run.run_id], key
        materialized[key] = records[0].asset_materialization

    # ... and the adapter was written inside the container's lifetime, where the asset says it is.
    data = launched_run["data"]
    adapter = data / "adapters" / ROLE / materialized["lora_adapter"].metadata["version"].value
    weights = adapter / "adapter_model.safetensors"
    assert weights.stat().st_size > 0
    assert json.loads((adapter / "adapter_config.json").read_text())["peft_type"] == "LORA"
    lifetime = [_docker_time(state["StartedAt"]), _docker_time(state["FinishedAt"])]
    assert lifetime[0] <= weights.stat().st_mtime <= lifetime[1] + 1
    assert f"Launching run in a new container {container.id}" in _messages(instance, run)
    report = json.loads((data / "reports" / ROLE / "report.json").read_text())
    assert report["adapter"]["path"] == str(adapter)


@pytest.mark.docker
def test_gpu_container_kwargs_are_accepted_by_the_daemon(dockerd, base_image, gpu_instance_config):
    """dockerd takes infra/dagster.yaml's device requests at create time (start needs an NVIDIA runtime)."""
    launcher = _gpu_launcher(gpu_instance_config)
    kwargs = {k: v for k, v in launcher.container_kwargs.items() if k not in ("volumes", "stop_timeout")}
    container = dockerd.client().containers.create(base_image, command=["true"], **kwargs)
    try:
        host = container.attrs["HostConfig"]
        [request] = host["DeviceRequests"]
        assert (request["Driver"], request["Count"], request["Capabilities"]) == ("nvidia", -1, [["gpu"]])
        assert host["ShmSize"] >= 8 * 2**30
    finally:
        container.remove(force=True)


def _docker_time(value: str) -> float:
    """Docker's RFC 3339 times carry nanoseconds; Python parses microseconds."""
    head, _, frac = value.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00").timestamp()
