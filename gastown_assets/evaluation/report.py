"""report.json and report.md for one evaluated adapter."""

from __future__ import annotations

import orjson

from gastown_assets.evaluation.run import Evaluation
from gastown_assets.evaluation.scenarios import score

LOSS_PNG = "loss.png"
REPLY_CHARS = 400  # enough to see what the model did; the report is for people


def build_report(role: str, adapter: dict, datasets: dict, ev: Evaluation) -> dict:
    """`adapter` names the exact version evaluated; `datasets` the data versions it saw."""
    base_score, tuned_score = score(ev.base_scenarios), score(ev.tuned_scenarios)
    return {
        "role": role,
        "adapter": adapter,
        "datasets": datasets,
        "base_val_loss": round(ev.base.loss, 6),
        "adapter_val_loss": round(ev.tuned.loss, 6),
        "base_val_perplexity": round(ev.base.perplexity, 4),
        "adapter_val_perplexity": round(ev.tuned.perplexity, 4),
        "val_tokens": ev.tuned.tokens,
        "val_rows": ev.tuned.rows,
        "adapter_beats_base": ev.tuned.loss < ev.base.loss,
        "base_scenario_score": base_score,
        "adapter_scenario_score": tuned_score,
        "scenarios_regress": (tuned_score or 0.0) < (base_score or 0.0),
        "scenarios": [_scenario(b, t) for b, t in zip(ev.base_scenarios, ev.tuned_scenarios)],
    }


def _scenario(base, tuned) -> dict:
    return {
        "id": tuned.id,
        "behaviours": {name: {"base": base.met[name], "adapter": ok} for name, ok in tuned.met.items()},
        "base_calls": base.calls, "adapter_calls": tuned.calls,
        "base_reply": base.reply[:REPLY_CHARS], "adapter_reply": tuned.reply[:REPLY_CHARS],
    }


def to_json(report: dict) -> bytes:
    return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def to_markdown(report: dict, loss_png: str | None = LOSS_PNG) -> str:
    """`loss_png`: the image reference (a file name beside report.md, or a data URI)."""
    a = report["adapter"]
    verdict = "beats" if report["adapter_beats_base"] else "does NOT beat"
    lines = [
        f"# Eval report: {report['role']}",
        "",
        f"Adapter `{a['version']}` {verdict} the base model on held-out loss.",
        "",
        "| model | val loss | val perplexity | scenario behaviours met |",
        "|---|---:|---:|---:|",
        f"| base | {report['base_val_loss']:.4f} | {report['base_val_perplexity']:.2f} | {_pct(report['base_scenario_score'])} |",
        f"| base + adapter | {report['adapter_val_loss']:.4f} | {report['adapter_val_perplexity']:.2f} | {_pct(report['adapter_scenario_score'])} |",
        "",
        f"Loss scored on {report['val_tokens']} assistant tokens in {report['val_rows']} val rows.",
        "",
    ]
    if loss_png:
        lines += ["## Training loss", "", f"![training loss]({loss_png})", ""]
    lines += _scenario_lines(report["scenarios"])
    lines += ["## Lineage", "", f"- adapter: `{a['path']}` (version `{a['version']}`, config `{a['config_digest']}`)"]
    lines += [f"- {name}: `{version}`" for name, version in sorted(report["datasets"].items())]
    return "\n".join(lines) + "\n"


def _scenario_lines(scenarios: list[dict]) -> list[str]:
    if not scenarios:
        return ["## Scenarios", "", "No scenarios for this role (configs/eval/<role>.jsonl).", ""]
    lines = ["## Scenarios", "", "Behaviours are scored on parsed tool calls of a greedy reply.", "",
             "| scenario | behaviour | base | adapter |", "|---|---|:-:|:-:|"]
    mark = {True: "yes", False: "no"}
    for sc in scenarios:
        for name, got in sc["behaviours"].items():
            lines.append(f"| {sc['id']} | {name} | {mark[got['base']]} | {mark[got['adapter']]} |")
    return lines + [""]
