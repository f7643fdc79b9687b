"""eval_report (base vs adapter: replayed held-out decisions, held-out loss, role scenarios, loss
curve), its gate check, and promoted_adapter, which moves `adapters/<role>/current` to a better adapter."""


import base64

import dagster as dg
import orjson

from gastown_assets.datasets.build import DatasetFile
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.evaluation import memorization, promotion
from gastown_assets.evaluation import report as reports
from gastown_assets.evaluation.judge import REPORT_FILES, evaluate_adapter
from gastown_assets.evaluation.report import Report
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.config import ConfigError
from gastown_assets.training.launch import ADAPTER_FILES, HISTORY_FILE
from gastown_assets.training.plan import Adapter
from gastown_assets.training.remote import stage_base_model
from gastown_assets.transcripts.corpus import RECORD


@dg.asset(partitions_def=ROLES, group_name="evaluation", code_version="3")
def eval_report(context: dg.AssetExecutionContext, gastown: GastownConfig, base_model: BaseModel,
                lora_adapter: Adapter, val_dataset: DatasetFile) -> dg.Output[Report]:
    """Base vs base + adapter on the role's held-out sessions: a replay of their decisions (parse
    rate, tool and command accuracy, latency), held-out loss, the role's scenarios
    (configs/eval/<role>.jsonl) and the training loss curve; names the exact adapter version
    and dataset versions evaluated."""
    settings, role = gastown.settings, context.partition_key
    store, needed = settings.store, (*ADAPTER_FILES, HISTORY_FILE)
    missing = store.missing(lora_adapter.path, needed)
    if missing:
        raise dg.Failure(f"{lora_adapter.path}: adapter {lora_adapter.version} is missing {', '.join(missing)}; "
                         "materialize lora_adapter again")
    adapter_dir = store.stage_dir(lora_adapter.path, needed)
    base_path = stage_base_model(store, gastown.load_profile(), base_model)
    try:
        result = evaluate_adapter(settings.config_dir, settings.profile, settings.data_dir, lora_adapter,
                                  adapter_dir, base_path, store.stage(val_dataset.path), val_dataset.digest,
                                  context.log.info)
    except ConfigError as exc:
        raise dg.Failure(str(exc)) from None
    record = f"transcripts/{role}/{RECORD}"  # what ingest redacted (transcripts/redact.py)
    result = memorization.with_probe(result, store.read_bytes(record) if store.exists(record) else None,
                                     base_path, adapter_dir, gastown.role(role).facts.system_prompt.strip())
    result.write(settings.role_dir("reports", role))
    for name in REPORT_FILES:
        store.put(f"reports/{role}/{name}")
    report, r = result.report, result.report.replay
    context.log.info(f"{role}: command accuracy base {r.base.command_accuracy:.0%} -> adapter "
                     f"{r.adapter.command_accuracy:.0%}, parse rate {r.base.parse_rate:.0%} -> {r.adapter.parse_rate:.0%} "
                     f"on {r.points} held-out decisions; val loss {report.base_val_loss:.4f} -> "
                     f"{report.adapter_val_loss:.4f} ({store.uri(f'reports/{role}/report.json')})")
    inline = f"data:image/png;base64,{base64.b64encode(result.loss_png).decode()}"
    return dg.Output(report, metadata={
        **{f"base_{k}": v for k, v in r.base.model_dump().items() if k != "points"},
        **{f"adapter_{k}": v for k, v in r.adapter.model_dump().items() if k != "points"},
        "replay_points": r.points,
        "base_val_loss": report.base_val_loss,
        "adapter_val_loss": report.adapter_val_loss,
        "base_scenario_score": dg.MetadataValue.float(report.base_scenario_score or 0.0),
        "adapter_scenario_score": dg.MetadataValue.float(report.adapter_scenario_score or 0.0),
        "passes_gate": report.beats_base,
        "memorization_leaks": len(report.memorization["leaks"]) if report.memorization else 0,
        "adapter_version": lora_adapter.version,
        "report": dg.MetadataValue.path(store.uri(f"reports/{role}/report.json")),
        "summary": dg.MetadataValue.md(reports.to_markdown(report, loss_png=inline)),
    })


@dg.asset_check(asset=eval_report, partitions_def=ROLES, description=(
    "The adapter beats its base: lower held-out loss, higher command accuracy on replayed held-out "
    "decisions, a parse rate over eval.min_parse_rate, no scenario behaviour lost."))
def adapter_beats_base(context: dg.AssetCheckExecutionContext, gastown: GastownConfig) -> dg.AssetCheckResult:
    data = gastown.settings.store.read_bytes(f"reports/{context.partition_key}/report.json")
    report = Report.model_validate({k: v for k, v in orjson.loads(data).items() if k in Report.model_fields})
    r = report.replay
    return dg.AssetCheckResult(
        passed=report.beats_base,
        description="; ".join(report.gate_failures()) or None,
        metadata={"base_val_loss": report.base_val_loss, "adapter_val_loss": report.adapter_val_loss,
                  "base_command_accuracy": r.base.command_accuracy, "adapter_command_accuracy": r.adapter.command_accuracy,
                  "adapter_parse_rate": r.adapter.parse_rate, "adapter_version": report.adapter.version})


@dg.asset(partitions_def=ROLES, group_name="evaluation", code_version="2")
def promoted_adapter(context: dg.AssetExecutionContext, gastown: GastownConfig, eval_report: Report) -> dg.Output[dict]:
    """`adapters/<role>/current` → the evaluated adapter, only when it passes the gate against
    its base (behaviour and loss) and beats the currently promoted one; every evaluation is
    recorded, with its replay figures, in `adapters/<role>/registry.json`."""
    store, role = gastown.settings.store, context.partition_key
    registry = promotion.read_registry(store, role)
    decision = promotion.decide(eval_report, promotion.current_entry(registry))
    if decision.promote:  # the adapter must be there before the registry names it
        promotion.point_current(store, role, eval_report.adapter.version)
    registry = promotion.record(store, role, eval_report, decision)
    verb = "promoted" if decision.promote else "kept the current adapter"
    context.log.info(f"{context.partition_key}: {verb}: {decision.reason}")
    if eval_report.memorization and not eval_report.memorization["passed"]:  # recorded, then failed loudly
        raise dg.Failure(f"{role}: adapter {eval_report.adapter.version} not promoted: {decision.reason}",
                         allow_retries=False)
    current = promotion.current_entry(registry)
    return dg.Output(current or {}, data_version=dg.DataVersion(registry["current"] or "none"), metadata={
        "promoted": decision.promote,
        "reason": decision.reason,
        "current_version": registry["current"] or "",
        "current_val_loss": current["adapter_val_loss"] if current else float("nan"),
        "evaluated_version": eval_report.adapter.version,
        "registry": dg.MetadataValue.path(store.uri(promotion.registry_key(role))),
        "versions_evaluated": len(registry["history"]),
    })
