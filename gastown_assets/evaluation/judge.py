"""eval_report's one domain call: judge a trained adapter against its base, write the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from gastown_assets.atomic import atomic_open, write_text
from gastown_assets.evaluation import report as reports
from gastown_assets.evaluation.plot import loss_curve_png
from gastown_assets.evaluation.run import evaluate
from gastown_assets.evaluation.scenarios import load_scenarios
from gastown_assets.training.config import eval_spec, load_profile, load_role, merged_axolotl
from gastown_assets.training.launch import HISTORY_FILE
from gastown_assets.training.plan import Adapter

REPORT_FILES = (reports.LOSS_PNG, "report.md", "report.json")  # report.json last: checks read it


@dataclass(frozen=True)
class AdapterEvaluation:
    report: reports.Report
    loss_png: bytes

    def write(self, out_dir: Path) -> None:
        """loss.png, report.md, then report.json, each atomically."""
        with atomic_open(out_dir / reports.LOSS_PNG, "wb") as f:
            f.write(self.loss_png)
        write_text(out_dir / "report.md", reports.to_markdown(self.report))
        write_text(out_dir / "report.json", self.report.to_json().decode())


def evaluate_adapter(config_dir: Path, profile_name: str, data_dir: Path, adapter: Adapter, adapter_dir: Path,
                     base_model: str, val_path: Path, val_digest: str,
                     log: Callable[[str], None] | None = None) -> AdapterEvaluation:
    """Held-out loss, scenarios and replay of the role's val decisions, base vs base + adapter.
    `adapter_dir`, `base_model` and `val_path` are local copies (staged from a bucket if need be)."""
    role, profile = load_role(config_dir, adapter.role), load_profile(config_dir, profile_name)
    spec = eval_spec(config_dir, role, profile)
    max_len = int(merged_axolotl(config_dir, role, profile, data_dir)["sequence_len"])
    ev = evaluate(base_model, adapter_dir, val_path, max_len, load_scenarios(config_dir, role.name),
                  role.facts.system_prompt.strip(), spec, log)
    ref = reports.AdapterRef(path=adapter.path, version=adapter.version, config_digest=adapter.config_digest)
    report = reports.build_report(role.name, ref, {**adapter.data_versions, "val_dataset_evaluated": val_digest[:16]},
                                  ev, spec)
    history = orjson.loads((adapter_dir / HISTORY_FILE).read_bytes())
    return AdapterEvaluation(report, loss_curve_png(history, f"{role.name} {adapter.version}"))
