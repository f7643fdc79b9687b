"""A snapshot of the graph: asset keys, groups, partitions and checks other tools rely on."""

import json

import yaml

from gastown_assets.definitions import defs
from tests.support import REPO

ROLES = ["crew", "deacon", "mayor", "polecat", "refinery", "witness"]


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {
        "raw_transcripts": "transcripts",
        "train_dataset": "datasets",
        "val_dataset": "datasets",
        "base_model": "training",
        "lora_adapter": "training",
        "eval_report": "evaluation",
        "promoted_adapter": "evaluation",
        "served_adapters": "serving",
    }
    for key in graph.get_all_asset_keys():
        partitions = graph.get(key).partitions_def
        if key.to_user_string() in ("base_model", "served_adapters"):
            assert partitions is None
        else:
            assert partitions.get_partition_keys() == ROLES


def test_lineage_runs_transcripts_to_report():
    graph = defs.resolve_asset_graph()
    parents = {
        k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
        for k in graph.get_all_asset_keys()
    }
    assert parents["train_dataset"] == ["base_model", "raw_transcripts"]
    assert parents["lora_adapter"] == ["base_model", "train_dataset", "val_dataset"]
    assert parents["eval_report"] == ["base_model", "lora_adapter", "val_dataset"]
    assert parents["promoted_adapter"] == ["eval_report"]
    assert parents["served_adapters"] == ["base_model", "promoted_adapter"]


def test_blocking_dataset_checks_are_declared():
    specs = {(s.asset_key.to_user_string(), s.name): s.blocking for asset in defs.assets for s in asset.check_specs}
    assert specs == {
        ("train_dataset", "no_secrets_in_datasets"): True,
        ("val_dataset", "no_session_in_both_splits"): True,
    }


def test_workspace_loads_the_definitions_module():
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    assert workspace["load_from"] == [
        {"python_module": {"module_name": "gastown_assets.definitions", "attribute": "defs"}}
    ]


def test_training_runs_one_at_a_time_on_a_gpu():
    adapter = next(a for a in defs.assets if [k.to_user_string() for k in a.keys] == ["lora_adapter"])
    assert adapter.op.pool == "gpu"
    k8s = json.loads(adapter.op.tags["dagster-k8s/config"])  # tags hold JSON strings
    limits = k8s["container_config"]["resources"]["limits"]
    assert limits == {"nvidia.com/gpu": "1"}


def test_every_asset_and_check_says_what_it_is_in_the_ui():
    graph = defs.resolve_asset_graph()
    missing = [k.to_user_string() for k in graph.get_all_asset_keys() if not (graph.get(k).description or "").strip()]
    assert missing == []
    spec = next(s for c in defs.asset_checks for s in c.check_specs if s.name == "adapter_beats_base")
    assert spec.asset_key.to_user_string() == "eval_report" and spec.description
    assert not spec.blocking, "promotion decides; a failed gate must not fail the run"


def test_gpu_and_network_steps_retry():
    policies = {
        k.to_user_string(): graph_policy for a in defs.assets for k in a.keys if (graph_policy := a.op.retry_policy)
    }
    assert policies["lora_adapter"].max_retries == 2 and policies["base_model"].max_retries >= 1
    assert "raw_transcripts" not in policies, "parsing local files does not need retries"


def test_a_code_server_can_load_every_definition():
    repo = defs.get_repository_def()
    repo.load_all_definitions()  # what `dagster api grpc` does: jobs and ops must not clash
    assert repo.get_job("build_datasets").partitions_def.get_partition_keys() == ROLES
