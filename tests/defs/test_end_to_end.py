"""The whole graph for one role, in process, on the shipped samples and the local profile's real
model (SmolLM2-135M-Instruct) on a short step budget: decision rows, training, the replay of
held-out decisions, the behaviour gate and promotion, then the `replay` command on that adapter."""

import json
from pathlib import Path

import dagster as dg
import pytest

from gastown_assets.definitions import defs
from gastown_assets.defs.resources import GastownConfig, WandbConfig
from gastown_assets.samples import PLANTED_SECRETS, SESSIONS_DIR
from tests.support import REPO, small_local_configs

WANDB_KEY = "wandbkey-0f9c2a7e51d84b6c93a1e8d27b4f6c05"
STEPS = 40  # enough for SmolLM2 to learn the call format and pass the behaviour gate on the samples


@pytest.fixture(scope="module")
def instance():
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture(scope="module")
def polecat_run(tmp_path_factory, instance):
    data = tmp_path_factory.mktemp("data")
    configs = small_local_configs(tmp_path_factory.mktemp("cfg") / "configs", max_steps=STEPS, profile="local")
    resources = {
        "gastown": GastownConfig(
            sessions_dir=str(SESSIONS_DIR), data_dir=str(data), profile="local", config_dir=str(configs)
        ),
        "io_manager": dg.FilesystemIOManager(base_dir=str(data / "storage")),
        "wandb": WandbConfig(api_key=WANDB_KEY, mode="disabled"),  # reaches the trainer's env only
        "trainer": dg.PipesSubprocessClient(),
    }
    assets = [*defs.assets, *defs.asset_checks]
    result = dg.materialize(assets, partition_key="polecat", resources=resources, instance=instance)
    return result, data, configs


def test_polecat_partition_end_to_end(polecat_run):
    result, data, _ = polecat_run
    assert result.success
    assert (data / "datasets/polecat/train.jsonl").stat().st_size > 0
    assert (data / "datasets/polecat/val.jsonl").stat().st_size > 0
    adapter = Path(result.output_for_node("lora_adapter").path)
    assert adapter.parent == data / "adapters" / "polecat"
    assert (adapter / "adapter_model.safetensors").stat().st_size > 0
    assert json.loads((adapter / "adapter_config.json").read_text())["peft_type"] == "LORA"
    assert (adapter / "resolved_config.yml").is_file()
    report = json.loads((data / "reports/polecat/report.json").read_text())
    assert report["role"] == "polecat"
    assert report["adapter"]["path"] == str(adapter)
    assert report["adapter_val_loss"] < report["base_val_loss"]
    assert (data / "reports/polecat/report.md").read_text().startswith("# Eval report: polecat")


def test_no_session_is_in_both_train_and_val(polecat_run):
    _, data, _ = polecat_run
    ids = {}
    for split in ("train", "val"):
        with open(data / f"datasets/polecat/{split}.jsonl") as f:
            ids[split] = {json.loads(line)["session_id"] for line in f}
    assert ids["train"] and ids["val"] and not ids["train"] & ids["val"]


def test_adapter_metadata_names_the_dataset_versions_it_trained_on(polecat_run):
    result, _, _ = polecat_run
    mats = {m.asset_key.to_user_string(): m.materialization for m in result.get_asset_materialization_events()}
    adapter_meta = mats["lora_adapter"].metadata
    assert adapter_meta["train_dataset_version"].value == mats["train_dataset"].tags["dagster/data_version"]
    assert adapter_meta["val_dataset_version"].value == mats["val_dataset"].tags["dagster/data_version"]
    assert "base_model:" in adapter_meta["resolved_config"].value
    assert mats["eval_report"].metadata["adapter_version"].value == adapter_meta["version"].value


def test_blocking_dataset_checks_ran_and_passed(polecat_run):
    result, data, _ = polecat_run
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    report = json.loads((data / "reports/polecat/report.json").read_text())
    assert evaluations == {
        "no_secrets_in_datasets": True,
        "no_session_in_both_splits": True,
        "adapter_beats_base": report["adapter_beats_base"],
        "adapter_servable": True,
    }


def test_no_planted_secret_or_token_reaches_run_logs_metadata_datasets_or_reports(polecat_run, instance):
    result, data, _ = polecat_run
    planted = [s["value"] for s in json.loads(PLANTED_SECRETS.read_text())] + [WANDB_KEY]
    seen = "\n".join(str(event) for event in result.all_events)
    seen += "\n".join(str(entry) for entry in instance.all_logs(result.run_id))  # run log, metadata
    outputs = [*data.glob("datasets/polecat/*"), *data.glob("reports/polecat/*"), *data.rglob("adapters/polecat/*/*")]
    for path in outputs:
        seen += path.read_bytes().decode("utf-8", "replace")  # loss.png, safetensors too
    assert planted and not [value for value in planted if value in seen]


