"""A real Dagster UI for tests/ui: `dagster-webserver` and `dagster-daemon run` as subprocesses.

One session-scoped server pair (fresh DAGSTER_HOME, configs cut to a few training steps, a few
polecat sample sessions) and one run of the polecat partition launched through the webserver's
GraphQL endpoint, the mutation the UI's "Materialize" button sends, so the partition trains once
for both the GraphQL test and the browser test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.support import REPO, role_sessions, small_local_configs

BIN = Path(sys.executable).parent
ROLE = "polecat"
ASSET_JOB = "__ASSET_JOB"
START_TIMEOUT_S = 180  # webserver up and the code location loaded (slow when the CPUs are busy)
RUN_TIMEOUT_S = 480
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM to the process group (the webserver's code server, the daemon's code server and run
    workers, the trainer they spawn), then SIGKILL to whatever of the group is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:  # the whole group is gone
            return
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class DagsterUI:
    url: str
    env: dict
    root: Path
    procs: dict = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return Path(self.env["GASTOWN_DATA_DIR"])

    def logs(self) -> str:
        return "\n".join(f"--- {name} log (tail) ---\n{_tail(self.root / f'{name}.log')}" for name in self.procs)

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.load(response)
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        return body["data"]

    def check_alive(self) -> None:
        dead = {name: proc.returncode for name, proc in self.procs.items() if proc.poll() is not None}
        assert not dead, f"exited early: {dead}\n{self.logs()}"


WORKSPACE_QUERY = """
{ workspaceOrError { __typename
    ... on Workspace { locationEntries { name loadStatus
        locationOrLoadError { __typename ... on PythonError { message stack } } } }
    ... on PythonError { message } } }
"""

REPOSITORY_QUERY = """
{ repositoriesOrError { __typename
    ... on RepositoryConnection { nodes { name location { name }
        jobs { name isAssetJob }
        assetNodes { assetKey { path } isPartitioned partitionKeys } } }
    ... on PythonError { message } } }
"""

LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) { __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message stack }
    ... on Error { message } } }
"""

RUN_QUERY = """
query Run($runId: ID!) { runOrError(runId: $runId) { __typename
    ... on Run { runId status creationTime startTime endTime tags { key value }
        stepStats { stepKey status startTime endTime } }
    ... on Error { message } } }
"""

RUN_ERRORS_QUERY = """
query RunErrors($runId: ID!) { logsForRun(runId: $runId) { __typename
    ... on EventConnection { events { __typename
        ... on MessageEvent { message level stepKey }
        ... on ErrorEvent { error { message stack } } } }
    ... on Error { message } } }
"""


def _wait_until_loaded(ui: DagsterUI) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        ui.check_alive()
        try:
            workspace = ui.graphql(WORKSPACE_QUERY, timeout=10)["workspaceOrError"]
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = repr(exc)
        else:
            entries = workspace.get("locationEntries") or []
            for entry in entries:
                loaded = entry["locationOrLoadError"]
                if loaded and loaded["__typename"] == "PythonError":
                    raise AssertionError(
                        f"code location {entry['name']} failed to load: {loaded['message']}\n"
                        + "".join(loaded["stack"])
                    )
            if entries and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries):
                return
            last = json.dumps(workspace)
        time.sleep(1)
    raise AssertionError(f"webserver not ready after {START_TIMEOUT_S} s ({last})\n{ui.logs()}")


