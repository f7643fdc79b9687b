"""The UI path: one role partition launched through the webserver's GraphQL API, run by the daemon.

conftest.py starts `dagster-webserver` and `dagster-daemon run` on 127.0.0.1 (fresh DAGSTER_HOME,
configs cut to a few steps, a few polecat sample sessions), sends the `launchRun` mutation the UI's
"Materialize" button sends (the asset job, the whole graph's assets, tag `dagster/partition` =
polecat) and polls `runOrError` until the run finishes. The run is QUEUED until the daemon's run
queue dequeues it, so a success here also means the daemon picked it up.

Run: .venv/bin/python -m pytest -q tests/ui  (a few minutes on a CPU: it trains a 4-step adapter)
"""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_polecat_partition_launched_through_graphql_succeeds(polecat_run, dagster_ui):
    run = polecat_run.run
    timing = ", ".join(
        f"{s['stepKey']} {s['endTime'] - s['startTime']:.0f} s"
        for s in run.get("stepStats") or []
        if s.get("startTime") and s.get("endTime")
    )
    print(f"\nrun {polecat_run.run_id} {run.get('status')} in {polecat_run.wall_s:.0f} s ({timing})")
    assert run.get("status") == "SUCCESS", "\n\n".join(polecat_run.errors)
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["dagster/partition"] == "polecat"
    assert {"raw_transcripts", "train_dataset", "val_dataset", "lora_adapter", "eval_report"} <= set(
        polecat_run.asset_keys
    )
    assert {s["stepKey"]: s["status"] for s in run["stepStats"]}.get("lora_adapter") == "SUCCESS"

    data = dagster_ui.data_dir
    report = json.loads((data / "reports/polecat/report.json").read_text())
    assert report["role"] == "polecat"
    adapter = Path(report["adapter"]["path"])
    assert adapter == data / "adapters" / "polecat" / report["adapter"]["version"]
    assert (adapter / "adapter_model.safetensors").stat().st_size > 0
    assert (adapter / "adapter_config.json").is_file()
    assert report["base_val_loss"] > 0 and report["adapter_val_loss"] > 0
    # Only polecat was asked for: no other role's outputs.
    assert sorted(p.name for p in (data / "adapters").iterdir()) == ["polecat"]