def test_trainer_streams_progress_and_reports_metrics_through_pipes(polecat_run, instance):
    result, _, _ = polecat_run
    messages = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any(m.startswith(f"step {STEPS}/{STEPS} loss") for m in messages), "no per-step loss from the trainer"
    assert any("learning_rate" in m for m in messages)
    adapter_meta = {
        m.asset_key.to_user_string(): m.materialization.metadata for m in result.get_asset_materialization_events()
    }["lora_adapter"]
    assert adapter_meta["steps"].value == STEPS and adapter_meta["train_loss"].value > 0
    assert adapter_meta["resumed_from_step"].value == 0
    assert 0.2 < adapter_meta["vram_estimate_gib"].value < 4  # SmolLM2-135M: half a GiB of fp32 weights
    assert adapter_meta["wandb_mode"].value == "disabled"


def test_report_has_scenarios_and_loss_plot_and_the_registry_names_the_adapter(polecat_run):
    result, data, _ = polecat_run
    report = json.loads((data / "reports/polecat/report.json").read_text())
    assert len(report["scenarios"]) == 3
    assert all(set(b) == {"base", "adapter"} for sc in report["scenarios"] for b in sc["behaviours"].values())
    assert report["base_scenario_score"] is not None and report["adapter_scenario_score"] is not None
    assert (data / "reports/polecat/loss.png").read_bytes().startswith(b"\x89PNG")
    assert "![training loss](loss.png)" in (data / "reports/polecat/report.md").read_text()
    adapter = Path(result.output_for_node("lora_adapter").path)
    registry = json.loads((data / "adapters/polecat/registry.json").read_text())
    assert registry["history"][-1]["version"] == adapter.name
    if registry["history"][-1]["promoted"]:
        assert registry["current"] == adapter.name and (data / "adapters/polecat/current").resolve() == adapter


def test_report_replays_held_out_decisions_and_gates_promotion_on_them(polecat_run):
    result, data, _ = polecat_run
    report = json.loads((data / "reports/polecat/report.json").read_text())
    replay = report["replay"]
    assert replay["points"] == 8 and replay["base"]["points"] == replay["adapter"]["points"] == 8
    # a few dozen steps teach SmolLM2 the call format; the base, never shown it, rarely writes one
    assert replay["adapter"]["parse_rate"] > replay["base"]["parse_rate"]
    md = (data / "reports/polecat/report.md").read_text()
    assert "## Replay of held-out decisions" in md and "| base + adapter |" in md and "### Examples" in md
    meta = {m.asset_key.to_user_string(): m.materialization.metadata for m in result.get_asset_materialization_events()}
    assert meta["eval_report"]["adapter_command_accuracy"].value == replay["adapter"]["command_accuracy"]
    assert meta["eval_report"]["passes_gate"].value is report["adapter_beats_base"]
    registry = json.loads((data / "adapters/polecat/registry.json").read_text())
    last = registry["history"][-1]
    assert last["replay"]["adapter"] == replay["adapter"]  # promotion recorded the figures it judged on
    assert last["promoted"] is report["adapter_beats_base"] and bool(report["gate_failures"]) is not last["promoted"]


def test_replay_command_on_the_trained_adapter_prints_one_json_object(polecat_run, tmp_path):
    import shutil
    import subprocess
    import sys

    from gastown_assets.datasets.split import is_val

    result, data, configs = polecat_run
    version = Path(result.output_for_node("lora_adapter").path).name
    held_out = tmp_path / "sessions"  # two sessions the split kept out of training
    picked = [p for p in sorted(SESSIONS_DIR.glob("*-polecats-*/*.jsonl")) if is_val(p.stem, 0.15, "gastown-v1")][:2]
    for path in picked:
        folder = held_out / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, folder)
    env = {
        "PATH": "/usr/bin:/bin",
        "GASTOWN_DATA_DIR": str(data),
        "GASTOWN_PROFILE": "local",
        "GASTOWN_CONFIG_DIR": str(configs),
        "HF_HUB_OFFLINE": "1",
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "gastown_assets",
            "replay",
            "polecat",
            "--sessions",
            str(held_out),
            "--adapter",
            version,
            "--limit",
            "4",
            "--json",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout)
    assert got["role"] == "polecat" and got["points"] == 4 and got["adapter"]["version"] == version
    for model in ("base", "adapter"):
        assert {"parse_rate", "tool_accuracy", "command_accuracy", "latency_p50_s", "latency_p95_s"} <= set(got[model])
    assert got["adapter"]["parse_rate"] >= got["base"]["parse_rate"]
