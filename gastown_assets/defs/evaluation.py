"""eval_report (base vs adapter: held-out loss, role scenarios, loss curve), its gate check,
and promoted_adapter, which moves `adapters/<role>/current` to a better adapter."""


import base64

import dagster as dg
import orjson

from gastown_assets.atomic import atomic_open, write_text
from gastown_assets.datasets.build import DatasetFile
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.defs.training import Adapter
from gastown_assets.evaluation import promotion
from gastown_assets.evaluation import report as reports
from gastown_assets.evaluation.plot import loss_curve_png
from gastown_assets.evaluation.run import evaluate
from gastown_assets.evaluation.scenarios import load_scenarios
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.config import ConfigError, merged_axolotl
from gastown_assets.training.launch import ADAPTER_FILES, HISTORY_FILE
from gastown_assets.training.remote import stage_base_model


@dg.asset(partitions_def=ROLES, group_name="evaluation", code_version="2")
def eval_report(context: dg.AssetExecutionContext, gastown: GastownConfig, base_model: BaseModel,
                lora_adapter: Adapter, val_dataset: DatasetFile) -> dg.Output[dict]:
    """Base vs base + adapter on the role's val set (held-out loss and perplexity) and on the
    role's scenarios (configs/eval/<role>.jsonl, scored on parsed tool calls), with the training
    loss curve; names the exact adapter version and dataset versions evaluated."""
    settings, role = gastown.settings, gastown.role(context.partition_key)
    store, needed = settings.store, (*ADAPTER_FILES, HISTORY_FILE)
    missing = store.missing(lora_adapter.path, needed)
    if missing:
        raise dg.Failure(f"{lora_adapter.path}: adapter {lora_adapter.version} is missing {', '.join(missing)}; "
                         "materialize lora_adapter again")
    adapter_dir = store.stage_dir(lora_adapter.path, needed)
    base_path = stage_base_model(store, gastown.load_profile(), base_model)
    try:
        scenarios = load_scenarios(settings.config_dir, role.name)
    except ConfigError as exc:
        raise dg.Failure(str(exc)) from None
    max_len = int(merged_axolotl(settings.config_dir, role, gastown.load_profile(), settings.data_dir)["sequence_len"])
    ev = evaluate(base_path, adapter_dir, store.stage(val_dataset.path), max_len, scenarios,
                  role.facts.system_prompt.strip())
    report = reports.build_report(
        role.name,
        {"path": lora_adapter.path, "version": lora_adapter.version, "config_digest": lora_adapter.config_digest},
        {**lora_adapter.data_versions, "val_dataset_evaluated": val_dataset.digest[:16]},
        ev,
    )
    out = settings.role_dir("reports", role.name)
    png = loss_curve_png(orjson.loads((adapter_dir / HISTORY_FILE).read_bytes()), f"{role.name} {lora_adapter.version}")
    with atomic_open(out / reports.LOSS_PNG, "wb") as f:
        f.write(png)
    write_text(out / "report.json", reports.to_json(report).decode())
    write_text(out / "report.md", reports.to_markdown(report))
    for name in (reports.LOSS_PNG, "report.md", "report.json"):  # report.json last: the check reads it
        store.put(f"reports/{role.name}/{name}")
    context.log.info(f"{role.name}: val loss base {ev.base.loss:.4f} -> adapter {ev.tuned.loss:.4f}; scenarios "
                     f"{report['base_scenario_score']} -> {report['adapter_scenario_score']} "
                     f"({store.uri(f'reports/{role.name}/report.json')})")
    inline = f"data:image/png;base64,{base64.b64encode(png).decode()}"
    return dg.Output(report, metadata={
        "base_val_loss": report["base_val_loss"],
        "adapter_val_loss": report["adapter_val_loss"],
        "base_scenario_score": dg.MetadataValue.float(report["base_scenario_score"] or 0.0),
        "adapter_scenario_score": dg.MetadataValue.float(report["adapter_scenario_score"] or 0.0),
        "adapter_version": lora_adapter.version,
        "report": dg.MetadataValue.path(store.uri(f"reports/{role.name}/report.json")),
        "summary": dg.MetadataValue.md(reports.to_markdown(report, loss_png=inline)),
    })


@dg.asset_check(asset=eval_report, partitions_def=ROLES, description=(
    "The adapter beats the base model on held-out loss and meets at least as many scenario behaviours."))
def adapter_beats_base(context: dg.AssetCheckExecutionContext, gastown: GastownConfig) -> dg.AssetCheckResult:
    report = orjson.loads(gastown.settings.store.read_bytes(f"reports/{context.partition_key}/report.json"))
    return dg.AssetCheckResult(
        passed=bool(report["adapter_beats_base"] and not report["scenarios_regress"]),
        metadata={"base_val_loss": report["base_val_loss"], "adapter_val_loss": report["adapter_val_loss"],
                  "adapter_version": report["adapter"]["version"]})


@dg.asset(partitions_def=ROLES, group_name="evaluation", code_version="1")
def promoted_adapter(context: dg.AssetExecutionContext, gastown: GastownConfig, eval_report: dict) -> dg.Output[dict]:
    """`adapters/<role>/current` → the evaluated adapter, only when it beats the base and the
    currently promoted one; every evaluation is recorded in `adapters/<role>/registry.json`."""
    store, role = gastown.settings.store, context.partition_key
    registry = promotion.read_registry(store, role)
    decision = promotion.decide(eval_report, promotion.current_entry(registry))
    if decision.promote:  # the adapter must be there before the registry names it
        promotion.point_current(store, role, eval_report["adapter"]["version"])
    registry = promotion.record(store, role, eval_report, decision)
    verb = "promoted" if decision.promote else "kept the current adapter"
    context.log.info(f"{context.partition_key}: {verb}: {decision.reason}")
    current = promotion.current_entry(registry)
    return dg.Output(current or {}, data_version=dg.DataVersion(registry["current"] or "none"), metadata={
        "promoted": decision.promote,
        "reason": decision.reason,
        "current_version": registry["current"] or "",
        "current_val_loss": current["adapter_val_loss"] if current else float("nan"),
        "evaluated_version": eval_report["adapter"]["version"],
        "registry": dg.MetadataValue.path(store.uri(promotion.registry_key(role))),
        "versions_evaluated": len(registry["history"]),
    })
