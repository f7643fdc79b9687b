"""The GPU deployment's files agree with each other (no Docker, no GPU, no cluster needed).

infra/dagster.yaml's DockerRunLauncher copies named variables from the daemon's environment
(Dagster fails the launch when one is unset), mounts compose volumes by name and joins a compose
network by name; the image bakes the instance and workspace files the services point at.
"""

import os
import re
import subprocess

import yaml

from tests.support import REPO

INFRA = REPO / "infra"


def _load(name):
    return yaml.safe_load((INFRA / name).read_text())


def _launcher():
    return _load("dagster.yaml")["run_launcher"]["config"]


def test_every_variable_the_launcher_passes_on_is_set_for_the_daemon():
    compose = _load("docker-compose.yml")
    daemon_env = compose["services"]["daemon"]["environment"]
    names = [v for v in _launcher()["env_vars"] if "=" not in v]
    assert names and not [n for n in names if n not in daemon_env]
    # the storage config reads these from the environment in every container, run workers too
    storage_env = re.findall(r"env: (\w+)", (INFRA / "dagster.yaml").read_text())
    assert set(storage_env) - {"GASTOWN_IMAGE"} <= set(names)
    assert "GASTOWN_IMAGE" in daemon_env


def test_run_containers_join_the_compose_network_and_volumes():
    compose = _load("docker-compose.yml")
    launcher = _launcher()
    assert compose["networks"]["gastown"]["name"] == launcher["network"]
    named = {spec["name"] for spec in compose["volumes"].values() if spec and "name" in spec}
    mounts = {m.split(":")[0]: m.split(":")[1] for m in launcher["container_kwargs"]["volumes"]}
    assert set(mounts) <= named
    env = compose["services"]["daemon"]["environment"]
    assert env["GASTOWN_WORK_DIR"].startswith(mounts["gastown-data"] + "/")
    assert env["GASTOWN_SESSIONS_DIR"] == mounts["gastown-sessions"]
    for service in ("gastown-code", "webserver", "daemon"):
        assert "gastown-data:/data" in compose["services"][service]["volumes"], service


def test_both_deployments_keep_outputs_in_a_bucket_with_credentials_from_the_environment():
    compose_env = _load("docker-compose.yml")["x-gastown-env"]
    assert "s3://" in compose_env["GASTOWN_DATA_DIR"]  # required: compose stops when it is unset
    assert compose_env["AWS_SECRET_ACCESS_KEY"] == "${AWS_SECRET_ACCESS_KEY:-}"  # never a value in the file
    passed_on = set(_launcher()["env_vars"])
    assert {"GASTOWN_WORK_DIR", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"} <= passed_on
    [deployment] = yaml.safe_load((INFRA / "k8s" / "values.yaml").read_text())["dagster-user-deployments"][
        "deployments"
    ]
    env = {e["name"]: e.get("value") for e in deployment["env"]}
    assert env["GASTOWN_DATA_DIR"].startswith("s3://")
    assert "AWS_SECRET_ACCESS_KEY" not in env and "AWS_ACCESS_KEY_ID" not in env  # from the secret


def test_services_load_the_code_server_the_image_provides():
    compose = _load("docker-compose.yml")
    workspace = _load("workspace.yaml")["load_from"][0]["grpc_server"]
    code = compose["services"][workspace["host"]]
    assert str(workspace["port"]) in code["command"]
    assert "DAGSTER_CURRENT_IMAGE" in code["environment"]
    dockerfile = (INFRA / "Dockerfile.train").read_text()
    home = re.search(r"DAGSTER_HOME=(\S+)", dockerfile).group(1)
    assert re.search(rf"COPY infra/dagster.yaml infra/workspace.yaml {home}/", dockerfile)
    for service in ("webserver", "daemon"):
        assert f"{home}/workspace.yaml" in compose["services"][service]["command"]
    assert "/var/run/docker.sock:/var/run/docker.sock" in compose["services"]["daemon"]["volumes"]
    assert "127.0.0.1:3000:3000" in compose["services"]["webserver"]["ports"]  # not on every interface


def test_dockerfile_installs_the_pinned_stack_on_python_3_12_with_flash_attn():
    dockerfile = (INFRA / "Dockerfile.train").read_text()
    assert re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:\S+-cudnn-devel-", dockerfile, re.M)
    assert "python3.12 -m venv" in dockerfile
    assert re.search(r"pip install -e \"\.\[dagster,train\]\"", dockerfile)  # pyproject's pins
    assert re.search(r"--no-build-isolation \"flash-attn==", dockerfile)


def test_k8s_values_give_run_pods_an_nvidia_gpu_and_one_gpu_slot():
    values = yaml.safe_load((INFRA / "k8s" / "values.yaml").read_text())
    run = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]
    assert run["containerConfig"]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert values["concurrency"]["pools"]["defaultLimit"] == 1
    [deployment] = values["dagster-user-deployments"]["deployments"]
    assert {"name": "GASTOWN_PROFILE", "value": "gpu"} in deployment["env"]
    claims = {v["persistentVolumeClaim"]["claimName"] for v in deployment["volumes"]}
    defined = {d["metadata"]["name"] for d in yaml.safe_load_all((INFRA / "k8s" / "storage.yaml").read_text())}
    assert claims <= defined


def test_setup_script_is_executable_and_parses():
    script = INFRA / "runpod_setup.sh"
    mode = subprocess.run(["git", "ls-files", "-s", str(script)], cwd=REPO, capture_output=True, text=True).stdout
    assert mode.startswith("100755") or (not mode and os.access(script, os.X_OK))  # before it is committed
    subprocess.run(["bash", "-n", str(script)], check=True)
