"""adapter_servable blocks promotion of an adapter a server would refuse; served_adapters writes
the manifest, and a promotion (not a mere evaluation) asks for it again. In process, the real
definitions, the tiny profile."""

import dagster as dg
import orjson
import yaml

from gastown_assets.definitions import defs
from gastown_assets.defs.resources import GastownConfig, WandbConfig
from gastown_assets.storage import DataStore
from tests.serving.fleet import promote, untrained
from tests.support import role_sessions, small_local_configs


def _resources(data, configs, sessions):
    return {
        "gastown": GastownConfig(
            sessions_dir=str(sessions), data_dir=str(data), profile="tiny", config_dir=str(configs)
        ),
        "io_manager": dg.FilesystemIOManager(base_dir=str(data / "storage")),
        "wandb": WandbConfig(mode="disabled"),
        "trainer": dg.PipesSubprocessClient(),
    }


def _materialize(instance, resources, selection, partition=None):
    return dg.materialize(
        [*defs.assets, *defs.asset_checks],
        partition_key=partition,
        resources=resources,
        instance=instance,
        raise_on_error=False,
        selection=selection,
    )


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_an_adapter_above_the_serving_rank_stops_before_evaluation_and_promotion(tmp_path):
    configs = small_local_configs(tmp_path / "configs")
    base = yaml.safe_load((configs / "base.yml").read_text())
    base["serving"]["max_lora_rank"] = 8  # the tiny profile trains r=16
    (configs / "base.yml").write_text(yaml.safe_dump(base, sort_keys=False))
    sessions = role_sessions(tmp_path / "sessions", configs)
    data = tmp_path / "data"
    result = _materialize(dg.DagsterInstance.ephemeral(), _resources(data, configs, sessions), "*", "polecat")
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "adapter_servable")
    adapter = result.output_for_node("lora_adapter")
    assert not check.passed
    assert check.description == (
        f"{adapter.path}/adapter_config.json: r: LoRA rank 16 exceeds serving.max_lora_rank "
        f"8 ({configs}/base.yml); vLLM refuses an adapter whose rank is above its "
        "--max-lora-rank"
    )
    assert check.metadata["lora_rank"].value == 16 and check.metadata["lora_alpha"].value == 32.0
    assert "lora_adapter" in _materialized(result)
    assert not _materialized(result) & {"eval_report", "promoted_adapter", "served_adapters"}
    assert not (data / "adapters/polecat/registry.json").exists(), "nothing was promoted"


def test_served_adapters_writes_the_manifest_and_a_promotion_asks_for_it_again(tmp_path):
    configs = small_local_configs(tmp_path / "configs")
    data = tmp_path / "data"
    resources = _resources(data, configs, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    built = _materialize(instance, resources, "base_model")
    base = built.output_for_node("base_model")
    store = DataStore.open(str(data))
    untrained(base.name_or_path, data / "adapters/polecat/v1")
    promote(store, "polecat", "v1", base.digest)

    result = _materialize(instance, resources, "served_adapters")
    assert result.success
    manifest = orjson.loads((data / "serving/manifest.json").read_bytes())
    assert result.output_for_node("served_adapters") == manifest
    assert manifest["roles"]["polecat"]["status"] == "served"
    assert {r["status"] for role, r in manifest["roles"].items() if role != "polecat"} == {"not_promoted"}
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["served_roles"].value == "polecat" and meta["crew_status"].value == "not_promoted"
    assert f"--lora-modules polecat={data / 'adapters/polecat/v1'}" in meta["vllm_command"].value

    def requested(cursor):
        evaluated = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        keys = {"served_adapters"} if evaluated.get_requested_partitions(dg.AssetKey("served_adapters")) else set()
        assert evaluated.total_requested == len(keys), "only served_adapters is automated"
        return keys, evaluated.cursor

    keys, cursor = requested(None)
    assert keys == set(), "just materialized"
    evaluated = dg.AssetMaterialization("promoted_adapter", partition="crew", tags={"dagster/data_version": "none"})
    instance.report_runless_asset_event(evaluated)
    keys, cursor = requested(cursor)
    assert keys == {"served_adapters"}, "crew's first evaluation changed its data version"
    instance.report_runless_asset_event(dg.AssetMaterialization("served_adapters"))
    keys, cursor = requested(cursor)
    assert keys == set()
    instance.report_runless_asset_event(
        dg.AssetMaterialization("promoted_adapter", partition="crew", tags={"dagster/data_version": "none"})
    )
    keys, cursor = requested(cursor)
    assert keys == set(), "an evaluation that promoted nothing leaves the manifest alone"
    instance.report_runless_asset_event(
        dg.AssetMaterialization("promoted_adapter", partition="crew", tags={"dagster/data_version": "v2"})
    )
    keys, cursor = requested(cursor)
    assert keys == {"served_adapters"}, "a promotion asks for a new manifest"
    # A retrain run promotes and rebuilds the manifest itself (served_adapters is in its chain).
    instance.report_runless_asset_event(
        dg.AssetMaterialization("promoted_adapter", partition="polecat", tags={"dagster/data_version": "v3"})
    )
    instance.report_runless_asset_event(dg.AssetMaterialization("served_adapters"))
    keys, _ = requested(cursor)
    assert keys == set(), "the manifest was rebuilt after the promotion: nothing left to request"


def test_the_check_blocks_and_the_manifest_waits_on_every_role():
    spec = next(s for c in defs.asset_checks for s in c.check_specs if s.name == "adapter_servable")
    assert spec.asset_key.to_user_string() == "lora_adapter" and spec.blocking and spec.description
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("served_adapters"))
    assert node.partitions_def is None and node.group_name == "serving"
    assert sorted(k.to_user_string() for k in node.parent_keys) == ["base_model", "promoted_adapter"]
    sensor = next(s for s in defs.sensors if s.name == "served_adapters_on_promotion")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
