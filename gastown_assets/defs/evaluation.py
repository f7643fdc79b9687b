"""eval_report (base vs adapter: replayed held-out decisions, held-out loss, role scenarios, loss
curve), its gate check, and promoted_adapter, which moves `adapters/<role>/current` to a better adapter."""

import dagster as dg
import orjson

from gastown_assets.config import ConfigError
from gastown_assets.datasets.build import DatasetFile
from gastown_assets.defs.metadata import to_dagster
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.evaluation import promotion
from gastown_assets.evaluation.judge import MissingAdapterFiles, evaluate_adapter
from gastown_assets.evaluation.report import Report
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.plan import Adapter


@dg.asset(partitions_def=ROLES, group_name="evaluation", code_version="3")
def eval_report(
    context: dg.AssetExecutionContext,
    gastown: GastownConfig,
    base_model: BaseModel,
    lora_adapter: Adapter,
    val_dataset: DatasetFile,
) -> dg.Output[Report]:
    """Base vs base + adapter on the role's held-out sessions: a replay of their decisions (parse
    rate, tool and command accuracy, latency), held-out loss, the role's scenarios
    (configs/eval/<role>.jsonl), the training loss curve and the memorization probe; names the
    exact adapter version and dataset versions evaluated."""
    try:
        result = evaluate_adapter(gastown.settings, lora_adapter, base_model, val_dataset, context.log.info)
    except (ConfigError, MissingAdapterFiles) as exc:
        raise dg.Failure(str(exc)) from None
    context.log.info(result.summary())
    return dg.Output(result.report, metadata=to_dagster(result.metadata()))


@dg.asset_check(
    asset=eval_report,
    partitions_def=ROLES,
    description=(
        "The adapter beats its base: lower held-out loss, higher command accuracy on replayed held-out "
        "decisions, a parse rate over eval.min_parse_rate, no scenario behaviour lost."
    ),
)
def adapter_beats_base(context: dg.AssetCheckExecutionContext, gastown: GastownConfig) -> dg.AssetCheckResult:
    data = gastown.settings.store.read_bytes(f"reports/{context.partition_key}/report.json")
    report = Report.model_validate({k: v for k, v in orjson.loads(data).items() if k in Report.model_fields})
    r = report.replay
    return dg.AssetCheckResult(
        passed=report.beats_base,
        description="; ".join(report.gate_failures()) or None,
        metadata={
            "base_val_loss": report.base_val_loss,
            "adapter_val_loss": report.adapter_val_loss,
            "base_command_accuracy": r.base.command_accuracy,
            "adapter_command_accuracy": r.adapter.command_accuracy,
            "adapter_parse_rate": r.adapter.parse_rate,
            "adapter_version": report.adapter.version,
        },
    )


@dg.asset(partitions_def=ROLES, group_name="evaluation", code_version="2")
def promoted_adapter(context: dg.AssetExecutionContext, gastown: GastownConfig, eval_report: Report) -> dg.Output[dict]:
    """`adapters/<role>/current` → the evaluated adapter, only when it passes the gate against
    its base (behaviour and loss) and beats the currently promoted one; every evaluation is
    recorded, with its replay figures, in `adapters/<role>/registry.json`."""
    done = promotion.promote(gastown.settings.store, context.partition_key, eval_report)
    context.log.info(done.summary())
    if done.leaked:  # recorded in the registry, then failed loudly
        raise dg.Failure(
            f"{done.role}: adapter {done.evaluated} not promoted: {done.decision.reason}", allow_retries=False
        )
    version = dg.DataVersion(done.registry["current"] or "none")
    return dg.Output(done.current or {}, data_version=version, metadata=to_dagster(done.metadata()))
