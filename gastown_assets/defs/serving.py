"""adapter_servable (a blocking check on lora_adapter) and served_adapters (the fleet manifest and
vLLM's launch line), re-materialized by declarative automation when a promotion changes."""

import dagster as dg

from gastown_assets.config import ConfigError
from gastown_assets.defs.metadata import to_dagster
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.defs.training import lora_adapter
from gastown_assets.serving.manifest import ManifestError, publish
from gastown_assets.serving.servable import check_lora_adapter
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.plan import Adapter


@dg.asset_check(
    asset=lora_adapter,
    partitions_def=ROLES,
    blocking=True,
    additional_ins={"base_model": dg.AssetIn("base_model")},
    description=(
        "The adapter will load in a server: safetensors only, LoRA A/B weights only (no "
        "modules_to_save or lm_head), LoRA on the base's linear projections, rank within "
        "serving.max_lora_rank (configs/base.yml), and PEFT loads it onto the base in its "
        "lineage. Blocking: a failure stops eval_report and promotion in the run."
    ),
)
def adapter_servable(
    context: dg.AssetCheckExecutionContext, gastown: GastownConfig, lora_adapter: Adapter, base_model: BaseModel
) -> dg.AssetCheckResult:
    try:
        result = check_lora_adapter(gastown.settings, lora_adapter, base_model)
    except ConfigError as exc:
        return dg.AssetCheckResult(passed=False, description=str(exc))
    for problem in result.problems:
        context.log.error(problem)
    return dg.AssetCheckResult(
        passed=result.passed,
        description="; ".join(result.problems) or None,
        metadata={**result.metadata(), "adapter_version": lora_adapter.version},
    )


# A promotion changes promoted_adapter's data version (the registry's current version); a new base
# model changes base_model's. Either re-materializes the manifest; an evaluation that promotes
# nothing does not. The served_adapters_on_promotion sensor evaluates this (dagster-daemon).
ON_PROMOTION = (
    dg.AutomationCondition.any_deps_match(dg.AutomationCondition.data_version_changed()).since_last_handled()
    & ~dg.AutomationCondition.in_progress()
    & ~dg.AutomationCondition.any_deps_in_progress()
).with_label("a promotion or a new base model")


@dg.asset(
    group_name="serving",
    code_version="1",
    automation_condition=ON_PROMOTION,
    deps=[dg.AssetDep("promoted_adapter", partition_mapping=dg.AllPartitionMapping())],
)
def served_adapters(
    context: dg.AssetExecutionContext, gastown: GastownConfig, base_model: BaseModel
) -> dg.Output[dict]:
    """serving/manifest.json: per role the promoted version, its location, the sha256 of each file,
    rank, target modules, base model and data version, and the eval figures it was promoted on
    (roles without one listed as such), plus vLLM's multi-LoRA launch line (serving/vllm-serve.sh)."""
    settings = gastown.settings
    try:
        published = publish(settings.store, settings.project, base_model)
    except (ManifestError, ConfigError) as exc:
        raise dg.Failure(str(exc)) from None
    published.log_to(context.log)
    version = dg.DataVersion(published.version)
    return dg.Output(published.manifest, data_version=version, metadata=to_dagster(published.metadata()))


served_adapters_on_promotion = dg.AutomationConditionSensorDefinition(
    "served_adapters_on_promotion",
    target=dg.AssetSelection.assets(served_adapters),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Rebuilds the fleet manifest after a promotion (served_adapters' automation condition).",
)