def _create_instance_storage(home: Path) -> None:
    """Create DAGSTER_HOME's sqlite storages before the servers start: webserver and daemon both
    creating a fresh one at once stamp its alembic version twice ("more than one head present")."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        instance.get_runs(limit=1)
        instance.all_instigator_state()
        instance.get_latest_materialization_event(dg.AssetKey("raw_transcripts"))


@pytest.fixture(scope="session")
def dagster_ui(tmp_path_factory):
    """Webserver + daemon on 127.0.0.1, their DAGSTER_HOME, data and logs in a tmp dir."""
    root = tmp_path_factory.mktemp("ui")
    configs = small_local_configs(root / "configs")
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump({"telemetry": {"enabled": False}, "nux": {"enabled": False}}))
    _create_instance_storage(home)
    workspace = root / "workspace.yaml"
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
        "GASTOWN_SESSIONS_DIR": str(role_sessions(root / "sessions", configs)),
        "GASTOWN_DATA_DIR": str(root / "data"),
        "GASTOWN_PROFILE": "tiny",
        "GASTOWN_CONFIG_DIR": str(configs),
        "HF_HUB_OFFLINE": "1",
        "AXOLOTL_DO_NOT_TRACK": "1",
        "WANDB_MODE": "disabled",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    port = _free_port()
    ui = DagsterUI(url=f"http://127.0.0.1:{port}", env=env, root=root)
    commands = {
        "webserver": [str(BIN / "dagster-webserver"), "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
        "daemon": [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
    }
    try:
        for name, command in commands.items():
            with open(root / f"{name}.log", "wb") as log:  # the child keeps its own descriptor
                ui.procs[name] = subprocess.Popen(
                    command,
                    env=env,
                    cwd=root,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        _wait_until_loaded(ui)
        yield ui
    finally:
        for proc in ui.procs.values():
            _stop(proc)


@dataclass
class LaunchedRun:
    run_id: str
    run: dict  # runOrError's Run once finished (or the last one seen)
    errors: list[str]  # the run's error events, when it did not succeed
    asset_keys: list[str]
    wall_s: float


def _error_events(ui: DagsterUI, run_id: str) -> list[str]:
    logs = ui.graphql(RUN_ERRORS_QUERY, {"runId": run_id})["logsForRun"]
    out = []
    for event in logs.get("events", []):
        error = event.get("error")
        if error or event.get("level") in {"ERROR", "CRITICAL"}:
            text = f"[{event['__typename']} {event.get('stepKey') or ''}] {event.get('message', '')}"
            if error:
                text += f"\n{error['message']}{''.join(error.get('stack') or [])}"
            out.append(text)
    return out


def launch_partition(ui: DagsterUI, role: str) -> LaunchedRun:
    """One role partition of the whole graph (what `make demo` materialises), launched with
    `launchRun` on the repository's asset job and the `dagster/partition` tag, polled to the end."""
    [repo] = ui.graphql(REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    jobs = {job["name"]: job for job in repo["jobs"]}
    assert ASSET_JOB in jobs and jobs[ASSET_JOB]["isAssetJob"], f"no {ASSET_JOB} in {sorted(jobs)}"
    nodes = repo["assetNodes"]
    assert all(role in n["partitionKeys"] for n in nodes if n["isPartitioned"])
    selection = [{"path": n["assetKey"]["path"]} for n in nodes]
    params = {
        "selector": {
            "repositoryLocationName": repo["location"]["name"],
            "repositoryName": repo["name"],
            "jobName": ASSET_JOB,
            "assetSelection": selection,
        },
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": role}]},
        # The launchpad's executor choice: the chain is sequential, and on 2 busy cores a process
        # per step costs ~40 s of the run (in-process 2.4 s vs multiprocess 13.6 s, measured).
        "runConfigData": {"execution": {"config": {"in_process": {}}}},
    }
    started = time.monotonic()
    launched = ui.graphql(LAUNCH_RUN, {"executionParams": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", f"launchRun: {json.dumps(launched, indent=1)}"
    run_id = launched["run"]["runId"]

    deadline = started + RUN_TIMEOUT_S
    run = launched["run"]
    while time.monotonic() < deadline:
        ui.check_alive()
        run = ui.graphql(RUN_QUERY, {"runId": run_id})["runOrError"]
        if run.get("status") in FINISHED:
            break
        time.sleep(2)
    wall_s = time.monotonic() - started
    errors = [] if run.get("status") == "SUCCESS" else _error_events(ui, run_id)
    if run.get("status") not in FINISHED:
        errors.append(
            f"run still {run.get('status')} after {RUN_TIMEOUT_S} s (QUEUED = the daemon never "
            f"dequeued it)\n{ui.logs()}"
        )
    return LaunchedRun(
        run_id=run_id, run=run, errors=errors, asset_keys=["/".join(s["path"]) for s in selection], wall_s=wall_s
    )


@pytest.fixture(scope="session")
def polecat_run(dagster_ui) -> LaunchedRun:
    return launch_partition(dagster_ui, ROLE)
