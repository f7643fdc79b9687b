"""The evaluation stage: judge a trained adapter against its base, probe it for removed secrets,
write the report (locally and to the data dir) and give the asset its metadata."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from gastown_assets.atomic import atomic_open, write_text
from gastown_assets.config import Role
from gastown_assets.datasets.build import DatasetFile
from gastown_assets.evaluation import memorization
from gastown_assets.evaluation import report as reports
from gastown_assets.evaluation.plot import loss_curve_png
from gastown_assets.evaluation.run import evaluate
from gastown_assets.evaluation.scenarios import load_scenarios
from gastown_assets.meta import Markdown, PathRef
from gastown_assets.settings import Settings
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.launch import ADAPTER_FILES, HISTORY_FILE
from gastown_assets.training.plan import Adapter
from gastown_assets.training.remote import stage_base_model
from gastown_assets.transcripts.role_store import RECORD

REPORT_FILES = (reports.LOSS_PNG, "report.md", "report.json")  # report.json last: checks read it


class MissingAdapterFiles(RuntimeError):
    """The adapter's folder lacks a file the evaluation reads: train it again."""


@dataclass(frozen=True)
class AdapterEvaluation:
    report: reports.Report
    loss_png: bytes
    report_uri: str = ""  # report.json in the data dir, once published

    def write(self, out_dir: Path) -> None:
        """loss.png, report.md, then report.json, each atomically."""
        with atomic_open(out_dir / reports.LOSS_PNG, "wb") as f:
            f.write(self.loss_png)
        write_text(out_dir / "report.md", reports.to_markdown(self.report))
        write_text(out_dir / "report.json", self.report.to_json().decode())

    def summary(self) -> str:
        report, r = self.report, self.report.replay
        return (
            f"{report.role}: command accuracy base {r.base.command_accuracy:.0%} -> adapter "
            f"{r.adapter.command_accuracy:.0%}, parse rate {r.base.parse_rate:.0%} -> {r.adapter.parse_rate:.0%} "
            f"on {r.points} held-out decisions; val loss {report.base_val_loss:.4f} -> "
            f"{report.adapter_val_loss:.4f} ({self.report_uri})"
        )

    def metadata(self) -> dict:
        report, r = self.report, self.report.replay
        inline = f"data:image/png;base64,{base64.b64encode(self.loss_png).decode()}"
        return {
            **{f"base_{k}": v for k, v in r.base.model_dump().items() if k != "points"},
            **{f"adapter_{k}": v for k, v in r.adapter.model_dump().items() if k != "points"},
            "replay_points": r.points,
            "base_val_loss": report.base_val_loss,
            "adapter_val_loss": report.adapter_val_loss,
            "base_scenario_score": float(report.base_scenario_score or 0.0),
            "adapter_scenario_score": float(report.adapter_scenario_score or 0.0),
            "passes_gate": report.beats_base,
            "memorization_leaks": len(report.memorization.leaks) if report.memorization else 0,
            "adapter_version": report.adapter.version,
            "report": PathRef(self.report_uri),
            "summary": Markdown(reports.to_markdown(report, loss_png=inline)),
        }


def evaluate_adapter(
    settings: Settings, adapter: Adapter, base: BaseModel, val: DatasetFile, log: Callable[[str], None] | None = None
) -> AdapterEvaluation:
    """Held-out loss, scenarios and replay of the role's val decisions, base vs base + adapter,
    then the memorization probe; the report is written and published under reports/<role>/."""
    store, role = settings.store, settings.project.role(adapter.role)
    needed = (*ADAPTER_FILES, HISTORY_FILE)
    missing = store.missing(adapter.path, needed)
    if missing:
        raise MissingAdapterFiles(
            f"{adapter.path}: adapter {adapter.version} is missing {', '.join(missing)}; materialize lora_adapter again"
        )
    adapter_dir = store.stage_dir(adapter.path, needed)
    base_path = stage_base_model(store, settings.project.profile, base)
    result = judge(settings, role, adapter, adapter_dir, base_path, store.stage(val.path), val.digest, log)
    record = f"transcripts/{role.name}/{RECORD}"  # what ingest redacted (transcripts/redact.py)
    result = memorization.with_probe(
        result, store.read_bytes(record) if store.exists(record) else None, base_path, adapter_dir, role.system_prompt
    )
    result.write(settings.role_dir("reports", role.name))
    for name in REPORT_FILES:
        store.put(f"reports/{role.name}/{name}")
    return dataclasses.replace(result, report_uri=store.uri(f"reports/{role.name}/report.json"))


def judge(
    settings: Settings,
    role: Role,
    adapter: Adapter,
    adapter_dir: Path,
    base_model: str,
    val_path: Path,
    val_digest: str,
    log: Callable[[str], None] | None = None,
) -> AdapterEvaluation:
    """The report and loss curve. `adapter_dir`, `base_model` and `val_path` are local copies."""
    max_len = int(settings.project.axolotl(role.name)["sequence_len"])
    ev = evaluate(
        base_model,
        adapter_dir,
        val_path,
        max_len,
        load_scenarios(settings.config_dir, role.name),
        role.system_prompt,
        role.eval,
        log,
    )
    ref = reports.AdapterRef(path=adapter.path, version=adapter.version, config_digest=adapter.config_digest)
    report = reports.build_report(
        role.name, ref, {**adapter.data_versions, "val_dataset_evaluated": val_digest[:16]}, ev, role.eval
    )
    history = orjson.loads((adapter_dir / HISTORY_FILE).read_bytes())
    return AdapterEvaluation(report, loss_curve_png(history, f"{role.name} {adapter.version}"))
