"""eval_report: held-out loss of the base model vs base + adapter, as report.json + report.md."""


from pathlib import Path

import dagster as dg

from gastown_assets.atomic import write_text
from gastown_assets.datasets.build import DatasetFile
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.defs.training import Adapter
from gastown_assets.evaluation import report as reports
from gastown_assets.evaluation.run import compare
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.config import merged_axolotl


@dg.asset(partitions_def=ROLES, group_name="evaluation", code_version="1")
def eval_report(context: dg.AssetExecutionContext, gastown: GastownConfig, base_model: BaseModel,
                lora_adapter: Adapter, val_dataset: DatasetFile) -> dg.Output[dict]:
    """Held-out loss and perplexity of the base model and of base + adapter on the role's val
    set, naming the exact adapter version and dataset versions evaluated."""
    settings, role = gastown.settings, gastown.role(context.partition_key)
    max_len = int(merged_axolotl(settings.config_dir, role, gastown.load_profile(), settings.data_dir)["sequence_len"])
    base, tuned = compare(base_model.name_or_path, Path(lora_adapter.path), Path(val_dataset.path), max_len)
    report = reports.build_report(
        role.name,
        {"path": lora_adapter.path, "version": lora_adapter.version, "config_digest": lora_adapter.config_digest},
        {**lora_adapter.data_versions, "val_dataset_evaluated": val_dataset.digest[:16]},
        base, tuned,
    )
    out = settings.role_dir("reports", role.name)
    write_text(out / "report.json", reports.to_json(report).decode())
    markdown = reports.to_markdown(report)
    write_text(out / "report.md", markdown)
    context.log.info(f"{role.name}: base {base.loss:.4f} -> adapter {tuned.loss:.4f} ({out / 'report.json'})")
    return dg.Output(report, metadata={
        "base_val_loss": report["base_val_loss"],
        "adapter_val_loss": report["adapter_val_loss"],
        "adapter_version": lora_adapter.version,
        "report": dg.MetadataValue.path(out / "report.json"),
        "summary": dg.MetadataValue.md(markdown),
    })
