"""report.json and report.md for one evaluated adapter."""

from __future__ import annotations

import orjson

from gastown_assets.evaluation.loss import LossResult


def build_report(role: str, adapter: dict, datasets: dict, base: LossResult, tuned: LossResult) -> dict:
    """`adapter` names the exact version evaluated; `datasets` the data versions it saw."""
    return {
        "role": role,
        "adapter": adapter,
        "datasets": datasets,
        "base_val_loss": round(base.loss, 6),
        "adapter_val_loss": round(tuned.loss, 6),
        "base_val_perplexity": round(base.perplexity, 4),
        "adapter_val_perplexity": round(tuned.perplexity, 4),
        "val_tokens": tuned.tokens,
        "val_rows": tuned.rows,
        "adapter_beats_base": tuned.loss < base.loss,
    }


def to_json(report: dict) -> bytes:
    return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def to_markdown(report: dict) -> str:
    a = report["adapter"]
    verdict = "beats" if report["adapter_beats_base"] else "does NOT beat"
    lines = [
        f"# Eval report: {report['role']}",
        "",
        f"Adapter `{a['version']}` {verdict} the base model on held-out loss.",
        "",
        "| model | val loss | val perplexity |",
        "|---|---:|---:|",
        f"| base | {report['base_val_loss']:.4f} | {report['base_val_perplexity']:.2f} |",
        f"| base + adapter | {report['adapter_val_loss']:.4f} | {report['adapter_val_perplexity']:.2f} |",
        "",
        f"Scored on {report['val_tokens']} assistant tokens in {report['val_rows']} val rows.",
        "",
        "## Lineage",
        "",
        f"- adapter: `{a['path']}` (version `{a['version']}`, config `{a['config_digest']}`)",
    ]
    lines += [f"- {name}: `{version}`" for name, version in sorted(report["datasets"].items())]
    return "\n".join(lines) + "\n"
